package marketing

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"golang.org/x/time/rate"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/workflow/send"
)

// The kinds of tokens in mail links.
const (
	tokenOpen    = "o" // workspace, message
	tokenClick   = "c" // workspace, message, URL
	tokenUnsub   = "u" // workspace, message
	tokenPrefs   = "p" // workspace, contact
	tokenConfirm = "k" // workspace, subscription, expiry (Unix seconds)
	tokenForm    = "f" // workspace, form
)

// SendReport says what one call of Emails.Send did.
type SendReport struct {
	// Queued and Suppressed count the messages this call made: to send,
	// and not to send (suppressed, no address, not subscribed).
	Queued, Suppressed int
	// Sent and Failed count the messages this call tried.
	Sent, Failed int
	// Interrupted counts messages a crashed sender had claimed, marked
	// by this call (never sent again).
	Interrupted int
	// InFlight counts messages another sender holds now.
	InFlight int
	// Held counts the messages waiting for an A/B test's winner
	// (Emails.PickWinner).
	Held int
	// Status is the email's status when the call returned.
	Status EmailStatus
	// StopReason says why it stopped, for EmailStopped.
	StopReason string
}

// minTried is how many messages must have been tried before the error
// threshold can stop a send.
const minTried = 20

// Send sends a campaign email to its audience, and returns when every
// message has gone out, the error threshold stopped it, or ctx ended. It
// first makes one message record per recipient (queued, or suppressed when
// the address is on the suppression list, missing, or not subscribed to
// the email's list), then claims them a batch at a time, renders and mails
// each through the Mailer (at RatePerSecond), and records the outcome
// (email_message.sent or .failed). It is idempotent: calling it again
// after a crash or a stop resumes where it was, and nobody is mailed twice
// (a message claimed by a sender that died is marked interrupted once its
// lease is over, not sent again). The caller must be allowed to update the
// email; the audience is read as the system.
func (es *Emails) Send(ctx context.Context, id string) (*SendReport, error) {
	if err := es.s.canMail(); err != nil {
		return nil, err
	}
	if err := es.s.store.Check(ctx, storage.Ref{Type: ObjectEmail, ID: id}, storage.ActionUpdate); err != nil {
		return nil, err
	}
	ctx = storage.AsSystem(ctx)
	e, err := es.s.t.emails.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	tpl, err := parseTemplates(e)
	if err != nil {
		return nil, err
	}
	rep := &SendReport{Status: e.Status}
	if e.Status == EmailSent {
		return rep, nil
	}
	if e.Status != EmailSending {
		e, err = es.setStatus(ctx, e, EmailSending, "")
		if err != nil {
			return nil, err
		}
	}
	camp, err := es.s.t.campaigns.Get(ctx, e.CampaignID)
	if err != nil {
		return nil, err
	}
	if e.QueuedAt.IsZero() {
		if err := es.queue(ctx, e, rep); err != nil {
			return rep, err
		}
		e, err = storage.Modify(ctx, es.s.store, es.s.t.emails, e.ID, 0, func(_ context.Context, e *Email) error {
			e.QueuedAt = es.s.now()
			return nil
		})
		if err != nil {
			return rep, err
		}
	}
	if err := es.interrupt(ctx, e, rep); err != nil {
		return rep, err
	}
	limit := rate.Inf
	if e.RatePerSecond > 0 {
		limit = rate.Limit(e.RatePerSecond)
	}
	d := &delivery{es: es, e: e, camp: camp, tpl: tpl, limiter: rate.NewLimiter(limit, 1), rep: rep}
	for {
		batch, err := es.claim(ctx, e)
		if err != nil {
			return rep, err
		}
		if len(batch) == 0 {
			break
		}
		if err := d.run(ctx, batch); err != nil {
			return rep, err
		}
		if tried := d.sent + d.failed; tried >= minTried && float64(d.failed) > e.ErrorThreshold*float64(tried) && e.ErrorThreshold < 1 {
			reason := fmt.Sprintf("%d of %d messages failed (threshold %.0f%%); last error: %s", d.failed, tried, e.ErrorThreshold*100, d.lastErr)
			if _, err := es.setStatus(ctx, e, EmailStopped, reason); err != nil {
				return rep, err
			}
			rep.Status, rep.StopReason = EmailStopped, reason
			return rep, nil
		}
	}
	n, err := es.s.t.messages.Count(ctx, storage.And{storage.Eq("email_id", e.ID), storage.Eq("status", string(MessageSending))})
	if err != nil {
		return rep, err
	}
	held, err := es.s.t.messages.Count(ctx, storage.And{storage.Eq("email_id", e.ID), storage.Eq("status", string(MessageHeld))})
	if err != nil {
		return rep, err
	}
	rep.InFlight, rep.Held = int(n), int(held)
	if n == 0 && held == 0 {
		e, err = storage.Modify(ctx, es.s.store, es.s.t.emails, e.ID, 0, func(_ context.Context, e *Email) error {
			e.Status, e.SentAt = EmailSent, es.s.now()
			return nil
		}, storage.WithEventType("campaign_email.sent"))
		if err != nil {
			return rep, err
		}
	}
	rep.Status = e.Status
	return rep, nil
}

// setStatus moves e to st.
func (es *Emails) setStatus(ctx context.Context, e *Email, st EmailStatus, reason string) (*Email, error) {
	return storage.Modify(ctx, es.s.store, es.s.t.emails, e.ID, 0, func(_ context.Context, e *Email) error {
		e.Status, e.StopReason = st, reason
		return nil
	}, storage.WithEventType("campaign_email."+string(st)))
}

// queue makes the message of every recipient of e that has none yet.
func (es *Emails) queue(ctx context.Context, e *Email, rep *SendReport) error {
	var ids []string
	flush := func() error {
		if len(ids) == 0 {
			return nil
		}
		err := es.s.store.RunInTx(ctx, func(ctx context.Context) error { return es.queueSome(ctx, e, ids, rep) })
		ids = ids[:0]
		return err
	}
	add := func(id string) error {
		ids = append(ids, id)
		if len(ids) == batchSize {
			return flush()
		}
		return nil
	}
	var err error
	page := storage.PageQuery{Limit: batchSize}
	if e.SegmentID != "" {
		err = storage.Each(ctx, es.s.t.members, storage.ListQuery{Filter: storage.Eq("segment_id", e.SegmentID), PageQuery: page},
			func(m *SegmentMember) error { return add(m.ContactID) })
	} else {
		err = storage.Each(ctx, es.s.t.subs, storage.ListQuery{Filter: storage.And{storage.Eq("list_id", e.ListID),
			storage.Eq("status", string(Subscribed))}, PageQuery: page}, func(s *Subscription) error { return add(s.ContactID) })
	}
	if err != nil {
		return err
	}
	return flush()
}

// queueSome makes the messages of the contacts ids that have none.
func (es *Emails) queueSome(ctx context.Context, e *Email, ids []string, rep *SendReport) error {
	have := map[string]bool{}
	// Sorted by contact, so that the unique index of (email, contact)
	// serves the look-up and its order.
	err := storage.Each(ctx, es.s.t.messages, storage.ListQuery{Filter: storage.And{storage.Eq("email_id", e.ID),
		storage.In("contact_id", ids...)}, Sort: []storage.Sort{{Field: "contact_id"}}, PageQuery: storage.PageQuery{Limit: storage.MaxLimit}}, func(m *Message) error {
		have[m.ContactID] = true
		return nil
	})
	if err != nil {
		return err
	}
	people := map[string]*contacts.Contact{}
	err = storage.Each(ctx, es.s.t.contacts, storage.ListQuery{Filter: storage.In("id", ids...), PageQuery: storage.PageQuery{Limit: storage.MaxLimit}},
		func(c *contacts.Contact) error {
			if !have[c.ID] {
				people[c.ID] = c
			}
			return nil
		})
	if err != nil || len(people) == 0 {
		return err
	}
	subscribed := map[string]bool{}
	if e.ListID != "" {
		err := storage.Each(ctx, es.s.t.subs, storage.ListQuery{Filter: storage.And{storage.Eq("list_id", e.ListID),
			storage.Eq("status", string(Subscribed)), storage.In("contact_id", slices.Collect(maps.Keys(people))...)},
			PageQuery: storage.PageQuery{Limit: storage.MaxLimit}}, func(s *Subscription) error {
			subscribed[s.ContactID] = true
			return nil
		})
		if err != nil {
			return err
		}
	}
	var addrs []string
	for _, c := range people {
		if c.Email != "" {
			addrs = append(addrs, c.Email)
		}
	}
	suppressed, err := es.s.Suppressions.suppressed(ctx, addrs)
	if err != nil {
		return err
	}
	msgs := make([]*Message, 0, len(people))
	for _, id := range slices.Sorted(maps.Keys(people)) {
		c := people[id]
		m := &Message{EmailID: e.ID, CampaignID: e.CampaignID, ContactID: c.ID, Address: c.Email, Status: MessageQueued}
		m.Variant, m.Status = split(e, c.ID)
		switch {
		case c.Email == "":
			m.Status, m.Error = MessageSuppressed, "the contact has no email address"
		case suppressed[c.Email]:
			m.Status, m.Error = MessageSuppressed, "the address is on the suppression list"
		case e.ListID != "" && !subscribed[c.ID]:
			m.Status, m.Error = MessageSuppressed, "the contact is not subscribed to the email's list"
		}
		switch m.Status {
		case MessageQueued:
			rep.Queued++
		case MessageHeld:
			rep.Held++
		default:
			rep.Suppressed++
		}
		msgs = append(msgs, m)
	}
	return storage.InsertMany(ctx, es.s.store, es.s.t.messages, msgs)
}

// split returns the subject variant of a recipient of e and whether its
// message is queued or held for the winner: a hash of the email and the
// contact puts TestShare of the audience in the test, split evenly, the
// same way on every run.
func split(e *Email, contactID string) (int, MessageStatus) {
	if len(e.Variants) == 0 {
		return 0, MessageQueued
	}
	if e.Winner > 0 {
		return e.Winner - 1, MessageQueued
	}
	h := sha256.Sum256([]byte(e.ID + "/" + contactID))
	share := float64(binary.BigEndian.Uint64(h[:8])>>11) / (1 << 53)
	if share >= e.TestShare && e.TestShare < 1 {
		return 0, MessageHeld
	}
	return int(binary.BigEndian.Uint64(h[8:16]) % uint64(len(e.Variants)+1)), MessageQueued
}

// VariantResult is how one subject of an A/B test did.
type VariantResult struct {
	Variant int
	Subject string
	// Sent counts its messages sent; Opened and Clicked those a person
	// opened and clicked.
	Sent, Opened, Clicked int64
	// Rate is Opened or Clicked (as the email's WinnerBy) over Sent.
	Rate float64
}

// Variants returns how each subject of an A/B test is doing, in one
// aggregate statement.
func (es *Emails) Variants(ctx context.Context, id string) ([]VariantResult, error) {
	e, err := es.s.t.emails.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	rows, err := es.s.store.Aggregate(ctx, ObjectMessage, storage.AggregateQuery{
		Filter:  storage.And{storage.Eq("email_id", e.ID), storage.In("status", string(MessageSent), string(MessageBounced))},
		GroupBy: []string{"variant"}, Measures: []storage.Measure{{Op: storage.AggCount},
			{Op: storage.AggCount, Where: storage.Gt("opened_at", time.Time{})}, {Op: storage.AggCount, Where: storage.Gt("clicked_at", time.Time{})}}})
	if err != nil {
		return nil, err
	}
	out := make([]VariantResult, len(e.Variants)+1)
	for i := range out {
		out[i] = VariantResult{Variant: i, Subject: e.Subject}
		if i > 0 {
			out[i].Subject = e.Variants[i-1]
		}
	}
	for _, r := range rows {
		i := int(r.Group[0].(int64))
		if i < 0 || i >= len(out) {
			continue
		}
		out[i].Sent, out[i].Opened, out[i].Clicked = r.Values[0].(int64), r.Values[1].(int64), r.Values[2].(int64)
	}
	for i := range out {
		if n := out[i].Sent; n > 0 {
			hits := out[i].Opened
			if e.WinnerBy == "clicks" {
				hits = out[i].Clicked
			}
			out[i].Rate = float64(hits) / float64(n)
		}
	}
	return out, nil
}

// PickWinner ends the A/B test of an email: the variant with the best
// rate (the first on a tie) becomes its subject for the held messages,
// which are queued; the next Send mails them. It returns the results it
// chose by. An email without variants, or with a winner, is ErrConflict.
func (es *Emails) PickWinner(ctx context.Context, id string) ([]VariantResult, error) {
	if err := es.s.store.Check(ctx, storage.Ref{Type: ObjectEmail, ID: id}, storage.ActionUpdate); err != nil {
		return nil, err
	}
	results, err := es.Variants(ctx, id)
	if err != nil {
		return nil, err
	}
	best := 0
	for i, r := range results {
		if r.Rate > results[best].Rate {
			best = i
		}
	}
	ctx = storage.AsSystem(ctx)
	err = es.s.store.RunInTx(ctx, func(ctx context.Context) error {
		e, err := storage.Modify(ctx, es.s.store, es.s.t.emails, id, 0, func(_ context.Context, e *Email) error {
			if len(e.Variants) == 0 || e.Winner > 0 {
				return fmt.Errorf("%w: email %q has no A/B test to decide", storage.ErrConflict, e.Name)
			}
			e.Winner = best + 1
			return nil
		}, storage.WithEventType("campaign_email.winner_picked"))
		if err != nil {
			return err
		}
		for {
			page, err := es.s.t.messages.List(ctx, storage.ListQuery{Filter: storage.And{storage.Eq("email_id", e.ID),
				storage.Eq("status", string(MessageHeld))}, PageQuery: storage.PageQuery{Limit: batchSize}})
			if err != nil || len(page.Items) == 0 {
				return err
			}
			next := make([]*Message, len(page.Items))
			for i, m := range page.Items {
				n := *m
				n.Status, n.Variant = MessageQueued, best
				next[i] = &n
			}
			if err := storage.UpdateMany(ctx, es.s.store, es.s.t.messages, page.Items, next); err != nil {
				return err
			}
		}
	})
	return results, err
}

// interrupt marks the messages of e claimed longer than the lease ago and
// never recorded: their sender died, and they may have gone out.
func (es *Emails) interrupt(ctx context.Context, e *Email, rep *SendReport) error {
	before := es.s.now().Add(-es.s.opts.Lease)
	stale, err := storage.All(ctx, es.s.t.messages, storage.And{storage.Eq("email_id", e.ID), storage.Eq("status", string(MessageSending)),
		storage.Lt("updated_at", before)})
	if err != nil || len(stale) == 0 {
		return err
	}
	next := make([]*Message, len(stale))
	for i, m := range stale {
		n := *m
		n.Status, n.Error = MessageInterrupted, "its sender stopped while it was claimed; it may have gone out and is not sent again"
		next[i] = &n
	}
	rep.Interrupted += len(stale)
	return storage.UpdateMany(ctx, es.s.store, es.s.t.messages, stale, next)
}

// claim takes the next batch of e's queued messages: marked sending in a
// transaction of their own, so that no other sender takes them.
func (es *Emails) claim(ctx context.Context, e *Email) ([]*Message, error) {
	for attempt := 0; ; attempt++ {
		var out []*Message
		err := es.s.store.RunInTx(ctx, func(ctx context.Context) error {
			page, err := es.s.t.messages.List(ctx, storage.ListQuery{Filter: storage.And{storage.Eq("email_id", e.ID),
				storage.Eq("status", string(MessageQueued))}, PageQuery: storage.PageQuery{Limit: e.BatchSize}})
			if err != nil || len(page.Items) == 0 {
				return err
			}
			out = make([]*Message, len(page.Items))
			for i, m := range page.Items {
				n := *m
				n.Status = MessageSending
				out[i] = &n
			}
			return storage.UpdateMany(ctx, es.s.store, es.s.t.messages, page.Items, out)
		})
		if errors.Is(err, storage.ErrStale) && attempt < 5 {
			continue // another sender claimed some of them first
		}
		return out, err
	}
}

// delivery is one Send's sending state.
type delivery struct {
	es           *Emails
	e            *Email
	camp         *Campaign
	tpl          *templates
	limiter      *rate.Limiter
	rep          *SendReport
	sent, failed int
	lastErr      string
}

// run mails a claimed batch and records each message's outcome. Messages
// it did not get to (ctx ended) go back to the queue.
func (d *delivery) run(ctx context.Context, batch []*Message) error {
	ids := make([]string, len(batch))
	for i, m := range batch {
		ids[i] = m.ContactID
	}
	people, accounts, err := d.es.recipients(ctx, ids)
	if err != nil {
		return err
	}
	var sent, failed, back []*Message
	var sentNext, failedNext, backNext []*Message
	var stop error
	for _, m := range batch {
		n := *m
		if stop == nil {
			stop = d.limiter.Wait(ctx)
		}
		if stop != nil {
			n.Status = MessageQueued
			back, backNext = append(back, m), append(backNext, &n)
			continue
		}
		c := people[m.ContactID]
		var serr error
		if c == nil {
			serr = send.Permanent(errors.New("the contact was deleted"))
		} else {
			var msg send.Message
			msg, serr = d.es.compose(ctx, d.e, d.camp, d.tpl, m, c, accounts[c.AccountID])
			if serr == nil {
				serr = d.es.mail(ctx, msg)
			}
		}
		if serr != nil {
			n.Status, n.Error = MessageFailed, serr.Error()
			d.failed++
			d.rep.Failed++
			d.lastErr = serr.Error()
			failed, failedNext = append(failed, m), append(failedNext, &n)
			continue
		}
		n.Status, n.SentAt, n.Error = MessageSent, d.es.s.now(), ""
		d.sent++
		d.rep.Sent++
		sent, sentNext = append(sent, m), append(sentNext, &n)
	}
	// Record even when ctx has ended: what went out must be known.
	rec := context.WithoutCancel(ctx)
	err = d.es.s.store.RunInTx(rec, func(ctx context.Context) error {
		for _, w := range []struct {
			prev, next []*Message
			event      string
		}{{sent, sentNext, EventSent}, {failed, failedNext, EventFailed}, {back, backNext, ""}} {
			if len(w.prev) == 0 {
				continue
			}
			var opts []storage.WriteOption
			if w.event != "" {
				opts = append(opts, storage.WithEventType(w.event))
			}
			if err := storage.UpdateMany(ctx, d.es.s.store, d.es.s.t.messages, w.prev, w.next, opts...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return stop
}

// mail sends m, trying a transient failure twice more.
func (es *Emails) mail(ctx context.Context, m send.Message) error {
	var err error
	for attempt := range 3 {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return err
			case <-time.After(time.Duration(attempt) * 200 * time.Millisecond):
			}
		}
		if err = es.s.opts.Mailer.Send(ctx, m); err == nil || send.IsPermanent(err) {
			return err
		}
	}
	return err
}

// recipients reads the contacts ids and their accounts.
func (es *Emails) recipients(ctx context.Context, ids []string) (map[string]*contacts.Contact, map[string]*contacts.Account, error) {
	people := map[string]*contacts.Contact{}
	var accountIDs []string
	err := storage.Each(ctx, es.s.t.contacts, storage.ListQuery{Filter: storage.In("id", ids...), PageQuery: storage.PageQuery{Limit: storage.MaxLimit}},
		func(c *contacts.Contact) error {
			people[c.ID] = c
			if c.AccountID != "" {
				accountIDs = append(accountIDs, c.AccountID)
			}
			return nil
		})
	if err != nil {
		return nil, nil, err
	}
	accounts := map[string]*contacts.Account{}
	if len(accountIDs) > 0 {
		err = storage.Each(ctx, es.s.t.accounts, storage.ListQuery{Filter: storage.In("id", accountIDs...), PageQuery: storage.PageQuery{Limit: storage.MaxLimit}},
			func(a *contacts.Account) error {
				accounts[a.ID] = a
				return nil
			})
	}
	return people, accounts, err
}

// compose renders the mail of message m to contact c.
func (es *Emails) compose(ctx context.Context, e *Email, camp *Campaign, tpl *templates, m *Message, c *contacts.Contact, a *contacts.Account) (send.Message, error) {
	ws := storage.WorkspaceFrom(ctx)
	base := es.s.opts.BaseURL
	d := &MergeData{Contact: c, Account: a, Campaign: camp,
		UnsubscribeURL: base + "/u/" + es.s.sign.sign(tokenUnsub, ws, m.ID),
		PreferencesURL: base + "/p/" + es.s.sign.sign(tokenPrefs, ws, c.ID)}
	subject, text, html, err := tpl.render(d, m.Variant)
	if err != nil {
		return send.Message{}, send.Permanent(err)
	}
	if html != "" {
		utm := UTM{Source: "crm", Medium: "email", Campaign: camp.UTMCampaign, Content: slug(e.Name)}
		if e.ListID != "" {
			if l, err := es.s.t.lists.Get(ctx, e.ListID); err == nil {
				utm.Source = l.Key
			}
		}
		if !e.NoClickTracking || !e.NoUTM {
			html, err = rewriteLinks(html, func(u string) string {
				if !e.NoUTM {
					u = addUTM(u, utm)
				}
				if e.NoClickTracking {
					return u
				}
				return base + "/c/" + es.s.sign.sign(tokenClick, ws, m.ID, u)
			})
			if err != nil {
				return send.Message{}, send.Permanent(err)
			}
		}
		if !e.NoOpenTracking {
			html = addPixel(html, base+"/o/"+es.s.sign.sign(tokenOpen, ws, m.ID))
		}
	}
	return send.Message{
		ID:      m.ID,
		From:    or(e.From, es.s.opts.From),
		ReplyTo: e.ReplyTo,
		To:      []string{m.Address},
		Subject: subject,
		Text:    text,
		HTML:    html,
		Headers: map[string]string{
			// RFC 2369 and RFC 8058: mail clients show an unsubscribe
			// button that posts "List-Unsubscribe=One-Click" to the URL.
			"List-Unsubscribe":      "<" + d.UnsubscribeURL + ">",
			"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
		},
	}, nil
}

// Preview renders an email for a real contact as it would be sent, with
// working links (a preview's tracking hits count for nobody). It sends
// nothing.
func (es *Emails) Preview(ctx context.Context, emailID, contactID string) (send.Message, error) {
	e, err := es.s.t.emails.Get(ctx, emailID)
	if err != nil {
		return send.Message{}, err
	}
	c, err := es.s.people.Contacts.Get(ctx, contactID)
	if err != nil {
		return send.Message{}, err
	}
	camp, err := es.s.t.campaigns.Get(ctx, e.CampaignID)
	if err != nil {
		return send.Message{}, err
	}
	var a *contacts.Account
	if c.AccountID != "" {
		if a, err = es.s.people.Accounts.Get(ctx, c.AccountID); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return send.Message{}, err
		}
	}
	tpl, err := parseTemplates(e)
	if err != nil {
		return send.Message{}, err
	}
	addr := c.Email
	if addr == "" {
		addr = "preview@example.invalid"
	}
	m := &Message{Meta: storage.Meta{ID: "preview-" + e.ID}, EmailID: e.ID, CampaignID: e.CampaignID, ContactID: c.ID, Address: addr}
	return es.compose(ctx, e, camp, tpl, m, c, a)
}

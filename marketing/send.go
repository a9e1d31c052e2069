package marketing

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
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
	// Sent and Failed count the messages this call mailed and the mailer
	// refused; Suppressed those it did not send (the address suppressed,
	// missing, or not subscribed to the email's list).
	Sent, Failed, Suppressed int
	// Interrupted counts the recipients of batches a crashed sender had
	// claimed, marked by this call (never sent again: they may have got
	// the mail).
	Interrupted int
	// InFlight counts the recipients of batches another sender holds now.
	InFlight int
	// Held counts the recipients waiting for an A/B test's winner
	// (Emails.PickWinner).
	Held int
	// Status is the email's status when the call returned.
	Status EmailStatus
	// StopReason says why it stopped, for EmailStopped.
	StopReason string
}

// Claim is a batch of an email's audience that a sender took: the
// recipients from From to To (contact IDs, in the audience's order), at
// At. A sender that dies leaves its claim; once the claim is older than
// Options.Lease, the next Send marks those of its recipients that have no
// message interrupted.
type Claim struct {
	From string    `json:"from"`
	To   string    `json:"to"`
	N    int       `json:"n"`
	At   time.Time `json:"at"`
	// Free marks recipients a sender gave back unmailed (its ctx ended):
	// the next batch claimed.
	Free bool `json:"free,omitempty"`
}

// minTried is how many messages must have been tried before the error
// threshold can stop a send.
const minTried = 20

// Send sends a campaign email to its audience, and returns when every
// recipient has its message, the error threshold stopped it, an A/B test
// holds the rest, or ctx ended. It walks the audience in contact order, a
// batch at a time: it claims the batch on the email (one version-checked
// write, so that no two senders take the same recipients), renders and
// mails each recipient's message through the Mailer (at RatePerSecond),
// and then stores the batch's messages with one multi-row insert and
// drops the claim, with one event for the batch (EventBatchSent; outside
// a transaction, while the next batch is read and mailed). It is
// idempotent: calling it again after a crash, a
// stop or a winner resumes where it was, and nobody is mailed twice
// (recipients with a message are skipped; those of a dead sender's claim
// are marked interrupted once its lease is over, not mailed again). The
// audience is the segment's members and list's subscribers as the walk
// reaches them. The caller must be allowed to update the email; the
// audience is read as the system.
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
		if e, err = es.setStatus(ctx, e, EmailSending, ""); err != nil {
			return nil, err
		}
	}
	camp, err := es.s.t.campaigns.Get(ctx, e.CampaignID)
	if err != nil {
		return nil, err
	}
	if err := es.interrupt(ctx, e.ID, rep); err != nil {
		return rep, err
	}
	limit := rate.Inf
	if e.RatePerSecond > 0 {
		limit = rate.Limit(e.RatePerSecond)
	}
	d := &delivery{es: es, camp: camp, tpl: tpl, source: es.utmSource(ctx, e), limiter: rate.NewLimiter(limit, 1), rep: rep}
	if err := d.walk(ctx, e); err != nil || rep.Status == EmailStopped {
		return rep, err
	}
	if e, err = es.s.t.emails.Get(ctx, e.ID); err != nil {
		return rep, err
	}
	for _, c := range e.Claims {
		rep.InFlight += c.N
	}
	if len(e.Variants) > 0 && e.Winner == 0 {
		if rep.Held, err = es.held(ctx, e); err != nil {
			return rep, err
		}
	}
	if rep.InFlight == 0 && rep.Held == 0 {
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

// walk claims, mails and records e's audience a batch at a time, until
// the walk is over, ctx ends, or the error threshold stops the email
// (rep.Status EmailStopped). Outside a transaction each batch is recorded
// while the next is read and mailed, so that the store's writer and the
// renderers work at once: once a batch is mailed, the record of the one
// before is awaited (a failed one stops the walk, claiming nothing more),
// the next batch is claimed, and this one's record starts. A sender holds
// one batch it has not mailed at most, and no record starts before the
// one before it has committed. In a transaction, each batch is recorded
// before the next is claimed.
func (d *delivery) walk(ctx context.Context, e *Email) error {
	es := d.es
	pipelined := !storage.InTx(ctx, es.s.store)
	type result struct {
		err      error
		panicked any
	}
	var recording chan result // the batch being recorded, if any
	settle := func() error {
		if recording == nil {
			return nil
		}
		r := <-recording
		recording = nil
		if r.panicked != nil {
			panic(r.panicked)
		}
		return r.err
	}
	// A panic (a Mailer's) waits for the record under way.
	defer func() { _ = settle() }()
	batch, claim, claimed, err := es.claim(ctx, e.ID)
	if err != nil {
		return err
	}
	for batch != nil {
		e = claimed
		done, stop, err := d.mailBatch(ctx, e, claim, batch)
		if err != nil {
			// Nobody of the batch was mailed: it goes back, free.
			give := es.release(context.WithoutCancel(ctx), e.ID, claim, Claim{From: claim.From, To: claim.To, N: claim.N, Free: true}, "", batchCounts{})
			return errors.Join(err, give, settle())
		}
		// The batch before is recorded before the next claim, so that no
		// claim is left behind when it failed.
		if err := settle(); err != nil {
			return errors.Join(err, d.record(ctx, e, done))
		}
		over := d.overThreshold(e)
		if !pipelined || stop != nil || over {
			if err := d.record(ctx, e, done); err != nil {
				return err
			}
			switch {
			case stop != nil:
				return stop
			case over:
				reason := fmt.Sprintf("%d of %d messages failed (threshold %.0f%%); last error: %s", d.failed, d.sent+d.failed, e.ErrorThreshold*100, d.lastErr)
				if _, err := es.setStatus(ctx, e, EmailStopped, reason); err != nil {
					return err
				}
				d.rep.Status, d.rep.StopReason = EmailStopped, reason
				return nil
			}
			if batch, claim, claimed, err = es.claim(ctx, e.ID); err != nil {
				return err
			}
			continue
		}
		// The next batch is claimed, then this one recorded while the
		// next is read and mailed.
		next, nextClaim, nextEmail, err := es.claim(ctx, e.ID)
		if err != nil || next == nil {
			return errors.Join(err, d.record(ctx, e, done))
		}
		recording = make(chan result, 1)
		go func(e *Email, done *mailed, out chan<- result) {
			var r result
			defer func() {
				r.panicked = recover()
				out <- r
			}()
			r.err = d.record(ctx, e, done)
		}(e, done, recording)
		batch, claim, claimed = next, nextClaim, nextEmail
	}
	return settle()
}

// overThreshold reports whether so many of the messages tried failed that
// e's error threshold stops it.
func (d *delivery) overThreshold(e *Email) bool {
	tried := d.sent + d.failed
	return tried >= minTried && float64(d.failed) > e.ErrorThreshold*float64(tried) && e.ErrorThreshold < 1
}

// setStatus moves e to st.
func (es *Emails) setStatus(ctx context.Context, e *Email, st EmailStatus, reason string) (*Email, error) {
	return storage.Modify(ctx, es.s.store, es.s.t.emails, e.ID, 0, func(_ context.Context, e *Email) error {
		e.Status, e.StopReason = st, reason
		return nil
	}, storage.WithEventType("campaign_email."+string(st)))
}

// span is a range of an audience, by contact: after (exclusive) or from
// (inclusive), up to to (inclusive); empty ends are open.
type span struct{ after, from, to string }

// audience returns up to limit recipients of e in the span, in contact
// order.
func (es *Emails) audience(ctx context.Context, e *Email, sp span, limit int) ([]string, error) {
	var f storage.Filter
	var lst func(q storage.ListQuery) ([]string, error)
	if e.SegmentID != "" {
		f = storage.Eq("segment_id", e.SegmentID)
		lst = func(q storage.ListQuery) ([]string, error) {
			page, err := es.s.t.members.List(ctx, q)
			ids := make([]string, len(page.Items))
			for i, m := range page.Items {
				ids[i] = m.ContactID
			}
			return ids, err
		}
	} else {
		f = storage.And{storage.Eq("list_id", e.ListID), storage.Eq("status", string(Subscribed))}
		lst = func(q storage.ListQuery) ([]string, error) {
			page, err := es.s.t.subs.List(ctx, q)
			ids := make([]string, len(page.Items))
			for i, s := range page.Items {
				ids[i] = s.ContactID
			}
			return ids, err
		}
	}
	and := storage.And{f}
	if sp.after != "" {
		and = append(and, storage.Gt("contact_id", sp.after))
	}
	if sp.from != "" {
		and = append(and, storage.Ge("contact_id", sp.from))
	}
	if sp.to != "" {
		and = append(and, storage.Le("contact_id", sp.to))
	}
	// Only the contact IDs: the whole records were a sixth of a send.
	return lst(storage.ListQuery{Filter: and, Sort: []storage.Sort{{Field: "contact_id"}}, Fields: []string{"contact_id"},
		PageQuery: storage.PageQuery{Limit: limit}})
}

// claim takes the next batch of e's audience, in one version-checked
// write of the email (so no two senders take the same recipients): a
// range given back free, or the next recipients after the email's cursor,
// which it moves past them. It returns the batch (nil when the walk is
// over), its claim and the email as written.
func (es *Emails) claim(ctx context.Context, id string) ([]string, Claim, *Email, error) {
	for attempt := 0; ; attempt++ {
		var batch []string
		var claim Claim
		e, err := storage.Modify(ctx, es.s.store, es.s.t.emails, id, 0, func(ctx context.Context, e *Email) error {
			e.Claims = slices.Clone(e.Claims)
			for i, c := range e.Claims {
				if c.Free {
					ids, err := es.audience(ctx, e, span{from: c.From, to: c.To}, storage.MaxLimit)
					if err != nil {
						return err
					}
					c.Free, c.At, c.N = false, es.s.now(), len(ids)
					e.Claims[i], batch, claim = c, ids, c
					return nil
				}
			}
			ids, err := es.audience(ctx, e, span{after: e.Cursor}, e.BatchSize)
			if err != nil || len(ids) == 0 {
				return err
			}
			batch = ids
			e.Cursor = ids[len(ids)-1]
			claim = Claim{From: ids[0], To: e.Cursor, N: len(ids), At: es.s.now()}
			e.Claims = append(e.Claims, claim)
			return nil
		})
		if errors.Is(err, storage.ErrStale) && attempt < 10 {
			continue // another sender claimed a batch first
		}
		if err != nil || batch == nil && claim.To == "" {
			return nil, claim, nil, err
		}
		if batch == nil {
			batch = []string{} // a free range whose recipients left
		}
		return batch, claim, e, nil
	}
}

// The events of a campaign email's batches. A send writes its messages
// with no event each (one per recipient was a third of a send's cost); the
// batch's event on the email counts them instead, in changes named
// "batch.sent", "batch.failed", "batch.suppressed" and
// "batch.interrupted", with the batch's first and last contact in
// "batch.from" and "batch.to". The messages themselves show on their
// contacts' timelines, and later events of a message (opened, clicked,
// bounced) are its own.
const (
	EventBatchSent        = "campaign_email.batch_sent"
	EventBatchInterrupted = "campaign_email.batch_interrupted"
)

// batchCounts is what a batch's event reports.
type batchCounts struct{ sent, failed, suppressed, interrupted int }

// changes returns the counts as the changes of a batch event of claim c.
func (b batchCounts) changes(c Claim) []storage.Change {
	out := []storage.Change{{Field: "batch.from", New: jsonValue(c.From)}, {Field: "batch.to", New: jsonValue(c.To)}}
	for _, kv := range []struct {
		name string
		n    int
	}{{"sent", b.sent}, {"failed", b.failed}, {"suppressed", b.suppressed}, {"interrupted", b.interrupted}} {
		if kv.n > 0 {
			out = append(out, storage.Change{Field: "batch." + kv.name, New: jsonValue(kv.n)})
		}
	}
	return out
}

// jsonValue is v in JSON.
func jsonValue(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

// release drops a claim from the email, in the caller's transaction, and
// with rest (non-zero) puts back what was not done as a free claim. Its
// event, of type event, reports the batch's counts; with event "" it is
// the email's plain update (a batch given back unmailed).
func (es *Emails) release(ctx context.Context, id string, c Claim, rest Claim, event string, counts batchCounts) error {
	_, err := storage.Modify(ctx, es.s.store, es.s.t.emails, id, 0, func(_ context.Context, e *Email) error {
		e.Claims = slices.DeleteFunc(slices.Clone(e.Claims), func(x Claim) bool { return x.From == c.From && x.To == c.To })
		if rest.From != "" {
			e.Claims = append(e.Claims, rest)
		}
		return nil
	}, releaseOptions(event, counts, c)...)
	return err
}

// releaseOptions are the write options of a release: its batch's event,
// or none for a batch given back unmailed (event "").
func releaseOptions(event string, counts batchCounts, c Claim) []storage.WriteOption {
	if event == "" {
		return nil
	}
	return []storage.WriteOption{storage.WithEventType(event), storage.WithEventChanges(counts.changes(c)...)}
}

// held counts e's recipients an A/B test holds: the audience without a
// message, of which a batch at a time is read.
func (es *Emails) held(ctx context.Context, e *Email) (int, error) {
	n, after := 0, ""
	for {
		ids, err := es.audience(ctx, e, span{after: after}, storage.MaxLimit)
		if err != nil || len(ids) == 0 {
			return n, err
		}
		have, err := es.made(ctx, e.ID, ids)
		if err != nil {
			return n, err
		}
		n += len(ids) - len(have)
		after = ids[len(ids)-1]
	}
}

// made returns which of the contacts ids have a message of the email.
func (es *Emails) made(ctx context.Context, emailID string, ids []string) (map[string]bool, error) {
	have := map[string]bool{}
	// Sorted by contact, so that the unique index of (contact, email)
	// serves the look-up and its order.
	err := storage.Each(ctx, es.s.t.messages, storage.ListQuery{Filter: storage.And{storage.Eq("email_id", emailID),
		storage.In("contact_id", ids...)}, Sort: []storage.Sort{{Field: "contact_id"}}, Fields: []string{"contact_id"},
		PageQuery: storage.PageQuery{Limit: storage.MaxLimit}},
		func(m *Message) error {
			have[m.ContactID] = true
			return nil
		})
	return have, err
}

// interrupt settles the claims older than the lease: their sender died,
// and each of their recipients without a message may have got the mail.
// They get an interrupted message (unless an A/B test held them), and the
// claims are dropped.
func (es *Emails) interrupt(ctx context.Context, id string, rep *SendReport) error {
	e, err := es.s.t.emails.Get(ctx, id)
	if err != nil {
		return err
	}
	before := es.s.now().Add(-es.s.opts.Lease)
	for _, c := range e.Claims {
		if c.Free || !c.At.Before(before) {
			continue
		}
		err := es.s.store.RunInTx(ctx, func(ctx context.Context) error {
			ids, err := es.audience(ctx, e, span{from: c.From, to: c.To}, storage.MaxLimit)
			if err != nil {
				return err
			}
			have, err := es.made(ctx, e.ID, ids)
			if err != nil {
				return err
			}
			var msgs []*Message
			for _, cid := range ids {
				if _, held := split(e, cid); have[cid] || held {
					continue
				}
				msgs = append(msgs, &Message{EmailID: e.ID, CampaignID: e.CampaignID, ContactID: cid, Status: MessageInterrupted,
					Error: "its sender stopped while it was claimed; it may have gone out and is not sent again"})
			}
			if len(msgs) > 0 {
				if err := storage.InsertMany(ctx, es.s.store, es.s.t.messages, msgs, storage.WithoutEvent()); err != nil {
					return err
				}
			}
			rep.Interrupted += len(msgs)
			return es.release(ctx, e.ID, c, Claim{}, EventBatchInterrupted, batchCounts{interrupted: len(msgs)})
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// split returns the subject variant of a recipient of e, and whether the
// recipient is held for the A/B test's winner: a hash of the email and
// the contact puts TestShare of the audience in the test, split evenly,
// the same way on every run.
func split(e *Email, contactID string) (variant int, held bool) {
	if len(e.Variants) == 0 {
		return 0, false
	}
	if e.Winner > 0 {
		return e.Winner - 1, false
	}
	h := sha256.Sum256([]byte(e.ID + "/" + contactID))
	share := float64(binary.BigEndian.Uint64(h[:8])>>11) / (1 << 53)
	if share >= e.TestShare && e.TestShare < 1 {
		return 0, true
	}
	return int(binary.BigEndian.Uint64(h[8:16]) % uint64(len(e.Variants)+1)), false
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
// rate (the first on a tie) becomes its subject for the recipients held,
// whom the next Send mails (it walks the audience again, skipping those
// with a message). It returns the results it chose by. An email without
// variants, or with a winner, is ErrConflict.
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
	_, err = storage.Modify(storage.AsSystem(ctx), es.s.store, es.s.t.emails, id, 0, func(_ context.Context, e *Email) error {
		if len(e.Variants) == 0 || e.Winner > 0 {
			return fmt.Errorf("%w: email %q has no A/B test to decide", storage.ErrConflict, e.Name)
		}
		e.Winner, e.Cursor = best+1, ""
		return nil
	}, storage.WithEventType("campaign_email.winner_picked"))
	return results, err
}

// delivery is one Send's sending state.
type delivery struct {
	es           *Emails
	camp         *Campaign
	tpl          *templates
	source       string // utm_source of the links
	limiter      *rate.Limiter
	rep          *SendReport
	sent, failed int
	lastErr      string
}

// mailed is a batch that was mailed, to record: its claim and
// recipients, the messages, what they count, and the index of the first
// recipient not done (len(batch) when all were).
type mailed struct {
	claim  Claim
	batch  []string
	msgs   []*Message
	counts batchCounts
	undone int
}

// mailBatch mails a claimed batch of e's audience and returns its
// messages to record. Recipients with a message already are skipped, and
// those an A/B test holds are left without one. When ctx ends before all
// are mailed, it returns what was done and ctx's error as stop (the rest
// is left for the next Send); err is a failure to read the batch, which
// mailed nobody.
func (d *delivery) mailBatch(ctx context.Context, e *Email, claim Claim, batch []string) (done *mailed, stop, err error) {
	es := d.es
	have, err := es.made(ctx, e.ID, batch)
	if err != nil {
		return nil, nil, err
	}
	people, accounts, err := es.recipients(ctx, batch)
	if err != nil {
		return nil, nil, err
	}
	subscribed := map[string]bool{}
	if e.ListID != "" {
		err := storage.Each(ctx, es.s.t.subs, storage.ListQuery{Filter: storage.And{storage.Eq("list_id", e.ListID),
			storage.Eq("status", string(Subscribed)), storage.In("contact_id", batch...)},
			Sort: []storage.Sort{{Field: "contact_id"}}, Fields: []string{"contact_id"}, PageQuery: storage.PageQuery{Limit: storage.MaxLimit}}, func(s *Subscription) error {
			subscribed[s.ContactID] = true
			return nil
		})
		if err != nil {
			return nil, nil, err
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
		return nil, nil, err
	}
	done = &mailed{claim: claim, batch: batch, undone: len(batch)}
	byIndex := make([]*Message, len(batch))
	var jobs []mailJob
	for i, cid := range batch {
		c := people[cid]
		variant, held := split(e, cid)
		if have[cid] || c == nil || held {
			continue // made, deleted since, or held for the A/B winner
		}
		m := &Message{Meta: storage.Meta{ID: storage.NewID()}, EmailID: e.ID, CampaignID: e.CampaignID, ContactID: cid,
			Address: c.Email, Variant: variant, Status: MessageSent}
		switch {
		case c.Email == "":
			m.Status, m.Error = MessageSuppressed, "the contact has no email address"
		case suppressed[c.Email]:
			m.Status, m.Error = MessageSuppressed, "the address is on the suppression list"
		case e.ListID != "" && !subscribed[cid]:
			m.Status, m.Error = MessageSuppressed, "the contact is not subscribed to the email's list"
		}
		if m.Status == MessageSuppressed {
			d.rep.Suppressed++
			done.counts.suppressed++
			byIndex[i] = m
			continue
		}
		jobs = append(jobs, mailJob{i: i, m: m, c: c, a: accounts[c.AccountID]})
	}
	stop = d.mailAll(ctx, e, jobs)
	for _, j := range jobs {
		if !j.done {
			done.undone = min(done.undone, j.i)
			continue
		}
		m := j.m
		if j.err != nil {
			m.Status, m.Error = MessageFailed, j.err.Error()
			d.failed++
			d.rep.Failed++
			d.lastErr = j.err.Error()
			done.counts.failed++
		} else {
			m.SentAt = j.at
			d.sent++
			d.rep.Sent++
			done.counts.sent++
		}
		byIndex[j.i] = m
	}
	// In the batch's (contact) order, which the indexes of messages by
	// email and contact take as appends.
	for _, m := range byIndex {
		if m != nil {
			done.msgs = append(done.msgs, m)
		}
	}
	return done, stop, nil
}

// record stores a mailed batch's messages (with no event each: the
// batch's event on the email counts them) and drops its claim, putting
// back what was not done as a free claim. It records even when ctx has
// ended: what went out must be known.
func (d *delivery) record(ctx context.Context, e *Email, done *mailed) error {
	es := d.es
	return es.s.store.RunInTx(context.WithoutCancel(ctx), func(ctx context.Context) error {
		if len(done.msgs) > 0 {
			if err := storage.InsertMany(ctx, es.s.store, es.s.t.messages, done.msgs, storage.WithoutEvent()); err != nil {
				return err
			}
		}
		var rest Claim
		if done.undone < len(done.batch) {
			// Stopped early: the rest goes back, free for the next batch.
			rest = Claim{From: done.batch[done.undone], To: done.claim.To, N: len(done.batch) - done.undone, Free: true}
		}
		return es.release(ctx, e.ID, done.claim, rest, EventBatchSent, done.counts)
	})
}

// mailJob is one recipient of a batch to render and mail: i is its index
// in the batch; done, err and at say how it went.
type mailJob struct {
	i    int
	m    *Message
	c    *contacts.Contact
	a    *contacts.Account
	done bool
	err  error
	at   time.Time
}

// mailAll renders and mails the jobs, Options.SendWorkers at a time, each
// within the email's rate. When ctx ends the jobs not started are left
// undone and ctx's error returned. A panic in a worker (a Mailer's) stops
// the others and goes on in the caller, as if the sender had crashed: the
// batch is recorded by no one, and its claim's lease settles it.
func (d *delivery) mailAll(ctx context.Context, e *Email, jobs []mailJob) error {
	var (
		next     atomic.Int64
		stopped  atomic.Bool
		mu       sync.Mutex
		stop     error
		panicked any
		wg       sync.WaitGroup
	)
	halt := func(err error, p any) {
		mu.Lock()
		defer mu.Unlock()
		if stop == nil {
			stop = err
		}
		if panicked == nil {
			panicked = p
		}
		stopped.Store(true)
	}
	work := func() {
		defer wg.Done()
		defer func() {
			if p := recover(); p != nil {
				halt(nil, p)
			}
		}()
		for !stopped.Load() {
			k := int(next.Add(1) - 1)
			if k >= len(jobs) {
				return
			}
			if err := ctx.Err(); err != nil {
				halt(err, nil)
				return
			}
			if err := d.limiter.Wait(ctx); err != nil {
				halt(err, nil)
				return
			}
			j := &jobs[k]
			msg, err := d.es.compose(ctx, e, d.camp, d.tpl, d.source, j.m, j.c, j.a)
			if err == nil {
				err = d.es.mail(ctx, msg)
			}
			j.err, j.at, j.done = err, d.es.s.now(), true
		}
	}
	n := min(d.es.s.opts.SendWorkers, len(jobs))
	wg.Add(n)
	for range n - 1 {
		go work()
	}
	work()
	wg.Wait()
	if panicked != nil {
		panic(panicked)
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

// utmSource is the utm_source of e's links: its list's key, else "crm".
func (es *Emails) utmSource(ctx context.Context, e *Email) string {
	if e.ListID != "" {
		if l, err := es.s.t.lists.Get(ctx, e.ListID); err == nil {
			return l.Key
		}
	}
	return "crm"
}

// compose renders the mail of message m to contact c.
func (es *Emails) compose(ctx context.Context, e *Email, camp *Campaign, tpl *templates, source string, m *Message, c *contacts.Contact, a *contacts.Account) (send.Message, error) {
	ws := storage.WorkspaceFrom(ctx)
	base := es.s.opts.BaseURL
	d := &MergeData{Contact: c, Account: a, Campaign: camp,
		UnsubscribeURL: base + "/u/" + es.s.sign.Sign(tokenUnsub, ws, m.ID),
		PreferencesURL: base + "/p/" + es.s.sign.Sign(tokenPrefs, ws, c.ID)}
	track := !e.NoClickTracking || !e.NoUTM
	subject, text, html, err := tpl.render(d, m.Variant, track)
	if err != nil {
		return send.Message{}, send.Permanent(err)
	}
	if html != "" {
		utm := UTM{Source: source, Medium: "email", Campaign: camp.UTMCampaign, Content: slug(e.Name)}
		if track {
			wrap := func(u string) string {
				if !e.NoUTM {
					if t, ok := tpl.tagged.Load(u); ok {
						u = t.(string)
					} else {
						t := addUTM(u, utm)
						if tpl.nTagged.Add(1) <= maxTagged {
							tpl.tagged.Store(u, t)
						}
						u = t
					}
				}
				if e.NoClickTracking {
					return u
				}
				return base + "/c/" + es.s.sign.Sign(tokenClick, ws, m.ID, u)
			}
			if tpl.links != nil {
				html = tpl.links.fill(html, wrap)
			} else if html, err = rewriteLinks(html, wrap); err != nil {
				return send.Message{}, send.Permanent(err)
			}
		}
		if !e.NoOpenTracking {
			html = addPixel(html, base+"/o/"+es.s.sign.Sign(tokenOpen, ws, m.ID))
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
	return es.compose(ctx, e, camp, tpl, es.utmSource(ctx, e), m, c, a)
}

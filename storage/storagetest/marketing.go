package storagetest

import (
	"context"
	"errors"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/internal/mailtest"
	"github.com/crmkit/crm/marketing"
	"github.com/crmkit/crm/sales"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/workflow/send"
	"github.com/crmkit/crm/workflow/smtp"
)

// mktKey signs the marketing tests' links.
var mktKey = []byte("0123456789abcdef0123456789abcdef")

// mktEnv is a test's marketing service, with a clock the test moves.
type mktEnv struct {
	*env
	mkt   *marketing.Service
	clock atomic.Int64 // offset from the real time, in nanoseconds
	srv   *mailtest.Server
}

// newMktEnv returns the marketing service, mailing through a real SMTP
// server on localhost when opts has no Mailer (nil srv when mail is
// off: noMail).
func newMktEnv(t *testing.T, h Harness, noMail bool, opts marketing.Options) *mktEnv {
	e := &mktEnv{env: newEnv(t, h)}
	if !noMail && opts.Mailer == nil {
		e.srv = mailtest.Start(t, mailtest.Options{})
		mailer, err := smtp.New(smtp.Config{Host: e.srv.Host, Port: e.srv.Port, TLS: smtp.TLSNone, From: "Acme News <news@acme.example>"})
		must(t, "mailer", err)
		opts.Mailer = mailer
	}
	if !noMail {
		opts.BaseURL, opts.Key = "https://acme.example/m/", mktKey
	}
	opts.Now = func() time.Time { return time.Now().Add(time.Duration(e.clock.Load())) }
	e.mkt = marketing.NewService(e.store, e.svc, e.sales(), opts)
	return e
}

// later moves the service's clock on by d.
func (e *mktEnv) later(d time.Duration) { e.clock.Add(int64(d)) }

// token returns the token of the first link in s starting with base+kind+"/".
func token(t testing.TB, s, kind string) string {
	t.Helper()
	m := regexp.MustCompile(`https://acme\.example/m/` + kind + `/([A-Za-z0-9_.-]+)`).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no /%s/ link in %q", kind, s)
	}
	return m[1]
}

// testMarketingLists checks lists, single and double opt-in with the
// confirmation mail through a real SMTP server, consents, unsubscribing
// and the suppression list.
func testMarketingLists(t *testing.T, h Harness) {
	e := newMktEnv(t, h, false, marketing.Options{})
	ctx := e.ctx
	news, err := e.mkt.Lists.Create(ctx, marketing.NewList{Key: "news", Name: "Acme News"})
	must(t, "list", err)
	_, err = e.mkt.Lists.Create(ctx, marketing.NewList{Key: "news"})
	wantErr(t, "a taken key", err, storage.ErrConflict)
	_, err = e.mkt.Lists.Create(ctx, marketing.NewList{Key: "Bad Key"})
	wantFields(t, "a bad key", err, "key")
	weekly, err := e.mkt.Lists.Create(ctx, marketing.NewList{Key: "weekly", Name: "Weekly deals", DoubleOptIn: true})
	must(t, "double opt-in list", err)

	ada := e.contact(ctx, contacts.NewContact{FirstName: "Ada", Email: "ada@example.com"})
	nomail := e.contact(ctx, contacts.NewContact{FirstName: "Nomail"})
	_, err = e.mkt.Lists.Subscribe(ctx, news.ID, nomail.ID, marketing.SubscribeOptions{})
	wantFields(t, "a contact without an address", err, "contact_id")
	_, err = e.mkt.Lists.Subscribe(ctx, "nope", ada.ID, marketing.SubscribeOptions{})
	wantFields(t, "an unknown list", err, "list_id")

	sub, err := e.mkt.Lists.Subscribe(ctx, news.ID, ada.ID, marketing.SubscribeOptions{Source: "web form"})
	must(t, "subscribe", err)
	if sub.Status != marketing.Subscribed || sub.ConsentID == "" || sub.ConfirmedAt.IsZero() {
		t.Fatalf("single opt-in = %+v", sub)
	}
	again, err := e.mkt.Lists.Subscribe(ctx, news.ID, ada.ID, marketing.SubscribeOptions{})
	must(t, "subscribe again", err)
	if again.Version != sub.Version {
		t.Errorf("subscribing twice wrote version %d", again.Version)
	}
	consents, err := e.svc.Consents.List(ctx, ada.ID)
	must(t, "consents", err)
	if len(consents) != 1 || consents[0].Purpose != "list_news" || !consents[0].Granted || consents[0].ID != sub.ConsentID {
		t.Fatalf("consents = %+v", consents)
	}

	// Double opt-in: unconfirmed, with a mail holding a signed link.
	pending, err := e.mkt.Lists.Subscribe(ctx, weekly.ID, ada.ID, marketing.SubscribeOptions{Source: "web form"})
	must(t, "double opt-in", err)
	if pending.Status != marketing.Unconfirmed {
		t.Fatalf("double opt-in = %+v", pending)
	}
	if n, _ := e.mkt.Lists.Count(ctx, weekly.ID, ""); n != 0 {
		t.Errorf("an unconfirmed subscriber counts: %d", n)
	}
	msgs := e.srv.Messages()
	if len(msgs) != 1 || msgs[0].To[0] != "ada@example.com" {
		t.Fatalf("confirmation mails = %+v", msgs)
	}
	p, err := msgs[0].Parse()
	must(t, "parse", err)
	tok := token(t, p.Text, "confirm")
	_, err = e.mkt.Tracking.Confirm(ctx, tok[:len(tok)-2]+"xx")
	wantFields(t, "a tampered confirmation", err, "token")
	confirmed, err := e.mkt.Tracking.Confirm(ctx, tok)
	must(t, "confirm", err)
	if confirmed.Status != marketing.Subscribed || confirmed.ConsentID == "" {
		t.Fatalf("confirmed = %+v", confirmed)
	}
	twice, err := e.mkt.Tracking.Confirm(ctx, tok)
	must(t, "confirm twice", err)
	if twice.Version != confirmed.Version {
		t.Errorf("confirming twice wrote version %d", twice.Version)
	}

	// An expired link confirms nothing.
	bob := e.contact(ctx, contacts.NewContact{FirstName: "Bob", Email: "bob@example.com"})
	_, err = e.mkt.Lists.Subscribe(ctx, weekly.ID, bob.ID, marketing.SubscribeOptions{})
	must(t, "subscribe bob", err)
	p, err = e.srv.Messages()[1].Parse()
	must(t, "parse", err)
	e.later(8 * 24 * time.Hour)
	_, err = e.mkt.Tracking.Confirm(ctx, token(t, p.Text, "confirm"))
	wantFields(t, "an expired confirmation", err, "token")

	// Without a mailer a double opt-in list refuses, writing nothing.
	bare := marketing.NewService(e.store, e.svc, e.sales(), marketing.Options{})
	carl := e.contact(ctx, contacts.NewContact{FirstName: "Carl", Email: "carl@example.com"})
	_, err = bare.Lists.Subscribe(ctx, weekly.ID, carl.ID, marketing.SubscribeOptions{})
	wantFields(t, "double opt-in without a mailer", err, "mailer", "base_url", "key")
	if _, err := bare.Lists.Subscription(ctx, weekly.ID, carl.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("a refused subscription was written: %v", err)
	}

	must(t, "unsubscribe", e.mkt.Lists.Unsubscribe(ctx, news.ID, ada.ID, "preference center"))
	left, err := e.mkt.Lists.Subscription(ctx, news.ID, ada.ID)
	must(t, "subscription", err)
	if left.Status != marketing.Unsubscribed || left.UnsubscribedAt.IsZero() {
		t.Errorf("after unsubscribing: %+v", left)
	}
	consents, _ = e.svc.Consents.List(ctx, ada.ID)
	for _, c := range consents {
		if c.Purpose == "list_news" && c.Granted {
			t.Errorf("the list's consent is still granted: %+v", c)
		}
	}

	// The suppression list: one entry per address, the first reason kept.
	s1, err := e.mkt.Suppressions.Add(ctx, "Bob@Example.com", marketing.SuppressHardBounce, "5.1.1")
	must(t, "suppress", err)
	s2, err := e.mkt.Suppressions.Add(ctx, "bob@example.com", marketing.SuppressComplaint, "")
	must(t, "suppress again", err)
	if s1.ID != s2.ID || s2.Reason != marketing.SuppressHardBounce || s1.ContactID != bob.ID {
		t.Errorf("suppressions %+v, %+v", s1, s2)
	}
	_, err = e.mkt.Suppressions.Add(ctx, "not an address", marketing.SuppressManual, "")
	wantFields(t, "a bad address", err, "email")
	if got, _ := e.mkt.Suppressions.Check(ctx, "BOB@example.com"); got == nil {
		t.Error("Check misses a suppressed address")
	}
	must(t, "unsuppress", e.mkt.Suppressions.Remove(ctx, "bob@example.com"))
	if got, _ := e.mkt.Suppressions.Check(ctx, "bob@example.com"); got != nil {
		t.Error("Remove left the suppression")
	}
}

// testMarketingSegments checks dynamic segments over contact and account
// fields, kept current by Sync from the change feed with entered and left
// events, static segments, segments of segments, and the errors.
func testMarketingSegments(t *testing.T, h Harness) {
	e := newMktEnv(t, h, true, marketing.Options{})
	ctx := e.ctx
	shop := e.account(ctx, contacts.NewAccount{Name: "Shop", Industry: "retail"})
	bank := e.account(ctx, contacts.NewAccount{Name: "Bank", Industry: "finance"})
	ada := e.contact(ctx, contacts.NewContact{FirstName: "Ada", Email: "ada@example.com", Lifecycle: contacts.LifecycleCustomer, AccountID: shop.ID})
	bob := e.contact(ctx, contacts.NewContact{FirstName: "Bob", Email: "bob@example.com", Lifecycle: contacts.LifecycleLead, AccountID: shop.ID})
	cat := e.contact(ctx, contacts.NewContact{FirstName: "Cat", Email: "cat@example.com", Lifecycle: contacts.LifecycleCustomer, AccountID: bank.ID})

	retail, err := e.mkt.Segments.Create(ctx, marketing.NewSegment{Name: "Retail customers",
		Where: `lifecycle == "customer" && account.industry == "retail"`})
	must(t, "segment", err)
	members := func(id string) []string {
		t.Helper()
		page, err := e.mkt.Segments.Members(ctx, id, storage.PageQuery{Limit: 100})
		must(t, "members", err)
		var out []string
		for _, m := range page.Items {
			out = append(out, m.ContactID)
		}
		slices.Sort(out)
		return out
	}
	want := func(what, id string, ids ...string) {
		t.Helper()
		slices.Sort(ids)
		if got := members(id); !slices.Equal(got, ids) {
			t.Fatalf("%s: members %v, want %v", what, got, ids)
		}
		if n, err := e.mkt.Segments.Count(ctx, id); err != nil || n != int64(len(ids)) {
			t.Fatalf("%s: count %d (%v), want %d", what, n, err, len(ids))
		}
	}
	want("created", retail.ID, ada.ID)
	sync := func() {
		t.Helper()
		e.sync()
		_, err := e.mkt.Sync(ctx)
		must(t, "sync", err)
	}
	sync() // the history so far changes nothing

	_, err = e.svc.Contacts.Update(ctx, bob.ID, contacts.UpdateContact{Lifecycle: ptr(contacts.LifecycleCustomer)})
	must(t, "bob becomes a customer", err)
	_, err = e.svc.Contacts.Update(ctx, ada.ID, contacts.UpdateContact{Lifecycle: ptr(contacts.LifecycleEvangelist)})
	must(t, "ada moves on", err)
	sync()
	want("after contact changes", retail.ID, bob.ID)
	_, err = e.svc.Accounts.Update(ctx, bank.ID, contacts.UpdateAccount{Industry: ptr("retail")})
	must(t, "the bank goes retail", err)
	sync()
	want("after an account change", retail.ID, bob.ID, cat.ID)
	must(t, "delete cat", e.svc.Contacts.Delete(ctx, cat.ID))
	sync()
	want("after a delete", retail.ID, bob.ID)

	var entered, left []string
	for _, ev := range e.events(ctx) {
		if ev.Subject.Type != marketing.ObjectSegmentMember {
			continue
		}
		c, _ := ev.Change("contact_id")
		switch ev.Type {
		case marketing.EventEntered:
			entered = append(entered, string(c.New))
		case marketing.EventLeft:
			left = append(left, string(c.Old))
		}
	}
	q := func(ids ...string) []string {
		var out []string
		for _, id := range ids {
			out = append(out, `"`+id+`"`)
		}
		return out
	}
	if !slices.Equal(entered, q(ada.ID, bob.ID, cat.ID)) || !slices.Equal(left, q(ada.ID, cat.ID)) {
		t.Errorf("entered %v, left %v", entered, left)
	}

	// Static segments and segments of segments.
	vip, err := e.mkt.Segments.Create(ctx, marketing.NewSegment{Name: "VIP", Kind: marketing.SegmentStatic})
	must(t, "static", err)
	blocked, err := e.mkt.Segments.Create(ctx, marketing.NewSegment{Name: "Blocked", Kind: marketing.SegmentStatic})
	must(t, "static", err)
	both, err := e.mkt.Segments.Create(ctx, marketing.NewSegment{Name: "Retail VIPs", Include: []string{retail.ID, vip.ID}, Exclude: []string{blocked.ID}})
	must(t, "nested", err)
	want("nested, empty", both.ID)
	must(t, "add", e.mkt.Segments.Add(ctx, vip.ID, ada.ID, bob.ID))
	want("static", vip.ID, ada.ID, bob.ID)
	want("nested after add", both.ID, bob.ID)
	must(t, "block", e.mkt.Segments.Add(ctx, blocked.ID, bob.ID))
	want("nested after exclude", both.ID)
	must(t, "unblock", e.mkt.Segments.Remove(ctx, blocked.ID, bob.ID))
	want("nested after unblock", both.ID, bob.ID)
	err = e.mkt.Segments.Add(ctx, retail.ID, ada.ID)
	wantFields(t, "adding to a dynamic segment", err, "segment_id")
	err = e.mkt.Segments.Add(ctx, vip.ID, "no-such-contact")
	wantFields(t, "adding an unknown contact", err, "contact_ids[0]")

	_, err = e.mkt.Segments.Update(ctx, retail.ID, 0, marketing.UpdateSegment{Include: &[]string{both.ID}})
	wantFields(t, "a cycle", err, "include")
	_, err = e.mkt.Segments.Create(ctx, marketing.NewSegment{Name: "Bad", Where: `lifecycle ==`})
	wantFields(t, "a bad expression", err, "where")
	_, err = e.mkt.Segments.Create(ctx, marketing.NewSegment{Name: "Bad", Include: []string{"nope"}})
	wantFields(t, "an unknown segment", err, "include[0]")
	wantErr(t, "deleting a used segment", e.mkt.Segments.Delete(ctx, vip.ID), storage.ErrConflict)

	// Updating the conditions recomputes the segment and those using it.
	_, err = e.mkt.Segments.Update(ctx, retail.ID, 0, marketing.UpdateSegment{Where: ptr(`account.industry == "retail"`)})
	must(t, "update", err)
	want("updated", retail.ID, ada.ID, bob.ID)
	want("nested after update", both.ID, ada.ID, bob.ID)
	must(t, "delete", e.mkt.Segments.Delete(ctx, both.ID))
	want("static keeps its members", vip.ID, ada.ID, bob.ID)
	if in, _ := e.mkt.Segments.Contains(ctx, vip.ID, ada.ID); !in {
		t.Error("Contains misses a member")
	}
}

// testMarketingSend sends a campaign email to a segment through a real
// SMTP server: per-recipient messages, suppression, the unsubscribe
// headers, tracked links with UTM tags, opens and clicks from people and
// machines, one-click unsubscribe, engagement segments and the figures.
func testMarketingSend(t *testing.T, h Harness) {
	e := newMktEnv(t, h, false, marketing.Options{})
	ctx := e.ctx
	news, err := e.mkt.Lists.Create(ctx, marketing.NewList{Key: "news", Name: "Acme News"})
	must(t, "list", err)
	var people []*contacts.Contact
	for _, n := range []string{"Ada", "Bob", "Cat", "Dan", "Eve"} {
		c := e.contact(ctx, contacts.NewContact{FirstName: n, Email: strings.ToLower(n) + "@example.com", Tags: []string{"spring"}})
		people = append(people, c)
	}
	ada, bob, cat, dan := people[0], people[1], people[2], people[3]
	for _, c := range []*contacts.Contact{ada, bob, cat, dan} {
		_, err := e.mkt.Lists.Subscribe(ctx, news.ID, c.ID, marketing.SubscribeOptions{})
		must(t, "subscribe", err)
	}
	must(t, "dan leaves", e.mkt.Lists.Unsubscribe(ctx, news.ID, dan.ID, "test"))
	_, err = e.mkt.Suppressions.Add(ctx, cat.Email, marketing.SuppressHardBounce, "5.1.1")
	must(t, "suppress", err)
	seg, err := e.mkt.Segments.Create(ctx, marketing.NewSegment{Name: "Spring", Where: `"spring" in tags`})
	must(t, "segment", err)
	camp, err := e.mkt.Campaigns.Create(ctx, marketing.NewCampaign{Name: "Spring Sale 2026", Budget: storage.Money{Amount: 50000, Currency: "EUR"}})
	must(t, "campaign", err)
	if camp.UTMCampaign != "spring-sale-2026" {
		t.Errorf("utm_campaign = %q", camp.UTMCampaign)
	}
	_, err = e.mkt.Emails.Create(ctx, marketing.NewEmail{CampaignID: camp.ID, Name: "Launch", Subject: "{{.Contact.FirstName", SegmentID: seg.ID, Text: "x"})
	wantFields(t, "a bad template", err, "subject")
	_, err = e.mkt.Emails.Create(ctx, marketing.NewEmail{CampaignID: camp.ID, Name: "Launch", Subject: "Hi", Text: "x"})
	wantFields(t, "no audience", err, "segment_id")
	em, err := e.mkt.Emails.Create(ctx, marketing.NewEmail{CampaignID: camp.ID, Name: "Launch", SegmentID: seg.ID, ListID: news.ID,
		Subject: "Spring sale, {{.Contact.FirstName}}!",
		Text:    "Hello {{.Contact.FirstName}}, see https://shop.example/sale\nLeave: {{.UnsubscribeURL}}",
		HTML: `<html><body><p>Hello {{.Contact.FirstName}}</p><a href="https://shop.example/sale?ref=mail&amp;x=1">Sale</a>` +
			` <a href="mailto:help@acme.example">Help</a> <a href="{{.UnsubscribeURL}}" data-notrack>Unsubscribe</a></body></html>`})
	must(t, "email", err)
	preview, err := e.mkt.Emails.Preview(ctx, em.ID, ada.ID)
	must(t, "preview", err)
	if preview.Subject != "Spring sale, Ada!" || !strings.Contains(preview.HTML, "/m/c/") || len(e.srv.Messages()) != 0 {
		t.Errorf("preview = %+v, mails %d", preview, len(e.srv.Messages()))
	}

	rep, err := e.mkt.Emails.Send(ctx, em.ID)
	must(t, "send", err)
	// Ada and Bob get it; Cat is suppressed, Dan left the list, Eve never
	// joined it.
	if rep.Suppressed != 3 || rep.Sent != 2 || rep.Failed != 0 || rep.Status != marketing.EmailSent {
		t.Fatalf("report = %+v", rep)
	}
	got := e.srv.Messages()
	if len(got) != 2 {
		t.Fatalf("the server got %d messages", len(got))
	}
	msgs, err := e.mkt.Emails.Messages(ctx, em.ID, "", storage.PageQuery{Limit: 10})
	must(t, "messages", err)
	status := map[string]marketing.MessageStatus{}
	byContact := map[string]*marketing.Message{}
	for _, m := range msgs.Items {
		status[m.Address], byContact[m.ContactID] = m.Status, m
	}
	if len(msgs.Items) != 5 || status["ada@example.com"] != marketing.MessageSent || status["cat@example.com"] != marketing.MessageSuppressed ||
		status["dan@example.com"] != marketing.MessageSuppressed || status["eve@example.com"] != marketing.MessageSuppressed {
		t.Fatalf("message statuses = %v", status)
	}
	var adaMail string
	for _, m := range got {
		p, err := m.Parse()
		must(t, "parse", err)
		if p.Header.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" || !strings.HasPrefix(p.Header.Get("List-Unsubscribe"), "<https://acme.example/m/u/") {
			t.Errorf("unsubscribe headers %q / %q", p.Header.Get("List-Unsubscribe"), p.Header.Get("List-Unsubscribe-Post"))
		}
		if strings.Contains(p.HTML, "shop.example/sale") || !strings.Contains(p.HTML, `href="mailto:help@acme.example"`) || !strings.Contains(p.HTML, "/m/o/") {
			t.Errorf("the HTML is not tracked as it should be: %s", p.HTML)
		}
		if m.To[0] == "ada@example.com" {
			adaMail = p.HTML
			if p.Subject != "Spring sale, Ada!" || !strings.Contains(p.Text, "Hello Ada") {
				t.Errorf("ada's subject %q, text %q", p.Subject, p.Text)
			}
			if id := p.Header.Get("Message-Id"); !strings.Contains(id, byContact[ada.ID].ID) {
				t.Errorf("Message-ID %q does not name the message %s", id, byContact[ada.ID].ID)
			}
		}
	}
	if again, err := e.mkt.Emails.Send(ctx, em.ID); err != nil || again.Sent != 0 || len(e.srv.Messages()) != 2 {
		t.Fatalf("sending again: %+v, %v, %d mails", again, err, len(e.srv.Messages()))
	}
	// The send wrote one event for its batch, on the email, counting the
	// messages, and none per message; each message is on its contact's
	// timeline.
	var batches []storage.Event
	for _, ev := range e.events(ctx) {
		switch {
		case ev.Subject.Type == marketing.ObjectMessage:
			t.Errorf("a message's event from the send: %s", ev.Type)
		case ev.Type == marketing.EventBatchSent && ev.Subject.ID == em.ID:
			batches = append(batches, ev)
		}
	}
	if len(batches) != 1 {
		t.Fatalf("%d batch events, want 1", len(batches))
	}
	first := people[0].ID
	for _, c := range people {
		first = min(first, c.ID)
	}
	for field, want := range map[string]string{"batch.sent": "2", "batch.suppressed": "3", "batch.from": `"` + first + `"`} {
		if ch, ok := batches[0].Change(field); !ok || string(ch.New) != want {
			t.Errorf("batch event's %s = %s, want %s", field, ch.New, want)
		}
	}
	if _, ok := batches[0].Change("batch.failed"); ok {
		t.Error("the batch event counts failures it did not have")
	}
	tl, err := e.svc.Contacts.Timeline(ctx, bob.ID, storage.PageQuery{})
	must(t, "bob's timeline", err)
	onTimeline := false
	for _, it := range tl.Items {
		if m, ok := it.Record.(*marketing.Message); ok && m.ID == byContact[bob.ID].ID && m.Status == marketing.MessageSent {
			onTimeline = true
		}
	}
	if !onTimeline {
		t.Errorf("bob's message is not on his timeline: %+v", tl.Items)
	}

	// Opens and clicks: a person's mark the message, a machine's are
	// flagged.
	human := marketing.HitInfo{Method: "GET", UserAgent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15"}
	scanner := marketing.HitInfo{Method: "GET", UserAgent: "Barracuda Sentinel (EE)"}
	open, click := token(t, adaMail, "o"), token(t, adaMail, "c")
	must(t, "a scanner's click", func() error { _, err := e.mkt.Tracking.Click(ctx, click, scanner); return err }())
	e.later(time.Minute)
	must(t, "open", e.mkt.Tracking.Open(ctx, open, human))
	must(t, "open again", e.mkt.Tracking.Open(ctx, open, human))
	target, err := e.mkt.Tracking.Click(ctx, click, human)
	must(t, "click", err)
	u, err := url.Parse(target)
	must(t, "target", err)
	if u.Host != "shop.example" || u.Query().Get("ref") != "mail" || u.Query().Get("x") != "1" || u.Query().Get("utm_campaign") != "spring-sale-2026" ||
		u.Query().Get("utm_medium") != "email" || u.Query().Get("utm_source") != "news" {
		t.Errorf("click target %s", target)
	}
	_, err = e.mkt.Tracking.Click(ctx, click[:len(click)-3]+"abc", human)
	wantFields(t, "a forged click", err, "token")
	m, err := storage.TableOf[*marketing.Message](e.store).Get(ctx, byContact[ada.ID].ID)
	must(t, "message", err)
	if m.OpenedAt.IsZero() || m.ClickedAt.IsZero() || m.ClickedAt.Before(m.OpenedAt) {
		t.Errorf("ada's message after hits: %+v", m)
	}
	// The open is on Ada's timeline, beside the message itself.
	adaTL, err := e.svc.Contacts.Timeline(ctx, ada.ID, storage.PageQuery{})
	must(t, "ada's timeline", err)
	var opened, message bool
	for _, it := range adaTL.Items {
		opened = opened || it.Event != nil && it.Event.Type == marketing.EventOpened && it.Event.Subject.ID == m.ID
		rec, ok := it.Record.(*marketing.Message)
		message = message || ok && rec.ID == m.ID
	}
	if !opened || !message {
		t.Errorf("ada's timeline shows the open %v and the message %v: %+v", opened, message, adaTL.Items)
	}
	hits, err := storage.All(ctx, storage.TableOf[*marketing.Hit](e.store), storage.Eq("message_id", m.ID))
	must(t, "hits", err)
	bots := 0
	for _, hit := range hits {
		if hit.Bot {
			bots++
		}
	}
	if len(hits) != 4 || bots != 1 {
		t.Errorf("hits %d, bots %d", len(hits), bots)
	}
	stats, err := e.mkt.Campaigns.Stats(ctx, camp.ID)
	must(t, "stats", err)
	if stats.Messages[marketing.MessageSent] != 2 || stats.Messages[marketing.MessageSuppressed] != 3 || stats.Opened != 1 || stats.Clicked != 1 {
		t.Errorf("stats = %+v", stats)
	}

	// Engagement: who opened in the last week.
	openers, err := e.mkt.Segments.Create(ctx, marketing.NewSegment{Name: "Openers",
		Engaged: []marketing.Engagement{{Kind: marketing.HitOpen, WithinDays: 7}}})
	must(t, "engagement segment", err)
	if n, _ := e.mkt.Segments.Count(ctx, openers.ID); n != 1 {
		t.Errorf("openers = %d, want Ada", n)
	}
	// Counted engagements: Ada opened twice (as a person), nobody thrice.
	twice, err := e.mkt.Segments.Create(ctx, marketing.NewSegment{Name: "Opened twice",
		Engaged: []marketing.Engagement{{Kind: marketing.HitOpen, WithinDays: 7, Min: 2}}})
	must(t, "counted engagement segment", err)
	thrice, err := e.mkt.Segments.Create(ctx, marketing.NewSegment{Name: "Opened thrice",
		Engaged: []marketing.Engagement{{Kind: marketing.HitOpen, WithinDays: 7, Min: 3}}})
	must(t, "counted engagement segment", err)
	if ok, _ := e.mkt.Segments.Contains(ctx, twice.ID, ada.ID); !ok {
		t.Errorf("Ada is not in %q", twice.Name)
	}
	if n, _ := e.mkt.Segments.Count(ctx, thrice.ID); n != 0 {
		t.Errorf("%q has %d members, want 0", thrice.Name, n)
	}
	e.later(8 * 24 * time.Hour)
	_, err = e.mkt.Segments.Refresh(ctx)
	must(t, "refresh", err)
	if n, _ := e.mkt.Segments.Count(ctx, openers.ID); n != 0 {
		t.Errorf("openers a week later = %d", n)
	}
	if n, _ := e.mkt.Segments.Count(ctx, twice.ID); n != 0 {
		t.Errorf("%q a week later = %d", twice.Name, n)
	}

	// One-click unsubscribe from Bob's headers.
	var bobUnsub string
	for _, m := range got {
		if m.To[0] == "bob@example.com" {
			p, _ := m.Parse()
			bobUnsub = token(t, p.Header.Get("List-Unsubscribe"), "u")
		}
	}
	who, err := e.mkt.Tracking.Recipient(ctx, bobUnsub)
	must(t, "recipient", err)
	if who.Address != "b***@example.com" || who.List != "Acme News" {
		t.Errorf("recipient = %+v", who)
	}
	must(t, "one-click", e.mkt.Tracking.Unsubscribe(ctx, bobUnsub, marketing.HitInfo{Method: "POST"}))
	must(t, "one-click twice", e.mkt.Tracking.Unsubscribe(ctx, bobUnsub, marketing.HitInfo{Method: "POST"}))
	sub, err := e.mkt.Lists.Subscription(ctx, news.ID, bob.ID)
	must(t, "subscription", err)
	if sub.Status != marketing.Unsubscribed {
		t.Errorf("bob after one-click: %+v", sub)
	}
}

// failingMailer refuses every message while refuse is set, and panics at
// the message numbered crashAt (a sender dying mid-batch).
type failingMailer struct {
	next    send.Mailer
	refuse  atomic.Bool
	n       atomic.Int64
	crashAt int64
}

func (f *failingMailer) Send(ctx context.Context, m send.Message) error {
	n := f.n.Add(1)
	if n == f.crashAt {
		panic("sender crashed")
	}
	if f.refuse.Load() {
		return send.Permanent(errors.New("550 mailbox unavailable"))
	}
	return f.next.Send(ctx, m)
}

// testMarketingSendResume checks that a send stops at its error threshold
// and resumes, and that a sender dying mid-batch mails nobody twice.
func testMarketingSendResume(t *testing.T, h Harness) {
	srv := mailtest.Start(t, mailtest.Options{})
	real, err := smtp.New(smtp.Config{Host: srv.Host, Port: srv.Port, TLS: smtp.TLSNone, From: "news@acme.example"})
	must(t, "mailer", err)
	fm := &failingMailer{next: real}
	// One worker, so that the crash comes at a known message.
	e := newMktEnv(t, h, false, marketing.Options{Mailer: fm, SendWorkers: 1})
	ctx := e.ctx
	seg, err := e.mkt.Segments.Create(ctx, marketing.NewSegment{Name: "All", Kind: marketing.SegmentStatic})
	must(t, "segment", err)
	var ids []string
	for i := range 60 {
		c := e.contact(ctx, contacts.NewContact{FirstName: "P", LastName: string(rune('a' + i%26)), Email: "p" + strings.Repeat("x", i%3) + string(rune('a'+i%26)) + "@n" + string(rune('a'+i/26)) + ".example"})
		ids = append(ids, c.ID)
	}
	must(t, "add", e.mkt.Segments.Add(ctx, seg.ID, ids...))
	camp, err := e.mkt.Campaigns.Create(ctx, marketing.NewCampaign{Name: "Resume"})
	must(t, "campaign", err)
	em, err := e.mkt.Emails.Create(ctx, marketing.NewEmail{CampaignID: camp.ID, Name: "R", SegmentID: seg.ID, Subject: "Hi", Text: "Hello",
		BatchSize: 10, ErrorThreshold: 0.5})
	must(t, "email", err)

	// Every message fails: the send stops once 20 were tried.
	fm.refuse.Store(true)
	rep, err := e.mkt.Emails.Send(ctx, em.ID)
	must(t, "send", err)
	if rep.Status != marketing.EmailStopped || rep.Failed != 20 || !strings.Contains(rep.StopReason, "550") {
		t.Fatalf("stopped report = %+v", rep)
	}
	// Resumed with the server working, a sender dies in its second batch.
	fm.refuse.Store(false)
	fm.crashAt = fm.n.Load() + 15
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("the mailer did not crash")
			}
		}()
		_, _ = e.mkt.Emails.Send(ctx, em.ID)
	}()
	// Before the lease is over, another Send sends the rest and leaves the
	// claimed batch alone.
	rep, err = e.mkt.Emails.Send(ctx, em.ID)
	must(t, "send during the lease", err)
	if rep.InFlight != 10 || rep.Sent != 20 || rep.Status != marketing.EmailSending {
		t.Fatalf("during the lease: %+v", rep)
	}
	e.later(11 * time.Minute)
	rep, err = e.mkt.Emails.Send(ctx, em.ID)
	must(t, "send after the lease", err)
	if rep.Interrupted != 10 || rep.Status != marketing.EmailSent || rep.InFlight != 0 {
		t.Fatalf("after the lease: %+v", rep)
	}
	interrupted := 0
	for _, ev := range e.events(ctx) {
		if ev.Type == marketing.EventBatchInterrupted && ev.Subject.ID == em.ID {
			ch, _ := ev.Change("batch.interrupted")
			interrupted++
			if string(ch.New) != "10" {
				t.Errorf("the interrupted batch's event counts %s", ch.New)
			}
		}
	}
	if interrupted != 1 {
		t.Errorf("%d interrupted batch events, want 1", interrupted)
	}
	seen := map[string]int{}
	for _, m := range srv.Messages() {
		seen[m.To[0]]++
		if seen[m.To[0]] > 1 {
			t.Errorf("%s got the email twice", m.To[0])
		}
	}
	// 20 failed for good; 10 sent before the crash; 10 interrupted, of
	// which 4 went out before it; the other 20 sent by the next call.
	if len(seen) != 34 {
		t.Errorf("%d addresses got mail, want 34", len(seen))
	}
	for st, want := range map[marketing.MessageStatus]int{marketing.MessageFailed: 20, marketing.MessageInterrupted: 10, marketing.MessageSent: 30} {
		page, err := e.mkt.Emails.Messages(ctx, em.ID, st, storage.PageQuery{Limit: 100})
		must(t, "messages", err)
		if len(page.Items) != want {
			t.Errorf("%s messages: %d, want %d", st, len(page.Items), want)
		}
	}
}

// testMarketingForms posts web forms: a lead form captures and then
// updates one lead, with the page's UTM tags; a contact form makes the
// contact and its double opt-in subscription; bad posts and the honeypot
// write nothing.
func testMarketingForms(t *testing.T, h Harness) {
	e := newMktEnv(t, h, false, marketing.Options{})
	ctx := e.ctx
	_, err := e.mkt.Forms.Create(ctx, marketing.NewForm{Name: "No email", Fields: []marketing.FormField{{Name: "n", Field: "first_name"}}})
	wantFields(t, "a form without email", err, "fields")
	_, err = e.mkt.Forms.Create(ctx, marketing.NewForm{Name: "Bad", Fields: []marketing.FormField{{Name: "e", Field: "email"},
		{Name: "utm_source", Field: "company"}, {Name: "d", Field: "department"}}})
	wantFields(t, "bad fields", err, "fields[1].name", "fields[2].field")
	camp, err := e.mkt.Campaigns.Create(ctx, marketing.NewCampaign{Name: "Webinar", Type: marketing.CampaignWebinar})
	must(t, "campaign", err)
	demo, err := e.mkt.Forms.Create(ctx, marketing.NewForm{Name: "Demo request", CampaignID: camp.ID, Fields: []marketing.FormField{
		{Name: "email", Field: "email"}, {Name: "name", Field: "first_name", Required: true}, {Name: "org", Field: "company"}}})
	must(t, "lead form", err)
	link, err := e.mkt.Forms.URL(ctx, demo.ID)
	must(t, "url", err)
	tok := token(t, link, "f")

	_, err = e.mkt.Forms.Submit(ctx, tok, map[string][]string{"email": {"not-an-address"}})
	wantFields(t, "a bad post", err, "email", "name")
	spam, err := e.mkt.Forms.Submit(ctx, tok, map[string][]string{"email": {"bot@spam.example"}, "name": {"Bot"}, marketing.HoneypotField: {"http://x"}})
	must(t, "honeypot", err)
	if !spam.Spam {
		t.Error("a filled honeypot was not spam")
	}
	leads := storage.TableOf[*sales.Lead](e.store)
	if n := count(t, ctx, leads); n != 0 {
		t.Fatalf("bad and spam posts wrote %d leads", n)
	}
	sub, err := e.mkt.Forms.Submit(ctx, tok, map[string][]string{"email": {"ada@shop.example"}, "name": {"Ada"}, "org": {"Shop"},
		"utm_source": {"linkedin"}, "utm_campaign": {"spring"}})
	must(t, "post", err)
	l, err := leads.Get(ctx, sub.Post.LeadID)
	must(t, "lead", err)
	if l.Email != "ada@shop.example" || l.Company != "Shop" || l.UTM.Source != "linkedin" || l.FormID != demo.ID || l.Source != "web form" {
		t.Errorf("lead = %+v", l)
	}
	again, err := e.mkt.Forms.Submit(ctx, tok, map[string][]string{"email": {"ada@shop.example"}, "name": {"Ada L."}})
	must(t, "post again", err)
	if again.Post.LeadID != l.ID || count(t, ctx, leads) != 1 {
		t.Errorf("posting again made lead %s (%d leads)", again.Post.LeadID, count(t, ctx, leads))
	}
	if l, _ = leads.Get(ctx, l.ID); l.FirstName != "Ada L." || l.Company != "Shop" {
		t.Errorf("updated lead = %+v", l)
	}
	posts, err := e.mkt.Forms.Posts(ctx, demo.ID, storage.PageQuery{})
	must(t, "posts", err)
	if len(posts.Items) != 2 || posts.Items[0].UTM.Campaign != "spring" || posts.Items[0].Values["org"] != "Shop" {
		t.Errorf("posts = %+v", posts.Items)
	}

	// A contact form with a double opt-in list.
	weekly, err := e.mkt.Lists.Create(ctx, marketing.NewList{Key: "weekly", Name: "Weekly", DoubleOptIn: true})
	must(t, "list", err)
	_, err = e.svc.Fields.Define(ctx, contacts.NewFieldDef{Object: contacts.ObjectContact, Name: "shoe_size", Type: contacts.FieldText})
	must(t, "field", err)
	signup, err := e.mkt.Forms.Create(ctx, marketing.NewForm{Name: "Newsletter", Target: marketing.FormContact, ListID: weekly.ID,
		Fields: []marketing.FormField{{Name: "email", Field: "email"}, {Name: "size", Field: "custom.shoe_size"}}})
	must(t, "contact form", err)
	link, err = e.mkt.Forms.URL(ctx, signup.ID)
	must(t, "url", err)
	got, err := e.mkt.Forms.Submit(ctx, token(t, link, "f"), map[string][]string{"email": {"Bo@Example.com"}, "size": {"44"}})
	must(t, "sign-up", err)
	c, err := e.svc.Contacts.Get(ctx, got.Post.ContactID)
	must(t, "contact", err)
	if c.Email != "bo@example.com" || c.Custom["shoe_size"] != "44" || got.Subscription == nil || got.Subscription.Status != marketing.Unconfirmed {
		t.Errorf("contact %+v, subscription %+v", c, got.Subscription)
	}
	if msgs := e.srv.Messages(); len(msgs) != 1 || msgs[0].To[0] != "bo@example.com" {
		t.Errorf("confirmation mails: %+v", msgs)
	}
	var formEvents int
	for _, ev := range e.events(ctx) {
		if ev.Type == "form_post.created" {
			formEvents++
		}
	}
	if formEvents != 3 {
		t.Errorf("%d form events, want 3", formEvents)
	}
	_, err = e.mkt.Forms.Submit(ctx, tok+"x", map[string][]string{"email": {"x@example.com"}})
	wantFields(t, "a forged form token", err, "token")
}

// dsn is a delivery status notification about the message with the
// Message-ID id to addr.
func dsn(addr, action, status, id string) string {
	return "From: MAILER-DAEMON@mx.example.net\r\nTo: bounces@acme.example\r\nSubject: Undelivered Mail\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nSorry.\r\n" +
		"--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\nFinal-Recipient: rfc822; " + addr +
		"\r\nAction: " + action + "\r\nStatus: " + status + "\r\nDiagnostic-Code: smtp; " + status + " no\r\n\r\n" +
		"--b\r\nContent-Type: text/rfc822-headers\r\n\r\nTo: " + addr + "\r\nMessage-ID: " + id + "\r\n\r\n--b--\r\n"
}

// testMarketingBounces feeds bounce and complaint reports about real sent
// mail: a hard bounce and a complaint suppress at once, soft bounces of
// three messages do, and the next send leaves the addresses out.
func testMarketingBounces(t *testing.T, h Harness) {
	e := newMktEnv(t, h, false, marketing.Options{})
	ctx := e.ctx
	seg, err := e.mkt.Segments.Create(ctx, marketing.NewSegment{Name: "All", Kind: marketing.SegmentStatic})
	must(t, "segment", err)
	var ids []string
	for _, n := range []string{"hard", "soft", "angry", "fine"} {
		ids = append(ids, e.contact(ctx, contacts.NewContact{FirstName: n, Email: n + "@example.net"}).ID)
	}
	must(t, "add", e.mkt.Segments.Add(ctx, seg.ID, ids...))
	camp, err := e.mkt.Campaigns.Create(ctx, marketing.NewCampaign{Name: "Bounces"})
	must(t, "campaign", err)
	sendOne := func(name string) map[string]string {
		t.Helper()
		before := len(e.srv.Messages())
		em, err := e.mkt.Emails.Create(ctx, marketing.NewEmail{CampaignID: camp.ID, Name: name, SegmentID: seg.ID, Subject: "Hi", Text: "Hello"})
		must(t, "email", err)
		_, err = e.mkt.Emails.Send(ctx, em.ID)
		must(t, "send", err)
		out := map[string]string{}
		for _, m := range e.srv.Messages()[before:] {
			p, err := m.Parse()
			must(t, "parse", err)
			out[m.To[0]] = p.Header.Get("Message-Id")
		}
		return out
	}
	process := func(report string) *marketing.ReportResult {
		t.Helper()
		res, err := e.mkt.Bounces.Process(ctx, strings.NewReader(report))
		must(t, "process", err)
		return res
	}
	suppressed := func(addr string) marketing.SuppressionReason {
		t.Helper()
		s, err := e.mkt.Suppressions.Check(ctx, addr)
		must(t, "check", err)
		if s == nil {
			return ""
		}
		return s.Reason
	}
	first := sendOne("first")
	res := process(dsn("hard@example.net", "failed", "5.1.1", first["hard@example.net"]))
	if len(res.Messages) != 1 || suppressed("hard@example.net") != marketing.SuppressHardBounce {
		t.Fatalf("hard bounce: %+v, %q", res, suppressed("hard@example.net"))
	}
	msg, err := storage.TableOf[*marketing.Message](e.store).Get(ctx, res.Messages[0])
	must(t, "message", err)
	if msg.Status != marketing.MessageBounced || msg.Address != "hard@example.net" || !strings.Contains(msg.Error, "5.1.1") {
		t.Errorf("the bounced message: %+v", msg)
	}
	complaint := "From: staff@fbl.example\r\nTo: abuse@acme.example\r\nSubject: complaint\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/report; report-type=feedback-report; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nAbuse.\r\n" +
		"--b\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\nVersion: 1\r\nOriginal-Rcpt-To: <angry@example.net>\r\n\r\n--b--\r\n"
	if process(complaint); suppressed("angry@example.net") != marketing.SuppressComplaint {
		t.Errorf("complaint: %q", suppressed("angry@example.net"))
	}
	// Soft bounces: a delay and a retry of one message count once; the
	// third message suppresses.
	process(dsn("soft@example.net", "delayed", "4.2.2", first["soft@example.net"]))
	process(dsn("soft@example.net", "failed", "4.4.7", first["soft@example.net"]))
	process(dsn("soft@example.net", "failed", "4.2.2", sendOne("second")["soft@example.net"]))
	if got := suppressed("soft@example.net"); got != "" {
		t.Fatalf("two soft-bounced messages suppressed: %q", got)
	}
	third := sendOne("third")
	if _, ok := third["soft@example.net"]; !ok || len(third) != 2 {
		t.Fatalf("the third send went to %v", third)
	}
	process(dsn("soft@example.net", "failed", "4.2.2", third["soft@example.net"]))
	if got := suppressed("soft@example.net"); got != marketing.SuppressHardBounce {
		t.Errorf("three soft-bounced messages: %q", got)
	}
	if got := sendOne("fourth"); len(got) != 1 || got["fine@example.net"] == "" {
		t.Errorf("the fourth send went to %v, want fine@ alone", got)
	}
	_, err = e.mkt.Bounces.Process(ctx, strings.NewReader("From: a@b.example\r\nSubject: hi\r\n\r\nhello\r\n"))
	wantFields(t, "no report", err, "report")
}

// testMarketingScoring scores contacts by fit and by behaviour (clicks
// that fade, form posts), kept by Sync from the feed, with a band change
// as its own event.
func testMarketingScoring(t *testing.T, h Harness) {
	e := newMktEnv(t, h, false, marketing.Options{})
	ctx := e.ctx
	_, err := e.mkt.Scoring.Create(ctx, marketing.NewScoringRule{Name: "Bad", Kind: marketing.ScoreFit, Where: "nope =="})
	wantFields(t, "a bad condition", err, "where", "points")
	_, err = e.mkt.Scoring.Create(ctx, marketing.NewScoringRule{Name: "Bad", Kind: marketing.ScoreBehaviour, Behaviour: "visit", Points: 1})
	wantFields(t, "a bad behaviour", err, "behaviour")
	shop := e.account(ctx, contacts.NewAccount{Name: "Shop", Industry: "retail"})
	ada := e.contact(ctx, contacts.NewContact{FirstName: "Ada", Email: "ada@example.com", AccountID: shop.ID})
	bob := e.contact(ctx, contacts.NewContact{FirstName: "Bob", Email: "bob@example.com", Lifecycle: contacts.LifecycleCustomer})
	rules := []marketing.NewScoringRule{
		{Name: "Customer", Kind: marketing.ScoreFit, Where: `lifecycle == "customer"`, Points: 30},
		{Name: "Retail", Kind: marketing.ScoreFit, Where: `account.industry == "retail"`, Points: 10},
		{Name: "Clicks", Kind: marketing.ScoreBehaviour, Behaviour: marketing.BehaviourClick, Points: 20, HalfLifeDays: 7, Max: 50},
		{Name: "Forms", Kind: marketing.ScoreBehaviour, Behaviour: marketing.BehaviourForm, Points: 25},
	}
	for _, r := range rules {
		_, err := e.mkt.Scoring.Create(ctx, r)
		must(t, "rule "+r.Name, err)
	}
	score := func(c *contacts.Contact) (fit, behaviour int, band string) {
		t.Helper()
		s, err := e.mkt.Scoring.Get(ctx, c.ID)
		must(t, "score", err)
		if s.Total != s.Fit+s.Behaviour {
			t.Fatalf("score %+v does not add up", s)
		}
		return s.Fit, s.Behaviour, s.Band
	}
	if f, b, band := score(ada); f != 10 || b != 0 || band != "cold" {
		t.Errorf("ada: %d %d %s", f, b, band)
	}
	if f, _, _ := score(bob); f != 30 {
		t.Errorf("bob's fit: %d", f)
	}

	// Ada clicks three times in campaign mail and posts a form.
	seg, err := e.mkt.Segments.Create(ctx, marketing.NewSegment{Name: "Ada", Where: `first_name == "Ada"`})
	must(t, "segment", err)
	camp, err := e.mkt.Campaigns.Create(ctx, marketing.NewCampaign{Name: "Scoring"})
	must(t, "campaign", err)
	em, err := e.mkt.Emails.Create(ctx, marketing.NewEmail{CampaignID: camp.ID, Name: "S", SegmentID: seg.ID, Subject: "Hi",
		HTML: `<a href="https://shop.example/">Shop</a>`})
	must(t, "email", err)
	_, err = e.mkt.Emails.Send(ctx, em.ID)
	must(t, "send", err)
	p, err := e.srv.Messages()[0].Parse()
	must(t, "parse", err)
	e.later(time.Hour)
	human := marketing.HitInfo{Method: "GET", UserAgent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"}
	for range 3 {
		_, err := e.mkt.Tracking.Click(ctx, token(t, p.HTML, "c"), human)
		must(t, "click", err)
	}
	form, err := e.mkt.Forms.Create(ctx, marketing.NewForm{Name: "Contact us", Target: marketing.FormContact,
		Fields: []marketing.FormField{{Name: "email", Field: "email"}}})
	must(t, "form", err)
	link, err := e.mkt.Forms.URL(ctx, form.ID)
	must(t, "url", err)
	_, err = e.mkt.Forms.Submit(ctx, token(t, link, "f"), map[string][]string{"email": {"ada@example.com"}})
	must(t, "post", err)
	e.sync()
	_, err = e.mkt.Sync(ctx)
	must(t, "sync", err)
	// Clicks: 3 × 20 faded by an hour of a 7-day half-life, capped at
	// 50; the form 25: 75; with the fit 10, 85: hot.
	if f, b, band := score(ada); f != 10 || b != 75 || band != "hot" {
		t.Errorf("ada after clicks and a form: fit %d, behaviour %d, %s", f, b, band)
	}
	var bands []string
	for _, ev := range e.events(ctx) {
		if ev.Subject.Type == marketing.ObjectScore {
			bands = append(bands, ev.Type)
		}
	}
	if !slices.Contains(bands, "lead_score.hot") {
		t.Errorf("score events %v lack lead_score.hot", bands)
	}
	// Two weeks on, the clicks count a quarter: 3 × 20 / 4 = 15.
	e.later(14 * 24 * time.Hour)
	_, err = e.mkt.Scoring.Refresh(ctx)
	must(t, "refresh", err)
	if _, b, band := score(ada); b != 40 || band != "warm" {
		t.Errorf("ada two weeks later: behaviour %d, %s", b, band)
	}
	must(t, "delete bob", e.svc.Contacts.Delete(ctx, bob.ID))
	e.sync()
	_, err = e.mkt.Sync(ctx)
	must(t, "sync", err)
	if _, err := e.mkt.Scoring.Get(ctx, bob.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("a deleted contact keeps its score: %v", err)
	}
}

// testMarketingABTest splits a share of the audience between two
// subjects, the same way on every run, holds the rest, and sends it the
// subject people opened more.
func testMarketingABTest(t *testing.T, h Harness) {
	e := newMktEnv(t, h, false, marketing.Options{})
	ctx := e.ctx
	seg, err := e.mkt.Segments.Create(ctx, marketing.NewSegment{Name: "All", Kind: marketing.SegmentStatic})
	must(t, "segment", err)
	var ids []string
	for i := range 200 {
		ids = append(ids, e.contact(ctx, contacts.NewContact{FirstName: "P", Email: "p" + strings.Repeat("q", i/26) + string(rune('a'+i%26)) + "@ab.example"}).ID)
	}
	must(t, "add", e.mkt.Segments.Add(ctx, seg.ID, ids...))
	camp, err := e.mkt.Campaigns.Create(ctx, marketing.NewCampaign{Name: "AB"})
	must(t, "campaign", err)
	_, err = e.mkt.Emails.Create(ctx, marketing.NewEmail{CampaignID: camp.ID, Name: "x", SegmentID: seg.ID, Subject: "A", Text: "x",
		Variants: []string{"{{.Bad"}, WinnerBy: "likes"})
	wantFields(t, "bad variants", err, "variants[0]", "winner_by")
	em, err := e.mkt.Emails.Create(ctx, marketing.NewEmail{CampaignID: camp.ID, Name: "AB", SegmentID: seg.ID, Subject: "Plain subject",
		Variants: []string{"Big news, {{.Contact.FirstName}}"}, TestShare: 0.3, Text: "Hello"})
	must(t, "email", err)
	rep, err := e.mkt.Emails.Send(ctx, em.ID)
	must(t, "send", err)
	// The split hashes the email's and the contacts' IDs, new each run: the
	// test phase is binomial (200, 0.3), 60 ± 6.5; the bounds are five
	// standard deviations out (82 was seen once against ±3).
	if rep.Held+rep.Sent != 200 || rep.Sent < 27 || rep.Sent > 93 || rep.Status != marketing.EmailSending {
		t.Fatalf("the test phase: %+v", rep)
	}
	// Everyone who got "Big news" opens it; one "Plain subject" reader does.
	e.later(time.Hour)
	bySubject := map[string][]string{}
	for _, m := range e.srv.Messages() {
		p, err := m.Parse()
		must(t, "parse", err)
		bySubject[p.Subject] = append(bySubject[p.Subject], m.To[0])
	}
	if len(bySubject["Plain subject"]) == 0 || len(bySubject["Big news, P"]) == 0 {
		t.Fatalf("subjects sent: %v", len(bySubject))
	}
	msgs, err := e.mkt.Emails.Messages(ctx, em.ID, marketing.MessageSent, storage.PageQuery{Limit: 500})
	must(t, "messages", err)
	plainOpened := false
	for _, m := range msgs.Items {
		if m.Variant == 0 {
			if plainOpened {
				continue
			}
			plainOpened = true
		}
		n := *m
		n.OpenedAt = storage.Now()
		must(t, "open", storage.TableOf[*marketing.Message](e.store).Update(ctx, m, &n))
	}
	results, err := e.mkt.Emails.PickWinner(ctx, em.ID)
	must(t, "pick", err)
	if len(results) != 2 || results[1].Rate != 1 || results[0].Rate >= 1 || results[0].Sent+results[1].Sent != int64(rep.Sent) {
		t.Fatalf("results = %+v", results)
	}
	_, err = e.mkt.Emails.PickWinner(ctx, em.ID)
	wantErr(t, "picking twice", err, storage.ErrConflict)
	rest, err := e.mkt.Emails.Send(ctx, em.ID)
	must(t, "send the rest", err)
	if rest.Sent != rep.Held || rest.Status != marketing.EmailSent || rest.Held != 0 {
		t.Fatalf("the rest: %+v", rest)
	}
	got := 0
	for _, m := range e.srv.Messages()[rep.Sent:] {
		p, _ := m.Parse()
		if p.Subject != "Big news, P" {
			t.Fatalf("a held message went out with %q", p.Subject)
		}
		got++
	}
	if got != rep.Held {
		t.Errorf("%d held messages went out, want %d", got, rep.Held)
	}
}

// testMarketingAttribution credits leads and won deals to campaigns by
// first and last touch, with cost per lead and ROI.
func testMarketingAttribution(t *testing.T, h Harness) {
	e := newMktEnv(t, h, false, marketing.Options{})
	ctx := e.ctx
	eur := func(n int64) storage.Money { return storage.Money{Amount: n * 100, Currency: "EUR"} }
	a, err := e.mkt.Campaigns.Create(ctx, marketing.NewCampaign{Name: "Trade fair", Type: marketing.CampaignEvent, ActualCost: eur(1000)})
	must(t, "campaign a", err)
	b, err := e.mkt.Campaigns.Create(ctx, marketing.NewCampaign{Name: "Retargeting", Type: marketing.CampaignAdvertising, ActualCost: eur(500)})
	must(t, "campaign b", err)
	leadForm, err := e.mkt.Forms.Create(ctx, marketing.NewForm{Name: "Fair leads", CampaignID: a.ID,
		Fields: []marketing.FormField{{Name: "email", Field: "email"}}})
	must(t, "lead form", err)
	link, err := e.mkt.Forms.URL(ctx, leadForm.ID)
	must(t, "url", err)
	for _, addr := range []string{"l1@example.com", "l2@example.com"} {
		_, err := e.mkt.Forms.Submit(ctx, token(t, link, "f"), map[string][]string{"email": {addr}})
		must(t, "lead", err)
	}
	signup, err := e.mkt.Forms.Create(ctx, marketing.NewForm{Name: "Fair sign-up", Target: marketing.FormContact, CampaignID: a.ID,
		Fields: []marketing.FormField{{Name: "email", Field: "email"}}})
	must(t, "contact form", err)
	link, err = e.mkt.Forms.URL(ctx, signup.ID)
	must(t, "url", err)
	// X signs up at the fair; Y meets the fair and then the ads; Z only
	// the ads, after its deal.
	x, err := e.mkt.Forms.Submit(ctx, token(t, link, "f"), map[string][]string{"email": {"x@example.com"}})
	must(t, "x", err)
	y := e.contact(ctx, contacts.NewContact{FirstName: "Y", Email: "y@example.com"})
	z := e.contact(ctx, contacts.NewContact{FirstName: "Z", Email: "z@example.com"})
	must(t, "y at the fair", e.mkt.Campaigns.Respond(ctx, a.ID, y.ID, marketing.MemberResponded))
	time.Sleep(2 * time.Millisecond)
	must(t, "y clicks an ad", e.mkt.Campaigns.Respond(ctx, b.ID, y.ID, marketing.MemberResponded))
	time.Sleep(2 * time.Millisecond)
	s := e.sales()
	deal := func(contactID string, amount int64, won bool) {
		t.Helper()
		o, err := s.Opportunities.Create(ctx, sales.NewOpportunity{Name: "Deal", ContactID: contactID, Amount: eur(amount)})
		must(t, "deal", err)
		if won {
			_, err = s.Opportunities.MoveStage(ctx, o.ID, "closed_won", sales.MoveOptions{})
			must(t, "win", err)
		}
	}
	deal(x.Post.ContactID, 5000, true)
	deal(y.ID, 2000, true)
	deal(y.ID, 900, false)
	deal(z.ID, 3000, true)
	time.Sleep(2 * time.Millisecond)
	must(t, "z clicks an ad later", e.mkt.Campaigns.Respond(ctx, b.ID, z.ID, marketing.MemberResponded))

	at, err := e.mkt.Campaigns.Attribution(ctx, a.ID)
	must(t, "attribution a", err)
	if at.Leads != 2 || at.CostPerLead != eur(500) || at.Touched != 2 {
		t.Errorf("a: leads %d, cost per lead %v, touched %d", at.Leads, at.CostPerLead, at.Touched)
	}
	if at.FirstTouch.Deals != 3 || at.FirstTouch.Won != 2 || at.FirstTouch.Revenue["EUR"] != 700000 || at.FirstTouch.ROI != 6 {
		t.Errorf("a, first touch: %+v", at.FirstTouch)
	}
	if at.LastTouch.Deals != 1 || at.LastTouch.Revenue["EUR"] != 500000 || at.LastTouch.ROI != 4 {
		t.Errorf("a, last touch: %+v", at.LastTouch)
	}
	bt, err := e.mkt.Campaigns.Attribution(ctx, b.ID)
	must(t, "attribution b", err)
	if bt.FirstTouch.Deals != 0 || bt.LastTouch.Deals != 2 || bt.LastTouch.Won != 1 || bt.LastTouch.Revenue["EUR"] != 200000 || bt.LastTouch.ROI != 3 {
		t.Errorf("b: %+v", bt)
	}
}

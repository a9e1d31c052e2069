package storagetest

import (
	"testing"
	"time"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
)

// testLastActivity checks the derived last activity time of contacts and
// accounts: every activity written moves it forward, an older one does
// not move it back, an update of the record never overwrites it, and it
// writes no change event.
func testLastActivity(t *testing.T, h Harness) {
	e := newEnv(t, h)
	acc := e.account(e.ctx, contacts.NewAccount{Name: "Acme"})
	c := e.contact(e.ctx, contacts.NewContact{FirstName: "Ada", AccountID: acc.ID})
	other := e.contact(e.ctx, contacts.NewContact{FirstName: "Bob"})
	if !c.LastActivityAt.IsZero() {
		t.Fatalf("a new contact has a last activity: %v", c.LastActivityAt)
	}
	stale, err := e.svc.Contacts.Get(e.ctx, c.ID) // read before the activities
	must(t, "get", err)
	before := len(e.events(e.ctx))
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	_, err = e.svc.Activities.Log(e.ctx, contacts.NewActivity{Kind: contacts.KindCall, Subject: "Call", OccurredAt: at, ContactIDs: []string{c.ID}, AccountID: acc.ID})
	must(t, "log", err)
	_, err = e.svc.Activities.Log(e.ctx, contacts.NewActivity{Kind: contacts.KindNote, Subject: "Older", OccurredAt: at.Add(-48 * time.Hour), ContactIDs: []string{c.ID}})
	must(t, "log older", err)
	got, err := e.svc.Contacts.Get(e.ctx, c.ID)
	must(t, "get", err)
	if !got.LastActivityAt.Equal(at) {
		t.Errorf("contact's last activity = %v, want %v", got.LastActivityAt, at)
	}
	a, err := e.svc.Accounts.Get(e.ctx, acc.ID)
	must(t, "get account", err)
	if !a.LastActivityAt.Equal(at) {
		t.Errorf("account's last activity = %v, want %v", a.LastActivityAt, at)
	}
	if o, _ := e.svc.Contacts.Get(e.ctx, other.ID); !o.LastActivityAt.IsZero() {
		t.Errorf("another contact's last activity moved: %v", o.LastActivityAt)
	}
	// Only the two activities' events were written.
	if n := len(e.events(e.ctx)) - before; n != 2 {
		t.Errorf("%d events for two activities, want 2", n)
	}
	// An update from a copy read before the activities keeps the time.
	next := *stale
	next.JobTitle = "CTO"
	must(t, "update", storage.TableOf[*contacts.Contact](e.store).Update(e.ctx, stale, &next))
	got, err = e.svc.Contacts.Get(e.ctx, c.ID)
	must(t, "get", err)
	if !got.LastActivityAt.Equal(at) || got.JobTitle != "CTO" {
		t.Errorf("after an update: last activity %v, job title %q", got.LastActivityAt, got.JobTitle)
	}
	hist, err := e.store.History(e.ctx, c.ID, storage.PageQuery{Limit: 1})
	must(t, "history", err)
	if _, ok := hist.Items[0].Change("last_activity_at"); ok {
		t.Error("the update's event lists last_activity_at")
	}
}

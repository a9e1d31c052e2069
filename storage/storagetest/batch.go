package storagetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// batchContacts returns n new contacts, the same on every call.
func batchContacts(n int) []*contacts.Contact {
	out := make([]*contacts.Contact, n)
	for i := range out {
		out[i] = &contacts.Contact{FirstName: "Batch", LastName: fmt.Sprintf("Zed%02d", i), Email: fmt.Sprintf("batch%02d@example.com", i),
			Phones: []contacts.Phone{{Number: fmt.Sprintf("+1415555%04d", i)}}, JobTitle: "Tester", Tags: []string{"batch"}}
	}
	return out
}

// eventShape is an event without what differs between two workspaces: its
// ID, subject ID, time and the record IDs in its changes.
type eventShape struct {
	Type, Subject string
	Fields        []string
}

func shapes(evs []storage.Event, keepValues bool) []eventShape {
	out := make([]eventShape, 0, len(evs))
	for _, ev := range evs {
		s := eventShape{Type: ev.Type, Subject: ev.Subject.Type}
		for _, c := range ev.Changes {
			f := c.Field
			if keepValues {
				f += "=" + string(c.Old) + "→" + string(c.New)
			}
			s.Fields = append(s.Fields, f)
		}
		out = append(out, s)
	}
	return out
}

// testBatchMatchesRows writes the same records one at a time in one
// workspace and with storage.InsertMany / UpdateMany in another, and
// requires the same records, change events, search documents and links.
func testBatchMatchesRows(t *testing.T, h Harness) {
	e := newEnv(t, h)
	rowCtx, batchCtx := e.in("ws-rows"), e.in("ws-batch")
	tbl := storage.TableOf[*contacts.Contact](e.store)
	type written struct {
		contacts []*contacts.Contact
		acts     []*contacts.Activity
	}
	write := func(ctx context.Context, batch bool) written {
		var w written
		w.contacts = batchContacts(6)
		if batch {
			must(t, "insert many", storage.InsertMany(ctx, e.store, tbl, w.contacts))
		} else {
			for _, c := range w.contacts {
				must(t, "insert", tbl.Insert(ctx, c))
			}
		}
		// Activities are linked records: their links must be kept too.
		for i := range 3 {
			w.acts = append(w.acts, &contacts.Activity{Kind: contacts.KindNote, Subject: fmt.Sprint("note ", i),
				OccurredAt: storage.Now(), ContactIDs: []string{w.contacts[i].ID}})
		}
		if batch {
			must(t, "insert many activities", storage.InsertMany(ctx, e.store, storage.TableOf[*contacts.Activity](e.store), w.acts))
		} else {
			for _, a := range w.acts {
				must(t, "insert activity", storage.TableOf[*contacts.Activity](e.store).Insert(ctx, a))
			}
		}
		// Updates: a new title for every contact but one left unchanged, and
		// the activities moved to another contact.
		var prevs, nexts []*contacts.Contact
		for i, c := range w.contacts {
			n := *c
			if i != 5 {
				n.JobTitle = "Quartermaster"
				n.Tags = []string{"batch", "moved"}
			}
			prevs, nexts = append(prevs, c), append(nexts, &n)
		}
		var aprev, anext []*contacts.Activity
		for _, a := range w.acts {
			n := *a
			n.ContactIDs = []string{w.contacts[5].ID}
			aprev, anext = append(aprev, a), append(anext, &n)
		}
		if batch {
			must(t, "update many", storage.UpdateMany(ctx, e.store, tbl, prevs, nexts))
			must(t, "update many activities", storage.UpdateMany(ctx, e.store, storage.TableOf[*contacts.Activity](e.store), aprev, anext))
		} else {
			for i := range prevs {
				must(t, "update", tbl.Update(ctx, prevs[i], nexts[i]))
			}
			for i := range aprev {
				must(t, "update activity", storage.TableOf[*contacts.Activity](e.store).Update(ctx, aprev[i], anext[i]))
			}
		}
		w.contacts, w.acts = nexts, anext
		return w
	}
	rw, bw := write(rowCtx, false), write(batchCtx, true)

	// The records, as returned and as stored.
	ignore := cmp.Options{cmpopts.IgnoreFields(storage.Meta{}, "ID", "WorkspaceID", "CreatedAt", "UpdatedAt", "CreatedBy", "UpdatedBy"),
		cmpopts.IgnoreFields(contacts.Contact{}, "LastActivityAt")} // the times of the activities written
	if d := cmp.Diff(rw.contacts, bw.contacts, ignore); d != "" {
		t.Errorf("records written (-rows +batch):\n%s", d)
	}
	list := func(ctx context.Context) []*contacts.Contact {
		p, err := tbl.List(ctx, storage.ListQuery{Sort: []storage.Sort{{Field: "email"}}})
		must(t, "list", err)
		return p.Items
	}
	if d := cmp.Diff(list(rowCtx), list(batchCtx), ignore); d != "" {
		t.Errorf("records stored (-rows +batch):\n%s", d)
	}
	for _, c := range bw.contacts[:5] {
		if c.Version != 2 {
			t.Errorf("%s is at version %d after one update, want 2", c.Email, c.Version)
		}
	}

	// The change events, field by field with their values, but for the
	// IDs the activities' contact_ids hold.
	re, be := e.events(rowCtx), e.events(batchCtx)
	if d := cmp.Diff(shapes(re, false), shapes(be, false)); d != "" {
		t.Errorf("events (-rows +batch):\n%s", d)
	}
	onlyContacts := func(evs []storage.Event) []storage.Event {
		return slices.DeleteFunc(slices.Clone(evs), func(ev storage.Event) bool { return ev.Subject.Type != contacts.ObjectContact })
	}
	if d := cmp.Diff(shapes(onlyContacts(re), true), shapes(onlyContacts(be), true)); d != "" {
		t.Errorf("contact events with values (-rows +batch):\n%s", d)
	}
	if n := len(onlyContacts(be)); n != 11 {
		t.Errorf("%d contact events, want 6 created and 5 updated (one update changed nothing)", n)
	}

	// The search documents: the new title is found, the batch's records
	// as the rows'.
	for _, q := range []string{"quartermaster", "zed03", "batch03"} {
		rh, err := e.svc.Search(rowCtx, q, 50)
		must(t, "search", err)
		bh, err := e.svc.Search(batchCtx, q, 50)
		must(t, "search", err)
		var rt, bt []string
		for _, h := range rh {
			rt = append(rt, h.Title)
		}
		for _, h := range bh {
			bt = append(bt, h.Title)
		}
		slices.Sort(rt)
		slices.Sort(bt)
		if !slices.Equal(rt, bt) || len(bt) == 0 {
			t.Errorf("search %q: rows found %v, batch found %v", q, rt, bt)
		}
	}

	// The links: the activities moved from their contacts to the sixth.
	timelineActs := func(ctx context.Context, id string) int {
		p, err := e.svc.Contacts.Timeline(ctx, id, storage.PageQuery{Limit: 100})
		must(t, "timeline", err)
		n := 0
		for _, en := range p.Items {
			if en.Activity != nil {
				n++
			}
		}
		return n
	}
	for _, w := range []struct {
		ctx context.Context
		w   written
	}{{rowCtx, rw}, {batchCtx, bw}} {
		if first, sixth := timelineActs(w.ctx, w.w.contacts[0].ID), timelineActs(w.ctx, w.w.contacts[5].ID); first != 0 || sixth != 3 {
			t.Errorf("%s: the first contact's timeline has %d activities, the sixth's %d; want 0 and 3",
				storage.WorkspaceFrom(w.ctx), first, sixth)
		}
	}
}

// testBatchAllOrNothing checks that a batch with one bad record writes
// nothing, and that a savepoint undoes only its own writes.
func testBatchAllOrNothing(t *testing.T, h Harness) {
	e := newEnv(t, h)
	taken := e.contact(e.ctx, contacts.NewContact{FirstName: "Taken", Email: "batch03@example.com"})
	before := e.counts(e.ctx)
	err := storage.InsertMany(e.ctx, e.store, storage.TableOf[*contacts.Contact](e.store), batchContacts(6))
	wantErr(t, "a batch with a taken email", err, storage.ErrConflict)
	if after := e.counts(e.ctx); after != before {
		t.Errorf("a failed batch wrote: %+v → %+v", before, after)
	}
	// The second pair names the record at a version it is not at.
	n, stale := *taken, *taken
	n.JobTitle, stale.Version = "Changed", 99
	n2 := stale
	n2.JobTitle = "Changed again"
	err = storage.UpdateMany(e.ctx, e.store, storage.TableOf[*contacts.Contact](e.store), []*contacts.Contact{taken, &stale}, []*contacts.Contact{&n, &n2})
	wantErr(t, "update many with a stale record", err, storage.ErrStale)
	if n.Version != 1 {
		t.Errorf("a failed update left its record at version %d, want 1", n.Version)
	}
	if got, err := e.svc.Contacts.Get(e.ctx, taken.ID); err != nil || got.JobTitle != "" || got.Version != 1 {
		t.Errorf("a failed batch update changed the record: %+v (%v)", got, err)
	}

	// A savepoint inside a transaction: its writes go, the transaction's
	// stay. Under row-level security the savepoint is also where the
	// transaction first names its workspace, which its rollback undoes.
	errBoom := errors.New("boom")
	var kept *contacts.Contact
	err = e.store.RunInTx(e.ctx, func(ctx context.Context) error {
		err := storage.RunInSavepoint(ctx, e.store, func(ctx context.Context) error {
			if _, err := e.svc.Contacts.Create(ctx, contacts.NewContact{FirstName: "Undone"}); err != nil {
				return err
			}
			return errBoom
		})
		if !errors.Is(err, errBoom) {
			return fmt.Errorf("savepoint returned %v", err)
		}
		kept, err = e.svc.Contacts.Create(ctx, contacts.NewContact{FirstName: "Kept"})
		return err
	})
	must(t, "transaction with a failed savepoint", err)
	all, err := e.svc.Contacts.List(e.ctx, storage.ListQuery{Filter: storage.Cmp{Field: "first_name", Op: storage.OpIn, Value: []string{"Undone", "Kept"}}})
	must(t, "list", err)
	if len(all.Items) != 1 || all.Items[0].ID != kept.ID {
		t.Errorf("after the savepoint's rollback the workspace holds %+v, want only Kept", all.Items)
	}
}

// testInsertWithoutEvent checks that an insert WithoutEvent writes its
// records, their search entries and links, and no change event, and that
// an update or delete refuses the option.
func testInsertWithoutEvent(t *testing.T, h Harness) {
	e := newEnv(t, h)
	before := len(e.events(e.ctx))
	recs := batchContacts(3)
	must(t, "insert without events", storage.InsertMany(e.ctx, e.store, storage.TableOf[*contacts.Contact](e.store), recs, storage.WithoutEvent()))
	act := &contacts.Activity{Kind: contacts.KindNote, Subject: "Quiet note", OccurredAt: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC),
		ContactIDs: []string{recs[0].ID}}
	must(t, "activity without event", storage.InsertMany(e.ctx, e.store, storage.TableOf[*contacts.Activity](e.store), []*contacts.Activity{act}, storage.WithoutEvent()))
	if after := e.events(e.ctx); len(after) != before {
		t.Fatalf("inserts without events wrote %d events: %+v", len(after)-before, after[before:])
	}
	hist, err := e.store.History(e.ctx, recs[0].ID, storage.PageQuery{})
	must(t, "history", err)
	if len(hist.Items) != 0 {
		t.Errorf("history of a record inserted without events: %+v", hist.Items)
	}
	got, err := e.svc.Contacts.Get(e.ctx, recs[1].ID)
	must(t, "get", err)
	if got.LastName != "Zed01" || got.Version != 1 {
		t.Errorf("record inserted without events: %+v", got)
	}
	res, err := e.svc.Search(e.ctx, "zed02", 0)
	must(t, "search", err)
	if len(res) != 1 || res[0].Contact == nil || res[0].Contact.ID != recs[2].ID {
		t.Errorf("search for a record inserted without events: %+v", res)
	}
	tl, err := e.svc.Contacts.Timeline(e.ctx, recs[0].ID, storage.PageQuery{})
	must(t, "timeline", err)
	if len(tl.Items) != 1 || tl.Items[0].Activity == nil || tl.Items[0].Activity.ID != act.ID {
		t.Errorf("timeline of a contact with an activity inserted without events: %+v", tl.Items)
	}
	next := *got
	next.JobTitle = "Changed"
	err = storage.TableOf[*contacts.Contact](e.store).Update(e.ctx, got, &next, storage.WithoutEvent())
	if err == nil {
		t.Error("an update WithoutEvent was allowed")
	}
	if err := storage.TableOf[*contacts.Contact](e.store).Delete(e.ctx, got, storage.WithoutEvent()); err == nil {
		t.Error("a delete WithoutEvent was allowed")
	}
	if _, err := e.svc.Contacts.Get(e.ctx, got.ID); err != nil {
		t.Errorf("a refused delete removed the record: %v", err)
	}
}

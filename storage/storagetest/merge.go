package storagetest

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/uptrace/bun"

	"github.com/crmkit/crm"
	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/sales"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/access"
	"github.com/crmkit/crm/storage/merge"
)

// ignoreWrites ignores what every write changes: the version and the
// time and actor of the last change.
var ignoreWrites = cmp.Options{cmpopts.IgnoreFields(storage.Meta{}, "Version", "UpdatedAt", "UpdatedBy"), cmpopts.EquateEmpty()}

// world is every record of the types a merge touches, by type and ID.
type world map[string]any

func collectInto[T storage.Record](t testing.TB, ctx context.Context, w world, tbl storage.Table[T]) {
	t.Helper()
	err := storage.Each(ctx, tbl, storage.ListQuery{PageQuery: storage.PageQuery{Limit: storage.MaxLimit}}, func(r T) error {
		w[r.RecordType()+"/"+r.RecordMeta().ID] = r
		return nil
	})
	must(t, "collect", err)
}

func snapshotWorld(t testing.TB, ctx context.Context, s Store) world {
	t.Helper()
	w := world{}
	collectInto(t, ctx, w, storage.TableOf[*contacts.Contact](s))
	collectInto(t, ctx, w, storage.TableOf[*contacts.Account](s))
	collectInto(t, ctx, w, storage.TableOf[*contacts.Activity](s))
	collectInto(t, ctx, w, storage.TableOf[*contacts.Consent](s))
	collectInto(t, ctx, w, storage.TableOf[*sales.Lead](s))
	collectInto(t, ctx, w, storage.TableOf[*sales.Opportunity](s))
	collectInto(t, ctx, w, storage.TableOf[*sales.Quote](s))
	collectInto(t, ctx, w, storage.TableOf[*sales.Invoice](s))
	collectInto(t, ctx, w, storage.TableOf[*sales.Order](s))
	collectInto(t, ctx, w, storage.TableOf[*sales.Task](s))
	collectInto(t, ctx, w, storage.TableOf[*sales.Project](s))
	return w
}

// related counts, per record type, the records that link to ref.
func related(t testing.TB, ctx context.Context, s Store, ref storage.Ref) map[string]int {
	t.Helper()
	f := storage.LinkedTo(ref)
	out := map[string]int{}
	add := func(typ string, n int64, err error) {
		must(t, "count "+typ, err)
		if n > 0 {
			out[typ] = int(n)
		}
	}
	n, err := storage.TableOf[*contacts.Activity](s).Count(ctx, f)
	add("activity", n, err)
	n, err = storage.TableOf[*contacts.Consent](s).Count(ctx, f)
	add("consent", n, err)
	n, err = storage.TableOf[*sales.Lead](s).Count(ctx, f)
	add("lead", n, err)
	n, err = storage.TableOf[*sales.Opportunity](s).Count(ctx, f)
	add("opportunity", n, err)
	n, err = storage.TableOf[*sales.Quote](s).Count(ctx, f)
	add("quote", n, err)
	n, err = storage.TableOf[*sales.Invoice](s).Count(ctx, f)
	add("invoice", n, err)
	n, err = storage.TableOf[*sales.Order](s).Count(ctx, f)
	add("order", n, err)
	n, err = storage.TableOf[*sales.Task](s).Count(ctx, f)
	add("task", n, err)
	n, err = storage.TableOf[*sales.Project](s).Count(ctx, f)
	add("project", n, err)
	return out
}

// mergeFixture is a survivor and a loser with records of every type
// that refers to a contact.
type mergeFixture struct {
	app             *crm.CRM
	survivor, loser *contacts.Contact
	account         *contacts.Account
}

func newMergeFixture(t *testing.T, e *env, ctx context.Context) *mergeFixture {
	t.Helper()
	app, err := crm.New(ctx, e.store, crm.Config{DefaultPhoneRegion: "US"})
	must(t, "crm", err)
	f := &mergeFixture{app: app}
	_, err = app.Fields.Define(ctx, contacts.NewFieldDef{Object: contacts.ObjectContact, Name: "tier", Type: contacts.FieldEnum, Options: []string{"gold", "silver"}})
	must(t, "define tier", err)
	_, err = app.Fields.Define(ctx, contacts.NewFieldDef{Object: contacts.ObjectContact, Name: "nickname", Type: contacts.FieldText})
	must(t, "define nickname", err)
	f.account, err = app.Accounts.Create(ctx, contacts.NewAccount{Name: "Analytical Engines", Domain: "analytical.example"})
	must(t, "account", err)
	f.survivor, err = app.Contacts.Create(ctx, contacts.NewContact{FirstName: "Ada", LastName: "Lovelace", Email: "ada@survivor.example",
		Phones: []contacts.Phone{{Number: "+1 415 555 0100"}}, AccountID: f.account.ID, Tags: []string{"vip"}, Custom: map[string]any{"tier": "gold"}})
	must(t, "survivor", err)
	f.loser, err = app.Contacts.Create(ctx, contacts.NewContact{FirstName: "Ada", LastName: "King", Email: "ada@loser.example",
		Phones: []contacts.Phone{{Number: "+1 415 555 0101"}, {Number: "+1 415 555 0100"}}, JobTitle: "Countess",
		Tags: []string{"lead", "vip"}, Custom: map[string]any{"nickname": "Enchantress"}})
	must(t, "loser", err)
	s, l := f.survivor.ID, f.loser.ID

	_, err = app.Activities.Log(ctx, contacts.NewActivity{Kind: contacts.KindCall, Subject: "Call", ContactIDs: []string{l},
		Participants: []contacts.Participant{{Name: "Ada King", ContactID: l}}})
	must(t, "activity", err)
	_, err = app.Activities.Log(ctx, contacts.NewActivity{Kind: contacts.KindMeeting, Subject: "Both", ContactIDs: []string{s, l}})
	must(t, "activity of both", err)
	_, err = app.Activities.Log(ctx, contacts.NewActivity{Kind: contacts.KindNote, Subject: "Survivor's", ContactIDs: []string{s}})
	must(t, "survivor's activity", err)
	// The loser took part in a meeting about the account: a participant,
	// not one of the contacts the activity is about (no link).
	_, err = app.Activities.Log(ctx, contacts.NewActivity{Kind: contacts.KindMeeting, Subject: "Board", AccountID: f.account.ID,
		Participants: []contacts.Participant{{Name: "Charles Babbage", Email: "charles@analytical.example"}, {Name: "Ada King", ContactID: l}}})
	must(t, "the account's meeting", err)
	old := storage.Now().Add(-time.Hour)
	_, err = app.Consents.Set(ctx, s, contacts.ConsentChange{Purpose: "newsletter", Granted: false, At: old})
	must(t, "survivor's older consent", err)
	_, err = app.Consents.Set(ctx, l, contacts.ConsentChange{Purpose: "newsletter", Granted: true, Source: "form"})
	must(t, "loser's newer consent", err)
	_, err = app.Consents.Set(ctx, l, contacts.ConsentChange{Purpose: "sms", Granted: true, At: old})
	must(t, "loser's consent", err)
	_, err = app.Consents.Set(ctx, s, contacts.ConsentChange{Purpose: "sms", Granted: false})
	must(t, "survivor's newer consent", err)

	sl := app.Sales
	lead, err := sl.Leads.Capture(ctx, sales.NewLead{FirstName: "Ada", Email: "ada@loser.example", Company: "Analytical Engines", AllowDuplicates: true})
	must(t, "lead", err)
	conv, err := sl.Leads.Convert(ctx, lead.ID, sales.ConvertOptions{ContactID: l, CreateOpportunity: true,
		Opportunity: sales.NewOpportunity{Amount: storage.Money{Amount: 500000, Currency: "USD"},
			ContactRoles: []sales.ContactRole{{ContactID: s, Role: "sponsor"}, {ContactID: l, Role: "decision maker"}}}})
	must(t, "convert into the loser", err)
	prod, err := sl.Products.Create(ctx, sales.NewProduct{Name: "Engine", SKU: "ENG-1"})
	must(t, "product", err)
	_, err = sl.PriceBooks.SetPrice(ctx, "", prod.ID, storage.Money{Amount: 250000, Currency: "USD"})
	must(t, "price", err)
	q, err := sl.Quotes.Create(ctx, sales.NewQuote{OpportunityID: conv.Opportunity.ID, Lines: []sales.NewLine{{ProductID: prod.ID, Quantity: 2}}})
	must(t, "quote", err)
	_, err = sl.Quotes.Send(ctx, q.ID)
	must(t, "send", err)
	_, err = sl.Quotes.Accept(ctx, q.ID)
	must(t, "accept", err)
	_, err = sl.Invoices.FromQuote(ctx, q.ID, sales.InvoiceOptions{})
	must(t, "invoice", err)
	_, _, err = sl.Orders.Record(ctx, sales.NewOrder{ExternalID: "merge-1", ContactID: l, Currency: "USD",
		Lines: []sales.OrderLine{{Name: "Punch cards", Quantity: 3, UnitPrice: 100}}})
	must(t, "order", err)
	_, err = sl.Tasks.Create(ctx, sales.NewTask{Title: "Follow up", Related: []storage.Ref{{Type: contacts.ObjectContact, ID: l},
		{Type: contacts.ObjectContact, ID: s}}})
	must(t, "task", err)
	_, err = sl.Tasks.Create(ctx, sales.NewTask{Title: "Send papers", Related: []storage.Ref{{Type: contacts.ObjectContact, ID: l}}})
	must(t, "task", err)
	// As they are now (the conversion changed the loser).
	f.survivor, err = app.Contacts.Get(ctx, s)
	must(t, "survivor", err)
	f.loser, err = app.Contacts.Get(ctx, l)
	must(t, "loser", err)
	return f
}

// testMerge merges two contacts with records of every type, checks that
// everything moved, the event, and that undo restores the prior state.
func testMerge(t *testing.T, h Harness) {
	e := newEnv(t, h)
	ctx := e.ctx
	f := newMergeFixture(t, e, ctx)
	s, l := f.survivor.ID, f.loser.ID
	sRef, lRef := storage.Ref{Type: contacts.ObjectContact, ID: s}, storage.Ref{Type: contacts.ObjectContact, ID: l}
	before := snapshotWorld(t, ctx, e.store)
	rs, rl := related(t, ctx, e.store, sRef), related(t, ctx, e.store, lRef)
	want := map[string]int{"activity": 3, "consent": 2, "lead": 1, "opportunity": 1, "quote": 1, "invoice": 1, "order": 1, "task": 2}
	if rl["opportunity"] != 1 || rl["task"] != 2 || rl["lead"] != 1 || rl["order"] != 1 || rl["invoice"] != 1 || rl["activity"] != 2 {
		t.Fatalf("the loser's related records before = %v", rl)
	}

	took := func(id string) []string { // the subjects of the activities id took part in
		t.Helper()
		var out []string
		err := storage.Each(ctx, storage.TableOf[*contacts.Activity](e.store), storage.ListQuery{Filter: storage.Cmp{Field: "participants", Op: storage.OpContains,
			Value: map[string]string{"contact_id": id}}}, func(a *contacts.Activity) error {
			out = append(out, a.Subject)
			return nil
		})
		must(t, "activities by participant", err)
		slices.Sort(out)
		return out
	}
	if got := took(l); !slices.Equal(got, []string{"Board", "Call"}) {
		t.Fatalf("the loser took part in %v before the merge", got)
	}

	res, err := f.app.Contacts.Merge(ctx, contacts.MergeRequest{SurvivorID: s, LoserID: l, Rule: contacts.RuleNonEmpty,
		Choose: map[string]contacts.Side{"last_name": contacts.FromLoser}, SurvivorVersion: f.survivor.Version})
	must(t, "merge", err)

	// The activities the loser only took part in name the survivor too.
	if got := took(l); len(got) != 0 {
		t.Errorf("activities still name the loser as a participant: %v", got)
	}
	if got := took(s); !slices.Equal(got, []string{"Board", "Call"}) {
		t.Errorf("the survivor took part in %v, want Board and Call", got)
	}

	// Every record moved: the loser has none, the survivor the union
	// (records of both counted once, a consent per purpose).
	if got := related(t, ctx, e.store, lRef); len(got) != 0 {
		t.Errorf("records still linked to the loser: %v", got)
	}
	if left, err := e.store.LinkedFrom(ctx, lRef, 10); err != nil || len(left) != 0 {
		t.Errorf("link index still points at the loser: %v (%v)", left, err)
	}
	got := related(t, ctx, e.store, sRef)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the survivor's related records (-want +got):\n%s\nbefore: survivor %v, loser %v", diff, rs, rl)
	}
	if _, err := f.app.Contacts.Get(ctx, l); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("the loser after the merge: %v", err)
	}

	// The merged fields.
	m, err := f.app.Contacts.Get(ctx, s)
	must(t, "survivor", err)
	if diff := cmp.Diff(res.Survivor, m); diff != "" {
		t.Errorf("result and stored survivor differ:\n%s", diff)
	}
	wantSurv := *f.survivor
	wantSurv.LastName, wantSurv.JobTitle = "King", "Countess"
	wantSurv.Emails = []contacts.EmailAddress{{Address: "ada@loser.example"}}
	wantSurv.Phones = []contacts.Phone{{Number: "+14155550100"}, {Number: "+14155550101"}}
	wantSurv.Tags = []string{"vip", "lead"}
	wantSurv.Custom = map[string]any{"tier": "gold", "nickname": "Enchantress"}
	for _, p := range []struct{ s, l *string }{{&wantSurv.Source, &f.loser.Source}, {&wantSurv.OwnerID, &f.loser.OwnerID},
		{&wantSurv.TeamID, &f.loser.TeamID}, {(*string)(&wantSurv.Lifecycle), (*string)(&f.loser.Lifecycle)}} {
		if *p.s == "" {
			*p.s = *p.l // the rule: non-empty
		}
	}
	if diff := cmp.Diff(&wantSurv, m, ignoreWrites); diff != "" {
		t.Errorf("merged survivor (-want +got):\n%s", diff)
	}
	consents, err := f.app.Consents.List(ctx, s)
	must(t, "consents", err)
	if len(consents) != 2 || !consents[0].Granted || consents[0].Source != "form" || consents[1].Granted {
		t.Errorf("consents after the merge: the newer of each purpose should stay: %+v", consents)
	}

	// The merge event holds the loser's snapshot and the moved records;
	// each moved record has its own event.
	ev, err := e.store.Event(ctx, res.EventID)
	must(t, "merge event", err)
	if ev.Type != contacts.EventContactMerged || ev.Subject != sRef {
		t.Errorf("merge event = %s %v", ev.Type, ev.Subject)
	}
	var snap contacts.Contact
	if c, ok := ev.Change("snapshot.loser"); !ok || json.Unmarshal(c.New, &snap) != nil {
		t.Fatalf("the merge event has no loser snapshot: %+v", ev.Changes)
	}
	if diff := cmp.Diff(f.loser, &snap); diff != "" {
		t.Errorf("loser snapshot (-loser +snapshot):\n%s", diff)
	}
	var moved []merge.Moved
	if c, ok := ev.Change("snapshot.moved"); !ok || json.Unmarshal(c.New, &moved) != nil || len(moved) != len(res.Moved) {
		t.Fatalf("the merge event lists %d moved records, the result %d", len(moved), len(res.Moved))
	}
	types := map[string]int{}
	for _, mv := range moved {
		types[mv.Ref.Type]++
		if mv.Removed {
			continue
		}
		hist, err := e.store.History(ctx, mv.Ref.ID, storage.PageQuery{Limit: 1})
		must(t, "history", err)
		if len(hist.Items) == 0 || hist.Items[0].Type != mv.Ref.Type+".updated" {
			t.Errorf("moved %v: last event %+v", mv.Ref, hist.Items)
		}
	}
	// 3 activities (one the loser only took part in), 2 consents (one
	// moved, one removed: the survivor's older newsletter consent) and sms
	// (the loser's, older: removed), lead, deal, quote, invoice, order, 2
	// tasks.
	wantMoved := map[string]int{"activity": 3, "consent": 3, "lead": 1, "opportunity": 1, "quote": 1, "invoice": 1, "order": 1, "task": 2}
	if diff := cmp.Diff(wantMoved, types); diff != "" {
		t.Errorf("moved records by type (-want +got):\n%s", diff)
	}
	hist, err := e.store.History(ctx, l, storage.PageQuery{Limit: 1})
	must(t, "loser history", err)
	if len(hist.Items) != 1 || hist.Items[0].Type != contacts.EventContactMergedAway {
		t.Errorf("the loser's last event = %+v", hist.Items)
	}

	// Undo restores the exact prior state.
	u, err := f.app.Contacts.UndoMerge(ctx, res.EventID)
	must(t, "undo", err)
	if len(u.Gone) != 0 {
		t.Errorf("undo lost %v", u.Gone)
	}
	if got := took(l); !slices.Equal(got, []string{"Board", "Call"}) {
		t.Errorf("after undo the loser took part in %v, want Board and Call", got)
	}
	after := snapshotWorld(t, ctx, e.store)
	if diff := cmp.Diff(before, after, ignoreWrites); diff != "" {
		t.Errorf("the state after undo differs from the state before the merge (-before +after):\n%s", diff)
	}
	if lv := after["contact/"+l].(*contacts.Contact); lv.Version <= f.loser.Version {
		t.Errorf("the restored loser is at version %d, not after %d", lv.Version, f.loser.Version)
	}
	_, err = f.app.Contacts.UndoMerge(ctx, res.EventID)
	wantErr(t, "undo twice", err, storage.ErrConflict)

	// A merged field changed since blocks the undo until it is set back;
	// so does a moved record that changed its references.
	res, err = f.app.Contacts.Merge(ctx, contacts.MergeRequest{SurvivorID: s, LoserID: l, Choose: map[string]contacts.Side{"last_name": contacts.FromLoser}})
	must(t, "merge again", err)
	_, err = f.app.Contacts.Update(ctx, s, contacts.UpdateContact{LastName: ptr("Byron")})
	must(t, "change the survivor", err)
	mid := snapshotWorld(t, ctx, e.store)
	_, err = f.app.Contacts.UndoMerge(ctx, res.EventID)
	wantErr(t, "undo after the merged name changed", err, storage.ErrConflict)
	if diff := cmp.Diff(mid, snapshotWorld(t, ctx, e.store)); diff != "" {
		t.Errorf("a refused undo wrote:\n%s", diff)
	}
	_, err = f.app.Contacts.Update(ctx, s, contacts.UpdateContact{LastName: ptr("King"), JobTitle: ptr("Analyst")})
	must(t, "set it back", err)
	var task *sales.Task
	for _, mv := range res.Moved {
		if mv.Ref.Type == sales.ObjectTask {
			task, err = f.app.Sales.Tasks.Get(ctx, mv.Ref.ID)
			must(t, "task", err)
		}
	}
	_, err = f.app.Sales.Tasks.Update(ctx, task.ID, sales.UpdateTask{Related: &[]storage.Ref{}})
	must(t, "unlink a moved task", err)
	_, err = f.app.Contacts.UndoMerge(ctx, res.EventID)
	wantErr(t, "undo after a moved task changed", err, storage.ErrConflict)
	_, err = f.app.Sales.Tasks.Update(ctx, task.ID, sales.UpdateTask{Related: &task.Related})
	must(t, "relink the task", err)
	u, err = f.app.Contacts.UndoMerge(ctx, res.EventID)
	must(t, "undo once set back", err)
	if u.Survivor.JobTitle != "Analyst" || u.Survivor.LastName != "Lovelace" {
		t.Errorf("undo keeps later changes of fields the merge left alone and restores the others: %+v", u.Survivor)
	}

	// Erasing a survivor erases the people merged into it, snapshots
	// included.
	res, err = f.app.Contacts.Merge(ctx, contacts.MergeRequest{SurvivorID: s, LoserID: l})
	must(t, "merge a third time", err)
	_, err = f.app.Erase(ctx, s)
	must(t, "erase the survivor", err)
	_, err = f.app.Contacts.UndoMerge(ctx, res.EventID)
	wantErr(t, "undo an erased merge", err, storage.ErrConflict)
	if db, ok := e.store.(interface{ ReadDB() *bun.DB }); ok {
		found, _ := ScanTables(t, db.ReadDB(), []string{"ada@loser.example", "ada@survivor.example", "enchantress", "countess"})
		for _, f := range found {
			t.Errorf("after erasing a merged person: %s", f)
		}
	}
	for _, id := range []string{s, l} {
		h, err := e.store.History(ctx, id, storage.PageQuery{Limit: storage.MaxLimit})
		must(t, "history", err)
		for _, ev := range h.Items {
			if len(ev.Changes) > 0 {
				t.Errorf("event %s of %s keeps its values after erasure: %+v", ev.Type, id, ev.Changes)
			}
		}
	}
}

// testMergeBadInput checks the refused merges and undos: each a clear
// error, and nothing written.
func testMergeBadInput(t *testing.T, h Harness) {
	e := newEnv(t, h)
	ctx := e.ctx
	f := newMergeFixture(t, e, ctx)
	s, l := f.survivor.ID, f.loser.ID
	other := e.contact(e.in("ws-b"), contacts.NewContact{FirstName: "Elsewhere"})
	before := snapshotWorld(t, ctx, e.store)
	nEvents := len(e.events(ctx))
	unchanged := func(what string) {
		t.Helper()
		if diff := cmp.Diff(before, snapshotWorld(t, ctx, e.store)); diff != "" {
			t.Errorf("%s wrote:\n%s", what, diff)
		}
		if n := len(e.events(ctx)); n != nEvents {
			t.Errorf("%s wrote %d events", what, n-nEvents)
		}
	}
	merge := func(in contacts.MergeRequest) error {
		_, err := f.app.Contacts.Merge(ctx, in)
		return err
	}

	wantErr(t, "merge with another workspace's loser", merge(contacts.MergeRequest{SurvivorID: s, LoserID: other.ID}), storage.ErrNotFound)
	wantErr(t, "merge into another workspace's survivor", merge(contacts.MergeRequest{SurvivorID: other.ID, LoserID: l}), storage.ErrNotFound)
	wantErr(t, "merge an unknown contact", merge(contacts.MergeRequest{SurvivorID: s, LoserID: storage.NewID()}), storage.ErrNotFound)
	wantFields(t, "merge into itself", merge(contacts.MergeRequest{SurvivorID: s, LoserID: s}), "loser_id")
	wantFields(t, "merge without IDs", merge(contacts.MergeRequest{}), "survivor_id", "loser_id")
	wantFields(t, "merge with bad choices", merge(contacts.MergeRequest{SurvivorID: s, LoserID: l, Rule: "oldest",
		Choose: map[string]contacts.Side{"shoe_size": contacts.FromLoser, "email": "both"}}), "rule", "choose.shoe_size", "choose.email")
	wantErr(t, "merge a stale survivor", merge(contacts.MergeRequest{SurvivorID: s, LoserID: l, SurvivorVersion: f.survivor.Version + 7}), storage.ErrStale)
	wantErr(t, "merge a stale loser", merge(contacts.MergeRequest{SurvivorID: s, LoserID: l, LoserVersion: 99}), storage.ErrStale)

	// Failures after records moved roll them back: a merged value that
	// fails validation (too many phones once united)…
	var many, more []contacts.Phone
	for i := range contacts.MaxListLen {
		many = append(many, contacts.Phone{Number: "+1415556" + name(i)[1:]})
		more = append(more, contacts.Phone{Number: "+1415557" + name(i)[1:]})
	}
	_, err := f.app.Contacts.Update(ctx, s, contacts.UpdateContact{Phones: &many})
	must(t, "phones", err)
	_, err = f.app.Contacts.Update(ctx, l, contacts.UpdateContact{Phones: &more})
	must(t, "phones", err)
	before = snapshotWorld(t, ctx, e.store)
	nEvents = len(e.events(ctx))
	wantFields(t, "merge with too many phones", merge(contacts.MergeRequest{SurvivorID: s, LoserID: l}), "phones")
	unchanged("a merge failing validation")
	// …and a record no mover handles (a service without the sales
	// movers, and the loser has deals).
	bare := contacts.NewService(e.store, contacts.Options{})
	_, err = bare.Contacts.Merge(ctx, contacts.MergeRequest{SurvivorID: s, LoserID: l, Choose: map[string]contacts.Side{"phones": contacts.FromSurvivor}})
	wantErr(t, "merge leaving records behind", err, storage.ErrConflict)
	unchanged("a merge leaving records behind")

	// Undo of what is no merge.
	_, err = f.app.Contacts.UndoMerge(ctx, "nope")
	wantFields(t, "undo of a malformed ID", err, "event_id")
	_, err = f.app.Contacts.UndoMerge(ctx, storage.NewID())
	wantErr(t, "undo of an unknown event", err, storage.ErrNotFound)
	created, err := e.store.History(ctx, s, storage.PageQuery{Limit: storage.MaxLimit})
	must(t, "history", err)
	_, err = f.app.Contacts.UndoMerge(ctx, created.Items[len(created.Items)-1].ID)
	wantFields(t, "undo of a contact.created event", err, "event_id")
	res, err := f.app.Contacts.Merge(ctx, contacts.MergeRequest{SurvivorID: s, LoserID: l, Choose: map[string]contacts.Side{"phones": contacts.FromLoser}})
	must(t, "merge", err)
	_, err = f.app.Contacts.UndoMerge(e.in("ws-b"), res.EventID)
	wantErr(t, "undo from another workspace", err, storage.ErrNotFound)
}

// testMergeAccess checks that a member merges only what it may update
// (the survivor and every moved record) and delete (the loser).
func testMergeAccess(t *testing.T, h Harness) {
	e := newAccessEnv(t, h)
	app, err := crm.New(e.sys, e.store, crm.Config{})
	must(t, "crm", err)
	noDelete, err := e.acc.DefineRole(e.sys, access.NewRole{Name: "no_delete", Permissions: storage.Permissions{storage.AnyType: {
		storage.ActionRead: storage.ScopeAll, storage.ActionCreate: storage.ScopeAll, storage.ActionUpdate: storage.ScopeAll}}})
	must(t, "role", err)
	hider, err := e.acc.DefineRole(e.sys, access.NewRole{Name: "hider", Permissions: storage.Permissions{storage.AnyType: {
		storage.ActionRead: storage.ScopeAll, storage.ActionCreate: storage.ScopeAll, storage.ActionUpdate: storage.ScopeAll, storage.ActionDelete: storage.ScopeAll}},
		Fields: storage.FieldRules{contacts.ObjectContact: {"email": storage.FieldHidden}}})
	must(t, "role", err)
	member := func(name, role string) context.Context {
		m, err := e.acc.CreateMember(e.sys, access.NewMember{Name: name, Role: role})
		must(t, "member", err)
		return e.as(m)
	}
	nd, hid := member("No delete", noDelete.Name), member("Hider", hider.Name)
	a := e.as(e.repA)

	mine1 := e.contact(a, contacts.NewContact{FirstName: "Mine", Email: "mine1@example.com"})
	mine2 := e.contact(a, contacts.NewContact{FirstName: "Mine too", Email: "mine2@example.com"})
	theirs := e.contact(e.as(e.repB), contacts.NewContact{FirstName: "Theirs"})
	before := snapshotWorld(t, e.sys, e.store)
	merge := func(ctx context.Context, s, l string) error {
		_, err := app.Contacts.Merge(ctx, contacts.MergeRequest{SurvivorID: s, LoserID: l})
		return err
	}
	wantErr(t, "rep merges another team's contact away", merge(a, mine1.ID, theirs.ID), storage.ErrNotFound)
	wantErr(t, "member without delete merges", merge(nd, mine1.ID, mine2.ID), storage.ErrForbidden)
	wantErr(t, "member with hidden fields merges", merge(hid, mine1.ID, mine2.ID), storage.ErrForbidden)
	// A task of the loser that the rep may not change (another rep's).
	task, err := app.Sales.Tasks.Create(e.sys, sales.NewTask{Title: "Theirs", OwnerID: e.repB.ID, Related: []storage.Ref{{Type: contacts.ObjectContact, ID: mine2.ID}}})
	must(t, "task", err)
	wantErr(t, "rep merges a contact with another's task", merge(a, mine1.ID, mine2.ID), storage.ErrForbidden)
	before["task/"+task.ID] = task
	if diff := cmp.Diff(before, snapshotWorld(t, e.sys, e.store)); diff != "" {
		t.Errorf("refused merges wrote:\n%s", diff)
	}
	must(t, "delete the task", app.Sales.Tasks.Delete(e.sys, task.ID))
	res, err := app.Contacts.Merge(a, contacts.MergeRequest{SurvivorID: mine1.ID, LoserID: mine2.ID})
	must(t, "rep merges its own contacts", err)
	if res.Survivor.Emails[0].Address != "mine2@example.com" {
		t.Errorf("merged emails = %+v", res.Survivor.Emails)
	}
	_, err = app.Contacts.UndoMerge(hid, res.EventID)
	wantErr(t, "member with hidden fields undoes", err, storage.ErrForbidden)
	_, err = app.Contacts.UndoMerge(e.as(e.repB), res.EventID)
	wantErr(t, "another team's rep undoes", err, storage.ErrNotFound)
	_, err = app.Contacts.UndoMerge(a, res.EventID)
	must(t, "rep undoes its merge", err)

	// A restored contact keeps its owner, even none, whoever undoes.
	x := e.contact(e.sys, contacts.NewContact{FirstName: "Nobody's"})
	y := e.contact(e.sys, contacts.NewContact{FirstName: "Nobody's too"})
	admin := e.as(e.admin)
	res, err = app.Contacts.Merge(admin, contacts.MergeRequest{SurvivorID: x.ID, LoserID: y.ID})
	must(t, "admin merges", err)
	u, err := app.Contacts.UndoMerge(admin, res.EventID)
	must(t, "admin undoes", err)
	if u.Loser.OwnerID != "" || u.Loser.CreatedBy != y.CreatedBy {
		t.Errorf("the restored contact has owner %q and creator %q, want none and %q", u.Loser.OwnerID, u.Loser.CreatedBy, y.CreatedBy)
	}

	// A reader whose role hides a contact field does not see the
	// snapshot, which holds every field.
	res, err = app.Contacts.Merge(a, contacts.MergeRequest{SurvivorID: mine1.ID, LoserID: mine2.ID})
	must(t, "merge", err)
	ev, err := e.store.Event(hid, res.EventID)
	must(t, "hider reads the event", err)
	for _, c := range ev.Changes {
		if c.Field == "email" || slices.Contains([]string{"snapshot.loser", "snapshot.survivor", "snapshot.moved"}, c.Field) {
			t.Errorf("the hider sees change %s", c.Field)
		}
	}
}

// testMergeAccounts merges two accounts: contacts, child accounts and
// deals move; undo restores them.
func testMergeAccounts(t *testing.T, h Harness) {
	e := newEnv(t, h)
	ctx := e.ctx
	app, err := crm.New(ctx, e.store, crm.Config{})
	must(t, "crm", err)
	parent := e.account(ctx, contacts.NewAccount{Name: "Holding"})
	surv := e.account(ctx, contacts.NewAccount{Name: "Acme", Domain: "acme.example"})
	loser := e.account(ctx, contacts.NewAccount{Name: "ACME Inc.", Industry: "Anvils", Employees: 40, ParentID: parent.ID})
	child := e.account(ctx, contacts.NewAccount{Name: "Acme Labs", ParentID: loser.ID})
	c := e.contact(ctx, contacts.NewContact{FirstName: "Wile", AccountID: loser.ID})
	opp, err := app.Sales.Opportunities.Create(ctx, sales.NewOpportunity{Name: "Rockets", AccountID: loser.ID, ContactID: c.ID,
		Amount: storage.Money{Amount: 100, Currency: "USD"}})
	must(t, "deal", err)
	before := snapshotWorld(t, ctx, e.store)

	res, err := app.Accounts.Merge(ctx, contacts.MergeRequest{SurvivorID: surv.ID, LoserID: loser.ID, Rule: contacts.RuleNonEmpty})
	must(t, "merge accounts", err)
	if a := res.Survivor; a.Industry != "Anvils" || a.Employees != 40 || a.ParentID != parent.ID || a.Name != "Acme" {
		t.Errorf("merged account = %+v", a)
	}
	if got, _ := app.Contacts.Get(ctx, c.ID); got.AccountID != surv.ID {
		t.Errorf("the loser's contact has account %s", got.AccountID)
	}
	if got, _ := app.Accounts.Get(ctx, child.ID); got.ParentID != surv.ID {
		t.Errorf("the loser's child has parent %s", got.ParentID)
	}
	if got, _ := app.Sales.Opportunities.Get(ctx, opp.ID); got.AccountID != surv.ID {
		t.Errorf("the loser's deal has account %s", got.AccountID)
	}
	_, err = app.Accounts.Merge(ctx, contacts.MergeRequest{SurvivorID: surv.ID, LoserID: child.ID, Choose: map[string]contacts.Side{"parent_id": contacts.FromLoser}})
	if err != nil {
		t.Errorf("merging a child into its parent: %v", err)
	}
	hist, err := e.store.History(ctx, surv.ID, storage.PageQuery{Limit: 1})
	must(t, "history", err)
	_, err = app.Accounts.UndoMerge(ctx, hist.Items[0].ID)
	must(t, "undo the child's merge", err)
	_, err = app.Accounts.UndoMerge(ctx, res.EventID)
	must(t, "undo", err)
	if diff := cmp.Diff(before, snapshotWorld(t, ctx, e.store), ignoreWrites); diff != "" {
		t.Errorf("after undo (-before +after):\n%s", diff)
	}
}

package storagetest

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/crmkit/crm"
	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/internal/testobjects"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/access"
	"github.com/crmkit/crm/workflow"
)

// testHostObjects drives a record type a host module defines outside the
// CRM's packages (internal/testobjects' vehicles, registered by crm.New
// from Config.Modules) through everything a registered type gets with no
// code of its own: CRUD on the generic path with its sentinel errors,
// change events and history, custom fields, search, access scopes,
// expression filters with a related field, workflow triggers and
// conditions, its events in its contact's timeline, merges, and the
// GDPR's access request and erasure.
func testHostObjects(t *testing.T, h Harness) {
	e := newEnv(t, h)
	ctx := e.ctx
	mod := testobjects.Module()
	cfg := crm.Config{Modules: []storage.Module{mod}}
	if h.RowLevelSecurity {
		cfg.Workflow.Workspaces = []string{storage.WorkspaceFrom(ctx)}
	}
	app, err := crm.New(ctx, e.store, cfg)
	must(t, "crm.New with the host module", err)
	vs, err := crm.ObjectsOf[*testobjects.Vehicle](app)
	must(t, "ObjectsOf", err)
	_, err = crm.ObjectsOf[*gadgetless](app)
	wantErr(t, "ObjectsOf an unregistered type", err, storage.ErrInvalid)

	// Custom fields on the host type.
	_, err = app.Fields.Define(ctx, contacts.NewFieldDef{Object: testobjects.ObjectVehicle, Name: "fuel", Type: contacts.FieldEnum,
		Options: []string{"diesel", "electric"}})
	must(t, "define a custom field of vehicles", err)
	_, err = app.Fields.Define(ctx, contacts.NewFieldDef{Object: "spaceship", Name: "x", Type: contacts.FieldText})
	wantFields(t, "a custom field of an unknown type", err, "object")

	dora := e.contact(ctx, contacts.NewContact{FirstName: "Dora", LastName: "Driver", Email: "dora@fleet.example"})
	v, err := vs.Create(ctx, &testobjects.Vehicle{VIN: "WF0XXXTTGXKA12345", Model: "Transit", Year: 2021, Mileage: 98000,
		ContactID: dora.ID, DriverName: "Dora Driver", Custom: map[string]any{"fuel": "diesel"}})
	must(t, "create a vehicle", err)
	if v.ID == "" || v.Version != 1 || v.WorkspaceID != storage.WorkspaceFrom(ctx) {
		t.Fatalf("created vehicle's meta = %+v", v.Meta)
	}

	// Bad input writes nothing.
	_, err = vs.Create(ctx, &testobjects.Vehicle{VIN: "BAD1", Model: "Van", Custom: map[string]any{"fuel": "petrol", "colour": "red"}})
	wantFields(t, "bad custom values", err, "custom.fuel", "custom.colour")
	_, err = vs.Create(ctx, &testobjects.Vehicle{VIN: "WF0XXXTTGXKA12345", Model: "Copy"})
	var ce *storage.ConflictError
	if !errors.As(err, &ce) || ce.Field != "vin" {
		t.Fatalf("a taken VIN: got %v, want a *ConflictError on vin", err)
	}
	if n, err := vs.Count(ctx, nil); err != nil || n != 1 {
		t.Fatalf("vehicles after bad input = %d, %v; want 1", n, err)
	}

	// Read, update with optimistic locking, history.
	got, err := vs.Get(ctx, v.ID)
	must(t, "get", err)
	if got.Model != "Transit" || got.Custom["fuel"] != "diesel" || got.DriverName != "Dora Driver" {
		t.Fatalf("read back %+v", got)
	}
	v, err = vs.Update(ctx, v.ID, got.Version, func(n *testobjects.Vehicle) error {
		n.Mileage = 101500
		n.Tags = append(n.Tags, "fleet-a")
		return nil
	})
	must(t, "update", err)
	_, err = vs.Update(ctx, v.ID, got.Version, func(*testobjects.Vehicle) error { return nil })
	wantErr(t, "update at an old version", err, storage.ErrStale)
	_, err = vs.Get(ctx, storage.NewID())
	wantErr(t, "get an unknown vehicle", err, storage.ErrNotFound)
	hist, err := vs.History(ctx, v.ID, storage.PageQuery{})
	must(t, "history", err)
	if len(hist.Items) != 2 || hist.Items[0].Type != "vehicle.updated" || hist.Items[1].Type != "vehicle.created" {
		t.Fatalf("history = %+v", hist.Items)
	}
	if ch, ok := hist.Items[0].Change("mileage"); !ok || string(ch.New) != "101500" {
		t.Errorf("the update's event lacks the mileage change: %+v", hist.Items[0].Changes)
	}
	// Another workspace sees nothing of it.
	_, err = vs.Get(e.in("ws-other"), v.ID)
	wantErr(t, "get from another workspace", err, storage.ErrNotFound)

	// Search and expression filters, a related contact's field among them.
	hits, err := vs.Search(ctx, "transit wf0x", 10)
	must(t, "search", err)
	if len(hits) != 1 || hits[0].ID != v.ID {
		t.Errorf("search = %+v", hits)
	}
	for _, tc := range []struct {
		expr string
		want int
	}{
		{"mileage > 100000 && custom.fuel == 'diesel'", 1},
		{"'fleet-a' in tags && year >= 2021", 1},
		{"contact.last_name == 'Driver'", 1},
		{"contact.last_name == 'Nobody'", 0},
		{"custom.fuel == 'electric'", 0},
	} {
		page, err := vs.Where(ctx, tc.expr, storage.ListQuery{})
		must(t, "where "+tc.expr, err)
		if len(page.Items) != tc.want {
			t.Errorf("where %s: %d vehicles, want %d", tc.expr, len(page.Items), tc.want)
		}
	}
	_, err = vs.Where(ctx, "shoe_size > 3", storage.ListQuery{})
	wantErr(t, "where on an unknown field", err, storage.ErrInvalid)

	// Access scopes: a rep sees its own vehicles, not others'; a read-only
	// member reads them and changes nothing.
	acc := access.NewService(e.store)
	sys := storage.AsSystem(ctx)
	rep, err := acc.CreateMember(sys, access.NewMember{Name: "Rep", Role: access.RoleRep})
	must(t, "rep", err)
	viewer, err := acc.CreateMember(sys, access.NewMember{Name: "Viewer", Role: access.RoleReadOnly})
	must(t, "viewer", err)
	repCtx, err := app.As(ctx, rep.ID)
	must(t, "as rep", err)
	mine, err := vs.Create(repCtx, &testobjects.Vehicle{VIN: "REP0001", Model: "Kangoo"})
	must(t, "rep creates a vehicle", err)
	if mine.OwnerID != rep.ID {
		t.Errorf("the rep's vehicle is owned by %q, want the rep", mine.OwnerID)
	}
	page, err := vs.List(repCtx, storage.ListQuery{})
	must(t, "rep lists", err)
	if len(page.Items) != 1 || page.Items[0].ID != mine.ID {
		t.Errorf("the rep lists %d vehicles, want its own alone", len(page.Items))
	}
	_, err = vs.Get(repCtx, v.ID)
	wantErr(t, "rep gets another's vehicle", err, storage.ErrNotFound)
	viewCtx, err := app.As(ctx, viewer.ID)
	must(t, "as viewer", err)
	if n, err := vs.Count(viewCtx, nil); err != nil || n != 2 {
		t.Errorf("the viewer counts %d vehicles (%v), want 2", n, err)
	}
	_, err = vs.Update(viewCtx, v.ID, 0, func(n *testobjects.Vehicle) error { n.Model = "Hacked"; return nil })
	wantErr(t, "viewer updates", err, storage.ErrForbidden)

	// A workflow rule on the host type: its events trigger, its fields
	// (custom ones too) are the condition's.
	f := &flow{env: e, app: app}
	rule := f.rule(workflow.NewRule{Name: "Service due", Enabled: true,
		Trigger:   workflow.Trigger{Kind: workflow.OnEvent, Object: testobjects.ObjectVehicle, Events: []string{"updated"}},
		Condition: "mileage >= 120000 && custom.fuel == 'diesel'",
		Actions:   []workflow.Action{workflow.CreateTask(workflow.TaskParams{Title: "Service the {{.model}}"})}})
	_, err = vs.Update(ctx, v.ID, 0, func(n *testobjects.Vehicle) error { n.Mileage = 110000; return nil })
	must(t, "update below the threshold", err)
	f.settle() // conditions read the record as it is when its events are matched
	v, err = vs.Update(ctx, v.ID, 0, func(n *testobjects.Vehicle) error { n.Mileage = 120500; return nil })
	must(t, "update past the threshold", err)
	f.settle()
	tasks, err := app.Sales.Tasks.List(ctx, storage.ListQuery{Filter: storage.LinkedTo{Type: testobjects.ObjectVehicle, ID: v.ID}})
	must(t, "tasks of the vehicle", err)
	if len(tasks.Items) != 1 || tasks.Items[0].Title != "Service the Transit" {
		t.Fatalf("tasks the rule made = %+v, want one", tasks.Items)
	}
	if runs := f.runs(rule.ID); len(runs) != 1 {
		t.Errorf("the rule ran %d times, want once (the condition holds once)", len(runs))
	}

	// The contact's timeline shows the vehicle's events.
	tl, err := app.Contacts.Timeline(ctx, dora.ID, storage.PageQuery{Limit: 100})
	must(t, "timeline", err)
	if !slices.ContainsFunc(tl.Items, func(te contacts.TimelineEntry) bool {
		return te.Event != nil && te.Event.Subject.Type == testobjects.ObjectVehicle
	}) {
		t.Errorf("the contact's timeline lacks its vehicle's events: %d entries", len(tl.Items))
	}

	// A merge moves the vehicle to the survivor.
	dup := e.contact(ctx, contacts.NewContact{FirstName: "Dora", LastName: "Driver"})
	_, err = app.Contacts.Merge(ctx, contacts.MergeRequest{SurvivorID: dup.ID, LoserID: dora.ID})
	must(t, "merge the vehicle's contact away", err)
	moved, err := vs.Get(ctx, v.ID)
	must(t, "the vehicle after the merge", err)
	if moved.ContactID != dup.ID {
		t.Fatalf("the vehicle's contact after the merge = %q, want the survivor %q", moved.ContactID, dup.ID)
	}

	// The person's access request lists the vehicle; erasing the person
	// deletes it (EraseRecord) and scrubs its events.
	pd, err := app.PersonalData(ctx, dup.ID)
	must(t, "personal data", err)
	if got, _ := pd.Related[testobjects.ObjectVehicle].([]*testobjects.Vehicle); len(got) != 1 || got[0].ID != v.ID {
		t.Errorf("personal data's vehicles = %#v", pd.Related[testobjects.ObjectVehicle])
	}
	er, err := app.Erase(ctx, dup.ID)
	must(t, "erase", err)
	if er.Related[testobjects.ObjectVehicle] != 1 {
		t.Errorf("erasure = %+v, want one vehicle", er)
	}
	_, err = vs.Get(ctx, v.ID)
	wantErr(t, "the erased person's vehicle", err, storage.ErrNotFound)
	hist, err = vs.History(ctx, v.ID, storage.PageQuery{Limit: 100})
	must(t, "history after the erasure", err)
	for _, ev := range hist.Items {
		for _, ch := range ev.Changes {
			if strings.Contains(string(ch.Old)+string(ch.New), "Dora") {
				t.Errorf("event %s still holds %s", ev.Type, ch.Field)
			}
		}
	}
	// The task the rule made stays (a task names no person).
	if all, err := app.Sales.Tasks.List(ctx, storage.ListQuery{}); err != nil || len(all.Items) != 1 {
		t.Errorf("tasks after the erasure = %d, %v", len(all.Items), err)
	}
}

// testHostObjectsDeclare checks that crm.New refuses a host module whose
// record type does not say where it keeps personal data, or names a
// contact field it lacks: an erasure would miss it.
func testHostObjectsDeclare(t *testing.T, h Harness) {
	for _, tc := range []struct {
		name string
		pd   storage.PersonalData
	}{
		{"undeclared", storage.PersonalData{}},
		{"no such field", storage.PersonalData{ContactField: "driver_id"}},
		{"owned by no module", storage.PersonalData{Owned: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := h.Open(t)
			mod := storage.Module{Name: "undeclared", Types: []storage.RecordType{storage.Type[*gadgetless]("undeclared_gadgets",
				storage.TypeOptions{Personal: tc.pd})}}
			_, err := crm.New(t.Context(), store, crm.Config{Modules: []storage.Module{mod}})
			wantFields(t, "a host type "+tc.name, err, "modules")
		})
	}
}

// gadgetless is a record type no module registers.
type gadgetless struct{ storage.Meta }

func (*gadgetless) RecordType() string { return "gadgetless" }

package storagetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
)

func testContactRoundTrip(t *testing.T, h Harness) {
	e := newEnv(t, h)
	acct := e.account(e.ctx, contacts.NewAccount{Name: "Initech", Domain: "https://www.initech.example/"})
	_, err := e.svc.Fields.Define(e.ctx, contacts.NewFieldDef{Object: contacts.ObjectContact, Name: "shoe_size", Type: contacts.FieldNumber})
	must(t, "define field", err)

	in := contacts.NewContact{
		Prefix: "Dr.", FirstName: " Peter ", MiddleName: "R.", LastName: "Gibbons", Suffix: "Jr.",
		Email:          "Peter.Gibbons@Initech.example",
		Emails:         []contacts.EmailAddress{{Address: "PETER@home.example", Label: "home"}},
		Phones:         []contacts.Phone{{Number: "(415) 555-2671", Label: "work"}},
		Addresses:      []contacts.Address{{Street: "1 Initech Way", City: "Austin", Region: "TX", PostalCode: "73301", Country: "US"}},
		JobTitle:       "Programmer",
		Department:     "Engineering",
		SocialProfiles: []contacts.SocialProfile{{Network: "linkedin", Handle: "pgibbons"}},
		AccountID:      acct.ID,
		OwnerID:        "user-1",
		Lifecycle:      contacts.LifecycleLead,
		Source:         "web form",
		Tags:           []string{"VIP", "tps", "vip"},
		Custom:         map[string]any{"shoe_size": 11},
	}
	c := e.contact(e.ctx, in)

	// Normalisation.
	if c.Email != "peter.gibbons@initech.example" || c.FirstName != "Peter" ||
		c.Phones[0].Number != "+14155552671" || c.Emails[0].Address != "peter@home.example" {
		t.Fatalf("not normalised: %+v", c)
	}
	if diff := cmp.Diff([]string{"vip", "tps"}, c.Tags); diff != "" {
		t.Fatalf("tags (-want +got):\n%s", diff)
	}
	// Metadata.
	if !storage.ValidID(c.ID) || c.WorkspaceID != "ws-a" || c.Version != 1 || c.CreatedBy != "tester" ||
		c.UpdatedBy != "tester" || c.CreatedAt.IsZero() || !c.CreatedAt.Equal(c.UpdatedAt) {
		t.Fatalf("bad metadata: %+v", c.Meta)
	}
	got, err := e.svc.Contacts.Get(e.ctx, c.ID)
	must(t, "get", err)
	if diff := cmp.Diff(c, got); diff != "" {
		t.Fatalf("get after create (-created +got):\n%s", diff)
	}

	// Update: partial, version moves on, unchanged fields stay.
	time.Sleep(time.Millisecond)
	up, err := e.svc.Contacts.Update(e.ctx, c.ID, contacts.UpdateContact{
		JobTitle: ptr("Team Lead"), Lifecycle: ptr(contacts.LifecycleCustomer), AccountID: ptr(""),
		Custom: map[string]any{"shoe_size": 12.5},
	})
	must(t, "update", err)
	if up.Version != 2 || up.JobTitle != "Team Lead" || up.AccountID != "" || up.Email != c.Email ||
		!up.UpdatedAt.After(c.UpdatedAt) || !up.CreatedAt.Equal(c.CreatedAt) {
		t.Fatalf("bad update result: %+v", up)
	}
	got, err = e.svc.Contacts.Get(e.ctx, c.ID)
	must(t, "get", err)
	if diff := cmp.Diff(up, got); diff != "" {
		t.Fatalf("get after update (-updated +got):\n%s", diff)
	}
	// An update that changes nothing writes nothing.
	same, err := e.svc.Contacts.Update(e.ctx, c.ID, contacts.UpdateContact{JobTitle: ptr("Team Lead")})
	must(t, "no-op update", err)
	if same.Version != 2 {
		t.Fatalf("no-op update moved the version to %d", same.Version)
	}

	// Tags.
	tagged, err := e.svc.Contacts.AddTags(e.ctx, c.ID, "Gold", "vip")
	must(t, "add tags", err)
	if diff := cmp.Diff([]string{"vip", "tps", "gold"}, tagged.Tags); diff != "" {
		t.Fatalf("add tags (-want +got):\n%s", diff)
	}
	tagged, err = e.svc.Contacts.RemoveTags(e.ctx, c.ID, "TPS")
	must(t, "remove tags", err)
	if diff := cmp.Diff([]string{"vip", "gold"}, tagged.Tags); diff != "" {
		t.Fatalf("remove tags (-want +got):\n%s", diff)
	}

	// Delete.
	must(t, "delete", e.svc.Contacts.Delete(e.ctx, c.ID))
	_, err = e.svc.Contacts.Get(e.ctx, c.ID)
	wantErr(t, "get deleted", err, storage.ErrNotFound)
	wantErr(t, "delete twice", e.svc.Contacts.Delete(e.ctx, c.ID), storage.ErrNotFound)
	// The email is free again.
	e.contact(e.ctx, contacts.NewContact{FirstName: "Peter", Email: "peter.gibbons@initech.example"})
}

func testAccountRoundTrip(t *testing.T, h Harness) {
	e := newEnv(t, h)
	in := contacts.NewAccount{
		Name: "Globex Corporation", Domain: "HTTPS://Globex.example/about", Industry: "Energy",
		Employees: 1200, AnnualRevenue: storage.Money{Amount: 987654321, Currency: "usd"},
		Phone: "+1 415 555 0100", Description: "Hank's company", OwnerID: "user-2",
		Addresses: []contacts.Address{{City: "Cypress Creek", Country: "US"}},
		Tags:      []string{"enterprise"},
	}
	a := e.account(e.ctx, in)
	if a.Domain != "globex.example" || a.AnnualRevenue.Currency != "USD" || a.Phone != "+14155550100" {
		t.Fatalf("not normalised: %+v", a)
	}
	got, err := e.svc.Accounts.Get(e.ctx, a.ID)
	must(t, "get", err)
	if diff := cmp.Diff(a, got); diff != "" {
		t.Fatalf("get after create (-created +got):\n%s", diff)
	}
	up, err := e.svc.Accounts.Update(e.ctx, a.ID, contacts.UpdateAccount{
		Version: a.Version, Employees: ptr(int64(1500)),
		AnnualRevenue: &storage.Money{Amount: 100, Currency: "JPY"},
	})
	must(t, "update", err)
	got, err = e.svc.Accounts.Get(e.ctx, a.ID)
	must(t, "get", err)
	if diff := cmp.Diff(up, got); diff != "" {
		t.Fatalf("get after update (-updated +got):\n%s", diff)
	}
	if got.Employees != 1500 || got.AnnualRevenue != (storage.Money{Amount: 100, Currency: "JPY"}) || got.Version != 2 {
		t.Fatalf("update not stored: %+v", got)
	}

	// An account with contacts cannot go; without them it can.
	c := e.contact(e.ctx, contacts.NewContact{FirstName: "Hank", AccountID: a.ID})
	wantErr(t, "delete account with contacts", e.svc.Accounts.Delete(e.ctx, a.ID), storage.ErrConflict)
	page, err := e.svc.Accounts.Contacts(e.ctx, a.ID, storage.PageQuery{})
	must(t, "account contacts", err)
	if len(page.Items) != 1 || page.Items[0].ID != c.ID {
		t.Fatalf("account contacts: %+v", page.Items)
	}
	must(t, "delete contact", e.svc.Contacts.Delete(e.ctx, c.ID))
	must(t, "delete account", e.svc.Accounts.Delete(e.ctx, a.ID))
	_, err = e.svc.Accounts.Get(e.ctx, a.ID)
	wantErr(t, "get deleted", err, storage.ErrNotFound)
}

func testAccountHierarchy(t *testing.T, h Harness) {
	e := newEnv(t, h)
	root := e.account(e.ctx, contacts.NewAccount{Name: "Root"})
	mid := e.account(e.ctx, contacts.NewAccount{Name: "Mid", ParentID: root.ID})
	leaf := e.account(e.ctx, contacts.NewAccount{Name: "Leaf", ParentID: mid.ID})

	kids, err := e.svc.Accounts.Children(e.ctx, root.ID, storage.PageQuery{})
	must(t, "children", err)
	if len(kids.Items) != 1 || kids.Items[0].ID != mid.ID {
		t.Fatalf("children of root: %+v", kids.Items)
	}
	// A cycle is refused, naming parent_id; nothing changes.
	_, err = e.svc.Accounts.Update(e.ctx, root.ID, contacts.UpdateAccount{ParentID: &leaf.ID})
	wantFields(t, "cycle", err, "parent_id")
	_, err = e.svc.Accounts.Update(e.ctx, mid.ID, contacts.UpdateAccount{ParentID: &mid.ID})
	wantFields(t, "own parent", err, "parent_id")
	got, err := e.svc.Accounts.Get(e.ctx, root.ID)
	must(t, "get root", err)
	if got.ParentID != "" || got.Version != 1 {
		t.Fatalf("refused update changed root: %+v", got)
	}
	// A parent with children cannot go.
	wantErr(t, "delete parent", e.svc.Accounts.Delete(e.ctx, mid.ID), storage.ErrConflict)
	// Detach, then delete.
	_, err = e.svc.Accounts.Update(e.ctx, leaf.ID, contacts.UpdateAccount{ParentID: ptr("")})
	must(t, "detach", err)
	must(t, "delete mid", e.svc.Accounts.Delete(e.ctx, mid.ID))
}

func testActivityRoundTrip(t *testing.T, h Harness) {
	e := newEnv(t, h)
	acct := e.account(e.ctx, contacts.NewAccount{Name: "Acme"})
	c1 := e.contact(e.ctx, contacts.NewContact{FirstName: "Wile", Email: "wile@acme.example", AccountID: acct.ID})
	c2 := e.contact(e.ctx, contacts.NewContact{FirstName: "Road", LastName: "Runner"})
	at := time.Date(2026, 3, 4, 15, 4, 5, 123456789, time.FixedZone("X", 3600))
	a, err := e.svc.Activities.Log(e.ctx, contacts.NewActivity{
		Kind: contacts.KindCall, Subject: "Rocket skates", Body: "Wants them by Friday",
		Direction: contacts.Outbound, OccurredAt: at, Duration: 90 * time.Second, Outcome: "interested",
		Participants: []contacts.Participant{{Name: "Wile", Email: "wile@acme.example", ContactID: c1.ID}},
		ContactIDs:   []string{c1.ID, c2.ID, c1.ID},
		Related:      []storage.Ref{{Type: contacts.ObjectAccount, ID: acct.ID}},
		OwnerID:      "user-1",
	})
	must(t, "log", err)
	if !a.OccurredAt.Equal(storage.Truncate(at)) || a.OccurredAt.Location() != time.UTC {
		t.Fatalf("occurred_at %v, want %v in UTC", a.OccurredAt, storage.Truncate(at))
	}
	if a.AccountID != acct.ID {
		t.Fatalf("account_id %q, want the first contact's account %q", a.AccountID, acct.ID)
	}
	if diff := cmp.Diff([]string{c1.ID, c2.ID}, a.ContactIDs); diff != "" {
		t.Fatalf("contact ids (-want +got):\n%s", diff)
	}
	got, err := e.svc.Activities.Get(e.ctx, a.ID)
	must(t, "get", err)
	if diff := cmp.Diff(a, got); diff != "" {
		t.Fatalf("get after log (-logged +got):\n%s", diff)
	}
	up, err := e.svc.Activities.Update(e.ctx, a.ID, contacts.UpdateActivity{Outcome: ptr("ordered"), ContactIDs: &[]string{c2.ID}})
	must(t, "update", err)
	got, err = e.svc.Activities.Get(e.ctx, a.ID)
	must(t, "get", err)
	if diff := cmp.Diff(up, got); diff != "" {
		t.Fatalf("get after update (-updated +got):\n%s", diff)
	}
	// An activity needs a known kind and contacts of the workspace.
	_, err = e.svc.Activities.Log(e.ctx, contacts.NewActivity{Kind: "fax", Subject: "x"})
	wantFields(t, "bad kind", err, "kind")
	_, err = e.svc.Activities.Log(e.ctx, contacts.NewActivity{Kind: contacts.KindNote, Subject: "x", ContactIDs: []string{storage.NewID()}})
	wantFields(t, "unknown contact", err, "contact_ids[0]")

	must(t, "delete", e.svc.Activities.Delete(e.ctx, a.ID))
	_, err = e.svc.Activities.Get(e.ctx, a.ID)
	wantErr(t, "get deleted", err, storage.ErrNotFound)
}

func testFieldDefRoundTrip(t *testing.T, h Harness) {
	e := newEnv(t, h)
	d, err := e.svc.Fields.Define(e.ctx, contacts.NewFieldDef{
		Object: contacts.ObjectAccount, Name: "tier", Label: "Tier", Type: contacts.FieldEnum, Options: []string{"gold", "silver"},
	})
	must(t, "define", err)
	got, err := e.svc.Fields.Get(e.ctx, d.ID)
	must(t, "get", err)
	if diff := cmp.Diff(d, got); diff != "" {
		t.Fatalf("get after define (-defined +got):\n%s", diff)
	}
	up, err := e.svc.Fields.Update(e.ctx, d.ID, contacts.UpdateFieldDef{Label: ptr("Customer tier"), Options: &[]string{"gold", "silver", "bronze"}})
	must(t, "update", err)
	list, err := e.svc.Fields.List(e.ctx, contacts.ObjectAccount)
	must(t, "list", err)
	if diff := cmp.Diff([]*contacts.FieldDef{up}, list); diff != "" {
		t.Fatalf("list (-want +got):\n%s", diff)
	}
	if other, err := e.svc.Fields.List(e.ctx, contacts.ObjectContact); err != nil || len(other) != 0 {
		t.Fatalf("contact fields: %v, %v", other, err)
	}
	_, err = e.svc.Fields.Define(e.ctx, contacts.NewFieldDef{Object: contacts.ObjectAccount, Name: "tier", Type: contacts.FieldText})
	wantErr(t, "define twice", err, storage.ErrConflict)
	_, err = e.svc.Fields.Define(e.ctx, contacts.NewFieldDef{Object: "planet", Name: "Bad Name", Type: "color"})
	wantFields(t, "bad definition", err, "object", "name", "type")
	must(t, "delete", e.svc.Fields.Delete(e.ctx, d.ID))
	_, err = e.svc.Fields.Get(e.ctx, d.ID)
	wantErr(t, "get deleted", err, storage.ErrNotFound)
}

func testCustomFields(t *testing.T, h Harness) {
	e := newEnv(t, h)
	defs := []contacts.NewFieldDef{
		{Object: contacts.ObjectContact, Name: "nickname", Type: contacts.FieldText},
		{Object: contacts.ObjectContact, Name: "score", Type: contacts.FieldNumber, Required: true},
		{Object: contacts.ObjectContact, Name: "active", Type: contacts.FieldBool},
		{Object: contacts.ObjectContact, Name: "birthday", Type: contacts.FieldDate},
		{Object: contacts.ObjectContact, Name: "tier", Type: contacts.FieldEnum, Options: []string{"gold", "silver"}},
		{Object: contacts.ObjectContact, Name: "langs", Type: contacts.FieldMultiEnum, Options: []string{"go", "sql", "c"}},
	}
	for _, d := range defs {
		_, err := e.svc.Fields.Define(e.ctx, d)
		must(t, "define "+d.Name, err)
	}
	c := e.contact(e.ctx, contacts.NewContact{FirstName: "Ken", Custom: map[string]any{
		"nickname": "ken", "score": 7, "active": true, "birthday": time.Date(1943, 2, 4, 0, 0, 0, 0, time.UTC),
		"tier": "gold", "langs": []string{"go", "c", "go"},
	}})
	want := map[string]any{"nickname": "ken", "score": 7.0, "active": true, "birthday": "1943-02-04",
		"tier": "gold", "langs": []any{"go", "c"}}
	got, err := e.svc.Contacts.Get(e.ctx, c.ID)
	must(t, "get", err)
	if diff := cmp.Diff(want, got.Custom); diff != "" {
		t.Fatalf("custom values (-want +got):\n%s", diff)
	}
	// Each wrong value names its field; nothing is written.
	before := e.counts(e.ctx)
	_, err = e.svc.Contacts.Create(e.ctx, contacts.NewContact{FirstName: "Bad", Custom: map[string]any{
		"nickname": 5, "active": "yes", "birthday": "04/02/1943", "tier": "platinum", "langs": []string{"cobol"}, "unknown": 1,
	}})
	wantFields(t, "bad custom values", err, "custom.nickname", "custom.score", "custom.active", "custom.birthday",
		"custom.tier", "custom.langs", "custom.unknown")
	if after := e.counts(e.ctx); after != before {
		t.Fatalf("a refused create wrote: before %+v, after %+v", before, after)
	}
	// A nil value removes an optional one; the required one cannot go.
	up, err := e.svc.Contacts.Update(e.ctx, c.ID, contacts.UpdateContact{Custom: map[string]any{"nickname": nil}})
	must(t, "remove nickname", err)
	if _, ok := up.Custom["nickname"]; ok || up.Custom["score"] != 7.0 {
		t.Fatalf("custom after removal: %v", up.Custom)
	}
	_, err = e.svc.Contacts.Update(e.ctx, c.ID, contacts.UpdateContact{Custom: map[string]any{"score": nil}})
	wantFields(t, "remove required", err, "custom.score")
}

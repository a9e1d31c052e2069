package storagetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
)

func testSearch(t *testing.T, h Harness) {
	e := newEnv(t, h)
	acct := e.account(e.ctx, contacts.NewAccount{Name: "Cyberdyne Systems", Domain: "cyberdyne.example", Industry: "Robotics"})
	sarah := e.contact(e.ctx, contacts.NewContact{FirstName: "Sarah", LastName: "Connor", Email: "sarah@resistance.example",
		JobTitle: "Waitress", Phones: []contacts.Phone{{Number: "+1 213 555 0199"}}, Tags: []string{"target"}})
	miles := e.contact(e.ctx, contacts.NewContact{FirstName: "Miles", LastName: "Dyson", Email: "miles@cyberdyne.example",
		JobTitle: "Engineer", AccountID: acct.ID})
	e.contact(e.in("ws-b"), contacts.NewContact{FirstName: "Sarah", LastName: "Elsewhere"})

	find := func(text string) []string {
		t.Helper()
		res, err := e.svc.Search(e.ctx, text, 0)
		must(t, "search "+text, err)
		var ids []string
		for _, r := range res {
			switch {
			case r.Contact != nil:
				ids = append(ids, r.Contact.ID)
			case r.Account != nil:
				ids = append(ids, r.Account.ID)
			default:
				t.Fatalf("search %q: a hit with no record: %+v", text, r)
			}
		}
		return ids
	}
	cases := []struct {
		text string
		want []string
	}{
		{"sarah", []string{sarah.ID}},
		{"SAR con", []string{sarah.ID}},
		{"connor sarah", []string{sarah.ID}},
		{"resistance", []string{sarah.ID}},
		{"target", []string{sarah.ID}},
		{"cyberdyne", []string{acct.ID, miles.ID}},
		{"robot", []string{acct.ID}},
		{"engineer dyson", []string{miles.ID}},
		{"sarah dyson", nil},
		{"", nil},
		{`"*) OR 1=1 --`, nil},
		{"nobody", nil},
	}
	for _, tc := range cases {
		got := find(tc.text)
		if tc.text == "cyberdyne" {
			// Both match; the account's name is the better hit.
			if len(got) != 2 || got[0] != acct.ID {
				t.Errorf("search %q: %v, want the account first, then the contact", tc.text, got)
			}
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("search %q (-want +got):\n%s", tc.text, diff)
		}
	}
	// The index follows updates and deletes.
	_, err := e.svc.Contacts.Update(e.ctx, sarah.ID, contacts.UpdateContact{LastName: ptr("Reese")})
	must(t, "update", err)
	if got := find("connor"); len(got) != 0 {
		t.Errorf("search finds the old name after an update: %v", got)
	}
	if diff := cmp.Diff([]string{sarah.ID}, find("reese")); diff != "" {
		t.Errorf("search after update (-want +got):\n%s", diff)
	}
	must(t, "delete", e.svc.Contacts.Delete(e.ctx, sarah.ID))
	if got := find("sarah"); len(got) != 0 {
		t.Errorf("search finds a deleted contact: %v", got)
	}
	// A limit is honoured.
	for i := range 30 {
		e.contact(e.ctx, contacts.NewContact{FirstName: "Many", LastName: name(i)})
	}
	if res, err := e.svc.Search(e.ctx, "many", 25); err != nil || len(res) != 25 {
		t.Errorf("search with limit 25: %d hits (%v)", len(res), err)
	}
}

// feedAfter reads the feed after cursor once the feed has caught up.
func (e *env) feedAfter(cursor string, limit int) storage.Feed {
	e.t.Helper()
	e.sync()
	f, err := e.store.ChangeFeed(e.ctx, cursor, limit)
	must(e.t, "feed", err)
	return f
}

func testChangeFeed(t *testing.T, h Harness) {
	e := newEnv(t, h)
	alice := storage.WithActor(e.ctx, "alice")
	bob := storage.WithActor(e.ctx, "bob")
	c := e.contact(alice, contacts.NewContact{FirstName: "Ada", Email: "ada@example.com", Tags: []string{"math"}})
	f := e.feedAfter("", 100)
	if len(f.Events) != 1 || f.Cursor == "" {
		t.Fatalf("first read: %+v", f)
	}
	ev := f.Events[0]
	if ev.Type != "contact.created" || ev.Subject != (storage.Ref{Type: "contact", ID: c.ID}) || ev.Actor != "alice" ||
		ev.WorkspaceID != "ws-a" || !storage.ValidID(ev.ID) || ev.OccurredAt.Location() != time.UTC ||
		time.Since(ev.OccurredAt) > time.Minute {
		t.Fatalf("created event: %+v", ev)
	}
	if ch, ok := ev.Change("email"); !ok || ch.Old != nil || string(ch.New) != `"ada@example.com"` {
		t.Fatalf("created event's email change: %+v", ch)
	}

	// Nothing new: an empty read keeps the cursor usable.
	empty := e.feedAfter(f.Cursor, 100)
	if len(empty.Events) != 0 || empty.Cursor == "" {
		t.Fatalf("read with nothing new: %+v", empty)
	}

	_, err := e.svc.Contacts.Update(bob, c.ID, contacts.UpdateContact{LastName: ptr("Lovelace"), Tags: &[]string{"math", "poetry"}})
	must(t, "update", err)
	must(t, "delete", e.svc.Contacts.Delete(bob, c.ID))
	next := e.feedAfter(empty.Cursor, 1)
	if len(next.Events) != 1 || next.Events[0].Type != "contact.updated" || next.Events[0].Actor != "bob" {
		t.Fatalf("update event: %+v", next.Events)
	}
	want := []storage.Change{
		{Field: "last_name", New: json.RawMessage(`"Lovelace"`)},
		{Field: "tags", Old: json.RawMessage(`["math"]`), New: json.RawMessage(`["math","poetry"]`)},
	}
	got := next.Events[0].Changes
	if diff := cmp.Diff(want, got, cmp.Transformer("compact", func(r json.RawMessage) string { return strings.ReplaceAll(string(r), " ", "") })); diff != "" {
		t.Fatalf("update changes (-want +got):\n%s", diff)
	}
	last := e.feedAfter(next.Cursor, 100)
	if len(last.Events) != 1 || last.Events[0].Type != "contact.deleted" {
		t.Fatalf("delete event: %+v", last.Events)
	}
	if ch, ok := last.Events[0].Change("email"); !ok || ch.New != nil || string(ch.Old) != `"ada@example.com"` {
		t.Fatalf("deleted event's email change: %+v", ch)
	}
	// Sequence numbers grow.
	all := e.events(e.ctx)
	for i := 1; i < len(all); i++ {
		if all[i].Seq <= all[i-1].Seq {
			t.Fatalf("seq does not grow: %d then %d", all[i-1].Seq, all[i].Seq)
		}
	}
	// A cursor from elsewhere is refused.
	_, err = e.store.ChangeFeed(e.ctx, "garbage", 10)
	wantErr(t, "garbage feed cursor", err, storage.ErrInvalid)
}

func testHistory(t *testing.T, h Harness) {
	e := newEnv(t, h)
	c := e.contact(e.ctx, contacts.NewContact{FirstName: "Linus"})
	other := e.contact(e.ctx, contacts.NewContact{FirstName: "Other"})
	for i := range 6 {
		_, err := e.svc.Contacts.Update(e.ctx, c.ID, contacts.UpdateContact{JobTitle: ptr(name(i))})
		must(t, "update", err)
		_, err = e.svc.Contacts.Update(e.ctx, other.ID, contacts.UpdateContact{JobTitle: ptr(name(i))})
		must(t, "update other", err)
	}
	var types []string
	var titles []string
	q := storage.PageQuery{Limit: 3}
	for {
		p, err := e.store.History(e.ctx, c.ID, q)
		must(t, "history", err)
		for _, ev := range p.Items {
			if ev.Subject.ID != c.ID {
				t.Fatalf("history of %s holds an event of %s", c.ID, ev.Subject.ID)
			}
			types = append(types, ev.Type)
			if ch, ok := ev.Change("job_title"); ok {
				titles = append(titles, string(ch.New))
			}
		}
		if p.Next == "" {
			break
		}
		q.Cursor = p.Next
	}
	if len(types) != 7 || types[6] != "contact.created" || types[0] != "contact.updated" {
		t.Fatalf("history types: %v", types)
	}
	if titles[0] != `"n0005"` || titles[5] != `"n0000"` {
		t.Fatalf("history is not newest first: %v", titles)
	}
}

func testTimeline(t *testing.T, h Harness) {
	e := newEnv(t, h)
	acct := e.account(e.ctx, contacts.NewAccount{Name: "Bell Labs"})
	c := e.contact(e.ctx, contacts.NewContact{FirstName: "Dennis", AccountID: acct.ID})
	base := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	var logged []string
	for i := range 5 {
		a, err := e.svc.Activities.Log(e.ctx, contacts.NewActivity{Kind: contacts.KindMeeting, Subject: name(i),
			OccurredAt: base.Add(time.Duration(i) * time.Hour), ContactIDs: []string{c.ID}})
		must(t, "log", err)
		logged = append(logged, a.ID)
	}
	// One activity on the account only.
	_, err := e.svc.Activities.Log(e.ctx, contacts.NewActivity{Kind: contacts.KindNote, Subject: "Account note", AccountID: acct.ID, OccurredAt: base})
	must(t, "log", err)
	_, err = e.svc.Contacts.Update(e.ctx, c.ID, contacts.UpdateContact{JobTitle: ptr("Researcher")})
	must(t, "update", err)

	var entries []contacts.TimelineEntry
	q := storage.PageQuery{Limit: 2}
	for {
		p, err := e.svc.Contacts.Timeline(e.ctx, c.ID, q)
		must(t, "timeline", err)
		entries = append(entries, p.Items...)
		if p.Next == "" {
			break
		}
		q.Cursor = p.Next
	}
	// Newest first: the update and creation events (now), then the
	// meetings from the latest down.
	var got []string
	for i, en := range entries {
		if i > 0 && en.At.After(entries[i-1].At) {
			t.Fatalf("timeline is not newest first at %d: %v after %v", i, en.At, entries[i-1].At)
		}
		switch {
		case en.Event != nil:
			got = append(got, en.Event.Type)
		case en.Activity != nil:
			got = append(got, en.Activity.Subject)
		}
	}
	want := []string{"contact.updated", "contact.created", "n0004", "n0003", "n0002", "n0001", "n0000"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("contact timeline (-want +got):\n%s", diff)
	}
	ap, err := e.svc.Accounts.Timeline(e.ctx, acct.ID, storage.PageQuery{Limit: 100})
	must(t, "account timeline", err)
	subjects := map[string]bool{}
	for _, en := range ap.Items {
		if en.Activity != nil {
			subjects[en.Activity.Subject] = true
		}
	}
	if !subjects["Account note"] || !subjects["n0000"] || len(subjects) != 6 {
		t.Fatalf("account timeline activities: %v", subjects)
	}
	_, err = e.svc.Contacts.Timeline(e.ctx, storage.NewID(), storage.PageQuery{})
	wantErr(t, "timeline of an unknown contact", err, storage.ErrNotFound)
}

// testChangeFeedOf reads the feed filtered by event type and record type:
// only the events kept come, in order, and paging goes on from the
// cursors.
func testChangeFeedOf(t *testing.T, h Harness) {
	e := newEnv(t, h)
	ctx := e.in("ws-feed-of")
	c := e.contact(ctx, contacts.NewContact{FirstName: "Ada"})
	e.account(ctx, contacts.NewAccount{Name: "Acme"})
	for _, name := range []string{"A", "B", "C"} {
		_, err := e.svc.Contacts.Update(ctx, c.ID, contacts.UpdateContact{LastName: ptr(name)})
		must(t, "update", err)
	}
	e.sync()
	types := func(f storage.FeedFilter, limit int) []string {
		t.Helper()
		var out []string
		for cursor := ""; ; {
			feed, err := e.store.ChangeFeedOf(ctx, cursor, limit, f)
			must(t, "feed of", err)
			if len(feed.Events) == 0 {
				return out
			}
			for _, ev := range feed.Events {
				out = append(out, ev.Type)
			}
			cursor = feed.Cursor
		}
	}
	for _, c := range []struct {
		f    storage.FeedFilter
		want []string
	}{
		{storage.FeedFilter{Types: []string{"contact.updated"}}, []string{"contact.updated", "contact.updated", "contact.updated"}},
		{storage.FeedFilter{RecordTypes: []string{contacts.ObjectAccount}}, []string{"account.created"}},
		{storage.FeedFilter{Types: []string{"contact.created", "account.created"}, RecordTypes: []string{contacts.ObjectContact}}, []string{"contact.created"}},
		{storage.FeedFilter{}, []string{"contact.created", "account.created", "contact.updated", "contact.updated", "contact.updated"}},
	} {
		if got := types(c.f, 2); !slices.Equal(got, c.want) {
			t.Errorf("feed of %+v = %v, want %v", c.f, got, c.want)
		}
	}

	// A reader of few events: a short page moves the cursor past the
	// events it skipped, to where the whole feed's reader ends.
	end := func(f storage.FeedFilter) string {
		t.Helper()
		cursor := ""
		for {
			feed, err := e.store.ChangeFeedOf(ctx, cursor, 2, f)
			must(t, "feed of", err)
			if feed.Cursor == cursor {
				return cursor
			}
			cursor = feed.Cursor
		}
	}
	whole := end(storage.FeedFilter{})
	none, err := e.store.ChangeFeedOf(ctx, "", 10, storage.FeedFilter{Types: []string{"nothing.happened"}})
	must(t, "feed of no events", err)
	if len(none.Events) != 0 || none.Cursor != whole {
		t.Errorf("a feed that keeps nothing: %d events, cursor %q; want none, and the cursor at the end (%q)", len(none.Events), none.Cursor, whole)
	}
	if got := end(storage.FeedFilter{RecordTypes: []string{contacts.ObjectAccount}}); got != whole {
		t.Errorf("the accounts' reader ends at %q, the whole feed's at %q", got, whole)
	}
	acme2 := e.account(ctx, contacts.NewAccount{Name: "Acme 2"})
	e.sync()
	next, err := e.store.ChangeFeedOf(ctx, none.Cursor, 10, storage.FeedFilter{RecordTypes: []string{contacts.ObjectAccount}})
	must(t, "feed of accounts after the end", err)
	if len(next.Events) != 1 || next.Events[0].Subject.ID != acme2.ID {
		t.Errorf("after the end, the accounts' reader reads %+v, want the new account only", next.Events)
	}
}

// testFeedAllWorkspaces checks the feed of every workspace, for a system
// reader: one cursor over the events of two workspaces, each naming its
// own; refused to a member, and under row-level security.
func testFeedAllWorkspaces(t *testing.T, h Harness) {
	e := newAccessEnv(t, h)
	all := storage.FeedFilter{AllWorkspaces: true, RecordTypes: []string{contacts.ObjectContact}}
	if h.RowLevelSecurity {
		_, err := e.store.ChangeFeedOf(storage.AsSystem(e.sys), "", 10, all)
		if !errors.Is(err, storage.ErrInvalid) {
			t.Errorf("every workspace's feed under row-level security: %v, want ErrInvalid", err)
		}
		return
	}
	want := map[string]string{}
	for _, ws := range []string{"ws-all-1", "ws-all-2"} {
		c := e.contact(e.in(ws), contacts.NewContact{FirstName: ws})
		want[c.ID] = ws
	}
	e.sync()
	got := map[string]string{}
	for cursor := ""; ; {
		feed, err := e.store.ChangeFeedOf(storage.AsSystem(e.in("elsewhere")), cursor, 1, all)
		must(t, "every workspace's feed", err)
		for _, ev := range feed.Events {
			if ev.Type == "contact.created" {
				got[ev.Subject.ID] = ev.WorkspaceID
			}
		}
		if feed.Cursor == cursor {
			break
		}
		cursor = feed.Cursor
	}
	for id, ws := range want {
		if got[id] != ws {
			t.Errorf("contact %s in every workspace's feed: workspace %q, want %q", id, got[id], ws)
		}
	}
	_, err := e.store.ChangeFeedOf(e.as(e.admin), "", 10, all)
	if !errors.Is(err, storage.ErrForbidden) {
		t.Errorf("every workspace's feed for a member: %v, want ErrForbidden", err)
	}
}

// testSearchPhrase checks MatchPhrase: the words whole and in a row, so
// that an address finds the records that hold it and no others, and a
// contact's duplicate check finds a secondary address among many
// contacts sharing its name's start and its domain.
func testSearchPhrase(t *testing.T, h Harness) {
	e := newEnv(t, h)
	ada := e.contact(e.ctx, contacts.NewContact{FirstName: "Ada", Email: "ada@example.com"})
	e.contact(e.ctx, contacts.NewContact{FirstName: "Adam", Email: "adam@example.com"})
	for i := range 40 {
		e.contact(e.ctx, contacts.NewContact{FirstName: "Ada", LastName: name(i), Email: fmt.Sprintf("ada%d@example.com", i)})
	}
	// Holds ada@example.com as a second address; its longer text ranks
	// it below the 41 contacts whose words start the same.
	second := e.contact(e.ctx, contacts.NewContact{FirstName: "Augusta", LastName: "King", Email: "augusta@lovelace.example",
		JobTitle: "Countess of Lovelace and analyst of the analytical engine", Department: "Mathematics and poetry",
		Emails: []contacts.EmailAddress{{Address: "ada@example.com", Label: "old"}}})
	find := func(text string, m storage.SearchMatch) []string {
		t.Helper()
		hits, err := e.store.Search(e.ctx, storage.SearchQuery{Text: text, Types: []string{contacts.ObjectContact}, Match: m, Limit: 100})
		must(t, "search "+text, err)
		var ids []string
		for _, h := range hits {
			ids = append(ids, h.Ref.ID)
		}
		return ids
	}
	if got := find("ada@example.com", storage.MatchPhrase); !slices.Equal(got, []string{ada.ID, second.ID}) && !slices.Equal(got, []string{second.ID, ada.ID}) {
		t.Errorf("phrase ada@example.com: %v, want Ada %s and Augusta %s", got, ada.ID, second.ID)
	}
	if got := find("example.com ada", storage.MatchPhrase); len(got) != 0 {
		t.Errorf("the phrase's words out of order matched %v", got)
	}
	if got := find("ada example", storage.MatchAll); len(got) != 43 {
		t.Errorf("all words ada, example: %d hits, want 43 (prefixes)", len(got))
	}
	must(t, "delete ada", e.svc.Contacts.Delete(e.ctx, ada.ID))
	cands, err := e.svc.Contacts.Duplicates(e.ctx, contacts.NewContact{FirstName: "Ada", Email: "ada@example.com"})
	must(t, "duplicates", err)
	if !slices.ContainsFunc(cands, func(c contacts.Candidate) bool { return c.ContactID == second.ID && c.Rule == "email" }) {
		t.Errorf("the contact with ada@example.com among its addresses is not a candidate: %+v", cands)
	}
}

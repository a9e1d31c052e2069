package bunstore_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/internal/testdb"
	"github.com/crmkit/crm/internal/testobjects"
	"github.com/crmkit/crm/marketing"
	"github.com/crmkit/crm/sales"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/access"
	"github.com/crmkit/crm/storage/bunstore"
	"github.com/crmkit/crm/storage/postgres"
	"github.com/crmkit/crm/storage/sqlite"
)

// lookupCase is one look-up by value the modules make through the generic
// list path, and the index that must serve it.
type lookupCase struct {
	name  string // who looks up what
	index string
	// scan is set for a text operator: the plan reads the index's entries
	// of the workspace instead of seeking a value. Only SQLite reads a
	// partial index so (with the index's predicate in the WHERE clause);
	// Postgres reads the workspace's rows.
	scan bool
	sql  func(ctx context.Context) (string, []any, error)
}

func listSQL[T storage.Record](tbl storage.Table[T], q storage.ListQuery) func(context.Context) (string, []any, error) {
	return func(ctx context.Context) (string, []any, error) { return bunstore.ListSQL(ctx, tbl, q) }
}

// TestLookupPlans checks that the look-ups by email (and the other values
// the duplicate checks, imports and conversions look up) read their index
// on SQLite and on Postgres, instead of every row of the workspace: the
// query plan of each statement the list path writes names the index and
// no scan. On Postgres the plan is the generic one, which a prepared
// statement ends up with, with statistics as autovacuum keeps them.
func TestLookupPlans(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			var store *bunstore.Store
			if db == "sqlite" {
				store = testdb.SQLite(t)
			} else {
				store = testdb.Postgres(t)
			}
			testLookupPlans(t, store)
		})
	}
}

func testLookupPlans(t *testing.T, store *bunstore.Store) {
	ctx := storage.WithWorkspace(t.Context(), "ws")
	people := contacts.NewService(store, contacts.Options{})
	sls := sales.NewService(store, people, sales.Options{})
	var acct string
	err := store.RunInTx(ctx, func(ctx context.Context) error {
		for i := range 400 {
			if i%10 == 0 {
				a, err := people.Accounts.Create(ctx, contacts.NewAccount{Name: fmt.Sprint("Company ", i), Domain: fmt.Sprintf("c%d.example", i)})
				if err != nil {
					return err
				}
				acct = a.ID
			}
			c, err := people.Contacts.Create(ctx, contacts.NewContact{FirstName: fmt.Sprint("P", i),
				Email: fmt.Sprintf("p%d@c%d.example", i, i/10*10), AccountID: acct})
			if err != nil {
				return err
			}
			if i%4 == 0 {
				if err := storage.TableOf[*testobjects.DriverProfile](store).Insert(ctx, &testobjects.DriverProfile{ContactID: c.ID,
					LicenseClass: []string{"B", "C"}[i%8/4], Points: int64(i % 7)}); err != nil {
					return err
				}
			}
			if _, err := sls.Leads.Capture(ctx, sales.NewLead{FirstName: fmt.Sprint("L", i), Email: fmt.Sprintf("l%d@c%d.example", i, i/10*10),
				Phone: fmt.Sprintf("+1 415 555 %04d", i), AllowDuplicates: true}); err != nil {
				return err
			}
		}
		acc := access.NewService(store)
		for i := range 200 {
			if _, err := acc.SyncMember(ctx, access.NewMember{ExternalID: fmt.Sprint("u-", i), Name: fmt.Sprint("Member ", i), Role: access.RoleRep}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if store.Dialect() == "postgres" {
		if _, err := store.DB().ExecContext(ctx, "ANALYZE"); err != nil {
			t.Fatal(err)
		}
	}
	page := storage.PageQuery{Limit: 10}
	byEmail := []storage.Sort{{Field: "email"}}
	cases := []lookupCase{
		{"contacts by email (Contacts.Duplicates, vCard import, lead conversion)", "crm_contacts_email_uq", false,
			listSQL(storage.TableOf[*contacts.Contact](store), storage.ListQuery{Filter: storage.Eq("email", "p7@c0.example"), PageQuery: page})},
		{"contacts by emails (contact import)", "crm_contacts_email_uq", false,
			listSQL(storage.TableOf[*contacts.Contact](store), storage.ListQuery{Filter: storage.Cmp{Field: "email", Op: storage.OpIn, Value: []any{"p7@c0.example", "p8@c0.example"}},
				Sort: byEmail, PageQuery: page})},
		{"contacts of an email domain (Contacts.Duplicates)", "crm_contacts_email_uq", true,
			listSQL(storage.TableOf[*contacts.Contact](store), storage.ListQuery{Filter: storage.Cmp{Field: "email", Op: storage.OpEndsWith, Value: "@c0.example"},
				Sort: byEmail, PageQuery: page})},
		{"contacts of an account (Contacts.Duplicates, account merge)", "crm_contacts_ws_account", false,
			listSQL(storage.TableOf[*contacts.Contact](store), storage.ListQuery{Filter: storage.Eq("account_id", acct), PageQuery: page})},
		{"leads by email (lead capture)", "crm_leads_ws_email", false,
			listSQL(storage.TableOf[*sales.Lead](store), storage.ListQuery{Filter: storage.Eq("email", "l7@c0.example"), PageQuery: page})},
		{"leads by emails (lead import, Erase, PersonalData)", "crm_leads_ws_email", false,
			listSQL(storage.TableOf[*sales.Lead](store), storage.ListQuery{Filter: storage.Cmp{Field: "email", Op: storage.OpIn, Value: []string{"l7@c0.example", "x@y.example"}},
				Sort: byEmail, PageQuery: page})},
		{"leads by phone (lead capture)", "crm_leads_ws_phone", false,
			listSQL(storage.TableOf[*sales.Lead](store), storage.ListQuery{Filter: storage.Eq("phone", "+14155550007"), PageQuery: page})},
		{"leads by company domain (lead capture)", "crm_leads_ws_domain", false,
			listSQL(storage.TableOf[*sales.Lead](store), storage.ListQuery{Filter: storage.Eq("company_domain", "c0.example"), PageQuery: page})},
		{"accounts by domain (lead capture, conversion)", "crm_accounts_ws_domain", false,
			listSQL(storage.TableOf[*contacts.Account](store), storage.ListQuery{Filter: storage.Eq("domain", "c0.example"), PageQuery: page})},
		{"accounts by domains (account import)", "crm_accounts_ws_domain", false,
			listSQL(storage.TableOf[*contacts.Account](store), storage.ListQuery{Filter: storage.Cmp{Field: "domain", Op: storage.OpIn, Value: []any{"c0.example", "c10.example"}},
				Sort: []storage.Sort{{Field: "domain"}}, PageQuery: page})},
		{"members by external ID (SyncMember)", "crm_members_external_id_uq", false,
			listSQL(storage.TableOf[*access.Member](store), storage.ListQuery{Filter: storage.Eq("external_id", "u-1"), PageQuery: page})},
		{"an email's queued messages (Emails.Send's claim)", "crm_mkt_messages_ws_email_status", false,
			listSQL(storage.TableOf[*marketing.Message](store), storage.ListQuery{Filter: storage.And{storage.Eq("email_id", "e1"),
				storage.Eq("status", "queued")}, PageQuery: page})},
		{"an email's messages to contacts (Emails.Send's queue)", "crm_mkt_messages_uq", false,
			listSQL(storage.TableOf[*marketing.Message](store), storage.ListQuery{Filter: storage.And{storage.Eq("email_id", "e1"),
				storage.In("contact_id", "c1", "c2")}, Sort: []storage.Sort{{Field: "contact_id"}}, PageQuery: page})},
		{"a segment's members (Segments.Members, Emails.Send)", "crm_mkt_segment_members_ws_segment", false,
			listSQL(storage.TableOf[*marketing.SegmentMember](store), storage.ListQuery{Filter: storage.Eq("segment_id", "s1"), PageQuery: page})},
		{"a list's subscribers (Lists.Subscribers, Emails.Send)", "crm_mkt_subscriptions_ws_list_status", false,
			listSQL(storage.TableOf[*marketing.Subscription](store), storage.ListQuery{Filter: storage.And{storage.Eq("list_id", "l1"),
				storage.Eq("status", "subscribed")}, PageQuery: page})},
	}
	// A page deep in an order starts where its cursor points, through the
	// sort's index: a row value (an OR chain without a leading bound read
	// as much as OFFSET).
	byCreated := storage.ListQuery{Sort: []storage.Sort{{Field: "created_at"}}, PageQuery: page}
	contactsTbl := storage.TableOf[*contacts.Contact](store)
	byCreated.Cursor = bunstore.ListCursor(contactsTbl, byCreated, time.Now(), "01a23bd8-07ed-73a7-9720-4bbd606299ac")
	cases = append(cases, lookupCase{"a list page after a cursor, by creation", "crm_contacts_ws_created", false, listSQL(contactsTbl, byCreated)})
	if q, _, err := bunstore.ListSQL(ctx, contactsTbl, byCreated); err != nil || !strings.Contains(q, "(t.created_at, t.id) > (") {
		t.Errorf("the keyset after a cursor is no row value (%v):\n%s", err, q)
	}
	// A page sorted by last name alone is read in the order of an index,
	// its ties by ID included: no sort of the ties apart.
	byName := storage.ListQuery{Sort: []storage.Sort{{Field: "last_name"}}, PageQuery: page}
	if q, args, err := bunstore.ListSQL(ctx, contactsTbl, byName); err != nil {
		t.Error(err)
	} else if plan := strings.Join(explain(t, ctx, store, q, args), "\n"); strings.Contains(plan, "TEMP B-TREE") ||
		store.Dialect() == "postgres" && (!strings.Contains(plan, "crm_contacts_ws_last_id") || strings.Contains(plan, "Sort")) {
		t.Errorf("contacts by last name are sorted apart:\n%s\n  %s", q, plan)
	}
	// A filter on a field of the record that extends contacts (the fleet
	// module's driver profiles, by their contact_id) reads the extending
	// table through its (workspace_id, contact_id) index: SQLite probes it
	// per contact, Postgres probes it or merges with it in contact_id
	// order.
	for _, f := range []storage.Filter{storage.Eq("driver.license_class", "C"), storage.Cmp{Field: "driver.points", Op: storage.OpEmpty}} {
		q, args, err := bunstore.ListSQL(ctx, contactsTbl, storage.ListQuery{Filter: f, PageQuery: page})
		if err != nil {
			t.Fatal(err)
		}
		plan := strings.Join(explain(t, ctx, store, q, args), "\n")
		var bad bool
		if store.Dialect() == "sqlite" {
			bad = !strings.Contains(plan, "INDEX fleet_driver_profiles_ws_contact (workspace_id=? AND contact_id=?)")
		} else {
			bad = !strings.Contains(plan, "fleet_driver_profiles_ws_contact") || strings.Contains(plan, "Seq Scan")
		}
		if bad {
			t.Errorf("contacts by %#v: the plan does not read the profiles by their contact:\n%s\n  %s", f, q, strings.ReplaceAll(plan, "\n", "\n  "))
		}
	}
	for _, c := range cases {
		if c.scan && store.Dialect() != "sqlite" {
			continue
		}
		q, args, err := c.sql(ctx)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		plan := explain(t, ctx, store, q, args)
		var bad bool
		if store.Dialect() == "sqlite" {
			// The table's access is the first line; a search through
			// (workspace_id=?) alone is the walk through the workspace,
			// unless a text operator reads the value's index so.
			bad = !strings.Contains(plan[0], "INDEX "+c.index+" (") || !c.scan && !strings.Contains(plan[0], "AND ")
		} else {
			joined := strings.Join(plan, "\n")
			bad = !strings.Contains(joined, "on "+c.index+" ") && !strings.Contains(joined, "using "+c.index+" ") || strings.Contains(joined, "Seq Scan")
		}
		if bad {
			t.Errorf("%s: the plan does not read %s by the value:\n%s\n  %s", c.name, c.index, q, strings.Join(plan, "\n  "))
		}
	}
}

// explain returns the lines of q's query plan: SQLite's EXPLAIN QUERY
// PLAN, or Postgres's generic plan of q prepared.
func explain(t *testing.T, ctx context.Context, store *bunstore.Store, q string, args []any) []string {
	t.Helper()
	tx, err := store.DB().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if store.Dialect() == "postgres" {
		// The plan a prepared statement is given once Postgres plans it
		// generically, as it may after five executions. Sequential scans
		// are off, since the test's tables are small enough to be read
		// whole: the plan shows which index the statement can use.
		for _, set := range []string{"SET LOCAL plan_cache_mode = force_generic_plan", "SET LOCAL enable_seqscan = off"} {
			if _, err := tx.ExecContext(ctx, set); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := tx.ExecContext(ctx, "PREPARE lookup AS "+q); err != nil {
			t.Fatal(err)
		}
		defer tx.ExecContext(ctx, "DEALLOCATE lookup")
		lits := make([]string, len(args))
		for i, a := range args {
			if tm, ok := a.(time.Time); ok {
				a = tm.Format(time.RFC3339Nano) // as a literal Postgres reads
			}
			lits[i] = "'" + strings.ReplaceAll(fmt.Sprint(a), "'", "''") + "'"
		}
		q, args = "EXPLAIN EXECUTE lookup("+strings.Join(lits, ", ")+")", nil
	} else {
		q = "EXPLAIN QUERY PLAN " + q
	}
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var lines []string
	for rows.Next() {
		dest := make([]any, len(cols))
		var line string
		for i := range dest {
			dest[i] = new(any)
		}
		dest[len(cols)-1] = &line
		if err := rows.Scan(dest...); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, line)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

// captured records the statements a store runs while on, with their bind
// values (a bunstore query hook).
type captured struct {
	mu   sync.Mutex
	on   bool
	qs   []string
	args [][]any
}

func (h *captured) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context { return ctx }

func (h *captured) AfterQuery(_ context.Context, e *bun.QueryEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.on && strings.HasPrefix(e.Query, "SELECT") {
		h.qs, h.args = append(h.qs, e.Query), append(h.args, e.QueryArgs)
	}
}

// capturingStore returns a new store of the adapter db ("sqlite" or
// "postgres") whose statements h captures while on.
func capturingStore(t *testing.T, db string) (*bunstore.Store, *captured) {
	h := &captured{}
	if db == "sqlite" {
		return testdb.SQLite(t, sqlite.WithQueryHook(h)), h
	}
	return testdb.Postgres(t, postgres.WithQueryHook(h)), h
}

// TestTimelinePlans checks the shapes of a contact's timeline on both
// adapters: the records of each timeline type are read from the contact's
// links (the link index first, never the records' time index walked in
// order: 460 ms at a million activities), and its events from the
// subject's time index (an OR with the linked records' events defeated
// it), a page after a cursor too.
func TestTimelinePlans(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			store, h := capturingStore(t, db)
			ctx := storage.WithWorkspace(t.Context(), "ws")
			testdb.SeedActivities(t, ctx, store, 2000, []string{"u1"})
			testdb.SeedEvents(t, ctx, store, 2000)
			people := contacts.NewService(store, contacts.Options{})
			c, err := people.Contacts.Create(ctx, contacts.NewContact{FirstName: "Busy"})
			if err != nil {
				t.Fatal(err)
			}
			for i := range 30 {
				if _, err := people.Activities.Log(ctx, contacts.NewActivity{Kind: contacts.KindCall, Subject: fmt.Sprint("Call ", i),
					ContactIDs: []string{c.ID}}); err != nil {
					t.Fatal(err)
				}
			}
			// 2,000 campaign messages to others, 20 to the contact.
			var msgs []*marketing.Message
			for i := range 2020 {
				to := storage.NewID()
				if i%101 == 0 {
					to = c.ID
				}
				msgs = append(msgs, &marketing.Message{EmailID: fmt.Sprint("e", i), CampaignID: "c1", ContactID: to, Status: marketing.MessageSent})
			}
			if err := storage.InsertMany(ctx, store, storage.TableOf[*marketing.Message](store), msgs, storage.WithoutEvent()); err != nil {
				t.Fatal(err)
			}
			if db == "postgres" {
				if _, err := store.DB().ExecContext(ctx, "ANALYZE"); err != nil {
					t.Fatal(err)
				}
			}
			h.on = true
			page, err := people.Contacts.Timeline(ctx, c.ID, storage.PageQuery{Limit: 10})
			if err == nil {
				_, err = people.Contacts.Timeline(ctx, c.ID, storage.PageQuery{Limit: 10, Cursor: page.Next})
			}
			h.on = false
			if err != nil {
				t.Fatal(err)
			}
			var links, subjects, fields int
			for i, q := range h.qs {
				plan := explain(t, ctx, store, q, h.args[i])
				joined := strings.Join(plan, "\n")
				switch {
				case strings.Contains(q, "FROM crm_links l CROSS JOIN"):
					links++
					first := plan[0]
					if db == "postgres" {
						first = joined
					}
					if !strings.Contains(first, "crm_links_to") {
						t.Errorf("timeline records not read from the links first:\n%s\n  %s", q, strings.Join(plan, "\n  "))
					}
				case strings.Contains(q, "FROM crm_mkt_messages"):
					// A campaign's messages, by their contact_id
					// (TimelineField): the index that leads with it.
					fields++
					if !strings.Contains(joined, "crm_mkt_messages_uq") || strings.Contains(joined, "SCAN crm_mkt_messages") ||
						strings.Contains(joined, "Seq Scan on crm_mkt_messages") {
						t.Errorf("a contact's messages not read by their contact index:\n%s\n  %s", q, strings.Join(plan, "\n  "))
					}
				case strings.Contains(q, "FROM crm_events e WHERE e.workspace_id = ? AND e.subject_id = ?"),
					strings.Contains(q, "FROM crm_events e WHERE e.workspace_id = $1 AND e.subject_id = $2"):
					subjects++
					if !strings.Contains(joined, "crm_events_ws_subject_time") || strings.Contains(joined, "TEMP B-TREE") {
						t.Errorf("the contact's events not read in the subject's time order:\n%s\n  %s", q, strings.Join(plan, "\n  "))
					}
				}
			}
			if links < 2 || subjects != 2 || fields != 4 {
				t.Errorf("saw %d link reads, %d subject reads and %d field reads in %d statements, want at least 2, 2 and 4", links, subjects, fields, len(h.qs))
			}
		})
	}
}

// TestFeedPlans checks that a change feed page after a cursor starts at
// the cursor in the (workspace_id, tx_id, seq) index on both adapters: on
// SQLite the OR form read the log from its beginning (1.9 s for 10,000
// events from the tail of a million).
func TestFeedPlans(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			store, h := capturingStore(t, db)
			ctx := storage.WithWorkspace(t.Context(), "ws")
			testdb.SeedEvents(t, ctx, store, 3000)
			first, err := store.ChangeFeed(ctx, "", 100)
			if err != nil {
				t.Fatal(err)
			}
			h.on = true
			_, err = store.ChangeFeed(ctx, first.Cursor, 100)
			h.on = false
			if err != nil {
				t.Fatal(err)
			}
			seen := false
			for i, q := range h.qs {
				if !strings.Contains(q, "FROM crm_events e WHERE") {
					continue
				}
				seen = true
				plan := strings.Join(explain(t, ctx, store, q, h.args[i]), "\n")
				good := strings.Contains(plan, "crm_events_ws_seq (workspace_id=? AND tx_id=? AND seq>?)")
				if db == "postgres" {
					// Either index of (…, tx_id, seq), entered at the cursor.
					good = strings.Contains(plan, "Index Cond: ((ROW(tx_id, seq) > ROW(")
				}
				if !good {
					t.Errorf("the feed page does not start at its cursor in the index:\n%s\n  %s", q, plan)
				}
			}
			if !seen {
				t.Errorf("no feed statement among %d", len(h.qs))
			}
		})
	}
}

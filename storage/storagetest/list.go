package storagetest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
)

// listAll pages through q with pages of size, returning the IDs in order.
func listAll(t testing.TB, ctx context.Context, svc *contacts.Service, q storage.ListQuery) []string {
	t.Helper()
	var ids []string
	for pages := 0; ; pages++ {
		if pages > 10000 {
			t.Fatal("pagination does not end")
		}
		p, err := svc.Contacts.List(ctx, q)
		must(t, "list", err)
		for _, c := range p.Items {
			ids = append(ids, c.ID)
		}
		if p.Next == "" {
			return ids
		}
		if len(p.Items) == 0 {
			t.Fatal("an empty page with a next cursor")
		}
		q.Cursor = p.Next
	}
}

// testPaginationUnderInserts pages through 300 contacts, in several sort
// orders, while another goroutine keeps inserting: every row that existed
// before the first page is returned exactly once, and no row twice.
func testPaginationUnderInserts(t *testing.T, h Harness) {
	e := newEnv(t, h)
	const seeded = 300
	want := make(map[string]bool, seeded)
	for i := range seeded {
		c := e.contact(e.ctx, contacts.NewContact{FirstName: "Seed", LastName: name(i % 37), Lifecycle: []contacts.Lifecycle{"lead", "customer", ""}[i%3]})
		want[c.ID] = true
	}
	sorts := [][]storage.Sort{
		nil,
		{{Field: "last_name"}},
		{{Field: "last_name", Desc: true}},
		{{Field: "lifecycle"}, {Field: "created_at", Desc: true}},
		{{Field: "updated_at", Desc: true}},
	}
	for _, sort := range sorts {
		t.Run(fmt.Sprint(sort), func(t *testing.T) {
			stop := make(chan struct{})
			var wg sync.WaitGroup
			var inserted atomic.Int64
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					_, err := e.svc.Contacts.Create(e.ctx, contacts.NewContact{FirstName: "Late", LastName: name(i % 41)})
					if err != nil {
						t.Errorf("insert: %v", err)
						return
					}
					inserted.Add(1)
				}
			}()
			ids := listAll(t, e.ctx, e.svc, storage.ListQuery{Sort: sort, PageQuery: storage.PageQuery{Limit: 7}})
			close(stop)
			wg.Wait()
			seen := make(map[string]int, len(ids))
			for _, id := range ids {
				seen[id]++
				if seen[id] == 2 {
					t.Errorf("row %s returned twice", id)
				}
			}
			for id := range want {
				if seen[id] != 1 {
					t.Errorf("seeded row %s returned %d times", id, seen[id])
				}
			}
			if inserted.Load() == 0 {
				t.Log("no insert ran during the pagination")
			}
		})
	}
}

func testListFilterSort(t *testing.T, h Harness) {
	e := newEnv(t, h)
	_, err := e.svc.Fields.Define(e.ctx, contacts.NewFieldDef{Object: contacts.ObjectContact, Name: "score", Type: contacts.FieldNumber})
	must(t, "define", err)
	_, err = e.svc.Fields.Define(e.ctx, contacts.NewFieldDef{Object: contacts.ObjectContact, Name: "tier", Type: contacts.FieldEnum, Options: []string{"gold", "silver"}})
	must(t, "define", err)
	acct := e.account(e.ctx, contacts.NewAccount{Name: "Acme"})
	type row struct {
		first, last string
		life        contacts.Lifecycle
		tags        []string
		score       float64
		tier        string
		acct        bool
	}
	rows := []row{
		{"Ann", "Zed", "lead", []string{"vip"}, 10, "gold", true},
		{"Bob", "Young", "customer", []string{"vip", "eu"}, 20, "silver", false},
		{"Cid", "Xu", "customer", nil, 30, "gold", true},
		{"Dee", "Webb", "", []string{"eu"}, 5, "", false},
		{"Eve", "O'Brien; DROP TABLE crm_contacts; --", "lead", nil, 0, "", false},
	}
	byFirst := map[string]string{}
	for _, r := range rows {
		custom := map[string]any{"score": r.score}
		if r.tier != "" {
			custom["tier"] = r.tier
		}
		in := contacts.NewContact{FirstName: r.first, LastName: r.last, Lifecycle: r.life, Tags: r.tags, Custom: custom,
			Email: fmt.Sprintf("%s@example.com", r.first)}
		if r.acct {
			in.AccountID = acct.ID
		}
		byFirst[r.first] = e.contact(e.ctx, in).ID
	}
	names := func(q storage.ListQuery) []string {
		t.Helper()
		var out []string
		for _, id := range listAll(t, e.ctx, e.svc, q) {
			for n, i := range byFirst {
				if i == id {
					out = append(out, n)
				}
			}
		}
		return out
	}
	cases := []struct {
		name string
		q    storage.ListQuery
		want []string
	}{
		{"all, creation order", storage.ListQuery{}, []string{"Ann", "Bob", "Cid", "Dee", "Eve"}},
		{"sort by last name", storage.ListQuery{Sort: []storage.Sort{{Field: "last_name"}}}, []string{"Eve", "Dee", "Cid", "Bob", "Ann"}},
		{"lifecycle then first name desc", storage.ListQuery{Sort: []storage.Sort{{Field: "lifecycle"}, {Field: "first_name", Desc: true}}},
			[]string{"Dee", "Cid", "Bob", "Eve", "Ann"}},
		{"eq", storage.ListQuery{Filter: storage.Eq("lifecycle", "customer")}, []string{"Bob", "Cid"}},
		{"tag", storage.ListQuery{Filter: storage.HasTag("vip")}, []string{"Ann", "Bob"}},
		{"and/or/not", storage.ListQuery{Filter: storage.And{
			storage.Or{storage.HasTag("eu"), storage.Eq("lifecycle", "lead")},
			storage.Not{Filter: storage.Eq("first_name", "Eve")},
		}}, []string{"Ann", "Bob", "Dee"}},
		{"in", storage.ListQuery{Filter: storage.Cmp{Field: "first_name", Op: storage.OpIn, Value: []string{"Ann", "Eve", "Zoe"}}}, []string{"Ann", "Eve"}},
		{"empty lifecycle", storage.ListQuery{Filter: storage.Cmp{Field: "lifecycle", Op: storage.OpEmpty}}, []string{"Dee"}},
		{"empty tags", storage.ListQuery{Filter: storage.Cmp{Field: "tags", Op: storage.OpEmpty}}, []string{"Cid", "Eve"}},
		{"no account", storage.ListQuery{Filter: storage.Cmp{Field: "account_id", Op: storage.OpEmpty}}, []string{"Bob", "Dee", "Eve"}},
		{"account", storage.ListQuery{Filter: storage.Eq("account_id", acct.ID)}, []string{"Ann", "Cid"}},
		{"starts with", storage.ListQuery{Filter: storage.Cmp{Field: "last_name", Op: storage.OpStartsWith, Value: "O'B"}}, []string{"Eve"}},
		{"ends with", storage.ListQuery{Filter: storage.Cmp{Field: "email", Op: storage.OpEndsWith, Value: "@example.com"}}, []string{"Ann", "Bob", "Cid", "Dee", "Eve"}},
		{"contains, not a pattern", storage.ListQuery{Filter: storage.Cmp{Field: "last_name", Op: storage.OpContains, Value: "%"}}, nil},
		{"injection is data", storage.ListQuery{Filter: storage.Eq("last_name", "O'Brien; DROP TABLE crm_contacts; --")}, []string{"Eve"}},
		{"custom number", storage.ListQuery{Filter: storage.Cmp{Field: "custom.score", Op: storage.OpGe, Value: 20}}, []string{"Bob", "Cid"}},
		{"custom enum", storage.ListQuery{Filter: storage.Eq("custom.tier", "gold")}, []string{"Ann", "Cid"}},
		{"custom empty", storage.ListQuery{Filter: storage.Cmp{Field: "custom.tier", Op: storage.OpEmpty}}, []string{"Dee", "Eve"}},
		{"created before now", storage.ListQuery{Filter: storage.Cmp{Field: "created_at", Op: storage.OpLt, Value: time.Now().Add(time.Hour)}},
			[]string{"Ann", "Bob", "Cid", "Dee", "Eve"}},
	}
	for _, tc := range cases {
		for _, limit := range []int{1, 2, 100} {
			q := tc.q
			q.Limit = limit
			if diff := cmp.Diff(tc.want, names(q)); diff != "" {
				t.Errorf("%s, pages of %d (-want +got):\n%s", tc.name, limit, diff)
			}
		}
		if n, err := e.svc.Contacts.Count(e.ctx, tc.q.Filter); err != nil || int(n) != len(tc.want) {
			t.Errorf("%s: count %d (%v), want %d", tc.name, n, err, len(tc.want))
		}
	}
	if n := count(t, e.ctx, storage.TableOf[*contacts.Contact](e.store)); n != len(rows) {
		t.Fatalf("%d contacts after the injection attempt, want %d", n, len(rows))
	}
}

func testListBadQueries(t *testing.T, h Harness) {
	e := newEnv(t, h)
	for i := range 3 {
		e.contact(e.ctx, contacts.NewContact{FirstName: name(i)})
	}
	p, err := e.svc.Contacts.List(e.ctx, storage.ListQuery{PageQuery: storage.PageQuery{Limit: 1}})
	must(t, "list", err)
	bad := []struct {
		name  string
		q     storage.ListQuery
		field string
	}{
		{"unknown filter field", storage.ListQuery{Filter: storage.Eq("password", "x")}, "filter.password"},
		{"SQL as a field", storage.ListQuery{Filter: storage.Eq("1=1 OR email", "x")}, "filter.1=1 OR email"},
		{"unknown sort field", storage.ListQuery{Sort: []storage.Sort{{Field: "email; DROP TABLE x"}}}, "sort[0]"},
		{"unknown operator", storage.ListQuery{Filter: storage.Cmp{Field: "email", Op: "~", Value: "x"}}, "filter.email"},
		{"wrong value type", storage.ListQuery{Filter: storage.Eq("created_at", "yesterday")}, "filter.created_at"},
		{"cursor of another query", storage.ListQuery{Sort: []storage.Sort{{Field: "last_name"}}, PageQuery: storage.PageQuery{Limit: 1, Cursor: p.Next}}, "cursor"},
		{"cursor of another filter", storage.ListQuery{Filter: storage.Eq("first_name", "x"), PageQuery: storage.PageQuery{Limit: 1, Cursor: p.Next}}, "cursor"},
		{"sort by a list field", storage.ListQuery{Sort: []storage.Sort{{Field: "tags"}}}, "sort[0]"},
		{"text in a list of objects", storage.ListQuery{Filter: storage.Cmp{Field: "emails", Op: storage.OpContains, Value: "a@example.com"}}, "filter.emails"},
		{"SQL as an object's field", storage.ListQuery{Filter: storage.Cmp{Field: "emails", Op: storage.OpContains,
			Value: map[string]string{"address') OR 1=1 --": "x"}}}, "filter.emails"},
		{"no fields of an object", storage.ListQuery{Filter: storage.Cmp{Field: "emails", Op: storage.OpContains, Value: map[string]string{}}}, "filter.emails"},
		{"garbage cursor", storage.ListQuery{PageQuery: storage.PageQuery{Cursor: "not a cursor"}}, "cursor"},
	}
	for _, tc := range bad {
		_, err := e.svc.Contacts.List(e.ctx, tc.q)
		wantErr(t, tc.name, err, storage.ErrInvalid)
		wantFields(t, tc.name, err, tc.field)
	}
	// The cursor still works for its own query.
	p2, err := e.svc.Contacts.List(e.ctx, storage.ListQuery{PageQuery: storage.PageQuery{Limit: 1, Cursor: p.Next}})
	must(t, "second page", err)
	if len(p2.Items) != 1 || p2.Items[0].ID == p.Items[0].ID {
		t.Fatalf("second page: %+v", p2.Items)
	}
	// Limits are capped.
	if (storage.PageQuery{Limit: 1 << 20}).PageSize() != storage.MaxLimit {
		t.Fatal("page size is not capped")
	}
}

// testListFields checks ListQuery.Fields: only the fields named (and the
// ID, version and sort keys) are read, pages follow one another as
// without them, and a name that is not a field is refused.
func testListFields(t *testing.T, h Harness) {
	e := newEnv(t, h)
	for i := range 5 {
		e.contact(e.ctx, contacts.NewContact{FirstName: "F" + name(i), LastName: "L" + name(4-i), Email: fmt.Sprintf("f%d@example.com", i),
			JobTitle: "Tester", Tags: []string{"x"}})
	}
	q := storage.ListQuery{Fields: []string{"email"}, Sort: []storage.Sort{{Field: "last_name"}}, PageQuery: storage.PageQuery{Limit: 2}}
	var got []*contacts.Contact
	for {
		p, err := e.svc.Contacts.List(e.ctx, q)
		must(t, "list with fields", err)
		got = append(got, p.Items...)
		if p.Next == "" {
			break
		}
		q.Cursor = p.Next
	}
	if len(got) != 5 {
		t.Fatalf("%d contacts over the pages, want 5", len(got))
	}
	for i, c := range got {
		if c.ID == "" || c.Version != 1 || c.Email != fmt.Sprintf("f%d@example.com", 4-i) || c.LastName != "L"+name(i) {
			t.Errorf("contact %d read with fields: %+v", i, c)
		}
		if c.FirstName != "" || c.JobTitle != "" || c.Tags != nil || !c.CreatedAt.IsZero() {
			t.Errorf("contact %d has fields it was not asked for: %+v", i, c)
		}
	}
	_, err := e.svc.Contacts.List(e.ctx, storage.ListQuery{Fields: []string{"email", "no_such"}})
	wantFields(t, "an unknown field", err, "fields")
}

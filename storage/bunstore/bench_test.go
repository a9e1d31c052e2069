package bunstore_test

// The benchmarks of the generic CRUD path, each beside a raw database/sql
// baseline doing the same work on the same database, so that one run gives
// the ratio. They run only with -bench:
//
//	go test -run '^$' -bench . -benchtime 2000x ./storage/bunstore
//
// Postgres is used as the tests use it (CRM_TEST_POSTGRES).

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/internal/testdb"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/access"
	"github.com/crmkit/crm/storage/bunstore"
)

// benchSeed is how many contacts the read benchmarks run over.
const benchSeed = 2000

var benchFirst = []string{"Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Ken", "Dennis", "Margaret", "Frances",
	"John", "Radia", "Leslie", "Niklaus", "Tony", "Butler", "Shafi", "Silvio", "Whitfield", "Martin"}
var benchLast = []string{"Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Thompson", "Ritchie",
	"Hamilton", "Allen", "Backus", "Perlman", "Lamport", "Wirth", "Hoare", "Lampson", "Goldwasser", "Micali",
	"Diffie", "Hellman", "Kay", "Cerf", "Kahn", "Rivest", "Shamir", "Adleman", "Codd", "Gray", "Stonebraker", "Engelbart"}

func BenchmarkContacts(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchContacts(b, testdb.SQLite(b)) })
	b.Run("postgres", func(b *testing.B) { benchContacts(b, testdb.Postgres(b)) })
}

func benchContacts(b *testing.B, store *bunstore.Store) {
	ctx := storage.WithActor(storage.WithWorkspace(b.Context(), "bench"), "u1")
	svc := contacts.NewService(store, contacts.Options{})
	raw := newRawContacts(b, store)
	// Four members in two teams own the seeded contacts; rep works in the
	// first team, so its "team" scope covers half of them. Shares with a
	// third team (below) add nothing to what rep sees.
	acc := access.NewService(store)
	teamX, err := acc.CreateTeam(ctx, "X", "")
	if err != nil {
		b.Fatal(err)
	}
	teamY, err := acc.CreateTeam(ctx, "Y", "")
	if err != nil {
		b.Fatal(err)
	}
	var owners []string
	for i, tm := range []string{teamX.ID, teamX.ID, teamY.ID, teamY.ID} {
		m, err := acc.CreateMember(ctx, access.NewMember{Name: fmt.Sprint("member ", i), Role: access.RoleRep, TeamIDs: []string{tm}})
		if err != nil {
			b.Fatal(err)
		}
		owners = append(owners, m.ID)
	}
	asRep, err := acc.As(ctx, owners[0])
	if err != nil {
		b.Fatal(err)
	}
	// A rep of both teams: its scope covers every contact, so its list
	// pages read the same rows as unscoped ones and differ only by the check.
	both, err := acc.CreateMember(ctx, access.NewMember{Name: "both", Role: access.RoleRep, TeamIDs: []string{teamX.ID, teamY.ID}})
	if err != nil {
		b.Fatal(err)
	}
	asBoth, err := acc.As(ctx, both.ID)
	if err != nil {
		b.Fatal(err)
	}
	teamZ, err := acc.CreateTeam(ctx, "Z", "")
	if err != nil {
		b.Fatal(err)
	}
	var others []string
	for i := range 20 {
		m, err := acc.CreateMember(ctx, access.NewMember{Name: fmt.Sprint("other ", i), Role: access.RoleRep, TeamIDs: []string{teamZ.ID}})
		if err != nil {
			b.Fatal(err)
		}
		others = append(others, m.ID)
	}
	owned := func(i int) contacts.NewContact {
		in := benchInput(i)
		in.OwnerID = owners[i%len(owners)]
		return in
	}
	ids := make([]string, 0, benchSeed)
	err = store.RunInTx(ctx, func(ctx context.Context) error {
		for i := range benchSeed {
			c, err := svc.Contacts.Create(ctx, owned(i))
			if err != nil {
				return err
			}
			ids = append(ids, c.ID)
		}
		// A quarter of the contacts shared with the 20 members of a third
		// team and with the team itself, so that the principals below look
		// their shares up among 500 that are not theirs.
		for i := 3; i < len(ids); i += 4 {
			ref := storage.Ref{Type: contacts.ObjectContact, ID: ids[i]}
			with := access.ShareWith{MemberID: others[i%len(others)]}
			if i%5 == 0 {
				with = access.ShareWith{TeamID: teamZ.ID}
			}
			if _, err := acc.Share(ctx, ref, with, access.ShareRead); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	n := benchSeed

	b.Run("Create/crm", func(b *testing.B) {
		for b.Loop() {
			if _, err := svc.Contacts.Create(ctx, owned(n)); err != nil {
				b.Fatal(err)
			}
			n++
		}
	})
	b.Run("Create/raw", func(b *testing.B) {
		for b.Loop() {
			if err := raw.create(ctx, owned(n)); err != nil {
				b.Fatal(err)
			}
			n++
		}
	})
	b.Run("Get/crm", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, err := svc.Contacts.Get(ctx, ids[i%len(ids)]); err != nil {
				b.Fatal(err)
			}
			i += 7
		}
	})
	b.Run("Get/raw", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, err := raw.get(ctx, ids[i%len(ids)]); err != nil {
				b.Fatal(err)
			}
			i += 7
		}
	})
	// A look-up by email, as the duplicate check, the vCard import and a
	// lead's conversion make it.
	b.Run("ByEmail/crm", func(b *testing.B) {
		i := 0
		for b.Loop() {
			page, err := svc.Contacts.List(ctx, storage.ListQuery{Filter: storage.Eq("email", fmt.Sprintf("person%d@example.com", i%benchSeed)),
				PageQuery: storage.PageQuery{Limit: 10}})
			if err != nil || len(page.Items) != 1 {
				b.Fatalf("%d items, %v", len(page.Items), err)
			}
			i += 7
		}
	})
	b.Run("ByEmail/raw", func(b *testing.B) {
		i := 0
		for b.Loop() {
			items, err := raw.many(ctx, "by_email", storage.WorkspaceFrom(ctx), fmt.Sprintf("person%d@example.com", i%benchSeed))
			if err != nil || len(items) != 1 {
				b.Fatalf("%d items, %v", len(items), err)
			}
			i += 7
		}
	})
	// On Postgres, the planner's statistics as autovacuum keeps them on a
	// table of this size: without them it sorts every matching row instead
	// of walking the name index. (SQLite gets none: the store never runs
	// ANALYZE there.)
	if store.Dialect() == "postgres" {
		if _, err := store.DB().DB.ExecContext(ctx, "ANALYZE"); err != nil {
			b.Fatal(err)
		}
	}
	listQ := storage.ListQuery{
		Filter:    storage.Eq("lifecycle", string(contacts.LifecycleCustomer)),
		Sort:      []storage.Sort{{Field: "last_name"}, {Field: "first_name"}},
		PageQuery: storage.PageQuery{Limit: 50},
	}
	b.Run("List/crm", func(b *testing.B) {
		for b.Loop() {
			page, err := svc.Contacts.List(ctx, listQ)
			if err != nil || len(page.Items) != 50 {
				b.Fatalf("%d items, %v", len(page.Items), err)
			}
		}
	})
	// The rows rep sees, asked for by an unscoped filter: the page a member
	// who sees half the rows gets, without the scope check.
	halfQ := listQ
	halfQ.Filter = storage.And{listQ.Filter, storage.Cmp{Field: "owner_id", Op: storage.OpIn, Value: owners[:2]}}
	scoped := []struct {
		name string
		ctx  context.Context
		q    storage.ListQuery
	}{{"List/crm-scope-all", asBoth, listQ}, {"List/crm-owners-half", ctx, halfQ}, {"List/crm-scope-half", asRep, listQ}}
	for _, sc := range scoped {
		b.Run(sc.name, func(b *testing.B) {
			for b.Loop() {
				page, err := svc.Contacts.List(sc.ctx, sc.q)
				if err != nil || len(page.Items) != 50 {
					b.Fatalf("%d items, %v", len(page.Items), err)
				}
			}
		})
	}
	// The cost of the scope check as ratios measured side by side: every
	// iteration lists the unscoped page and the three above, and the steps
	// below, so that load from elsewhere on the machine falls on all of
	// them alike; the ratios
	// are of medians, which a stall of the machine does not move. Reported
	// as percentages over the unscoped page (all-%, half-%) and, for the
	// member who sees half the rows, over the unscoped filter that reads
	// the same rows (check-half-%). Then what a request does: As makes a
	// new principal context for the member whose scope covers every row
	// (its time over the unscoped page: as-%; Principal, which reads the
	// member and builds its principal, as As did before the scope version:
	// principal-%), and the context lists
	// the page (new-context-%: nothing changed since the previous
	// request, so the principal's sets come from the store's cache). The
	// last list is in a new context made with storage.WithPrincipal and a
	// principal built before, which reads the sets at its first call
	// (built-context-%): what a context As makes pays after a share or a
	// change of team in the workspace. request-% is As and the first page
	// of its context over Principal and the unscoped page: what the scope
	// check adds to a request that resolves its member anyway.
	b.Run("List/scope-interleaved", func(b *testing.B) {
		qs := append([]struct {
			name string
			ctx  context.Context
			q    storage.ListQuery
		}{{"List/crm", ctx, listQ}}, scoped...)
		pBoth := storage.PrincipalFrom(asBoth)
		list := func(ctx context.Context, q storage.ListQuery) error {
			page, err := svc.Contacts.List(ctx, q)
			if err == nil && len(page.Items) != 50 {
				err = fmt.Errorf("%d items", len(page.Items))
			}
			return err
		}
		const (
			iNewContext = iota + 4
			iAs
			iPrincipal
			iBuilt
			nSpent
		)
		var spent [nSpent][]time.Duration
		timed := func(i int, fn func() error) {
			start := time.Now()
			err := fn()
			spent[i] = append(spent[i], time.Since(start))
			if err != nil {
				b.Fatalf("%d: %v", i, err)
			}
		}
		// Each iteration runs the same steps, in an order rotated by one
		// from the previous iteration's, so that no step always follows
		// the same one and gets alone what that one leaves behind (cold
		// caches, a busier connection).
		var steps []func()
		for i, sc := range qs {
			steps = append(steps, func() { timed(i, func() error { return list(sc.ctx, sc.q) }) })
		}
		steps = append(steps,
			func() {
				var actx context.Context
				timed(iAs, func() (err error) {
					actx, err = acc.As(ctx, both.ID)
					return err
				})
				timed(iNewContext, func() error { return list(actx, listQ) })
			},
			func() {
				timed(iPrincipal, func() error {
					_, err := acc.Principal(ctx, both.ID)
					return err
				})
			},
			func() { timed(iBuilt, func() error { return list(storage.WithPrincipal(ctx, pBoth), listQ) }) },
		)
		for k := 0; b.Loop(); k++ {
			for i := range steps {
				steps[(k+i)%len(steps)]()
			}
		}
		var med [nSpent]float64
		for i, ds := range spent {
			slices.Sort(ds)
			med[i] = float64(ds[len(ds)/2])
		}
		pct := func(a, base float64) float64 { return 100 * (a/base - 1) }
		b.ReportMetric(pct(med[1], med[0]), "all-%")
		b.ReportMetric(pct(med[3], med[0]), "half-%")
		b.ReportMetric(pct(med[3], med[2]), "check-half-%")
		b.ReportMetric(pct(med[iNewContext], med[0]), "new-context-%")
		b.ReportMetric(pct(med[iBuilt], med[0]), "built-context-%")
		b.ReportMetric(100*med[iAs]/med[0], "as-%")
		b.ReportMetric(100*med[iPrincipal]/med[0], "principal-%")
		b.ReportMetric(pct(med[iAs]+med[iNewContext], med[iPrincipal]+med[0]), "request-%")
	})
	b.Run("List/raw", func(b *testing.B) {
		for b.Loop() {
			items, err := raw.list(ctx, string(contacts.LifecycleCustomer))
			if err != nil || len(items) != 51 {
				b.Fatalf("%d items, %v", len(items), err)
			}
		}
	})
	b.Run("interleaved", func(b *testing.B) {
		benchInterleaved(b, raw, []variant{{"crm", svc, ctx}, {"hooked", contacts.NewService(hookedStore(b, store), contacts.Options{}), ctx}},
			owned, ids, listQ)
	})
	b.Run("Feed/interleaved", func(b *testing.B) { benchFeed(b, store, ctx) })
	b.Run("HostTx/interleaved", func(b *testing.B) {
		benchHostTx(b, store, svc, raw, ctx, func() contacts.NewContact { n++; return owned(n) })
	})
	b.Run("Search/crm", func(b *testing.B) {
		for b.Loop() {
			res, err := svc.Search(ctx, "ada", 20)
			if err != nil || len(res) != 20 {
				b.Fatalf("%d results, %v", len(res), err)
			}
		}
	})
	b.Run("Search/raw", func(b *testing.B) {
		for b.Loop() {
			res, err := raw.search(ctx, []string{"ada"}, 20)
			if err != nil || len(res) != 20 {
				b.Fatalf("%d results, %v", len(res), err)
			}
		}
	})
}

// benchInput is the i-th generated contact.
func benchInput(i int) contacts.NewContact {
	lc := []contacts.Lifecycle{contacts.LifecycleLead, contacts.LifecycleCustomer, contacts.LifecycleMQL}
	return contacts.NewContact{
		FirstName: benchFirst[i%len(benchFirst)],
		LastName:  benchLast[(i/len(benchFirst))%len(benchLast)],
		Email:     fmt.Sprintf("person%d@example.com", i),
		JobTitle:  "Engineer",
		Lifecycle: lc[i%len(lc)],
		Tags:      []string{"bench", fmt.Sprintf("t%d", i%10)},
	}
}

// rawContacts is the baseline: hand-written database/sql on the store's own
// connections, doing what the store does for the same call.
type rawContacts struct {
	sqlite    bool
	wdb, rdb  *sql.DB
	q         map[string]string
	wst, rst  map[string]*sql.Stmt
	searchSQL string
}

const rawCols = `id, workspace_id, version, created_at, created_by, updated_at, updated_by, prefix, first_name,
middle_name, last_name, suffix, email, emails, phones, addresses, job_title, department, social_profiles,
account_id, owner_id, lifecycle, source, tags, custom`

func newRawContacts(b *testing.B, store *bunstore.Store) *rawContacts {
	r := &rawContacts{sqlite: store.Dialect() == "sqlite", wdb: store.DB().DB, rdb: store.ReadDB().DB,
		wst: map[string]*sql.Stmt{}, rst: map[string]*sql.Stmt{}}
	qualified := "c." + strings.ReplaceAll(strings.ReplaceAll(rawCols, "\n", " "), ", ", ", c.")
	r.q = map[string]string{
		"insert": `INSERT INTO crm_contacts (` + rawCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		"event":  `INSERT INTO crm_events (id, workspace_id, type, subject_type, subject_id, actor, occurred_at, changes) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		// On Postgres the event takes its tx_id from the feed clock in the
		// same statement, as the store's first event of a transaction does.
		"event_pg": `WITH f AS (SELECT crm_feed_enter() AS tx) INSERT INTO crm_events (id, workspace_id, type, subject_type, subject_id, actor, occurred_at, changes, tx_id)
			SELECT ?, ?, ?, ?, ?, ?, ?::timestamptz, ?::jsonb, f.tx FROM f`,
		"get": `SELECT ` + rawCols + ` FROM crm_contacts WHERE workspace_id = ? AND id = ?`,
		// A page of 50 and one more row to know whether a next page
		// exists, as crm reads it; the LIMIT is written out, as crm does
		// (see limitSQL).
		"list": `SELECT ` + rawCols + ` FROM crm_contacts WHERE workspace_id = ? AND lifecycle = ? ORDER BY last_name, first_name, id LIMIT 51`,
		// "email <> ''" is the predicate of the partial unique index on
		// email, which SQLite uses only when the query names it.
		"by_email": `SELECT ` + rawCols + ` FROM crm_contacts WHERE workspace_id = ? AND email = ? AND email <> '' ORDER BY id LIMIT 11`,
	}
	if r.sqlite {
		r.q["search_doc"] = `INSERT INTO crm_search_docs (workspace_id, record_type, record_id, title, body) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (record_id) DO UPDATE SET title = excluded.title, body = excluded.body`
		r.q["search"] = `SELECT ` + qualified + ` FROM crm_search JOIN crm_search_docs d ON d.id = crm_search.rowid
JOIN crm_contacts c ON c.id = d.record_id
WHERE crm_search MATCH ? AND d.workspace_id = ? AND d.record_type IN ('contact', 'account')
ORDER BY bm25(crm_search, 10.0, 1.0), d.record_id LIMIT ?`
	} else {
		r.q["search_doc"] = `INSERT INTO crm_search (workspace_id, record_type, record_id, title, body) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (record_id) DO UPDATE SET title = excluded.title, body = excluded.body`
		r.q["search"] = `SELECT ` + qualified + ` FROM crm_search s JOIN crm_contacts c ON c.id = s.record_id,
to_tsquery('simple', ?::text) q
WHERE s.tsv @@ q AND s.workspace_id = ? AND s.record_type IN ('contact', 'account')
ORDER BY ts_rank(s.tsv, q) DESC, s.record_id LIMIT ?`
		for k, q := range r.q {
			r.q[k] = pgRebind(q)
		}
	}
	if r.sqlite {
		for _, k := range []string{"insert", "event", "search_doc"} {
			st, err := r.wdb.PrepareContext(b.Context(), r.q[k])
			if err != nil {
				b.Fatal(err)
			}
			r.wst[k] = st
		}
		for _, k := range []string{"get", "list", "by_email", "search"} {
			st, err := r.rdb.PrepareContext(b.Context(), r.q[k])
			if err != nil {
				b.Fatal(err)
			}
			r.rst[k] = st
		}
		b.Cleanup(func() {
			for _, st := range r.wst {
				st.Close()
			}
			for _, st := range r.rst {
				st.Close()
			}
		})
	}
	return r
}

func pgRebind(q string) string {
	var sb strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			fmt.Fprintf(&sb, "$%d", n)
			continue
		}
		sb.WriteRune(r)
	}
	return sb.String()
}

func (r *rawContacts) exec(ctx context.Context, tx *sql.Tx, k string, args ...any) error {
	var err error
	if st := r.wst[k]; st != nil {
		_, err = tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	} else {
		_, err = tx.ExecContext(ctx, r.q[k], args...)
	}
	return err
}

func (r *rawContacts) query(ctx context.Context, k string, args ...any) (*sql.Rows, error) {
	if st := r.rst[k]; st != nil {
		return st.QueryContext(ctx, args...)
	}
	return r.rdb.QueryContext(ctx, r.q[k], args...)
}

func (r *rawContacts) timeArg(t time.Time) any {
	if r.sqlite {
		return t.UTC().Format("2006-01-02T15:04:05.000000Z")
	}
	return t
}

func jsonArg(v any, empty bool) (any, error) {
	if empty {
		return nil, nil
	}
	b, err := json.Marshal(v)
	return string(b), err
}

// create inserts the contact, its created event and its search document in
// one transaction, after the same normalisation of the email.
func (r *rawContacts) create(ctx context.Context, in contacts.NewContact) error {
	email, err := contacts.NormalizeEmail(in.Email)
	if err != nil {
		return err
	}
	id, ws, actor, now := storage.NewID(), storage.WorkspaceFrom(ctx), storage.ActorFrom(ctx), storage.Now()
	tags, err := jsonArg(in.Tags, len(in.Tags) == 0)
	if err != nil {
		return err
	}
	var changes []storage.Change
	for _, f := range []struct {
		name string
		v    any
	}{{"first_name", in.FirstName}, {"last_name", in.LastName}, {"email", email},
		{"job_title", in.JobTitle}, {"lifecycle", in.Lifecycle}, {"tags", in.Tags}} {
		b, err := json.Marshal(f.v)
		if err != nil {
			return err
		}
		changes = append(changes, storage.Change{Field: f.name, New: b})
	}
	ch, err := json.Marshal(changes)
	if err != nil {
		return err
	}
	name := in.FirstName + " " + in.LastName
	body := strings.Join(strings.FieldsFunc(strings.ToLower(strings.Join(append([]string{name, email, in.JobTitle}, in.Tags...), " ")),
		func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }), " ")

	tx, err := r.wdb.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := r.exec(ctx, tx, "insert", id, ws, 1, r.timeArg(now), actor, r.timeArg(now), actor, "", in.FirstName, "",
		in.LastName, "", email, nil, nil, nil, in.JobTitle, "", nil, nil, in.OwnerID, string(in.Lifecycle), "", tags, nil); err != nil {
		return err
	}
	event := "event"
	if !r.sqlite {
		event = "event_pg"
	}
	if err := r.exec(ctx, tx, event, storage.NewID(), ws, "contact.created", "contact", id, actor, r.timeArg(now), string(ch)); err != nil {
		return err
	}
	if err := r.exec(ctx, tx, "search_doc", ws, "contact", id, name, body); err != nil {
		return err
	}
	return tx.Commit()
}

// scan reads one row of rawCols, decoding the JSON columns and the times.
func (r *rawContacts) scan(rows *sql.Rows) (*contacts.Contact, error) {
	var c contacts.Contact
	var created, updated any
	var emails, phones, addresses, social, account, tags, custom sql.NullString
	var lifecycle string
	if err := rows.Scan(&c.ID, &c.WorkspaceID, &c.Version, &created, &c.CreatedBy, &updated, &c.UpdatedBy,
		&c.Prefix, &c.FirstName, &c.MiddleName, &c.LastName, &c.Suffix, &c.Email, &emails, &phones, &addresses,
		&c.JobTitle, &c.Department, &social, &account, &c.OwnerID, &lifecycle, &c.Source, &tags, &custom); err != nil {
		return nil, err
	}
	c.Lifecycle, c.AccountID = contacts.Lifecycle(lifecycle), account.String
	for _, t := range []struct {
		src any
		dst *time.Time
	}{{created, &c.CreatedAt}, {updated, &c.UpdatedAt}} {
		switch v := t.src.(type) {
		case time.Time:
			*t.dst = v
		case string:
			tt, err := time.Parse("2006-01-02T15:04:05.000000Z", v)
			if err != nil {
				return nil, err
			}
			*t.dst = tt
		}
	}
	for _, j := range []struct {
		src sql.NullString
		dst any
	}{{emails, &c.Emails}, {phones, &c.Phones}, {addresses, &c.Addresses}, {social, &c.SocialProfiles},
		{tags, &c.Tags}, {custom, &c.Custom}} {
		if j.src.Valid {
			if err := json.Unmarshal([]byte(j.src.String), j.dst); err != nil {
				return nil, err
			}
		}
	}
	return &c, nil
}

func (r *rawContacts) get(ctx context.Context, id string) (*contacts.Contact, error) {
	rows, err := r.query(ctx, "get", storage.WorkspaceFrom(ctx), id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	if !rows.Next() {
		return nil, fmt.Errorf("%w: %s", storage.ErrNotFound, id)
	}
	return r.scan(rows)
}

func (r *rawContacts) many(ctx context.Context, k string, args ...any) ([]*contacts.Contact, error) {
	rows, err := r.query(ctx, k, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*contacts.Contact
	for rows.Next() {
		c, err := r.scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func (r *rawContacts) list(ctx context.Context, lifecycle string) ([]*contacts.Contact, error) {
	return r.many(ctx, "list", storage.WorkspaceFrom(ctx), lifecycle)
}

func (r *rawContacts) search(ctx context.Context, words []string, limit int) ([]*contacts.Contact, error) {
	parts := make([]string, len(words))
	for i, w := range words {
		if r.sqlite {
			parts[i] = `"` + w + `"*`
		} else {
			parts[i] = w + ":*"
		}
	}
	sep := " "
	if !r.sqlite {
		sep = " & "
	}
	return r.many(ctx, "search", strings.Join(parts, sep), storage.WorkspaceFrom(ctx), limit)
}

// benchFeed reads pages of 100 events of the change feed from a cursor in
// the middle of the log, with crm's ChangeFeed and with the raw SQL of the
// same page (the keyset and the workspace, no horizon), in turn in each
// iteration; it reports the medians (µs) and their ratio. On Postgres
// crm's page costs a second statement, the horizon (crm_feed_horizon).
func benchFeed(b *testing.B, store *bunstore.Store, ctx context.Context) {
	first, err := store.ChangeFeed(ctx, "", 1000)
	if err != nil || len(first.Events) < 1000 {
		b.Fatalf("%d events, %v", len(first.Events), err)
	}
	mid, err := store.ChangeFeed(ctx, "", 500)
	if err != nil {
		b.Fatal(err)
	}
	var fromTx, fromSeq int64
	if err := store.DB().DB.QueryRowContext(ctx, pgRebindIf(store, "SELECT tx_id, seq FROM crm_events WHERE id = ?"), mid.Events[len(mid.Events)-1].ID).Scan(&fromTx, &fromSeq); err != nil {
		b.Fatal(err)
	}
	q := pgRebindIf(store, "SELECT seq, tx_id, id, workspace_id, type, subject_type, subject_id, actor, occurred_at, changes, depth FROM crm_events "+
		"WHERE (tx_id, seq) > (?, ?) AND workspace_id = ? ORDER BY tx_id, seq LIMIT 100")
	var crmT, rawT []time.Duration
	timed := func(into *[]time.Duration, fn func() error) {
		t0 := time.Now()
		if err := fn(); err != nil {
			b.Fatal(err)
		}
		*into = append(*into, time.Since(t0))
	}
	crmRead := func() error {
		f, err := store.ChangeFeed(ctx, mid.Cursor, 100)
		if err == nil && len(f.Events) != 100 {
			err = fmt.Errorf("%d events", len(f.Events))
		}
		return err
	}
	rawRead := func() error {
		rows, err := store.ReadDB().DB.QueryContext(ctx, q, fromTx, fromSeq, storage.WorkspaceFrom(ctx))
		if err != nil {
			return err
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			var e storage.Event
			var tx int64
			var at any
			var changes sql.NullString
			if err := rows.Scan(&e.Seq, &tx, &e.ID, &e.WorkspaceID, &e.Type, &e.Subject.Type, &e.Subject.ID, &e.Actor, &at, &changes, &e.Depth); err != nil {
				return err
			}
			if changes.Valid {
				if err := json.Unmarshal([]byte(changes.String), &e.Changes); err != nil {
					return err
				}
			}
			n++
		}
		if n != 100 {
			return fmt.Errorf("%d raw events", n)
		}
		return rows.Err()
	}
	i := 0
	for b.Loop() {
		if i%2 == 0 {
			timed(&crmT, crmRead)
			timed(&rawT, rawRead)
		} else {
			timed(&rawT, rawRead)
			timed(&crmT, crmRead)
		}
		i++
	}
	med := func(d []time.Duration) float64 {
		d = slices.Clone(d)
		slices.Sort(d)
		return float64(d[len(d)/2]) / float64(time.Microsecond)
	}
	b.ReportMetric(med(crmT), "crm-µs")
	b.ReportMetric(med(rawT), "raw-µs")
	b.ReportMetric(med(crmT)/med(rawT), "crm/raw")
	b.ReportMetric(0, "ns/op")
}

// benchHostTx times, in turn in each iteration, a contact created in a
// transaction the host began (WithTx: the call runs under a savepoint),
// one created in the store's own transaction, and the raw SQL of the same
// write in a transaction; it reports the medians (µs) and the ratios to
// raw: the savepoint's cost is host/raw less own/raw.
func benchHostTx(b *testing.B, store *bunstore.Store, svc *contacts.Service, raw *rawContacts, ctx context.Context, next func() contacts.NewContact) {
	times := map[string][]time.Duration{}
	timed := func(key string, fn func() error) {
		t0 := time.Now()
		if err := fn(); err != nil {
			b.Fatalf("%s: %v", key, err)
		}
		times[key] = append(times[key], time.Since(t0))
	}
	host := func() error {
		tx, err := store.DB().DB.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if _, err := svc.Contacts.Create(store.WithTx(ctx, tx), next()); err != nil {
			return err
		}
		return tx.Commit()
	}
	own := func() error { _, err := svc.Contacts.Create(ctx, next()); return err }
	rawCreate := func() error { return raw.create(ctx, next()) }
	order := []string{"host", "own", "raw"}
	fns := map[string]func() error{"host": host, "own": own, "raw": rawCreate}
	i := 0
	for b.Loop() {
		for k := range order {
			name := order[(i+k)%len(order)]
			timed(name, fns[name])
		}
		i++
	}
	med := func(d []time.Duration) float64 {
		d = slices.Clone(d)
		slices.Sort(d)
		return float64(d[len(d)/2]) / float64(time.Microsecond)
	}
	b.ReportMetric(med(times["host"]), "host-µs")
	b.ReportMetric(med(times["raw"]), "raw-µs")
	b.ReportMetric(med(times["host"])/med(times["raw"]), "host/raw")
	b.ReportMetric(med(times["own"])/med(times["raw"]), "own/raw")
	b.ReportMetric(0, "ns/op")
}

// pgRebindIf rebinds q's ? for Postgres.
func pgRebindIf(store *bunstore.Store, q string) string {
	if store.Dialect() == "postgres" {
		return pgRebind(q)
	}
	return q
}

package bunstore_test

import (
	"encoding/json"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/internal/testdb"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/bunstore"
	"github.com/crmkit/crm/storage/filterexpr"
)

// benchContacts is how many contacts the expression benchmark runs over:
// 100,000, or CRM_BENCH_CONTACTS (the README's figures are for 1,000,000).
func benchContactCount(b *testing.B) int {
	if v := os.Getenv("CRM_BENCH_CONTACTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatalf("CRM_BENCH_CONTACTS: %v", err)
		}
		return n
	}
	return 100_000
}

// benchExpr is the typical list filter of the benchmark.
const benchExpr = "lifecycle == 'customer' && 'vip' in tags && created_at > daysAgo(30)"

// BenchmarkExprFilter compares an expression translated to SQL with the
// hand-written SQL of the same filter, over the same contacts: counting
// every match (a scan of the workspace) and reading the first page.
func BenchmarkExprFilter(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchExprFilter(b, testdb.SQLite(b)) })
	b.Run("postgres", func(b *testing.B) { benchExprFilter(b, testdb.Postgres(b)) })
}

func benchExprFilter(b *testing.B, store *bunstore.Store) {
	ctx := storage.WithWorkspace(b.Context(), "bench")
	n := benchContactCount(b)
	start := time.Now()
	testdb.SeedContacts(b, ctx, store, n)
	b.Logf("%s: seeded %d contacts in %v", store.Dialect(), n, time.Since(start).Round(time.Millisecond))
	svc := contacts.NewService(store, contacts.Options{})
	schema, err := svc.Schema(ctx, contacts.ObjectContact)
	if err != nil {
		b.Fatal(err)
	}
	x, err := filterexpr.Compile(benchExpr, schema)
	if err != nil {
		b.Fatal(err)
	}
	now := storage.Now()
	cut := now.UTC().Truncate(24*time.Hour).AddDate(0, 0, -30)
	pg := store.Dialect() == "postgres"
	db := store.ReadDB().DB
	where := "workspace_id = ? AND lifecycle = ? AND EXISTS (SELECT 1 FROM json_each(tags) WHERE json_each.value = ?) AND created_at > ?"
	cutArg := any(cut.Format("2006-01-02T15:04:05.000000Z"))
	if pg {
		where, cutArg = "workspace_id = $1 AND lifecycle = $2 AND tags @> jsonb_build_array($3::text) AND created_at > $4", cut
	}
	want, err := storage.TableOf[*contacts.Contact](store).Count(ctx, x.Filter(now))
	if err != nil {
		b.Fatal(err)
	}
	var got int64
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM crm_contacts WHERE "+where, "bench", "customer", "vip", cutArg).Scan(&got); err != nil {
		b.Fatal(err)
	}
	if got != want || want == 0 {
		b.Fatalf("crm counts %d, the raw SQL %d", want, got)
	}
	b.Run("Count/crm", func(b *testing.B) {
		for b.Loop() {
			if _, err := storage.TableOf[*contacts.Contact](store).Count(ctx, x.Filter(storage.Now())); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Count/raw", func(b *testing.B) {
		for b.Loop() {
			var c int64
			if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM crm_contacts WHERE "+where, "bench", "customer", "vip", cutArg).Scan(&c); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Page/crm-compiled", func(b *testing.B) {
		for b.Loop() {
			page, err := storage.TableOf[*contacts.Contact](store).List(ctx, storage.ListQuery{Filter: x.Filter(storage.Now()), PageQuery: storage.PageQuery{Limit: 50}})
			if err != nil || len(page.Items) != 50 {
				b.Fatalf("%d items, %v", len(page.Items), err)
			}
		}
	})
	b.Run("Page/crm", func(b *testing.B) {
		for b.Loop() {
			page, err := svc.Contacts.Where(ctx, benchExpr, storage.ListQuery{PageQuery: storage.PageQuery{Limit: 50}})
			if err != nil || len(page.Items) != 50 {
				b.Fatalf("%d items, %v", len(page.Items), err)
			}
		}
	})
	cols := "id, workspace_id, version, created_at, created_by, updated_at, updated_by, prefix, first_name, middle_name, last_name, suffix, email, emails, phones, addresses, job_title, department, social_profiles, account_id, owner_id, team_id, lifecycle, source, tags, custom"
	limit := " ORDER BY id LIMIT 50" // crm's default order
	b.Run("Page/raw", func(b *testing.B) {
		for b.Loop() {
			rows, err := db.QueryContext(ctx, "SELECT "+cols+" FROM crm_contacts WHERE "+where+limit, "bench", "customer", "vip", cutArg)
			if err != nil {
				b.Fatal(err)
			}
			k := 0
			for rows.Next() {
				var c contacts.Contact
				var at, ut any
				var emails, phones, addrs, social, acct, tags, custom *string
				if err := rows.Scan(&c.ID, &c.WorkspaceID, &c.Version, &at, &c.CreatedBy, &ut, &c.UpdatedBy, &c.Prefix, &c.FirstName, &c.MiddleName,
					&c.LastName, &c.Suffix, &c.Email, &emails, &phones, &addrs, &c.JobTitle, &c.Department, &social, &acct, &c.OwnerID, &c.TeamID,
					&c.Lifecycle, &c.Source, &tags, &custom); err != nil {
					b.Fatal(err)
				}
				// Decode what crm decodes: the times and the JSON columns.
				for _, t := range []struct {
					dst *time.Time
					src any
				}{{&c.CreatedAt, at}, {&c.UpdatedAt, ut}} {
					switch v := t.src.(type) {
					case time.Time:
						*t.dst = v
					case string:
						*t.dst, _ = time.Parse("2006-01-02T15:04:05.000000Z", v)
					}
				}
				for _, j := range []struct {
					src *string
					dst any
				}{{emails, &c.Emails}, {phones, &c.Phones}, {addrs, &c.Addresses}, {social, &c.SocialProfiles}, {tags, &c.Tags}, {custom, &c.Custom}} {
					if j.src != nil {
						if err := json.Unmarshal([]byte(*j.src), j.dst); err != nil {
							b.Fatal(err)
						}
					}
				}
				k++
			}
			rows.Close()
			if k != 50 {
				b.Fatalf("%d rows", k)
			}
		}
	})
}

package testdb

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/bunstore"
)

// InsertRows inserts n rows into table with plain multi-row INSERTs of 500
// rows in tx, the values of row k being row(k) (one per column): the fast
// seeding of benchmarks at scale, past the store.
func InsertRows(ctx context.Context, tx *sql.Tx, postgres bool, table string, cols []string, n int, row func(k int) []any) error {
	const batch = 500
	for off := 0; off < n; off += batch {
		m := min(batch, n-off)
		var sb strings.Builder
		sb.WriteString("INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES ")
		args := make([]any, 0, m*len(cols))
		for i := range m {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString("(")
			for j := range cols {
				if j > 0 {
					sb.WriteString(", ")
				}
				if postgres {
					fmt.Fprintf(&sb, "$%d", len(args)+j+1)
				} else {
					sb.WriteString("?")
				}
			}
			sb.WriteString(")")
			args = append(args, row(off+i)...)
		}
		if _, err := tx.ExecContext(ctx, sb.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

// SeedContacts inserts n contacts into the context's workspace with plain
// SQL, fast, for benchmarks at scale: a third of them customers (the
// others leads and marketing qualified), a tenth tagged vip, every one
// tagged t0…t6, created over the last 60 days. It writes no change events
// nor search documents.
func SeedContacts(b testing.TB, ctx context.Context, store *bunstore.Store, n int) {
	pg := store.Dialect() == "postgres"
	cols := []string{"id", "workspace_id", "version", "created_at", "created_by", "updated_at", "updated_by",
		"first_name", "last_name", "email", "lifecycle", "tags"}
	lifecycles := []string{"lead", "customer", "marketing_qualified"}
	ws := storage.WorkspaceFrom(ctx)
	tx, err := store.DB().DB.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback() //nolint:errcheck
	now := time.Now().UTC()
	err = InsertRows(ctx, tx, pg, "crm_contacts", cols, n, func(k int) []any {
		at := any(now.Add(-time.Duration(k%(60*24)) * time.Hour))
		if !pg {
			at = at.(time.Time).Format("2006-01-02T15:04:05.000000Z")
		}
		tags := `["t` + strconv.Itoa(k%7) + `"]`
		if k%10 == 0 {
			tags = `["vip","t` + strconv.Itoa(k%7) + `"]`
		}
		return []any{storage.NewID(), ws, 1, at, "u1", at, "u1", "First", fmt.Sprint("Last", k), fmt.Sprintf("p%d@example.com", k), lifecycles[k%3], tags}
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	if pg {
		if _, err := store.DB().DB.ExecContext(ctx, "ANALYZE crm_contacts"); err != nil {
			b.Fatal(err)
		}
	}
}

// SeedOpportunities inserts n deals of pipeline into the context's
// workspace with plain SQL, fast, for benchmarks at scale: owned in turn
// by owners, in EUR or USD, created over the last two years, a fifth won
// and a fifth lost (closed 0–59 days after creation), the others in the
// pipeline's open stages open, lost and won naming its stage keys. It
// writes no change events nor search documents.
func SeedOpportunities(b testing.TB, ctx context.Context, store *bunstore.Store, n int, pipeline string, open []string, won, lost string, owners []string) {
	pg := store.Dialect() == "postgres"
	cols := []string{"id", "workspace_id", "version", "created_at", "created_by", "updated_at", "updated_by",
		"name", "amount", "currency", "pipeline_id", "stage", "probability", "expected_revenue", "forecast_category",
		"expected_close", "closed_at", "owner_id"}
	ws := storage.WorkspaceFrom(ctx)
	tx, err := store.DB().DB.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback() //nolint:errcheck
	now := time.Now().UTC().Truncate(time.Second)
	tm := func(t time.Time) any {
		if pg {
			return t
		}
		return t.UTC().Format("2006-01-02T15:04:05.000000Z")
	}
	err = InsertRows(ctx, tx, pg, "crm_opportunities", cols, n, func(k int) []any {
		created := now.Add(-time.Duration(k%(730*24)) * time.Hour)
		stage, closed, cat := open[k%len(open)], time.Time{}, "pipeline"
		switch k % 5 {
		case 0:
			stage, closed, cat = won, created.Add(time.Duration(k%60)*24*time.Hour), "closed"
		case 1:
			stage, closed, cat = lost, created.Add(time.Duration(k%60)*24*time.Hour), "omitted"
		}
		amount := int64(1000 + (k*7919)%500000)
		return []any{storage.NewID(), ws, 1, tm(created), "u1", tm(created), "u1", fmt.Sprint("Deal ", k), amount,
			[]string{"EUR", "USD"}[k%2], pipeline, stage, 50, amount / 2, cat, tm(created.AddDate(0, 1, 0)), tm(closed), owners[k%len(owners)]}
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	if pg {
		if _, err := store.DB().DB.ExecContext(ctx, "ANALYZE crm_opportunities"); err != nil {
			b.Fatal(err)
		}
	}
}

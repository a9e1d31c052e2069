package testdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crmkit/crm/sales"
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
	cols := []string{"id", "workspace_id", "version", "created_at", "created_by", "updated_at", "updated_by",
		"first_name", "last_name", "email", "lifecycle", "tags"}
	lifecycles := []string{"lead", "customer", "marketing_qualified"}
	ws := storage.WorkspaceFrom(ctx)
	now := time.Now().UTC()
	seed(b, ctx, store, "crm_contacts", cols, n, func(k int, tm func(time.Time) any) []any {
		at := tm(now.Add(-time.Duration(k%(60*24)) * time.Hour))
		tags := `["t` + strconv.Itoa(k%7) + `"]`
		if k%10 == 0 {
			tags = `["vip","t` + strconv.Itoa(k%7) + `"]`
		}
		return []any{storage.NewID(), ws, 1, at, "u1", at, "u1", "First", fmt.Sprint("Last", k), fmt.Sprintf("p%d@example.com", k), lifecycles[k%3], tags}
	})
}

// SeedOpportunities inserts n deals of pipeline into the context's
// workspace with plain SQL, fast, for benchmarks at scale: owned in turn
// by owners, in EUR or USD, created over the last two years, a fifth won
// and a fifth lost, the others in the pipeline's open stages (open, lost
// and won naming its stage keys). Each deal's stage history holds a stay
// of 1–5 days in each open stage up to its own (a closed deal's last),
// then, closed, one in its closing stage from closed_at. It writes no
// change events nor search documents.
func SeedOpportunities(b testing.TB, ctx context.Context, store *bunstore.Store, n int, pipeline string, open []string, won, lost string, owners []string) {
	cols := []string{"id", "workspace_id", "version", "created_at", "created_by", "updated_at", "updated_by",
		"name", "amount", "currency", "pipeline_id", "stage", "probability", "expected_revenue", "forecast_category",
		"expected_close", "closed_at", "owner_id", "stage_history"}
	ws := storage.WorkspaceFrom(ctx)
	now := time.Now().UTC().Truncate(time.Second)
	seed(b, ctx, store, "crm_opportunities", cols, n, func(k int, tm func(time.Time) any) []any {
		created := now.Add(-time.Duration(k%(730*24)) * time.Hour)
		last := k % len(open)
		stage, closed, cat := open[last], time.Time{}, "pipeline"
		var hist []sales.StageVisit
		at := created
		for i := 0; i <= last; i++ {
			v := sales.StageVisit{Stage: open[i], EnteredAt: at, By: "u1"}
			at = at.Add(time.Duration(1+(k+i)%5) * 24 * time.Hour)
			if i < last || k%5 < 2 {
				v.LeftAt = at
			}
			hist = append(hist, v)
		}
		switch k % 5 {
		case 0:
			stage, closed, cat = won, at, "closed"
		case 1:
			stage, closed, cat = lost, at, "omitted"
		}
		if !closed.IsZero() {
			hist = append(hist, sales.StageVisit{Stage: stage, EnteredAt: closed, By: "u1"})
		}
		js, err := json.Marshal(hist)
		if err != nil {
			b.Fatal(err)
		}
		amount := int64(1000 + (k*7919)%500000)
		return []any{storage.NewID(), ws, 1, tm(created), "u1", tm(created), "u1", fmt.Sprint("Deal ", k), amount,
			[]string{"EUR", "USD"}[k%2], pipeline, stage, 50, amount / 2, cat, tm(created.AddDate(0, 1, 0)), tm(closed), owners[k%len(owners)], string(js)}
	})
}

// SeedLeads inserts n leads into the context's workspace with plain SQL:
// created over the last two years, a fifth converted, owned in turn by
// owners.
func SeedLeads(b testing.TB, ctx context.Context, store *bunstore.Store, n int, owners []string) {
	SeedCampaignLeads(b, ctx, store, n, owners, nil, nil)
}

// SeedCampaignLeads is SeedLeads with every third lead credited to one of
// campaigns in turn, and every converted lead naming one of deals (its
// opportunity) in turn; either may be empty.
func SeedCampaignLeads(b testing.TB, ctx context.Context, store *bunstore.Store, n int, owners, campaigns, deals []string) {
	cols := []string{"id", "workspace_id", "version", "created_at", "created_by", "updated_at", "updated_by",
		"first_name", "last_name", "status", "owner_id", "campaign", "opportunity_id"}
	ws := storage.WorkspaceFrom(ctx)
	now := time.Now().UTC().Truncate(time.Second)
	statuses := []string{"converted", "new", "working", "qualified", "disqualified"}
	seed(b, ctx, store, "crm_leads", cols, n, func(k int, tm func(time.Time) any) []any {
		at := tm(now.Add(-time.Duration(k%(730*24)) * time.Hour))
		campaign, deal := "", ""
		if len(campaigns) > 0 && k%3 == 0 {
			campaign = campaigns[(k/3)%len(campaigns)]
		}
		if len(deals) > 0 && k%5 == 0 {
			deal = deals[(k/5)%len(deals)]
		}
		return []any{storage.NewID(), ws, 1, at, "u1", at, "u1", "Lead", fmt.Sprint("L", k), statuses[k%5], owners[k%len(owners)], campaign, deal}
	})
}

// SeedActivities inserts n calls into the context's workspace with plain
// SQL: over the last two years, owned in turn by owners (every tenth by
// none).
func SeedActivities(b testing.TB, ctx context.Context, store *bunstore.Store, n int, owners []string) {
	cols := []string{"id", "workspace_id", "version", "created_at", "created_by", "updated_at", "updated_by",
		"kind", "subject", "occurred_at", "owner_id"}
	ws := storage.WorkspaceFrom(ctx)
	now := time.Now().UTC().Truncate(time.Second)
	seed(b, ctx, store, "crm_activities", cols, n, func(k int, tm func(time.Time) any) []any {
		at := tm(now.Add(-time.Duration(k%(730*24)) * time.Hour))
		owner := owners[k%len(owners)]
		if k%10 == 0 {
			owner = ""
		}
		return []any{storage.NewID(), ws, 1, at, "u1", at, "u1", "call", "Call", at, owner}
	})
}

// SeedOrders inserts n orders into the context's workspace with plain
// SQL: of n/4 customers (ids that name no contact), in EUR or USD, over
// the last two years, a tenth cancelled and a tenth partly refunded.
func SeedOrders(b testing.TB, ctx context.Context, store *bunstore.Store, n int) {
	cols := []string{"id", "workspace_id", "version", "created_at", "created_by", "updated_at", "updated_by",
		"external_id", "contact_id", "currency", "total", "refunded", "status", "ordered_at"}
	ws := storage.WorkspaceFrom(ctx)
	now := time.Now().UTC().Truncate(time.Second)
	customers := max(1, n/4)
	seed(b, ctx, store, "crm_orders", cols, n, func(k int, tm func(time.Time) any) []any {
		at := tm(now.Add(-time.Duration(k%(730*24)) * time.Hour))
		status, total, refunded := "paid", int64(1000+(k*7919)%50000), int64(0)
		switch k % 10 {
		case 0:
			status = "cancelled"
		case 1:
			refunded = total / 3
		}
		return []any{storage.NewID(), ws, 1, at, "u1", at, "u1", fmt.Sprint("O", k), fmt.Sprint("c", k%customers),
			[]string{"EUR", "USD"}[k%2], total, refunded, status, at}
	})
}

// seed inserts n rows of cols into table in one transaction (row gives
// row k's values; tm writes a time as the dialect stores it) and analyses
// the table on Postgres.
func seed(b testing.TB, ctx context.Context, store *bunstore.Store, table string, cols []string, n int, row func(k int, tm func(time.Time) any) []any) {
	pg := store.Dialect() == "postgres"
	tm := func(t time.Time) any {
		if pg {
			return t
		}
		return t.UTC().Format("2006-01-02T15:04:05.000000Z")
	}
	tx, err := store.DB().DB.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback() //nolint:errcheck
	if err := InsertRows(ctx, tx, pg, table, cols, n, func(k int) []any { return row(k, tm) }); err != nil {
		b.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	if pg {
		if _, err := store.DB().DB.ExecContext(ctx, "ANALYZE "+table); err != nil {
			b.Fatal(err)
		}
	}
}

// SeedCases inserts n open cases into the context's workspace with plain
// SQL, numbered 1…n, created over the last 30 days, each with an SLA
// clock due within the next 30 days (every tenth none), for benchmarks of
// the due list.
func SeedCases(b testing.TB, ctx context.Context, store *bunstore.Store, n int) {
	cols := []string{"id", "workspace_id", "version", "created_at", "created_by", "updated_at", "updated_by",
		"number", "subject", "channel", "priority", "status", "status_category", "sla_next_due"}
	ws := storage.WorkspaceFrom(ctx)
	now := time.Now().UTC().Truncate(time.Second)
	priorities := []string{"low", "normal", "high", "urgent"}
	seed(b, ctx, store, "crm_cases", cols, n, func(k int, tm func(time.Time) any) []any {
		created := tm(now.Add(-time.Duration(k%(30*24*60)) * time.Minute))
		due := time.Time{}
		if k%10 != 0 {
			due = now.Add(time.Duration((k*7919)%(30*24*60)) * time.Minute)
		}
		return []any{storage.NewID(), ws, 1, created, "u1", created, "u1", k + 1, fmt.Sprint("Case ", k), "email",
			priorities[k%4], "open", "open", tm(due)}
	})
}

// SeedEvents inserts n change events into the context's workspace with
// plain SQL: contact.updated events of n/10 subjects (IDs that name no
// record) over the last two years, for benchmarks of what reads the log by
// subject (timelines, history) at scale.
func SeedEvents(b testing.TB, ctx context.Context, store *bunstore.Store, n int) {
	cols := []string{"tx_id", "id", "workspace_id", "type", "subject_type", "subject_id", "actor", "occurred_at"}
	ws := storage.WorkspaceFrom(ctx)
	now := time.Now().UTC().Truncate(time.Second)
	subjects := max(n/10, 1)
	seed(b, ctx, store, "crm_events", cols, n, func(k int, tm func(time.Time) any) []any {
		return []any{0, storage.NewID(), ws, "contact.updated", "contact", fmt.Sprintf("seed-%d", k%subjects), "u1",
			tm(now.Add(-time.Duration(k%(730*24)) * time.Hour))}
	})
}

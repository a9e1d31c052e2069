package bunstore_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/internal/testdb"
	"github.com/crmkit/crm/service"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/bunstore"
)

// BenchmarkDueList compares the SLA due list (Cases.Due: the 100 open
// cases due soonest before an instant) over 100,000 cases with the
// hand-written indexed query that reads the same rows, crm and the
// baseline in turn in each iteration (medians and their ratio).
func BenchmarkDueList(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchDueList(b, testdb.SQLite(b)) })
	b.Run("postgres", func(b *testing.B) { benchDueList(b, testdb.Postgres(b)) })
}

func benchDueList(b *testing.B, store *bunstore.Store) {
	ctx := storage.WithWorkspace(b.Context(), "bench")
	desk := service.NewService(store, contacts.NewService(store, contacts.Options{}), service.Options{})
	testdb.SeedCases(b, ctx, store, 100_000)
	pg := store.Dialect() == "postgres"
	before := time.Now().Add(24 * time.Hour)
	q := "SELECT * FROM crm_cases WHERE workspace_id = ? AND sla_next_due > ? AND sla_next_due < ? ORDER BY sla_next_due, id LIMIT 100"
	zero, until := any("0001-01-02"), timeArg(pg, before)
	if pg {
		q, zero = pgRebind(q), time.Date(1, 1, 2, 0, 0, 0, 0, time.UTC)
	}
	db := store.ReadDB().DB
	crmDue := func() (int, error) {
		cs, err := desk.Cases.Due(ctx, before, 100)
		return len(cs), err
	}
	rawDue := func() (int, error) {
		cs, err := rawCases(ctx, db, q, "bench", zero, until)
		return len(cs), err
	}
	a, err := crmDue()
	if err != nil {
		b.Fatal(err)
	}
	r, err := rawDue()
	if err != nil || a != r || a != 100 {
		b.Fatalf("crm lists %d cases, the raw SQL %d (%v)", a, r, err)
	}
	testdb.Interleave(b, "µs", func() error { _, err := crmDue(); return err }, func() error { _, err := rawDue(); return err })
}

// rawCases runs q, a SELECT * of crm_cases, and decodes its rows into
// cases by hand: the times parsed, the JSON columns unmarshalled, as the
// store's decoding does.
func rawCases(ctx context.Context, db *sql.DB, q string, args ...any) ([]*service.Case, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	tm := func(v any, dst *time.Time) error {
		switch x := v.(type) {
		case time.Time:
			*dst = x
		case string:
			t, err := time.Parse("2006-01-02T15:04:05.000000Z", x)
			*dst = t
			return err
		}
		return nil
	}
	str := func(v any) string {
		switch x := v.(type) {
		case string:
			return x
		case []byte:
			return string(x)
		}
		return ""
	}
	var out []*service.Case
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		c := &service.Case{}
		for i, col := range cols {
			v := vals[i]
			switch col {
			case "id":
				c.ID = str(v)
			case "workspace_id":
				c.WorkspaceID = str(v)
			case "version":
				c.Version, _ = v.(int64)
			case "number":
				c.Number, _ = v.(int64)
			case "subject":
				c.Subject = str(v)
			case "description":
				c.Description = str(v)
			case "contact_id":
				c.ContactID = str(v)
			case "account_id":
				c.AccountID = str(v)
			case "channel":
				c.Channel = service.Channel(str(v))
			case "priority":
				c.Priority = service.Priority(str(v))
			case "status":
				c.Status = str(v)
			case "status_category":
				c.Category = service.StatusCategory(str(v))
			case "owner_id":
				c.OwnerID = str(v)
			case "team_id":
				c.TeamID = str(v)
			case "created_by":
				c.CreatedBy = str(v)
			case "updated_by":
				c.UpdatedBy = str(v)
			case "merged_into":
				c.MergedInto = str(v)
			case "sla_policy_id":
				c.SLA.PolicyID = str(v)
			case "sla_first_response":
				c.SLA.FirstResponseState = service.SLAState(str(v))
			case "sla_resolution":
				c.SLA.ResolutionState = service.SLAState(str(v))
			case "sla_paused_for":
				n, _ := v.(int64)
				c.SLA.PausedFor = time.Duration(n)
			case "tags", "custom":
				if s := str(v); s != "" {
					dst := any(&c.Tags)
					if col == "custom" {
						dst = &c.Custom
					}
					if err := json.Unmarshal([]byte(s), dst); err != nil {
						return nil, err
					}
				}
			default:
				var dst *time.Time
				switch col {
				case "created_at":
					dst = &c.CreatedAt
				case "updated_at":
					dst = &c.UpdatedAt
				case "first_response_at":
					dst = &c.FirstResponseAt
				case "resolved_at":
					dst = &c.ResolvedAt
				case "last_message_at":
					dst = &c.LastMessageAt
				case "sla_first_response_due":
					dst = &c.SLA.FirstResponseDue
				case "sla_resolution_due":
					dst = &c.SLA.ResolutionDue
				case "sla_paused_since":
					dst = &c.SLA.PausedSince
				case "sla_next_due":
					dst = &c.SLA.NextDue
				default:
					return nil, fmt.Errorf("rawCases: column %s", col)
				}
				if err := tm(v, dst); err != nil {
					return nil, err
				}
			}
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

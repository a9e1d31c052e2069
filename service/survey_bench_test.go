package service_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/internal/testdb"
	"github.com/crmkit/crm/service"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/sqlite"
)

// BenchmarkScores measures Surveys.Scores, the NPS of a month per agent,
// over 100,000 answered surveys of 20 agents across a year on a SQLite
// file, against the same grouped counts in hand-written SQL, the two
// alternating in each iteration (medians reported).
func BenchmarkScores(b *testing.B) {
	ctx := storage.WithWorkspace(context.Background(), "bench")
	store, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "crm.db"), sqlite.WithModules(contacts.Module(), service.Module()))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	desk := service.NewService(store, contacts.NewService(store, contacts.Options{}), service.Options{})
	year := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	const n, agents = 100_000, 20
	tbl := storage.TableOf[*service.SurveyRequest](store)
	var batch []*service.SurveyRequest
	for i := range n {
		at := year.Add(time.Duration(i) * (365 * 24 * time.Hour / n))
		batch = append(batch, &service.SurveyRequest{Kind: service.SurveyNPS, ContactID: storage.NewID(), Wave: "w",
			OwnerID: fmt.Sprintf("agent-%02d", i%agents), ExpiresAt: at.Add(time.Hour), AnsweredAt: at, Score: int64(i*7) % 11})
		if len(batch) == 5000 {
			if err := storage.InsertMany(ctx, store, tbl, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	from, to := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC)
	var got, want []service.SurveyScore
	crm := func() error {
		got, err = desk.Surveys.Scores(ctx, service.ScoreQuery{Kind: service.SurveyNPS, From: from, To: to, By: service.ByAgent})
		return err
	}
	ts := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }
	raw := func() error {
		rows, err := store.ReadDB().DB.QueryContext(ctx, `SELECT owner_id, COUNT(*),
			SUM(CASE WHEN score >= 9 THEN 1 ELSE 0 END), SUM(CASE WHEN score <= 6 THEN 1 ELSE 0 END)
			FROM crm_survey_requests WHERE workspace_id = ? AND kind = ? AND answered_at > ? AND answered_at >= ? AND answered_at < ?
			GROUP BY owner_id ORDER BY owner_id`, "bench", "nps", ts(time.Time{}), ts(from), ts(to))
		if err != nil {
			return err
		}
		defer rows.Close()
		want = want[:0]
		for rows.Next() {
			var s service.SurveyScore
			if err := rows.Scan(&s.Group, &s.Answers, &s.Promoters, &s.Detractors); err != nil {
				return err
			}
			s.Passives = s.Answers - s.Promoters - s.Detractors
			s.Value = 100 * float64(s.Promoters-s.Detractors) / float64(s.Answers)
			want = append(want, s)
		}
		return rows.Err()
	}
	b.ResetTimer()
	testdb.Interleave(b, "ms", crm, raw)
	if len(got) != agents || !slices.Equal(got, want) {
		b.Fatalf("Scores = %+v\nraw SQL = %+v", got, want)
	}
}

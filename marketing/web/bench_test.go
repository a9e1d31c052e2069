package web_test

// Benchmarks of campaign sending and of tracking hits, each beside raw
// database/sql doing the same work in the same run. They run only with
// -bench:
//
//	go test -run '^$' -bench . ./marketing/web
//
// CRM_BENCH_RECIPIENTS sets the audience of BenchmarkSend (default 2000).

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	htmltemplate "html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crmkit/crm"
	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/internal/testdb"
	"github.com/crmkit/crm/marketing"
	"github.com/crmkit/crm/marketing/web"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/bunstore"
	"github.com/crmkit/crm/workflow/send"
)

// discard is a Mailer that sends nothing: the benchmarks time the CRM.
type discard struct{ n atomic.Int64 }

func (d *discard) Send(context.Context, send.Message) error { d.n.Add(1); return nil }

const benchHTML = `<html><body><p>Hello {{.Contact.FirstName}},</p><p>Our <a href="https://shop.example/sale?x=1">spring sale</a>` +
	` is on. <a href="https://shop.example/new">New arrivals</a>.</p><p><a href="{{.UnsubscribeURL}}" data-notrack>Unsubscribe</a></p></body></html>`

func benchRecipients() int {
	if n, err := strconv.Atoi(os.Getenv("CRM_BENCH_RECIPIENTS")); err == nil && n > 0 {
		return n
	}
	return 2000
}

// benchApp is a CRM on a new SQLite file with n contacts in a static
// segment, mailing into d; clock offsets its marketing clock.
func benchApp(b *testing.B, n int, d send.Mailer, clock *atomic.Int64) (*bunstore.Store, *crm.CRM, context.Context, string) {
	b.Helper()
	store := testdb.SQLite(b)
	ctx := storage.WithWorkspace(b.Context(), "bench")
	app, err := crm.New(ctx, store, crm.Config{Marketing: marketing.Options{Mailer: d, BaseURL: "http://127.0.0.1/m",
		Key: []byte("0123456789abcdef0123456789abcdef"), Now: func() time.Time { return time.Now().Add(time.Duration(clock.Load())) }}})
	if err != nil {
		b.Fatal(err)
	}
	seg, err := app.Marketing.Segments.Create(ctx, marketing.NewSegment{Name: "All", Kind: marketing.SegmentStatic})
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < n; i += 500 {
		var ids []string
		err := app.RunInTx(ctx, func(ctx context.Context) error {
			for j := i; j < min(i+500, n); j++ {
				c, err := app.Contacts.Create(ctx, contacts.NewContact{FirstName: fmt.Sprint("P", j), Email: fmt.Sprintf("p%d@bench.example", j)})
				if err != nil {
					return err
				}
				ids = append(ids, c.ID)
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		if err := app.Marketing.Segments.Add(ctx, seg.ID, ids...); err != nil {
			b.Fatal(err)
		}
	}
	return store, app, ctx, seg.ID
}

// BenchmarkSend sends a tracked campaign email to every contact of a
// segment (queue, claim, render with link rewriting, record), against a
// loop that renders the same template for each recipient and inserts one
// row per message with plain SQL in transactions of 500. Each iteration
// runs both, in alternating order; the metrics are µs per recipient and
// their ratio.
func BenchmarkSend(b *testing.B) {
	n := benchRecipients()
	var clock atomic.Int64
	mail := &discard{}
	store, app, ctx, segID := benchApp(b, n, mail, &clock)
	camp, err := app.Marketing.Campaigns.Create(ctx, marketing.NewCampaign{Name: "Bench"})
	if err != nil {
		b.Fatal(err)
	}
	db := store.DB().DB
	if _, err := db.ExecContext(ctx, `CREATE TABLE raw_messages (id TEXT PRIMARY KEY, email_id TEXT, contact_id TEXT, address TEXT, status TEXT, size INTEGER)`); err != nil {
		b.Fatal(err)
	}
	tpl := htmltemplate.Must(htmltemplate.New("h").Parse(benchHTML))
	raw := func(round int) {
		rows, err := store.ReadDB().DB.QueryContext(ctx, `SELECT id, email, first_name FROM crm_contacts WHERE workspace_id = 'bench' ORDER BY id`)
		if err != nil {
			b.Fatal(err)
		}
		type rec struct{ id, email, first string }
		var all []rec
		for rows.Next() {
			var r rec
			if err := rows.Scan(&r.id, &r.email, &r.first); err != nil {
				b.Fatal(err)
			}
			all = append(all, r)
		}
		rows.Close()
		var buf bytes.Buffer
		for i := 0; i < len(all); i += 500 {
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				b.Fatal(err)
			}
			for _, r := range all[i:min(i+500, len(all))] {
				buf.Reset()
				c := &contacts.Contact{FirstName: r.first, Email: r.email}
				if err := tpl.Execute(&buf, &marketing.MergeData{Contact: c, UnsubscribeURL: "http://127.0.0.1/m/u/x"}); err != nil {
					b.Fatal(err)
				}
				if _, err := tx.ExecContext(ctx, `INSERT INTO raw_messages VALUES (?, ?, ?, ?, 'sent', ?)`, storage.NewID(),
					fmt.Sprint("raw", round), r.id, r.email, buf.Len()); err != nil {
					b.Fatal(err)
				}
			}
			if err := tx.Commit(); err != nil {
				b.Fatal(err)
			}
		}
	}
	viaCRM := func(round int) {
		em, err := app.Marketing.Emails.Create(ctx, marketing.NewEmail{CampaignID: camp.ID, Name: fmt.Sprint("Bench ", round), SegmentID: segID,
			Subject: "Sale, {{.Contact.FirstName}}", HTML: benchHTML, BatchSize: 500})
		if err != nil {
			b.Fatal(err)
		}
		rep, err := app.Marketing.Emails.Send(ctx, em.ID)
		if err != nil || rep.Sent != n {
			b.Fatalf("send: %+v, %v", rep, err)
		}
	}
	var crmTime, rawTime time.Duration
	b.ResetTimer()
	for i := range b.N {
		steps := []func(){func() { t := time.Now(); viaCRM(i); crmTime += time.Since(t) }, func() { t := time.Now(); raw(i); rawTime += time.Since(t) }}
		if i%2 == 1 {
			steps[0], steps[1] = steps[1], steps[0]
		}
		for _, s := range steps {
			s()
		}
	}
	per := float64(b.N * n)
	b.ReportMetric(float64(crmTime.Microseconds())/per, "crm-µs/recipient")
	b.ReportMetric(float64(rawTime.Microseconds())/per, "raw-µs/recipient")
	b.ReportMetric(float64(rawTime)/float64(crmTime), "crm-speed/raw")
}

// BenchmarkTrackingHit requests open pixels over loopback HTTP from 32
// clients at a time (each hit verifies the token, reads the message,
// stores a hit with its change event, and marks the message's first
// open), beside a raw handler that does the same writes with plain SQL, a
// transaction per request, and no checks.
func BenchmarkTrackingHit(b *testing.B) {
	var clock atomic.Int64
	mail := &discard{}
	const people = 500
	store, app, ctx, segID := benchApp(b, people, mail, &clock)
	// Capture the pixel links of a real send.
	var pixels []string
	grab := &capture{links: &pixels}
	app2, err := crm.New(ctx, store, crm.Config{Marketing: marketing.Options{Mailer: grab, BaseURL: "http://127.0.0.1/m",
		Key: []byte("0123456789abcdef0123456789abcdef"), Now: func() time.Time { return time.Now().Add(time.Duration(clock.Load())) }}})
	if err != nil {
		b.Fatal(err)
	}
	camp, err := app2.Marketing.Campaigns.Create(ctx, marketing.NewCampaign{Name: "Hits"})
	if err != nil {
		b.Fatal(err)
	}
	em, err := app2.Marketing.Emails.Create(ctx, marketing.NewEmail{CampaignID: camp.ID, Name: "Hits", SegmentID: segID, Subject: "Hi", HTML: benchHTML})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := app2.Marketing.Emails.Send(ctx, em.ID); err != nil {
		b.Fatal(err)
	}
	clock.Store(int64(time.Hour))
	_ = app
	db := store.DB().DB
	if _, err := db.ExecContext(ctx, `CREATE TABLE raw_hits (id TEXT PRIMARY KEY, message_id TEXT, at TEXT, user_agent TEXT)`); err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/m/", http.StripPrefix("/m", web.New(app2.Marketing, web.Options{})))
	mux.HandleFunc("/raw/{id}", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		err := rawHit(r.Context(), db, id, r.UserAgent())
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "image/gif")
		_, _ = w.Write([]byte("GIF89a"))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	var msgIDs []string
	rows, err := store.ReadDB().DB.QueryContext(ctx, `SELECT id FROM crm_mkt_messages WHERE workspace_id = 'bench'`)
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var id string
		_ = rows.Scan(&id)
		msgIDs = append(msgIDs, id)
	}
	rows.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	defer client.CloseIdleConnections()
	get := func(u string) {
		req, _ := http.NewRequest("GET", u, nil)
		req.Header.Set("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36")
		resp, err := client.Do(req)
		if err != nil {
			b.Error(err)
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body) // so the connection is reused
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Errorf("%s: %d", u, resp.StatusCode)
		}
	}
	// Each iteration sends 1,000 pixel requests to the CRM and 1,000 to
	// the raw handler, from 32 clients at a time, in alternating order;
	// the metrics are each one's requests per second over all iterations.
	const perPhase, clients = 1000, 32
	phase := func(url func(i int) string) time.Duration {
		var next atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1))
					if i > perPhase {
						return
					}
					get(url(i))
				}
			}()
		}
		wg.Wait()
		return time.Since(start)
	}
	crmURL := func(i int) string { return srv.URL + "/m/o/" + pixels[i%len(pixels)] }
	rawURL := func(i int) string { return srv.URL + "/raw/" + msgIDs[i%len(msgIDs)] }
	hitsBefore := humanHits(b, store, ctx)
	var crmTime, rawTime time.Duration
	b.ResetTimer()
	for i := range b.N {
		if i%2 == 0 {
			crmTime += phase(crmURL)
			rawTime += phase(rawURL)
		} else {
			rawTime += phase(rawURL)
			crmTime += phase(crmURL)
		}
	}
	b.StopTimer()
	total := float64(b.N * perPhase)
	b.ReportMetric(total/crmTime.Seconds(), "crm-hits/s")
	b.ReportMetric(total/rawTime.Seconds(), "raw-hits/s")
	b.ReportMetric(rawTime.Seconds()/crmTime.Seconds(), "crm-speed/raw")
	if hits := humanHits(b, store, ctx) - hitsBefore; hits != int64(total) {
		b.Errorf("%d hits stored for %d requests", hits, int64(total))
	}
}

// humanHits counts the hits stored as people's.
func humanHits(b *testing.B, store *bunstore.Store, ctx context.Context) int64 {
	var n int64
	if err := store.ReadDB().DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM crm_mkt_hits WHERE workspace_id = 'bench' AND bot = 0`).Scan(&n); err != nil {
		b.Fatal(err)
	}
	return n
}

// rawHit is the baseline's hit: the hit row, and the message's first
// open marked if it is not.
func rawHit(ctx context.Context, db *sql.DB, msgID, ua string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	now := time.Now().UTC().Format(time.RFC3339Nano)
	if _, err := tx.ExecContext(ctx, `INSERT INTO raw_hits VALUES (?, ?, ?, ?)`, storage.NewID(), msgID, now, ua); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE crm_mkt_messages SET opened_at = ?, version = version + 1, updated_at = ? WHERE workspace_id = 'bench' AND id = ? AND opened_at = ?`,
		now, now, msgID, "0001-01-01T00:00:00.000000Z"); err != nil {
		return err
	}
	return tx.Commit()
}

// capture keeps the token of each message's open pixel.
type capture struct{ links *[]string }

func (c *capture) Send(_ context.Context, m send.Message) error {
	i := bytes.Index([]byte(m.HTML), []byte("/m/o/"))
	j := bytes.IndexByte([]byte(m.HTML[i:]), '"')
	*c.links = append(*c.links, m.HTML[i+5:i+j])
	return nil
}

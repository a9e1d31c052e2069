package chat_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/service"
	"github.com/crmkit/crm/service/chat"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/sqlite"
)

// BenchmarkDelivery measures a chat message from the visitor's POST to
// the other tab's stream on a SQLite file over loopback HTTP: the post
// (token check, the conversation's next number, the message, their
// events, one transaction) and the stream's read after its last number,
// woken by the service's signal (the poll is an hour). It reports the
// median and the 99th percentile of the delivery, and messages per second.
func BenchmarkDelivery(b *testing.B) {
	ctx := storage.WithWorkspace(context.Background(), "bench")
	store, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "crm.db"), sqlite.WithModules(contacts.Module(), service.Module()))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	desk := service.NewService(store, contacts.NewService(store, contacts.Options{}), service.Options{})
	srv := httptest.NewServer(chat.New(desk, chat.Options{Poll: time.Hour,
		Context: func(r *http.Request) (context.Context, error) {
			return storage.WithWorkspace(r.Context(), "bench"), nil
		}}))
	defer srv.Close()
	_, token, err := desk.Conversations.Start(ctx, service.NewConversation{Name: "Bench"})
	if err != nil {
		b.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, _ := http.NewRequestWithContext(sctx, "GET", srv.URL+"/stream?token="+token, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	ids := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if id, ok := strings.CutPrefix(sc.Text(), "id: "); ok {
				ids <- id
			}
		}
		close(ids)
	}()
	var took []time.Duration
	seq := 0
	for b.Loop() {
		seq++
		t0 := time.Now()
		post, _ := http.NewRequest("POST", srv.URL+"/messages", strings.NewReader(fmt.Sprintf(`{"body":"message %d"}`, seq)))
		post.Header.Set("Authorization", "Bearer "+token)
		r, err := http.DefaultClient.Do(post)
		if err != nil || r.StatusCode != http.StatusCreated {
			b.Fatalf("post: %v %v", r, err)
		}
		r.Body.Close()
		if id := <-ids; id != fmt.Sprint(seq) {
			b.Fatalf("got message %s, want %d", id, seq)
		}
		took = append(took, time.Since(t0))
	}
	slices.Sort(took)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(took[len(took)/2]), "p50-ms")
	b.ReportMetric(ms(took[len(took)*99/100]), "p99-ms")
	b.ReportMetric(float64(len(took))/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(0, "ns/op")
}

package service_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/service"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/sqlite"
)

// BenchmarkIngest measures email to case on a SQLite file: each message is
// parsed (multipart, an HTML part sanitised), threaded (a third are
// answers to an earlier message by In-Reply-To, the others open a case for
// a new sender, who becomes a contact) and stored, each in its own
// transaction. The target is 200 messages per second.
func BenchmarkIngest(b *testing.B) {
	ctx := storage.WithWorkspace(context.Background(), "bench")
	store, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "crm.db"), sqlite.WithModules(contacts.Module(), service.Module()))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	desk := service.NewService(store, contacts.NewService(store, contacts.Options{}), service.Options{})
	msg := func(i int) []byte {
		reply := ""
		if i%3 == 2 {
			reply = fmt.Sprintf("In-Reply-To: <m%d@bench.example>\r\n", i-1)
		}
		return []byte(fmt.Sprintf("From: Person %d <p%d@bench.example>\r\nTo: help@desk.example\r\nSubject: Question %d\r\n"+
			"Message-ID: <m%d@bench.example>\r\n%sMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"b\"\r\n\r\n"+
			"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nMy order %d has not arrived. Where is it?\r\n"+
			"--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>My order <b>%d</b> has not arrived.<script>x()</script></p>\r\n--b--\r\n",
			i/3*3, i/3*3, i, i, reply, i, i))
	}
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if _, err := desk.Cases.Ingest(ctx, bytes.NewReader(msg(i))); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "msgs/s")
}

package chat_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/service"
	"github.com/crmkit/crm/service/chat"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/sqlite"
)

// A visitor starts a conversation with the host's signed identity, the
// desk answers through the Go API, and the visitor's stream receives the
// answer.
func Example() {
	ctx := storage.WithWorkspace(context.Background(), "acme")
	store, err := sqlite.Open(ctx, ":memory:", sqlite.WithModules(contacts.Module(), service.Module()))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	key := []byte("a secret of at least 32 random bytes!")
	desk := service.NewService(store, contacts.NewService(store, contacts.Options{}), service.Options{IdentityKey: key})

	mux := http.NewServeMux()
	mux.Handle("/chat/", http.StripPrefix("/chat", chat.New(desk, chat.Options{
		Context: func(r *http.Request) (context.Context, error) { return storage.WithWorkspace(r.Context(), "acme"), nil },
	})))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	// The host's page signs its logged-in user for the widget.
	sig := service.SignIdentity(key, "user-42", "ada@example.com")
	body := fmt.Sprintf(`{"identity":{"user_id":"user-42","email":"ada@example.com","name":"Ada","signature":%q},"message":"Hello!"}`, sig)
	resp, err := http.Post(srv.URL+"/chat/start", "application/json", strings.NewReader(body))
	if err != nil {
		log.Fatal(err)
	}
	var started struct {
		Token        string
		Conversation struct {
			ID       string
			Verified bool
		}
	}
	_ = json.NewDecoder(resp.Body).Decode(&started)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, started.Conversation.Verified)

	// The desk answers; the visitor's stream, resuming after message 1,
	// gets it.
	at := storage.WithWriteTime(ctx, time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC))
	if _, err := desk.Conversations.Post(at, started.Conversation.ID, service.NewChatMessage{Author: service.AuthorSystem, Body: "Hi Ada!"}); err != nil {
		log.Fatal(err)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/chat/stream?token="+started.Token, nil)
	req.Header.Set("Last-Event-ID", "1")
	stream, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer stream.Body.Close()
	sc := bufio.NewScanner(stream.Body)
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, "id: ") || strings.HasPrefix(line, "data: ") {
			fmt.Println(line)
			if strings.HasPrefix(line, "data: ") {
				break
			}
		}
	}
	// Output:
	// 201 true
	// id: 2
	// data: {"seq":2,"author":"system","body":"Hi Ada!","sent_at":"2026-03-02T09:30:00Z"}
}

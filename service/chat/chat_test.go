package chat_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crmkit/crm"
	"github.com/crmkit/crm/internal/testdb"
	"github.com/crmkit/crm/service"
	"github.com/crmkit/crm/service/chat"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/access"
)

var key = []byte("chat-handler-test-key-0123456789abcdef")

// fixture is a CRM on SQLite with the chat handler on a loopback test
// server; agents authenticate with an X-Member header (the host's own
// authentication, in a real host).
type fixture struct {
	t      *testing.T
	ctx    context.Context
	store  crm.Store
	app    *crm.CRM
	srv    *httptest.Server
	agent  *access.Member
	other  *access.Member
	active atomic.Int64 // requests being served
}

func newFixture(t *testing.T, opts chat.Options) *fixture {
	t.Helper()
	f := &fixture{t: t, ctx: t.Context(), store: testdb.SQLite(t)}
	var err error
	f.app, err = crm.New(f.ctx, f.store, crm.Config{Service: service.Options{IdentityKey: key}})
	must(t, "crm", err)
	team, err := f.app.Access.CreateTeam(f.ctx, "Desk", "")
	must(t, "team", err)
	f.agent, err = f.app.Access.CreateMember(f.ctx, access.NewMember{Name: "Agent", Role: access.RoleRep, TeamIDs: []string{team.ID}})
	must(t, "agent", err)
	f.other, err = f.app.Access.CreateMember(f.ctx, access.NewMember{Name: "Other", Role: access.RoleRep})
	must(t, "other agent", err)
	opts.Agent = func(r *http.Request) (context.Context, error) {
		id := r.Header.Get("X-Member")
		if id == "" {
			return nil, errors.New("not signed in")
		}
		return f.app.As(r.Context(), id)
	}
	h := chat.New(f.app.Service, opts)
	mux := http.NewServeMux()
	mux.Handle("/chat/", http.StripPrefix("/chat", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.active.Add(1)
		defer f.active.Add(-1)
		h.ServeHTTP(w, r)
	})))
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// do sends a request with a JSON body (when body is not nil) and the
// header pairs, and returns the status and the decoded answer.
func (f *fixture) do(method, path string, body any, header ...string) (int, map[string]any) {
	f.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		must(f.t, "marshal", err)
		rd = strings.NewReader(string(data))
	}
	req, err := http.NewRequestWithContext(f.ctx, method, f.srv.URL+"/chat"+path, rd)
	must(f.t, "request", err)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	must(f.t, "do", err)
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// start starts a conversation through the handler and returns its ID and
// the visitor's token.
func (f *fixture) start(body map[string]any) (string, string) {
	f.t.Helper()
	status, out := f.do("POST", "/start", body)
	if status != http.StatusCreated {
		f.t.Fatalf("start: %d %v", status, out)
	}
	return out["conversation"].(map[string]any)["id"].(string), out["token"].(string)
}

// event is one Server-Sent Event.
type event struct {
	id, typ string
	data    map[string]any
}

// stream is an open event stream, read by a goroutine.
type stream struct {
	t      *testing.T
	events chan event
	cancel context.CancelFunc
	done   chan struct{}
}

// open opens the event stream at path with the header pairs.
func (f *fixture) open(path string, header ...string) *stream {
	f.t.Helper()
	ctx, cancel := context.WithCancel(f.ctx)
	req, err := http.NewRequestWithContext(ctx, "GET", f.srv.URL+"/chat"+path, nil)
	must(f.t, "request", err)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	must(f.t, "open stream", err)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		resp.Body.Close()
		cancel()
		f.t.Fatalf("stream %s: %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	s := &stream{t: f.t, events: make(chan event, 100), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		defer close(s.events)
		defer resp.Body.Close()
		rd := bufio.NewReader(resp.Body)
		send := func(ev event) bool {
			select {
			case s.events <- ev:
				return true
			case <-ctx.Done():
				return false
			}
		}
		var ev event
		for {
			line, err := rd.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimRight(line, "\n")
			switch {
			case strings.HasPrefix(line, ":"):
				if !send(event{typ: "comment"}) {
					return
				}
			case line == "":
				if ev.typ != "" && !send(ev) {
					return
				}
				ev = event{}
			case strings.HasPrefix(line, "id: "):
				ev.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.typ = line[7:]
			case strings.HasPrefix(line, "data: "):
				_ = json.Unmarshal([]byte(line[6:]), &ev.data)
			}
		}
	}()
	f.t.Cleanup(s.close)
	return s
}

// next returns the stream's next event, failing after 5 s.
func (s *stream) next() event {
	s.t.Helper()
	select {
	case ev, ok := <-s.events:
		if !ok {
			s.t.Fatal("the stream ended")
		}
		return ev
	case <-time.After(5 * time.Second):
		s.t.Fatal("no event within 5 s")
	}
	return event{}
}

// none checks that no event comes within d.
func (s *stream) none(d time.Duration) {
	s.t.Helper()
	select {
	case ev, ok := <-s.events:
		if ok {
			s.t.Errorf("unexpected event %+v", ev)
		}
	case <-time.After(d):
	}
}

// ended checks that the server ends the stream within 5 s.
func (s *stream) ended() {
	s.t.Helper()
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		s.t.Fatal("the stream did not end")
	}
}

// close ends the stream from the client's side.
func (s *stream) close() {
	s.cancel()
	<-s.done
}

// wantMessage checks that ev is the message seq with body.
func wantMessage(t *testing.T, ev event, seq int, body string) {
	t.Helper()
	if ev.typ != "message" || ev.id != fmt.Sprint(seq) || ev.data["body"] != body || ev.data["seq"] != float64(seq) {
		t.Fatalf("event %+v, want message %d %q", ev, seq, body)
	}
}

func must(t testing.TB, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// TestVisitorAndAgent: a visitor and an agent, each on a stream over a
// real loopback server, receive each other's messages as they are sent.
// The poll is an hour: only the service's signal can deliver them in
// time.
func TestVisitorAndAgent(t *testing.T) {
	t.Parallel()
	f := newFixture(t, chat.Options{Poll: time.Hour})
	id, token := f.start(map[string]any{"name": "Vera", "message": "Hi, anyone there?"})
	_, err := f.app.Service.Conversations.Assign(f.ctx, id, f.agent.ID, "")
	must(t, "assign", err)

	visitor := f.open("/stream?token=" + token)
	agent := f.open("/agent/conversations/"+id+"/stream", "X-Member", f.agent.ID)
	wantMessage(t, visitor.next(), 1, "Hi, anyone there?")
	wantMessage(t, agent.next(), 1, "Hi, anyone there?")

	status, out := f.do("POST", "/agent/conversations/"+id+"/messages", map[string]any{"body": "Hello Vera, Agent here."}, "X-Member", f.agent.ID)
	if status != http.StatusCreated || out["seq"] != float64(2) || out["author"] != "member" {
		t.Fatalf("agent posts: %d %v", status, out)
	}
	ev := visitor.next()
	wantMessage(t, ev, 2, "Hello Vera, Agent here.")
	if _, ok := ev.data["author_id"]; ok || ev.data["author"] != "member" {
		t.Errorf("the visitor sees %v, want the author's kind and not the member", ev.data)
	}
	ev = agent.next()
	wantMessage(t, ev, 2, "Hello Vera, Agent here.")
	if ev.data["author_id"] != f.agent.ID {
		t.Errorf("the agent sees %v, want the author's ID", ev.data)
	}

	status, out = f.do("POST", "/messages", map[string]any{"body": "My order is late."}, "Authorization", "Bearer "+token)
	if status != http.StatusCreated || out["seq"] != float64(3) || out["author"] != "visitor" {
		t.Fatalf("visitor posts: %d %v", status, out)
	}
	wantMessage(t, agent.next(), 3, "My order is late.")
	wantMessage(t, visitor.next(), 3, "My order is late.")

	// The messages as a list, for both; another agent sees nothing.
	status, out = f.do("GET", "/messages?after=1", nil, "Authorization", "Bearer "+token)
	if ms, _ := out["messages"].([]any); status != http.StatusOK || len(ms) != 2 {
		t.Errorf("visitor's list after 1: %d %v", status, out)
	}
	status, out = f.do("GET", "/agent/conversations/"+id+"/messages", nil, "X-Member", f.agent.ID)
	if ms, _ := out["messages"].([]any); status != http.StatusOK || len(ms) != 3 {
		t.Errorf("agent's list: %d %v", status, out)
	}
	if status, _ := f.do("GET", "/agent/conversations/"+id+"/stream", nil, "X-Member", f.other.ID); status != http.StatusNotFound {
		t.Errorf("another agent's stream: %d, want 404", status)
	}
	if status, _ := f.do("POST", "/agent/conversations/"+id+"/messages", map[string]any{"body": "x"}, "X-Member", f.other.ID); status != http.StatusNotFound {
		t.Errorf("another agent's message: %d, want 404", status)
	}

	// Closing ends both streams with a closed event.
	_, err = f.app.Service.Conversations.Close(f.ctx, id)
	must(t, "close", err)
	for _, s := range []*stream{visitor, agent} {
		if ev := s.next(); ev.typ != "closed" {
			t.Errorf("after closing: %+v, want closed", ev)
		}
		s.ended()
	}
	if status, _ := f.do("POST", "/messages", map[string]any{"body": "Hello?"}, "Authorization", "Bearer "+token); status != http.StatusConflict {
		t.Errorf("a message to a closed conversation: %d, want 409", status)
	}
}

// TestResume: a visitor that reconnects with Last-Event-ID (or after=)
// gets exactly the messages it missed, once each, then the new ones; two
// tabs of the same visitor see the same messages.
func TestResume(t *testing.T) {
	t.Parallel()
	f := newFixture(t, chat.Options{Poll: time.Hour})
	cv := f.app.Service.Conversations
	id, token := f.start(map[string]any{"message": "one"})
	sys := storage.AsSystem(f.ctx)
	post := func(body string) {
		t.Helper()
		_, err := cv.Post(sys, id, service.NewChatMessage{Body: body})
		must(t, "post", err)
	}
	tab1 := f.open("/stream?token=" + token)
	wantMessage(t, tab1.next(), 1, "one")
	post("two")
	post("three")
	wantMessage(t, tab1.next(), 2, "two")
	wantMessage(t, tab1.next(), 3, "three")
	tab1.close()
	// Wait until the server has let the stream go (it stops on the
	// request's context), so that nothing lingers.
	deadline := time.Now().Add(5 * time.Second)
	for f.active.Load() != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := f.active.Load(); n != 0 {
		t.Fatalf("%d requests still served after the client went", n)
	}

	post("four")
	post("five")
	tab1 = f.open("/stream?token="+token, "Last-Event-ID", "3")
	tab2 := f.open("/stream?after=4&token=" + token)
	wantMessage(t, tab1.next(), 4, "four")
	wantMessage(t, tab1.next(), 5, "five")
	wantMessage(t, tab2.next(), 5, "five")
	tab1.none(200 * time.Millisecond)
	status, _ := f.do("POST", "/messages", map[string]any{"body": "six"}, "Authorization", "Bearer "+token)
	if status != http.StatusCreated {
		t.Fatalf("post six: %d", status)
	}
	wantMessage(t, tab1.next(), 6, "six")
	wantMessage(t, tab2.next(), 6, "six")
	tab2.none(200 * time.Millisecond)

	// Resuming after a page load: the conversation and what came after.
	status, out := f.do("GET", "/conversation?after=5", nil, "Authorization", "Bearer "+token)
	if ms, _ := out["messages"].([]any); status != http.StatusOK || len(ms) != 1 || out["conversation"].(map[string]any)["last_seq"] != float64(6) {
		t.Errorf("resume: %d %v", status, out)
	}
}

// TestOtherProcess: a message written by another process (another
// service on the same database, whose signal this handler never gets)
// reaches the stream by the poll, once.
func TestOtherProcess(t *testing.T) {
	t.Parallel()
	f := newFixture(t, chat.Options{Poll: 50 * time.Millisecond})
	other, err := crm.New(f.ctx, f.store, crm.Config{})
	must(t, "the other process's CRM", err)
	id, token := f.start(map[string]any{"name": "Vera"})
	s := f.open("/stream?token=" + token)
	var wg sync.WaitGroup
	for i := range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := other.Service.Conversations.Post(storage.AsSystem(f.ctx), id, service.NewChatMessage{Body: fmt.Sprint("from afar ", i)})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for seq := 1; seq <= 5; seq++ {
		if ev := s.next(); ev.id != fmt.Sprint(seq) {
			t.Fatalf("event %+v, want message %d", ev, seq)
		}
	}
	s.none(200 * time.Millisecond)
}

// TestRefusals: no token, a bad token, a bad identity signature, an agent
// the host does not know, a body over the handler's limit or a message
// over the service's, a bad message number.
func TestRefusals(t *testing.T) {
	t.Parallel()
	f := newFixture(t, chat.Options{MaxBody: 8 << 10})
	id, token := f.start(map[string]any{"name": "Vera"})
	other, _ := f.start(map[string]any{"name": "Walt"})
	_, secret, _ := strings.Cut(token, ".")
	for _, tc := range []struct {
		what, method, path string
		body               any
		header             []string
		want               int
	}{
		{"no token", "POST", "/messages", map[string]any{"body": "hi"}, nil, http.StatusUnauthorized},
		{"a bad token", "POST", "/messages", map[string]any{"body": "hi"}, []string{"Authorization", "Bearer " + id + ".AAAA"}, http.StatusForbidden},
		{"another conversation's id", "GET", "/stream?token=" + other + "." + secret, nil, nil, http.StatusForbidden},
		{"a forged stream", "GET", "/stream?token=x", nil, nil, http.StatusForbidden},
		{"no agent", "GET", "/agent/conversations/" + id + "/messages", nil, nil, http.StatusForbidden},
		{"a body too large", "POST", "/messages", map[string]any{"body": strings.Repeat("x", 9<<10)}, []string{"Authorization", "Bearer " + token}, http.StatusRequestEntityTooLarge},
		{"a message too long", "POST", "/messages", map[string]any{"body": strings.Repeat("x", service.MaxChatLen+1)}, []string{"Authorization", "Bearer " + token}, http.StatusBadRequest},
		{"not JSON", "POST", "/messages", "body=hi", []string{"Authorization", "Bearer " + token}, http.StatusBadRequest},
		{"a bad number", "GET", "/messages?after=-1", nil, []string{"Authorization", "Bearer " + token}, http.StatusBadRequest},
		{"a bad signature", "POST", "/start", map[string]any{"identity": map[string]any{"user_id": "u-1", "email": "ada@acme.example",
			"signature": service.SignIdentity([]byte("wrong"), "u-1", "ada@acme.example")}}, nil, http.StatusForbidden},
		{"a bad identity", "POST", "/identify", map[string]any{"identity": map[string]any{"user_id": "u-1", "email": "ada@acme.example",
			"signature": "00"}}, []string{"Authorization", "Bearer " + token}, http.StatusForbidden},
	} {
		status, out := f.do(tc.method, tc.path, tc.body, tc.header...)
		if status != tc.want {
			t.Errorf("%s: %d %v, want %d", tc.what, status, out, tc.want)
		}
		if tc.what == "a message too long" {
			if fs, _ := out["fields"].([]any); len(fs) != 1 || fs[0].(map[string]any)["field"] != "body" {
				t.Errorf("%s: %v, want the field body", tc.what, out)
			}
		}
	}

	// A good signature identifies the visitor, at the start or later.
	ident := map[string]any{"user_id": "u-1", "email": "ada@acme.example", "name": "Ada Lovelace",
		"signature": service.SignIdentity(key, "u-1", "ada@acme.example")}
	status, out := f.do("POST", "/start", map[string]any{"identity": ident})
	if c, _ := out["conversation"].(map[string]any); status != http.StatusCreated || c["verified"] != true || c["email"] != "ada@acme.example" {
		t.Errorf("a verified start: %d %v", status, out)
	}
	status, out = f.do("POST", "/identify", map[string]any{"identity": ident}, "Authorization", "Bearer "+token)
	if c, _ := out["conversation"].(map[string]any); status != http.StatusOK || c["verified"] != true {
		t.Errorf("identify: %d %v", status, out)
	}
	conv, err := f.app.Service.Conversations.Get(f.ctx, id)
	must(t, "conversation", err)
	if conv.ContactID == "" {
		t.Errorf("the identified conversation has no contact: %+v", conv)
	}
}

// TestIdleStreamEnds: a stream without messages ends after the idle
// timeout, having sent heartbeats meanwhile.
func TestIdleStreamEnds(t *testing.T) {
	t.Parallel()
	f := newFixture(t, chat.Options{IdleTimeout: 300 * time.Millisecond, Heartbeat: 50 * time.Millisecond})
	_, token := f.start(map[string]any{"name": "Vera"})
	s := f.open("/stream?token=" + token)
	s.ended()
	beats := 0
	for ev := range s.events {
		if ev.typ == "comment" {
			beats++
		}
	}
	if beats == 0 {
		t.Error("no heartbeat on an idle stream")
	}
}

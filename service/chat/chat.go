// Package chat serves live chat to a website's widget and to the desk's
// agents: an http.Handler over service.Conversations that a host mounts
// under a prefix:
//
//	mux.Handle("/chat/", http.StripPrefix("/chat", chat.New(app.Service, chat.Options{
//		Context: func(r *http.Request) (context.Context, error) { return crm.WithWorkspace(r.Context(), siteOf(r)), nil },
//		Agent:   func(r *http.Request) (context.Context, error) { return app.As(r.Context(), memberOf(r)) },
//	})))
//
// Messages reach the browser in real time over Server-Sent Events: plain
// net/http, one long GET that the browser's EventSource reconnects by
// itself, sending the last event's ID (Last-Event-ID), which is the last
// message's sequence number, so that a reconnected stream resumes exactly
// after the last message the client saw. Sending is a POST. WebSocket
// would be two-way, but a chat widget sends little, and SSE passes through
// proxies and needs no dependency.
//
// A stream reads the store (service.Conversations.Messages after the last
// number it sent) whenever a message is committed in this process (the
// service's Watch signal) and every Options.Poll otherwise, which finds the
// messages other processes wrote: the store is the source of truth, the
// signal only makes it immediate, and since numbers are gap-free and
// committed in order nothing is skipped or sent twice.
//
// The visitor proves its conversation with the token Start returned (in
// an Authorization: Bearer header, or a token query parameter for
// EventSource, which sends no headers) and acts as the system, limited to
// that conversation. Agents act as the member context the host's
// Options.Agent makes of the request, with that member's access scopes.
package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/crmkit/crm/service"
	"github.com/crmkit/crm/storage"
)

// Options configure the handler. The zero value works: visitors in the
// default workspace, no agent routes.
type Options struct {
	// Context returns the context a visitor's request acts in, with the
	// workspace of the site it comes from (storage.WithWorkspace). It may
	// refuse the request with an error (answered 403). Default: the
	// request's context.
	Context func(*http.Request) (context.Context, error)
	// Agent returns the member context an agent's request acts in
	// (crm.CRM.As, after the host's own authentication), or an error
	// (answered 403). When nil, the agent routes answer 404 and agents
	// use the Go API (service.Conversations).
	Agent func(*http.Request) (context.Context, error)
	// Poll is how often a stream reads the store for messages that
	// another process wrote. Default: 2 s.
	Poll time.Duration
	// Heartbeat is how often an idle stream sends a comment line, so that
	// proxies keep it open. Default: 25 s.
	Heartbeat time.Duration
	// IdleTimeout ends a stream that sent no message for so long (the
	// browser reconnects if the page is still open). Default: 10 minutes.
	IdleTimeout time.Duration
	// MaxBody bounds a request's body in bytes; more is 413. Default:
	// 16 KiB.
	MaxBody int64
	// Logger receives the errors of the store the answers hide. Default:
	// slog.Default().
	Logger *slog.Logger
}

// handler serves the chat routes.
type handler struct {
	svc  *service.Service
	opts Options
	mux  *http.ServeMux
}

// visitorActor is the actor of the change log for what visitors write.
const visitorActor = "chat:visitor"

// New returns the chat handler of svc, with these routes (relative to
// where it is mounted; bodies and answers are JSON):
//
//	POST /start                   start a conversation: {name, email,
//	                              visitor_id, identity: {user_id, email,
//	                              name, signature}, message}; 201 with
//	                              {token, conversation, messages}
//	GET  /conversation            the token's conversation and its messages
//	                              (after=n): resuming after a page load
//	POST /messages                the visitor's message: {body}; 201
//	GET  /messages?after=n        the messages after n
//	POST /identify                identify the visitor: {identity}
//	GET  /stream?after=n          the messages after n, then each new one,
//	                              as Server-Sent Events (Last-Event-ID wins
//	                              over after)
//	POST /agent/conversations/{id}/messages   an agent's message
//	GET  /agent/conversations/{id}/messages   the messages after n
//	GET  /agent/conversations/{id}/stream     the agent's stream
//
// A stream's events are "message" (id: the sequence number, data: the
// message) and "closed" (the conversation was closed, or is gone or no
// longer the agent's; the stream ends).
// Errors are {error, fields}: 400 bad input, 401 no token, 403 a bad token
// or identity signature, 404, 409 a closed conversation, 413 too large.
func New(svc *service.Service, opts Options) http.Handler {
	if opts.Context == nil {
		opts.Context = func(r *http.Request) (context.Context, error) { return r.Context(), nil }
	}
	if opts.Poll <= 0 {
		opts.Poll = 2 * time.Second
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = 25 * time.Second
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 10 * time.Minute
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = 16 << 10
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	h := &handler{svc: svc, opts: opts, mux: http.NewServeMux()}
	h.mux.HandleFunc("POST /start", h.start)
	h.mux.HandleFunc("GET /conversation", h.visitor(h.conversation))
	h.mux.HandleFunc("POST /messages", h.visitor(h.post))
	h.mux.HandleFunc("GET /messages", h.visitor(h.messages))
	h.mux.HandleFunc("POST /identify", h.visitor(h.identify))
	h.mux.HandleFunc("GET /stream", h.visitor(h.stream))
	h.mux.HandleFunc("POST /agent/conversations/{id}/messages", h.agent(h.post))
	h.mux.HandleFunc("GET /agent/conversations/{id}/messages", h.agent(h.messages))
	h.mux.HandleFunc("GET /agent/conversations/{id}/stream", h.agent(h.stream))
	return h
}

// ServeHTTP sets the headers every answer carries and routes r.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer") // a token may be in the URL
	h.mux.ServeHTTP(w, r)
}

// call is one request on one conversation: the context it acts in, the
// conversation, and whether an agent makes it.
type call struct {
	ctx   context.Context
	conv  *service.Conversation
	agent bool
}

// visitor authenticates a visitor's request by its token.
func (h *handler) visitor(next func(http.ResponseWriter, *http.Request, call)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		base, err := h.opts.Context(r)
		if err != nil {
			h.fail(w, r, fmt.Errorf("%w: %v", storage.ErrForbidden, err))
			return
		}
		token := r.URL.Query().Get("token")
		if b, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			token = strings.TrimSpace(b)
		}
		if token == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="chat"`)
			h.answer(w, http.StatusUnauthorized, errorBody{Error: "a conversation token is required"})
			return
		}
		conv, err := h.svc.Conversations.Visitor(base, token)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		next(w, r, call{ctx: storage.AsSystemActor(base, visitorActor), conv: conv})
	}
}

// agent authenticates an agent's request through Options.Agent and reads
// the conversation as the member.
func (h *handler) agent(next func(http.ResponseWriter, *http.Request, call)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if h.opts.Agent == nil {
			http.NotFound(w, r)
			return
		}
		ctx, err := h.opts.Agent(r)
		if err != nil {
			h.fail(w, r, fmt.Errorf("%w: %v", storage.ErrForbidden, err))
			return
		}
		conv, err := h.svc.Conversations.Get(ctx, r.PathValue("id"))
		if err != nil {
			h.fail(w, r, err)
			return
		}
		next(w, r, call{ctx: ctx, conv: conv, agent: true})
	}
}

// identityBody is a signed identity as the widget sends it.
type identityBody struct {
	UserID    string `json:"user_id"`
	Email     string `json:"email"`
	Name      string `json:"name"`
	Signature string `json:"signature"`
}

func (b *identityBody) identity() *service.Identity {
	if b == nil {
		return nil
	}
	return &service.Identity{UserID: b.UserID, Email: b.Email, Name: b.Name, Signature: b.Signature}
}

// startBody is the body of POST /start.
type startBody struct {
	Name      string        `json:"name"`
	Email     string        `json:"email"`
	VisitorID string        `json:"visitor_id"`
	Identity  *identityBody `json:"identity"`
	Message   string        `json:"message"`
}

// conversationView is what a visitor sees of its conversation.
type conversationView struct {
	ID       string                     `json:"id"`
	Status   service.ConversationStatus `json:"status"`
	Name     string                     `json:"name,omitempty"`
	Email    string                     `json:"email,omitempty"`
	Verified bool                       `json:"verified,omitempty"`
	LastSeq  int64                      `json:"last_seq"`
}

func viewOf(c *service.Conversation) conversationView {
	return conversationView{ID: c.ID, Status: c.Status, Name: c.Name, Email: c.Email, Verified: c.Verified, LastSeq: c.LastSeq}
}

// messageView is a message as the stream and the lists send it: a visitor
// does not see which member wrote.
type messageView struct {
	Seq      int64          `json:"seq"`
	Author   service.Author `json:"author"`
	AuthorID string         `json:"author_id,omitempty"`
	Body     string         `json:"body"`
	SentAt   time.Time      `json:"sent_at"`
}

func viewsOf(ms []*service.ChatMessage, agent bool) []messageView {
	out := make([]messageView, len(ms))
	for i, m := range ms {
		out[i] = messageView{Seq: m.Seq, Author: m.Author, Body: m.Body, SentAt: m.SentAt}
		if agent {
			out[i].AuthorID = m.AuthorID
		}
	}
	return out
}

func (h *handler) start(w http.ResponseWriter, r *http.Request) {
	ctx, err := h.opts.Context(r)
	if err != nil {
		h.fail(w, r, fmt.Errorf("%w: %v", storage.ErrForbidden, err))
		return
	}
	var in startBody
	if !h.read(w, r, &in) {
		return
	}
	ctx = storage.AsSystemActor(ctx, visitorActor)
	c, token, err := h.svc.Conversations.Start(ctx, service.NewConversation{Name: in.Name, Email: in.Email, VisitorID: in.VisitorID,
		Identity: in.Identity.identity(), Message: in.Message})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ms, err := h.svc.Conversations.Messages(ctx, c.ID, 0, 0)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.answer(w, http.StatusCreated, map[string]any{"token": token, "conversation": viewOf(c), "messages": viewsOf(ms, false)})
}

func (h *handler) conversation(w http.ResponseWriter, r *http.Request, c call) {
	after, ok := h.after(w, r)
	if !ok {
		return
	}
	ms, err := h.svc.Conversations.Messages(c.ctx, c.conv.ID, after, 0)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.answer(w, http.StatusOK, map[string]any{"conversation": viewOf(c.conv), "messages": viewsOf(ms, false)})
}

func (h *handler) post(w http.ResponseWriter, r *http.Request, c call) {
	var in struct {
		Body string `json:"body"`
	}
	if !h.read(w, r, &in) {
		return
	}
	author := service.AuthorVisitor
	if c.agent {
		author = service.AuthorMember
	}
	m, err := h.svc.Conversations.Post(c.ctx, c.conv.ID, service.NewChatMessage{Author: author, Body: in.Body})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.answer(w, http.StatusCreated, viewsOf([]*service.ChatMessage{m}, c.agent)[0])
}

func (h *handler) messages(w http.ResponseWriter, r *http.Request, c call) {
	after, ok := h.after(w, r)
	if !ok {
		return
	}
	ms, err := h.svc.Conversations.Messages(c.ctx, c.conv.ID, after, 0)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.answer(w, http.StatusOK, map[string]any{"messages": viewsOf(ms, c.agent)})
}

func (h *handler) identify(w http.ResponseWriter, r *http.Request, c call) {
	var in struct {
		Identity *identityBody `json:"identity"`
	}
	if !h.read(w, r, &in) {
		return
	}
	if in.Identity == nil {
		h.fail(w, r, storage.Invalid("identity", "is required"))
		return
	}
	conv, err := h.svc.Conversations.Identify(c.ctx, c.conv.ID, *in.Identity.identity())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.answer(w, http.StatusOK, map[string]any{"conversation": viewOf(conv)})
}

// after reads the number a client saw last: Last-Event-ID (a reconnected
// EventSource), else the after parameter, else 0.
func (h *handler) after(w http.ResponseWriter, r *http.Request) (int64, bool) {
	s := r.Header.Get("Last-Event-ID")
	if s == "" {
		s = r.URL.Query().Get("after")
	}
	if s == "" {
		return 0, true
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		h.fail(w, r, storage.Invalid("after", "%q is not a message number", s))
		return 0, false
	}
	return n, true
}

// stream sends the conversation's messages after the client's last one,
// then each new one as it is committed, as Server-Sent Events, until the
// client goes, the conversation is closed, or the stream is idle for
// Options.IdleTimeout.
func (h *handler) stream(w http.ResponseWriter, r *http.Request, c call) {
	last, ok := h.after(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // a server's WriteTimeout would cut the stream
	watch, stop := h.svc.Conversations.Watch(c.ctx, c.conv.ID)
	defer stop()
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("X-Accel-Buffering", "no") // nginx: do not buffer
	w.WriteHeader(http.StatusOK)
	if _, err := fmt.Fprintf(w, "retry: %d\n\n", 2000); err != nil || rc.Flush() != nil {
		return
	}
	poll := time.NewTicker(h.opts.Poll)
	defer poll.Stop()
	beat := time.NewTicker(h.opts.Heartbeat)
	defer beat.Stop()
	idle := time.NewTimer(h.opts.IdleTimeout)
	defer idle.Stop()
	for {
		// The conversation first: a closed one takes no more messages, so
		// those read after it are all there are.
		conv, err := h.svc.Conversations.Get(c.ctx, c.conv.ID)
		if errors.Is(err, storage.ErrNotFound) { // erased, or no longer the agent's
			_, _ = fmt.Fprintf(w, "event: closed\ndata: {}\n\n")
			_ = rc.Flush()
			return
		}
		if err != nil {
			h.streamError(ctx, err)
			return
		}
		ms, err := h.svc.Conversations.Messages(c.ctx, c.conv.ID, last, 0)
		if err != nil {
			h.streamError(ctx, err)
			return
		}
		for _, v := range viewsOf(ms, c.agent) {
			data, _ := json.Marshal(v)
			if _, err := fmt.Fprintf(w, "id: %d\nevent: message\ndata: %s\n\n", v.Seq, data); err != nil {
				return
			}
			last = v.Seq
		}
		if len(ms) > 0 {
			if rc.Flush() != nil {
				return
			}
			idle.Reset(h.opts.IdleTimeout)
		}
		if len(ms) == service.MaxChatPage {
			continue // more to read at once
		}
		if conv.Status == service.ConversationClosed {
			_, _ = fmt.Fprintf(w, "event: closed\ndata: {}\n\n")
			_ = rc.Flush()
			return
		}
	wait:
		select {
		case <-ctx.Done():
			return
		case <-idle.C:
			return
		case <-watch:
		case <-poll.C:
		case <-beat.C:
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil || rc.Flush() != nil {
				return
			}
			goto wait
		}
	}
}

// streamError logs a failed read of a stream, unless the client went.
func (h *handler) streamError(ctx context.Context, err error) {
	if ctx.Err() == nil {
		h.opts.Logger.ErrorContext(ctx, "chat: reading a conversation's messages", "err", err)
	}
}

// read decodes the request's JSON body into v, bounded by
// Options.MaxBody, answering the error itself when it fails.
func (h *handler) read(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, h.opts.MaxBody))
	err := dec.Decode(v)
	var tooLarge *http.MaxBytesError
	switch {
	case errors.Is(err, io.EOF): // no body: an empty object
		return true
	case errors.As(err, &tooLarge):
		h.answer(w, http.StatusRequestEntityTooLarge, errorBody{Error: fmt.Sprintf("the body is larger than %d bytes", h.opts.MaxBody)})
		return false
	case err != nil:
		h.answer(w, http.StatusBadRequest, errorBody{Error: "the body is not JSON of the expected form"})
		return false
	}
	return true
}

// errorBody is an error's answer.
type errorBody struct {
	Error  string               `json:"error"`
	Fields []storage.FieldError `json:"fields,omitempty"`
}

// fail answers err: the client's fault as 400, 403, 404 or 409; the rest
// as 500, logged, its text hidden.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ve *storage.ValidationError
	switch {
	case errors.As(err, &ve):
		h.answer(w, http.StatusBadRequest, errorBody{Error: "invalid input", Fields: ve.Fields})
	case errors.Is(err, storage.ErrInvalid):
		h.answer(w, http.StatusBadRequest, errorBody{Error: "invalid input"})
	case errors.Is(err, storage.ErrForbidden):
		h.answer(w, http.StatusForbidden, errorBody{Error: "forbidden"})
	case errors.Is(err, storage.ErrNotFound):
		h.answer(w, http.StatusNotFound, errorBody{Error: "not found"})
	case errors.Is(err, storage.ErrConflict):
		h.answer(w, http.StatusConflict, errorBody{Error: "the conversation is closed or was changed"})
	default:
		h.opts.Logger.ErrorContext(r.Context(), "chat: serving a request", "path", r.URL.Path, "err", err)
		h.answer(w, http.StatusInternalServerError, errorBody{Error: "something went wrong"})
	}
}

// answer writes v as JSON with status.
func (h *handler) answer(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		h.opts.Logger.Debug("chat: writing an answer", "err", err)
	}
}

package smtp_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/mail"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/crmkit/crm/internal/mailtest"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/workflow/send"
	"github.com/crmkit/crm/workflow/smtp"
)

// isPermanent reports whether err carries the send.Permanent marker itself
// (send.IsPermanent would also take a plain ErrInvalid).
func isPermanent(err error) bool {
	var p *send.PermanentError
	return errors.As(err, &p)
}

// plain returns a Mailer of srv without TLS.
func plain(t *testing.T, srv *mailtest.Server) *smtp.Mailer {
	t.Helper()
	m, err := smtp.New(smtp.Config{Host: srv.Host, Port: srv.Port, TLS: smtp.TLSNone, From: "CRM <crm@example.com>", HELO: "crm.test"})
	if err != nil {
		t.Fatalf("new mailer: %v", err)
	}
	return m
}

func TestSendMultipart(t *testing.T) {
	t.Parallel()
	srv := mailtest.Start(t, mailtest.Options{})
	m := plain(t, srv)
	msg := send.Message{
		ID: "0190c6e2-7c1d-7e0a-9b4e-0c0c4a3e1f00:1", To: []string{"Ada Lovelace <ada@acme.example>"}, Cc: []string{"bob@acme.example"},
		ReplyTo: "sales@example.com", Subject: "Grüße, Ada",
		Text: "Hello Ada,\nwelcome.", HTML: "<p>Hello <b>Ada</b>, welcome.</p>",
		Headers: map[string]string{"List-Unsubscribe": "<mailto:unsubscribe@example.com>"},
	}
	if err := m.Send(t.Context(), msg); err != nil {
		t.Fatalf("send: %v", err)
	}
	got := srv.Accepted()
	if len(got) != 1 {
		t.Fatalf("%d messages received", len(got))
	}
	if got[0].From != "crm@example.com" || !cmp.Equal(got[0].To, []string{"ada@acme.example", "bob@acme.example"}) {
		t.Errorf("envelope: from %q to %v", got[0].From, got[0].To)
	}
	p, err := got[0].Parse()
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, got[0].Data)
	}
	wantID := "<0190c6e2-7c1d-7e0a-9b4e-0c0c4a3e1f00=3A1@example.com>"
	for k, want := range map[string]string{"Message-Id": wantID, "List-Unsubscribe": "<mailto:unsubscribe@example.com>",
		"Reply-To": "<sales@example.com>", "Cc": "<bob@acme.example>", "Bcc": ""} {
		if got := p.Header.Get(k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	if to, err := p.Header.AddressList("To"); err != nil || len(to) != 1 || to[0].Address != "ada@acme.example" || to[0].Name != "Ada Lovelace" {
		t.Errorf("To = %v (%v)", to, err)
	}
	if from, err := p.Header.AddressList("From"); err != nil || from[0].Address != "crm@example.com" {
		t.Errorf("From = %v (%v)", from, err)
	}
	if _, err := p.Header.Date(); err != nil {
		t.Errorf("Date: %v", err)
	}
	if p.Subject != msg.Subject || p.ContentType != "multipart/alternative" {
		t.Errorf("subject %q, content type %q", p.Subject, p.ContentType)
	}
	if p.Text != msg.Text || p.HTML != msg.HTML {
		t.Errorf("bodies: text %q, html %q", p.Text, p.HTML)
	}
}

func TestSendOneBody(t *testing.T) {
	t.Parallel()
	srv := mailtest.Start(t, mailtest.Options{})
	m := plain(t, srv)
	for _, tc := range []struct {
		text, html, contentType string
	}{
		{"Just text", "", "text/plain"},
		{"", "<p>Just HTML</p>", "text/html"},
	} {
		if err := m.Send(t.Context(), send.Message{ID: "x", To: []string{"a@example.com"}, Subject: "s", Text: tc.text, HTML: tc.html}); err != nil {
			t.Fatal(err)
		}
		msgs := srv.Accepted()
		p, err := msgs[len(msgs)-1].Parse()
		if err != nil {
			t.Fatal(err)
		}
		if p.ContentType != tc.contentType || p.Text != tc.text || p.HTML != tc.html {
			t.Errorf("got %s text %q html %q, want %s", p.ContentType, p.Text, p.HTML, tc.contentType)
		}
	}
}

// TestRefusedBeforeConnecting checks that a message with a header
// injection, or one the mailer cannot send, is ErrInvalid and that no
// connection is even opened.
func TestRefusedBeforeConnecting(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var conns atomic.Int32
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			c.Close()
		}
	}()
	m, err := smtp.New(smtp.Config{Host: "127.0.0.1", Port: l.Addr().(*net.TCPAddr).Port, TLS: smtp.TLSNone})
	if err != nil {
		t.Fatal(err)
	}
	good := send.Message{ID: "x", From: "crm@example.com", To: []string{"a@example.com"}, Subject: "Hi", Text: "body"}
	cases := map[string]func(*send.Message){
		"subject CRLF":     func(m *send.Message) { m.Subject = "Hi\r\nBcc: everyone@example.com" },
		"subject LF":       func(m *send.Message) { m.Subject = "Hi\nX-Spam: no" },
		"to LF":            func(m *send.Message) { m.To = []string{"a@example.com\nBcc: b@example.com"} },
		"from CR":          func(m *send.Message) { m.From = "crm@example.com\rBcc: b@example.com" },
		"reply-to CRLF":    func(m *send.Message) { m.ReplyTo = "r@example.com\r\nX: y" },
		"id CRLF":          func(m *send.Message) { m.ID = "x\r\nBcc: b@example.com" },
		"header value":     func(m *send.Message) { m.Headers = map[string]string{"X-Campaign": "1\r\nBcc: b@example.com"} },
		"header name":      func(m *send.Message) { m.Headers = map[string]string{"X-A\r\nBcc": "b@example.com"} },
		"reserved header":  func(m *send.Message) { m.Headers = map[string]string{"bcc": "b@example.com"} },
		"no recipient":     func(m *send.Message) { m.To = nil },
		"no body":          func(m *send.Message) { m.Text = "" },
		"no from anywhere": func(m *send.Message) { m.From = "" },
	}
	for name, edit := range cases {
		msg := good
		edit(&msg)
		err := m.Send(t.Context(), msg)
		if !errors.Is(err, storage.ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", name, err)
		}
	}
	if n := conns.Load(); n != 0 {
		t.Errorf("refused messages opened %d connections", n)
	}
}

func TestAuthOverSTARTTLS(t *testing.T) {
	t.Parallel()
	srv := mailtest.Start(t, mailtest.Options{STARTTLS: true, Username: "crm", Password: "s3cret"})
	cfg := smtp.Config{Host: srv.Host, Port: srv.Port, From: "crm@example.com", Username: "crm", Password: "s3cret",
		TLSConfig: &tls.Config{RootCAs: srv.RootCAs}} // TLS: the default, mandatory STARTTLS
	msg := send.Message{ID: "a:1", To: []string{"a@example.com"}, Subject: "s", Text: "t"}
	m, err := smtp.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Send(t.Context(), msg); err != nil {
		t.Fatalf("send: %v", err)
	}
	if got := srv.Accepted(); len(got) != 1 || !got[0].TLS || got[0].User != "crm" {
		t.Fatalf("received %+v, want one message over TLS from crm", got)
	}

	// A wrong password is refused for good.
	cfg.Password = "wrong"
	m, err = smtp.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Send(t.Context(), msg); err == nil || !isPermanent(err) {
		t.Errorf("wrong password: got %v, want a permanent error", err)
	}
	// A certificate the mailer does not trust stops it before it logs in.
	cfg.Password, cfg.TLSConfig = "s3cret", nil
	m, err = smtp.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Send(t.Context(), msg); err == nil {
		t.Error("an untrusted certificate was accepted")
	}
	if n := len(srv.Accepted()); n != 1 {
		t.Errorf("%d messages accepted, want still 1", n)
	}
}

func TestTLSPolicies(t *testing.T) {
	t.Parallel()
	noTLS := mailtest.Start(t, mailtest.Options{})
	startTLS := mailtest.Start(t, mailtest.Options{STARTTLS: true})
	implicit := mailtest.Start(t, mailtest.Options{ImplicitTLS: true})
	msg := send.Message{ID: "a:1", From: "crm@example.com", To: []string{"a@example.com"}, Subject: "s", Text: "t"}
	cases := []struct {
		name    string
		srv     *mailtest.Server
		policy  smtp.TLSPolicy
		wantTLS bool
		wantErr bool
	}{
		{"mandatory, offered", startTLS, smtp.TLSMandatory, true, false},
		{"mandatory, not offered", noTLS, smtp.TLSMandatory, false, true},
		{"opportunistic, offered", startTLS, smtp.TLSOpportunistic, true, false},
		{"opportunistic, not offered", noTLS, smtp.TLSOpportunistic, false, false},
		{"implicit", implicit, smtp.TLSImplicit, true, false},
		{"none, offered", startTLS, smtp.TLSNone, false, false},
	}
	for _, tc := range cases {
		before := len(tc.srv.Accepted())
		m, err := smtp.New(smtp.Config{Host: tc.srv.Host, Port: tc.srv.Port, TLS: tc.policy, TLSConfig: &tls.Config{RootCAs: tc.srv.RootCAs}})
		if err != nil {
			t.Fatal(err)
		}
		err = m.Send(t.Context(), msg)
		got := tc.srv.Accepted()
		switch {
		case tc.wantErr:
			if err == nil || len(got) != before {
				t.Errorf("%s: got %v and %d messages, want an error and none", tc.name, err, len(got)-before)
			}
		case err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case len(got) != before+1 || got[len(got)-1].TLS != tc.wantTLS:
			t.Errorf("%s: received %d, TLS %v; want TLS %v", tc.name, len(got)-before, got[len(got)-1].TLS, tc.wantTLS)
		}
	}
}

// TestNoPlainPasswordInClear checks that without TLS the mailer does not
// send a password in plain text to a server that offers only PLAIN.
func TestNoPlainPasswordInClear(t *testing.T) {
	t.Parallel()
	srv := mailtest.Start(t, mailtest.Options{Username: "crm", Password: "s3cret"})
	m, err := smtp.New(smtp.Config{Host: srv.Host, Port: srv.Port, TLS: smtp.TLSNone, Username: "crm", Password: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	err = m.Send(t.Context(), send.Message{ID: "a", From: "crm@example.com", To: []string{"a@example.com"}, Subject: "s", Text: "t"})
	if err == nil || len(srv.Messages()) != 0 {
		t.Errorf("got %v and %d messages, want a refusal to log in without TLS", err, len(srv.Messages()))
	}
}

func TestReplies(t *testing.T) {
	t.Parallel()
	srv := mailtest.Start(t, mailtest.Options{
		Rcpt: func(to string) error {
			switch {
			case strings.HasPrefix(to, "unknown@"):
				return mailtest.Reply(550, "no such user")
			case strings.HasPrefix(to, "greylisted@"):
				return mailtest.Reply(450, "greylisted, try again later")
			}
			return nil
		},
		Data: func(m mailtest.Message, n int) error {
			switch m.To[0] {
			case "spam@example.com":
				return mailtest.Reply(554, "looks like spam")
			case "busy@example.com":
				return mailtest.Reply(451, "local error, try later")
			}
			return nil
		},
	})
	m := plain(t, srv)
	cases := map[string]string{
		"unknown@example.com":    "permanent",
		"greylisted@example.com": "retry",
		"spam@example.com":       "permanent",
		"busy@example.com":       "retry",
		"fine@example.com":       "ok",
	}
	for to, want := range cases {
		err := m.Send(t.Context(), send.Message{ID: "a", To: []string{to}, Subject: "s", Text: "t"})
		got := "ok"
		if err != nil {
			got = "retry"
			if isPermanent(err) {
				got = "permanent"
			}
		}
		if got != want {
			t.Errorf("%s: %s (%v), want %s", to, got, err, want)
		}
	}

	// No server at all: a network error, retried.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	down, err := smtp.New(smtp.Config{Host: "127.0.0.1", Port: port, TLS: smtp.TLSNone, From: "crm@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	err = down.Send(t.Context(), send.Message{ID: "a", To: []string{"a@example.com"}, Subject: "s", Text: "t"})
	if err == nil || isPermanent(err) {
		t.Errorf("server down: got %v, want a retryable error", err)
	}
}

// TestContextDeadline checks that a server that never answers does not
// hold Send past the context's deadline, although Config.Timeout is an
// hour: Send fails with a timeout. The server hangs up after 10 seconds,
// so that a Send that waits for it fails with another error instead of
// holding the test.
func TestContextDeadline(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			time.AfterFunc(10*time.Second, func() { c.Close() }) // says nothing until then: no greeting
		}
	}()
	m, err := smtp.New(smtp.Config{Host: "127.0.0.1", Port: l.Addr().(*net.TCPAddr).Port, TLS: smtp.TLSNone, From: "crm@example.com",
		Timeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	err = m.Send(ctx, send.Message{ID: "a", To: []string{"a@example.com"}, Subject: "s", Text: "t"})
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || isPermanent(err) {
		t.Errorf("silent server: got %v, want a retryable timeout", err)
	}
}

// TestMessageIDDomain checks where the part of Message-IDs after "@"
// comes from: Config.MessageIDDomain, else the domain of Config.From,
// else Config.Host; one that may not stand in a Message-ID is localhost.
func TestMessageIDDomain(t *testing.T) {
	t.Parallel()
	srv := mailtest.Start(t, mailtest.Options{})
	for _, tc := range []struct {
		from, domain, want string
	}{
		{"CRM <crm@crm.example>", "mail.example", "mail.example"},
		{"CRM <crm@crm.example>", "", "crm.example"},
		{"", "", srv.Host},
		{"", "[not a domain]", "localhost"},
	} {
		m, err := smtp.New(smtp.Config{Host: srv.Host, Port: srv.Port, TLS: smtp.TLSNone, From: tc.from, MessageIDDomain: tc.domain})
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Send(t.Context(), send.Message{ID: "a:1", From: "b@example.com", To: []string{"a@example.com"}, Subject: "s", Text: "t"}); err != nil {
			t.Fatal(err)
		}
		msgs := srv.Accepted()
		p, err := msgs[len(msgs)-1].Parse()
		if err != nil {
			t.Fatal(err)
		}
		if got, want := p.Header.Get("Message-Id"), "<a=3A1@"+tc.want+">"; got != want {
			t.Errorf("From %q, MessageIDDomain %q: Message-ID %s, want %s", tc.from, tc.domain, got, want)
		}
	}
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	_, err := smtp.New(smtp.Config{Port: 70000, TLS: smtp.TLSPolicy(9), From: "not an address"})
	var ve *storage.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("got %v, want a ValidationError", err)
	}
	var fields []string
	for _, f := range ve.Fields {
		fields = append(fields, f.Field)
	}
	if want := []string{"host", "tls", "port", "from"}; !cmp.Equal(fields, want) {
		t.Errorf("fields = %v, want %v", fields, want)
	}
}

func TestMessageID(t *testing.T) {
	t.Parallel()
	seen := map[string]string{}
	for _, id := range []string{"0190c6e2-7c1d-7e0a-9b4e-0c0c4a3e1f00:1", "a:", "a=3A", "a.b", "a..b", ".a", "a b", "ü", "<x>@y"} {
		mid := smtp.MessageID(id, "example.com")
		if _, err := mail.ParseAddress("<" + mid + ">"); err != nil {
			t.Errorf("MessageID(%q) = %q, not a valid id: %v", id, mid, err)
		}
		if other, ok := seen[mid]; ok {
			t.Errorf("%q and %q share the Message-ID %q", id, other, mid)
		}
		seen[mid] = id
	}
	if got := smtp.MessageID("run:2", "example.com"); got != "run=3A2@example.com" {
		t.Errorf("MessageID(run:2) = %q", got)
	}
}

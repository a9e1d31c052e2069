package webhook_test

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/workflow/send"
	"github.com/crmkit/crm/workflow/webhook"
)

// loopback lets a Sender call the test's receivers on this host.
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128")}

// receiver is a real HTTP server on localhost that records what it gets.
type receiver struct {
	*httptest.Server
	mu  sync.Mutex
	got []received
}

type received struct {
	header http.Header
	body   []byte
}

// newReceiver starts a receiver on network's loopback ("tcp4" or "tcp6")
// answering status code, and skips the test where there is none.
func newReceiver(t *testing.T, network string, code int) *receiver {
	t.Helper()
	r, err := startReceiver(t, network, code)
	if err != nil {
		t.Skipf("no %s loopback to listen on: %v", network, err)
	}
	return r
}

// tryReceiver starts a receiver on the IPv6 loopback, or returns nil
// where there is none.
func tryReceiver(t *testing.T) *receiver {
	t.Helper()
	r, err := startReceiver(t, "tcp6", http.StatusOK)
	if err != nil {
		t.Logf("no IPv6 loopback: %v", err)
	}
	return r
}

func startReceiver(t *testing.T, network string, code int) (*receiver, error) {
	addr := "127.0.0.1:0"
	if network == "tcp6" {
		addr = "[::1]:0"
	}
	l, err := net.Listen(network, addr)
	if err != nil {
		return nil, err
	}
	r := &receiver{}
	r.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, received{req.Header.Clone(), body})
		r.mu.Unlock()
		w.WriteHeader(code)
	}))
	r.Listener.Close() // the one httptest opened, on tcp4
	r.Listener = l
	r.Start()
	t.Cleanup(r.Close)
	return r, nil
}

func (r *receiver) calls() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

func (r *receiver) port() string {
	_, port, _ := net.SplitHostPort(r.Listener.Addr().String())
	return port
}

func newSecret(t *testing.T) string {
	t.Helper()
	key := make([]byte, 24)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	return webhook.SecretPrefix + base64.StdEncoding.EncodeToString(key)
}

// isPermanent reports whether err carries the send.Permanent marker itself
// (send.IsPermanent would also take a plain ErrInvalid).
func isPermanent(err error) bool {
	var p *send.PermanentError
	return errors.As(err, &p)
}

func TestSendSigned(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, "tcp4", http.StatusNoContent)
	secret := newSecret(t)
	s := webhook.New(webhook.Config{AllowedNetworks: loopback})
	body := []byte(`{"rule":"Welcome","record":{"first_name":"Ada"}}`)
	err := s.Send(t.Context(), send.WebhookRequest{ID: "run-1:0", URL: rcv.URL + "/hook?token=abc", Body: body, Secret: secret,
		Headers: map[string]string{"X-Tenant": "acme", "Content-Type": "text/plain"}})
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	calls := rcv.calls()
	if len(calls) != 1 {
		t.Fatalf("%d calls received", len(calls))
	}
	h := calls[0].header
	if err := webhook.Verify(secret, h, calls[0].body, time.Minute); err != nil {
		t.Errorf("the receiver cannot verify the call: %v", err)
	}
	if string(calls[0].body) != string(body) {
		t.Errorf("body = %s", calls[0].body)
	}
	for k, want := range map[string]string{"webhook-id": "run-1:0", "Content-Type": "application/json",
		"User-Agent": webhook.DefaultUserAgent, "X-Tenant": "acme"} {
		if got := h.Get(k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	if !strings.HasPrefix(h.Get("webhook-signature"), "v1,") {
		t.Errorf("signature = %q", h.Get("webhook-signature"))
	}
	if err := webhook.Verify(newSecret(t), h, calls[0].body, time.Minute); !errors.Is(err, webhook.ErrVerification) {
		t.Errorf("another secret verifies the call: %v", err)
	}

	// Without a secret the call goes out unsigned, with its id and time.
	must(t, s.Send(t.Context(), send.WebhookRequest{ID: "run-2:0", URL: rcv.URL, Body: []byte(`{}`)}))
	h = rcv.calls()[1].header
	if h.Get("webhook-signature") != "" || h.Get("webhook-id") != "run-2:0" || h.Get("webhook-timestamp") == "" {
		t.Errorf("unsigned call's headers = %v", h)
	}
}

func TestGuardRefusesByDefault(t *testing.T) {
	t.Parallel()
	rcv4 := newReceiver(t, "tcp4", http.StatusOK)
	s := webhook.New(webhook.Config{Timeout: 5 * time.Second})
	urls := []string{
		"http://localhost:" + rcv4.port() + "/hook", // a name that resolves to loopback: refused at dial time
		"http://127.0.0.1:" + rcv4.port(),
		"http://[::ffff:127.0.0.1]:" + rcv4.port(),
		"http://0.0.0.0:" + rcv4.port(),
		"http://10.0.0.1/hook",
		"http://172.16.5.4/hook",
		"http://192.168.1.1/hook",
		"http://100.64.0.1/hook",
		"http://169.254.169.254/latest/meta-data/",
		"http://[fe80::1]/hook",
		"http://[fd00:ec2::254]/latest/meta-data/",
		"http://[64:ff9b::a9fe:a9fe]/", // 169.254.169.254 through NAT64
	}
	if rcv6 := tryReceiver(t); rcv6 != nil {
		urls = append(urls, "http://[::1]:"+rcv6.port())
		defer func() {
			if n := len(rcv6.calls()); n != 0 {
				t.Errorf("the IPv6 receiver got %d calls", n)
			}
		}()
	}
	for _, u := range urls {
		err := s.Send(t.Context(), send.WebhookRequest{ID: "x", URL: u, Body: []byte(`{}`)})
		if !errors.Is(err, webhook.ErrBlocked) || !isPermanent(err) {
			t.Errorf("%s: got %v, want a permanent ErrBlocked", u, err)
		}
	}
	if n := len(rcv4.calls()); n != 0 {
		t.Errorf("the receiver got %d calls through the guard", n)
	}
}

func TestGuardAllowsConfigured(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, "tcp4", http.StatusOK)
	urls := []string{"http://localhost:" + rcv.port(), "http://127.0.0.1:" + rcv.port()}
	if rcv6 := tryReceiver(t); rcv6 != nil {
		urls = append(urls, "http://[::1]:"+rcv6.port())
	}
	for _, cfg := range []webhook.Config{{AllowedNetworks: loopback}, {AllowPrivate: true}} {
		s := webhook.New(cfg)
		for _, u := range urls {
			if err := s.Send(t.Context(), send.WebhookRequest{ID: "x", URL: u, Body: []byte(`{}`)}); err != nil {
				t.Errorf("%s with %+v: %v", u, cfg, err)
			}
		}
	}
	// A network that does not hold the address lets nothing through.
	s := webhook.New(webhook.Config{AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("10.9.0.0/16")}})
	err := s.Send(t.Context(), send.WebhookRequest{ID: "x", URL: urls[1], Body: []byte(`{}`)})
	if !errors.Is(err, webhook.ErrBlocked) {
		t.Errorf("another allowed network let 127.0.0.1 through: %v", err)
	}
}

func TestRedirectNotFollowed(t *testing.T) {
	t.Parallel()
	target := newReceiver(t, "tcp4", http.StatusOK)
	for _, code := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		redirect := httptest.NewServer(http.RedirectHandler(target.URL+"/elsewhere", code))
		s := webhook.New(webhook.Config{AllowedNetworks: loopback})
		err := s.Send(t.Context(), send.WebhookRequest{ID: "x", URL: redirect.URL, Body: []byte(`{}`)})
		redirect.Close()
		var se *webhook.StatusError
		if !errors.As(err, &se) || se.StatusCode != code || !isPermanent(err) {
			t.Errorf("redirect %d: got %v, want a permanent StatusError", code, err)
		}
	}
	if n := len(target.calls()); n != 0 {
		t.Errorf("a redirect was followed: the target got %d calls", n)
	}
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	s := webhook.New(webhook.Config{AllowedNetworks: loopback, Timeout: 50 * time.Millisecond})
	err := s.Send(t.Context(), send.WebhookRequest{ID: "x", URL: srv.URL, Body: []byte(`{}`)})
	var se *webhook.StatusError
	if err == nil || isPermanent(err) || errors.As(err, &se) {
		t.Fatalf("a receiver that never answers: got %v, want a retryable timeout", err)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("error %v is not a timeout", err)
	}
}

func TestStatusMapping(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var code int
		fmt.Sscan(r.URL.Query().Get("code"), &code)
		w.WriteHeader(code)
		// A large body: read up to the bound and dropped.
		_, _ = w.Write([]byte("oops\r\n" + strings.Repeat("x", 1<<20)))
	}))
	defer srv.Close()
	s := webhook.New(webhook.Config{AllowedNetworks: loopback})
	cases := []struct {
		codes []int
		want  string // "ok", "retry" or "permanent"
	}{
		{[]int{200, 201, 202, 204}, "ok"},
		{[]int{408, 425, 429, 500, 502, 503, 504}, "retry"},
		{[]int{400, 401, 403, 404, 405, 409, 410, 413, 422}, "permanent"},
	}
	for _, tc := range cases {
		for _, code := range tc.codes {
			err := s.Send(t.Context(), send.WebhookRequest{ID: "x", URL: fmt.Sprintf("%s/h?code=%d", srv.URL, code), Body: []byte(`{}`)})
			got := "ok"
			if err != nil {
				got = "retry"
				if isPermanent(err) {
					got = "permanent"
				}
				var se *webhook.StatusError
				if !errors.As(err, &se) || se.StatusCode != code {
					t.Errorf("%d: error %v is not a StatusError of it", code, err)
				} else if len(se.Body) > 200 || !strings.HasPrefix(se.Body, "oops x") {
					t.Errorf("%d: body in the error = %.40q… (%d bytes)", code, se.Body, len(se.Body))
				}
				if strings.Contains(err.Error(), "code=") {
					t.Errorf("%d: the error shows the URL's query: %v", code, err)
				}
			}
			if got != tc.want {
				t.Errorf("status %d: %s (%v), want %s", code, got, err, tc.want)
			}
		}
	}
}

func TestBadInputSendsNothing(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, "tcp4", http.StatusOK)
	s := webhook.New(webhook.Config{AllowedNetworks: loopback})
	cases := map[string]send.WebhookRequest{
		"ftp url":        {URL: "ftp://127.0.0.1/x"},
		"no host":        {URL: "http:///x"},
		"raw secret":     {URL: rcv.URL, Secret: "not base64!"},
		"header CRLF":    {URL: rcv.URL, Headers: map[string]string{"X-A": "1\r\nX-Injected: 2"}},
		"header name":    {URL: rcv.URL, Headers: map[string]string{"X A": "1"}},
		"empty key body": {URL: rcv.URL, Secret: webhook.SecretPrefix},
	}
	for name, req := range cases {
		req.ID, req.Body = "x", []byte(`{}`)
		err := s.Send(t.Context(), req)
		if !errors.Is(err, storage.ErrInvalid) || !isPermanent(err) {
			t.Errorf("%s: got %v, want a permanent ErrInvalid", name, err)
		}
	}
	if n := len(rcv.calls()); n != 0 {
		t.Errorf("bad requests reached the receiver %d times", n)
	}
}

// TestSignKnownVector checks Sign against the example of the Standard
// Webhooks reference libraries.
func TestSignKnownVector(t *testing.T) {
	t.Parallel()
	sig, err := webhook.Sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
		time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; sig != want {
		t.Errorf("signature = %s, want %s", sig, want)
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	secret := newSecret(t)
	body := []byte(`{"a":1}`)
	header := func(id string, at time.Time, sigs ...string) http.Header {
		h := http.Header{}
		h.Set("webhook-id", id)
		h.Set("webhook-timestamp", fmt.Sprint(at.Unix()))
		h.Set("webhook-signature", strings.Join(sigs, " "))
		return h
	}
	sign := func(id string, at time.Time, b []byte) string {
		s, err := webhook.Sign(secret, id, at, b)
		must(t, err)
		return s
	}
	now := time.Now()
	old := now.Add(-10 * time.Minute)
	if err := webhook.Verify(secret, header("m1", now, sign("m1", now, body)), body, 0); err != nil {
		t.Errorf("a good call: %v", err)
	}
	if err := webhook.Verify(secret, header("m1", now, "v1,bm9wZQ==", "v2,x", sign("m1", now, body)), body, 0); err != nil {
		t.Errorf("one good signature among others (a rotated secret): %v", err)
	}
	bad := map[string]http.Header{
		"tampered body":   header("m1", now, sign("m1", now, []byte(`{"a":2}`))),
		"other id":        header("m2", now, sign("m1", now, body)),
		"too old":         header("m1", old, sign("m1", old, body)),
		"from the future": header("m1", now.Add(time.Hour), sign("m1", now.Add(time.Hour), body)),
		"no signature":    header("m1", now),
		"other version":   header("m1", now, strings.Replace(sign("m1", now, body), "v1,", "v2,", 1)),
	}
	for name, h := range bad {
		if err := webhook.Verify(secret, h, body, 0); !errors.Is(err, webhook.ErrVerification) {
			t.Errorf("%s: got %v, want ErrVerification", name, err)
		}
	}
	if err := webhook.Verify(secret, header("m1", old, sign("m1", old, body)), body, time.Hour); err != nil {
		t.Errorf("an old call within a wider tolerance: %v", err)
	}
	if err := webhook.Verify("whsec_???", header("m1", now, sign("m1", now, body)), body, 0); !errors.Is(err, storage.ErrInvalid) {
		t.Errorf("bad secret: %v", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestCallReturnsResponse checks that Call gives back a 2xx response's
// status and body, bounded by MaxResponseBytes, and Send's error for
// another.
func TestCallReturnsResponse(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/down" {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"id":"ext-1","url":"https://social.example/p/1"}`)
	}))
	t.Cleanup(srv.Close)
	s := webhook.New(webhook.Config{AllowedNetworks: loopback, MaxResponseBytes: 12})
	resp, err := s.Call(t.Context(), send.WebhookRequest{ID: "msg_1", URL: srv.URL, Body: []byte(`{}`)})
	must(t, err)
	if resp.StatusCode != http.StatusCreated || string(resp.Body) != `{"id":"ext-1` || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("response = %d %q %v", resp.StatusCode, resp.Body, resp.Header)
	}
	resp, err = s.Call(t.Context(), send.WebhookRequest{ID: "msg_2", URL: srv.URL + "/down", Body: []byte(`{}`)})
	var se *webhook.StatusError
	if resp != nil || !errors.As(err, &se) || se.StatusCode != http.StatusServiceUnavailable || isPermanent(err) {
		t.Errorf("a 503: %v, %v", resp, err)
	}
}

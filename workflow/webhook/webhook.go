// Package webhook delivers webhook calls over HTTP, those of the workflow
// engine's call_webhook actions and of any other module: a Sender
// implements send.WebhookSender (package workflow/send), so that a module
// uses it without importing the engine.
//
// Each call is a POST of the JSON body, signed in the Standard Webhooks
// format (https://www.standardwebhooks.com/): the webhook-id header is the
// step's key, the same on every attempt so that the receiver can drop a
// repeat, webhook-timestamp is the time of the attempt in unix seconds, and
// webhook-signature is "v1," and the base64 HMAC-SHA256 of
// id.timestamp.body under the secret. Receivers check it with Verify.
//
// A response in 2xx is success. 408, 425, 429 and 5xx responses, timeouts
// and network errors are returned as they are, and the engine retries them
// by its policy; other 4xx responses, redirects (never followed) and
// refused addresses are send.Permanent, and the job fails at once.
//
// A webhook URL is written by whoever writes rules, so the Sender guards
// the network it can reach: at dial time, for the address the host name
// resolved to, it refuses loopback, private, link-local (with the cloud
// metadata address 169.254.169.254), carrier-grade NAT, multicast,
// unspecified and reserved addresses, in their IPv4-mapped, NAT64 and 6to4
// forms too, unless Config allows them. It ignores HTTP_PROXY and the like,
// which would carry the request past the guard.
package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/workflow/send"
)

// Config configures a Sender. The zero value works; each field's doc
// gives its default.
type Config struct {
	// Timeout bounds one call: connecting, sending, and reading the
	// response. Default: 10s.
	Timeout time.Duration
	// AllowedNetworks are networks the guard lets through although they
	// are private or local, such as an internal relay's
	// netip.MustParsePrefix("10.1.2.0/24"). Default: none.
	AllowedNetworks []netip.Prefix
	// AllowPrivate turns the guard off: every address may be called. For
	// hosts whose rule writers are trusted with the internal network.
	// Default: false.
	AllowPrivate bool
	// UserAgent is the User-Agent header. Default: DefaultUserAgent.
	UserAgent string
	// MaxResponseBytes is how much of a response body is read (and
	// dropped) before the connection is closed. Default: 64 KiB.
	MaxResponseBytes int64
	// TLSConfig configures HTTPS, such as the root CAs to trust. Default:
	// the system's roots.
	TLSConfig *tls.Config
}

// DefaultUserAgent is the User-Agent header of a Sender that sets none.
const DefaultUserAgent = "crm-webhooks/1 (+https://github.com/crmkit/crm)"

// Sender posts webhooks; it implements send.WebhookSender and is safe
// for concurrent use.
type Sender struct {
	cfg    Config
	client *http.Client
}

var _ send.WebhookSender = (*Sender)(nil)

// New returns a Sender configured by cfg, with its own connection pool.
func New(cfg Config) *Sender {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = DefaultUserAgent
	}
	if cfg.MaxResponseBytes <= 0 {
		cfg.MaxResponseBytes = 64 << 10
	}
	s := &Sender{cfg: cfg}
	dialer := &net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second, Control: s.control}
	transport := &http.Transport{
		Proxy:                 nil, // a proxy would connect for us, past the guard
		DialContext:           dialer.DialContext,
		TLSClientConfig:       cfg.TLSConfig,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   cfg.Timeout,
		ExpectContinueTimeout: time.Second,
	}
	s.client = &http.Client{
		Transport: transport,
		Timeout:   cfg.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	return s
}

// StatusError is a response outside 2xx.
type StatusError struct {
	// URL is where the request went, without its query (which may hold a
	// token).
	URL string
	// StatusCode is the response's status code.
	StatusCode int
	// Body is the start of the response body, for the run's history.
	Body string
}

// Error says where the request went and what came back.
func (e *StatusError) Error() string {
	msg := fmt.Sprintf("webhook: POST %s: %d %s", e.URL, e.StatusCode, http.StatusText(e.StatusCode))
	if e.StatusCode >= 300 && e.StatusCode < 400 {
		msg += " (redirects are not followed)"
	}
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// Retryable reports whether another attempt may succeed: 408 Request
// Timeout, 425 Too Early, 429 Too Many Requests and 5xx.
func (e *StatusError) Retryable() bool {
	switch e.StatusCode {
	case http.StatusRequestTimeout, http.StatusTooEarly, http.StatusTooManyRequests:
		return true
	}
	return e.StatusCode >= 500
}

// Send posts req.Body to req.URL, signed with req.Secret when set, with
// req.Headers and then the Sender's own (Content-Type, User-Agent and the
// webhook-* headers), which replace any of req.Headers of that name. It
// returns nil for a 2xx response; a *StatusError for another, permanent
// (send.Permanent) unless Retryable; a permanent ErrBlocked for a
// refused address; a permanent ErrInvalid for a bad URL, secret or
// header; and the transport's error, to be retried, for timeouts and
// network faults.
func (s *Sender) Send(ctx context.Context, req send.WebhookRequest) error {
	_, err := s.Call(ctx, req)
	return err
}

// Response is the 2xx response to a call.
type Response struct {
	// StatusCode is the response's status code, in 2xx.
	StatusCode int
	// Header is the response's header.
	Header http.Header
	// Body is the response body, of at most Config.MaxResponseBytes (the
	// rest is dropped).
	Body []byte
}

// Call is Send for a caller that reads what the receiver answers, such as
// the ID a publishing relay gives a post: for a 2xx response it returns
// the response, with its body read up to Config.MaxResponseBytes; its
// errors are Send's.
func (s *Sender) Call(ctx context.Context, req send.WebhookRequest) (*Response, error) {
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, req.URL, bytes.NewReader(req.Body))
	if err != nil || (hr.URL.Scheme != "http" && hr.URL.Scheme != "https") || hr.URL.Host == "" {
		return nil, send.Permanent(storage.Invalid("url", "%q is not an http or https URL", req.URL))
	}
	shown := (&url.URL{Scheme: hr.URL.Scheme, Host: hr.URL.Host, Path: hr.URL.Path}).String()
	for k, v := range req.Headers {
		if !validName(k) || strings.ContainsAny(v, "\r\n\x00") {
			return nil, send.Permanent(storage.Invalid("headers."+k, "is not a valid header name and value"))
		}
		hr.Header.Set(k, v)
	}
	ts := time.Now()
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("User-Agent", s.cfg.UserAgent)
	hr.Header.Set(HeaderID, req.ID)
	hr.Header.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	if req.Secret != "" {
		sig, err := Sign(req.Secret, req.ID, ts, req.Body)
		if err != nil {
			return nil, send.Permanent(err)
		}
		hr.Header.Set(HeaderSignature, sig)
	}
	resp, err := s.client.Do(hr)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its text repeats the URL, query and all
		}
		err = fmt.Errorf("webhook: POST %s: %w", shown, err)
		if errors.Is(err, ErrBlocked) {
			return nil, send.Permanent(err)
		}
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		// The call succeeded even when its body breaks off: what was read
		// is returned.
		body, _ := io.ReadAll(io.LimitReader(resp.Body, s.cfg.MaxResponseBytes))
		return &Response{StatusCode: resp.StatusCode, Header: resp.Header, Body: body}, nil
	}
	head := readBounded(resp.Body, s.cfg.MaxResponseBytes, 200)
	se := &StatusError{URL: shown, StatusCode: resp.StatusCode, Body: head}
	if se.Retryable() {
		return nil, se
	}
	return nil, send.Permanent(se)
}

// readBounded reads and drops up to max bytes of r, so that a short body
// leaves the connection reusable and a long one costs no more, and
// returns the first keep of them as printable text on one line.
func readBounded(r io.Reader, max int64, keep int) string {
	head, _ := io.ReadAll(io.LimitReader(r, min(int64(keep), max)))
	_, _ = io.Copy(io.Discard, io.LimitReader(r, max-int64(len(head))))
	s := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(string(head), ""))
	return strings.Join(strings.Fields(s), " ")
}

// validName reports whether s is an HTTP header name (an RFC 9110 token).
func validName(s string) bool {
	for i := 0; i < len(s); i++ {
		b := s[i]
		alnum := '0' <= b && b <= '9' || 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z'
		if !alnum && strings.IndexByte("!#$%&'*+-.^_`|~", b) < 0 {
			return false
		}
	}
	return s != ""
}

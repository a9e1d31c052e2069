// Package mailtest runs a real SMTP server (github.com/emersion/go-smtp) on
// localhost for tests: it speaks the protocol, offers STARTTLS or implicit
// TLS with a self-signed certificate and AUTH PLAIN when asked, records
// every message it receives, and answers with the errors a test chooses.
package mailtest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Options configure a Server. The zero value accepts every message
// without TLS or authentication.
type Options struct {
	// Username and Password, when set, make the server offer AUTH PLAIN
	// and refuse mail from a client that did not log in with them.
	Username, Password string
	// STARTTLS offers STARTTLS with a self-signed certificate.
	STARTTLS bool
	// ImplicitTLS speaks TLS from the first byte (SMTPS, port 465).
	ImplicitTLS bool
	// Rcpt, when set, answers each RCPT TO; an error (see Reply) refuses
	// the recipient.
	Rcpt func(to string) error
	// Data, when set, answers each message after it is received (it is
	// recorded either way); n counts the messages from 1. An error (see
	// Reply) refuses it.
	Data func(m Message, n int) error
}

// Message is one message the server received.
type Message struct {
	// From and To are the envelope (MAIL FROM, RCPT TO).
	From string
	To   []string
	// Data is the message as sent, headers and body.
	Data []byte
	// TLS says the session was encrypted; User is who logged in ("" for
	// nobody).
	TLS  bool
	User string
	// Refused is the error the server answered the message with, if any.
	Refused error
}

// Server is a running SMTP server; it stops when its test ends.
type Server struct {
	// Host and Port are where it listens ("127.0.0.1" and a free port).
	Host string
	Port int
	// RootCAs trusts the server's self-signed certificate.
	RootCAs *x509.CertPool

	opts Options
	mu   sync.Mutex
	msgs []Message
}

// Start starts a server on 127.0.0.1, stopped when t ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	s := &Server{Host: "127.0.0.1", opts: opts}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		_, isTLS := c.TLSConnectionState()
		return &session{s: s, tls: isTLS}, nil
	}))
	srv.Domain = "mailtest.localhost"
	srv.ReadTimeout, srv.WriteTimeout = 30*time.Second, 30*time.Second
	srv.AllowInsecureAuth = !opts.STARTTLS && !opts.ImplicitTLS
	log := &logger{t: t}
	srv.ErrorLog = log
	if opts.STARTTLS || opts.ImplicitTLS {
		cfg, pool, err := SelfSigned("localhost", "127.0.0.1")
		if err != nil {
			t.Fatalf("mailtest: certificate: %v", err)
		}
		s.RootCAs = pool
		srv.TLSConfig = cfg
	}
	var l net.Listener
	var err error
	if opts.ImplicitTLS {
		l, err = tls.Listen("tcp", "127.0.0.1:0", srv.TLSConfig)
		srv.TLSConfig = nil // no STARTTLS inside TLS
	} else {
		l, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatalf("mailtest: listen: %v", err)
	}
	s.Port = l.Addr().(*net.TCPAddr).Port
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		<-done
		log.stop()
	})
	return s
}

// Messages returns the messages received so far, refused ones included.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Accepted returns the messages received and accepted so far.
func (s *Server) Accepted() []Message {
	var out []Message
	for _, m := range s.Messages() {
		if m.Refused == nil {
			out = append(out, m)
		}
	}
	return out
}

// Reply returns an SMTP reply the server answers with, such as
// Reply(550, "no such user") or Reply(451, "try again later").
func Reply(code int, text string) error {
	return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCodeNotSet, Message: text}
}

type session struct {
	s    *Server
	tls  bool
	user string
	msg  Message
}

func (ss *session) AuthMechanisms() []string {
	if ss.s.opts.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain || ss.s.opts.Username == "" {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != ss.s.opts.Username || password != ss.s.opts.Password {
			return smtp.ErrAuthFailed
		}
		ss.user = username
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.opts.Username != "" && ss.user == "" {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	ss.msg = Message{From: from, TLS: ss.tls, User: ss.user}
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if ss.s.opts.Rcpt != nil {
		if err := ss.s.opts.Rcpt(to); err != nil {
			return err
		}
	}
	ss.msg.To = append(ss.msg.To, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m := ss.msg
	m.Data = b
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	if ss.s.opts.Data != nil {
		m.Refused = ss.s.opts.Data(m, len(ss.s.msgs)+1)
	}
	ss.s.msgs = append(ss.s.msgs, m)
	return m.Refused
}

func (ss *session) Reset()        { ss.msg = Message{} }
func (ss *session) Logout() error { return nil }

// logger sends the server's errors to the test's log until the test
// ends (connections may still be closing then, and a test's log must not
// be written after it ends).
type logger struct {
	t    testing.TB
	mu   sync.Mutex
	done bool
}

func (l *logger) Printf(format string, v ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.done {
		l.t.Logf("mailtest: "+format, v...)
	}
}

func (l *logger) Println(v ...any) { l.Printf("%s", fmt.Sprintln(v...)) }

func (l *logger) stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.done = true
}

// SelfSigned returns a server TLS configuration with a new self-signed
// certificate for hosts (names or IP addresses), and a pool that trusts
// it.
func SelfSigned(hosts ...string) (*tls.Config, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "mailtest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}}}, pool, nil
}

// Parsed is a received message read back: its headers, decoded subject,
// and text and HTML bodies (decoded, with LF line ends and no final line
// end).
type Parsed struct {
	Header      mail.Header
	Subject     string
	ContentType string // the media type of the top part, such as "multipart/alternative"
	Text, HTML  string
}

// Parse reads m back as a MIME message.
func (m Message) Parse() (*Parsed, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		return nil, err
	}
	p := &Parsed{Header: msg.Header}
	p.Subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		return nil, fmt.Errorf("subject: %w", err)
	}
	p.ContentType, _, _ = mime.ParseMediaType(msg.Header.Get("Content-Type"))
	return p, p.walk(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
}

// walk reads one MIME part into p, and the parts of a multipart.
func (p *Parsed) walk(contentType, encoding string, body io.Reader) error {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return fmt.Errorf("content type %q: %w", contentType, err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			part, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			// The multipart reader decodes quoted-printable itself and
			// drops the header.
			if err := p.walk(part.Header.Get("Content-Type"), part.Header.Get("Content-Transfer-Encoding"), part); err != nil {
				return err
			}
		}
	}
	switch strings.ToLower(encoding) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	text := strings.TrimSuffix(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n")
	switch mt {
	case "text/plain":
		p.Text = text
	case "text/html":
		p.HTML = text
	}
	return nil
}

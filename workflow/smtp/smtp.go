// Package smtp sends email over SMTP, that of the workflow engine's
// send_email actions and of any other module: a Mailer implements
// send.Mailer (package workflow/send) on github.com/wneessen/go-mail, so
// that a module uses it without importing the engine.
//
// Send checks the message with send.CheckMessage before it connects
// (a header value with CR or LF is ErrInvalid and nothing is sent), puts
// the message's ID in the Message-ID header, so that an attempt repeated
// after a failure carries the same Message-ID, and sends the text and HTML
// bodies as multipart/alternative. A 5xx reply of the server is
// send.Permanent; 4xx replies, timeouts and network errors are
// returned as they are, for the engine to retry by its policy.
//
// Each Send opens its own connection, so a Mailer is safe for concurrent
// use.
package smtp

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/mail"
	"net/textproto"
	"slices"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/workflow/send"
)

// TLSPolicy says how a Mailer encrypts its connection.
type TLSPolicy int

// The TLS policies.
const (
	// TLSMandatory upgrades the connection with STARTTLS and refuses a
	// server that does not offer it. The default.
	TLSMandatory TLSPolicy = iota
	// TLSOpportunistic upgrades with STARTTLS when the server offers it,
	// and else sends in plain text.
	TLSOpportunistic
	// TLSImplicit speaks TLS from the first byte (SMTPS, port 465).
	TLSImplicit
	// TLSNone never encrypts: for a relay on the same host or network.
	// Credentials are then only sent with a challenge-response mechanism
	// (such as CRAM-MD5 or SCRAM), never in plain text.
	TLSNone
)

// String names the policy.
func (p TLSPolicy) String() string {
	switch p {
	case TLSMandatory:
		return "mandatory STARTTLS"
	case TLSOpportunistic:
		return "opportunistic STARTTLS"
	case TLSImplicit:
		return "implicit TLS"
	case TLSNone:
		return "no TLS"
	}
	return fmt.Sprintf("TLSPolicy(%d)", int(p))
}

// Config configures a Mailer. Host is required; each other field's doc
// gives its default.
type Config struct {
	// Host is the SMTP server's name or address.
	Host string
	// Port is the server's port. Default: 465 with TLSImplicit, 25 with
	// TLSNone, else 587 (submission).
	Port int
	// Username and Password log in when Username is set, with the
	// strongest mechanism the server offers (PLAIN and LOGIN only over
	// TLS). Default: no login.
	Username, Password string
	// TLS is the encryption policy. Default: TLSMandatory.
	TLS TLSPolicy
	// TLSConfig configures TLS, such as the root CAs to trust; its
	// ServerName defaults to Host. Default: the system's roots, TLS 1.2
	// or later.
	TLSConfig *tls.Config
	// From is the sender of messages that name none. Default: none, and
	// such a message is ErrInvalid.
	From string
	// HELO is the name the Mailer greets the server with. Default: the
	// host's name.
	HELO string
	// MessageIDDomain is the part after "@" of Message-IDs. Default: the
	// domain of From, else Host. One that may not stand there (not RFC
	// 5322 dot-atom text, such as an IPv6 address) is "localhost".
	MessageIDDomain string
	// Timeout bounds connecting and each exchange with the server; the
	// context passed to Send bounds the whole when it ends sooner.
	// Default: 30s.
	Timeout time.Duration
}

// Mailer sends email over SMTP; it implements send.Mailer.
type Mailer struct {
	cfg  Config
	opts []gomail.Option
}

var _ send.Mailer = (*Mailer)(nil)

// New returns a Mailer configured by cfg. A missing host, a bad port,
// policy or From address is ErrInvalid naming the field.
func New(cfg Config) (*Mailer, error) {
	v := &storage.ValidationError{}
	if cfg.Host == "" {
		v.Add("host", "is required")
	}
	if cfg.TLS < TLSMandatory || cfg.TLS > TLSNone {
		v.Add("tls", "%d is not a TLS policy", int(cfg.TLS))
	}
	if cfg.Port == 0 {
		switch cfg.TLS {
		case TLSImplicit:
			cfg.Port = 465
		case TLSNone:
			cfg.Port = 25
		default:
			cfg.Port = 587
		}
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		v.Add("port", "%d is not a TCP port", cfg.Port)
	}
	fromDomain := ""
	if cfg.From != "" {
		a, err := mail.ParseAddress(cfg.From)
		if err != nil || strings.ContainsAny(cfg.From, "\r\n") {
			v.Add("from", "%q is not an email address", cfg.From)
		} else {
			fromDomain = a.Address[strings.LastIndexByte(a.Address, '@')+1:]
		}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.MessageIDDomain == "" {
		cfg.MessageIDDomain = cmp.Or(fromDomain, cfg.Host)
	}
	if !dotAtom(cfg.MessageIDDomain) {
		cfg.MessageIDDomain = "localhost"
	}
	if err := v.Err(); err != nil {
		return nil, err
	}

	tlsCfg := &tls.Config{ServerName: cfg.Host, MinVersion: tls.VersionTLS12}
	if cfg.TLSConfig != nil {
		tlsCfg = cfg.TLSConfig.Clone()
		if tlsCfg.ServerName == "" {
			tlsCfg.ServerName = cfg.Host
		}
	}
	opts := []gomail.Option{gomail.WithPort(cfg.Port), gomail.WithTLSConfig(tlsCfg)}
	switch cfg.TLS {
	case TLSMandatory:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case TLSOpportunistic:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL(), gomail.WithTLSPolicy(gomail.NoTLS))
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if cfg.HELO != "" {
		opts = append(opts, gomail.WithHELO(cfg.HELO))
	}
	if cfg.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(cfg.Username), gomail.WithPassword(cfg.Password))
	}
	// Options are checked once here, so that Send fails only for the
	// message or the server.
	if _, err := gomail.NewClient(cfg.Host, opts...); err != nil {
		return nil, storage.Invalid("config", "%v", err)
	}
	return &Mailer{cfg: cfg, opts: opts}, nil
}

// reserved are the headers the Mailer writes itself, which
// Message.Headers may not set.
var reserved = map[string]bool{
	"From": true, "To": true, "Cc": true, "Bcc": true, "Reply-To": true, "Sender": true, "Subject": true,
	"Message-Id": true, "Date": true, "Mime-Version": true, "Content-Type": true,
	"Content-Transfer-Encoding": true, "Return-Path": true,
}

// Send delivers m. From defaults to Config.From. It returns ErrInvalid,
// before connecting, for a message send.CheckMessage refuses or one
// whose Headers set a header the Mailer writes; a permanent error for a
// 5xx reply (an unknown recipient, a refused login); and a plain error,
// retried by the engine, for a 4xx reply or a network fault.
// MessageID returns the Message-ID the mailer writes for a message whose
// ID is id (send.MessageIDer).
func (m *Mailer) MessageID(id string) string { return MessageID(id, m.cfg.MessageIDDomain) }

// Send implements send.Mailer.
func (m *Mailer) Send(ctx context.Context, msg send.Message) error {
	if msg.From == "" {
		msg.From = m.cfg.From
	}
	if err := send.CheckMessage(msg); err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	if msg.From == "" {
		return fmt.Errorf("smtp: %w", storage.Invalid("from", "is required: set Message.From or Config.From"))
	}
	for k := range msg.Headers {
		if reserved[textproto.CanonicalMIMEHeaderKey(k)] {
			return fmt.Errorf("smtp: %w", storage.Invalid("headers."+k, "is written by the mailer"))
		}
	}
	gm, err := m.message(msg)
	if err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	timeout := m.cfg.Timeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = max(min(timeout, time.Until(dl)), time.Millisecond)
	}
	client, err := gomail.NewClient(m.cfg.Host, append(slices.Clip(m.opts), gomail.WithTimeout(timeout))...)
	if err != nil {
		return send.Permanent(fmt.Errorf("smtp: %w", err))
	}
	if err := client.DialAndSendWithContext(ctx, gm); err != nil {
		return classify(fmt.Errorf("smtp: %s:%d: %w", m.cfg.Host, m.cfg.Port, err))
	}
	return nil
}

// message builds the go-mail message of msg, checked already.
func (m *Mailer) message(msg send.Message) (*gomail.Msg, error) {
	gm := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := gm.From(msg.From); err != nil {
		return nil, storage.Invalid("from", "%v", err)
	}
	if err := gm.To(msg.To...); err != nil {
		return nil, storage.Invalid("to", "%v", err)
	}
	if len(msg.Cc) > 0 {
		if err := gm.Cc(msg.Cc...); err != nil {
			return nil, storage.Invalid("cc", "%v", err)
		}
	}
	if msg.ReplyTo != "" {
		if err := gm.ReplyTo(msg.ReplyTo); err != nil {
			return nil, storage.Invalid("reply_to", "%v", err)
		}
	}
	gm.Subject(msg.Subject)
	if msg.ID != "" {
		gm.SetMessageIDWithValue(MessageID(msg.ID, m.cfg.MessageIDDomain))
	} else {
		gm.SetMessageID()
	}
	gm.SetDate()
	for k, v := range msg.Headers {
		gm.SetGenHeader(gomail.Header(k), v)
	}
	switch {
	case msg.Text != "" && msg.HTML != "":
		gm.SetBodyString(gomail.TypeTextPlain, msg.Text)
		gm.AddAlternativeString(gomail.TypeTextHTML, msg.HTML)
	case msg.HTML != "":
		gm.SetBodyString(gomail.TypeTextHTML, msg.HTML)
	default:
		gm.SetBodyString(gomail.TypeTextPlain, msg.Text)
	}
	return gm, nil
}

// classify marks err permanent when the server answered 5xx.
func classify(err error) error {
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 {
		return send.Permanent(err)
	}
	var se *gomail.SendError
	if errors.As(err, &se) && se.ErrorCode() >= 500 {
		return send.Permanent(err)
	}
	return err
}

// MessageID returns the Message-ID (without angle brackets) of a message
// whose ID is id: id with every character that may not stand in a
// Message-ID (RFC 5322 dot-atom text) written "=XX" in hex, "@" and
// domain. Distinct IDs give distinct Message-IDs. Send uses it for every
// message with an ID, and a random Message-ID for one without.
func MessageID(id, domain string) string {
	var b strings.Builder
	for i := 0; i < len(id); i++ {
		c := id[i]
		if atext(c) && c != '=' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "=%02X", c)
		}
	}
	return b.String() + "@" + domain
}

// atext reports whether c is an RFC 5322 atext character.
func atext(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' ||
		strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// dotAtom reports whether s is RFC 5322 dot-atom text: atext runs joined
// by single dots.
func dotAtom(s string) bool {
	for part := range strings.SplitSeq(s, ".") {
		if part == "" {
			return false
		}
		for i := 0; i < len(part); i++ {
			if !atext(part[i]) {
				return false
			}
		}
	}
	return true
}

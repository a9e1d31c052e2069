// Package send holds what sends mail and calls webhooks for the CRM's
// modules: the Mailer and WebhookSender interfaces with their Message and
// WebhookRequest, CheckMessage, which refuses header injection before a
// message goes out, and Permanent, which marks a failure that no retry can
// mend.
//
// It sits below the workflow engine, so that a module that sends (the
// engine's send_email and call_webhook actions, and modules such as
// marketing or customer service) and a sender (package workflow/smtp over
// SMTP, package workflow/webhook over HTTP, or a host's own) meet here
// without importing each other or the engine. It imports only the standard
// library and package storage.
package send

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"

	"github.com/crmkit/crm/storage"
)

// Mailer sends email, such as that of the workflow engine's send_email
// actions. Package workflow/smtp has an SMTP implementation.
type Mailer interface {
	// Send delivers m. An error is retried by the caller's policy unless
	// it is permanent (see Permanent).
	Send(ctx context.Context, m Message) error
}

// MessageIDer is a Mailer that says which Message-ID (without angle
// brackets) it writes for a Message's ID, so that the sender can thread
// the answers to its messages (service.Cases.Reply).
type MessageIDer interface {
	MessageID(id string) string
}

// Message is one email. Header values (From, To, Cc, ReplyTo, Subject and
// Headers) never hold CR or LF: CheckMessage refuses them.
type Message struct {
	// ID is the message's stable identity, the same on every attempt of a
	// step: a Mailer puts it in the Message-ID header, so that a receiver
	// can drop a repeat.
	ID string
	// From is the sender's address; empty leaves it to the Mailer.
	From string
	// To are the recipients' addresses; at least one is required.
	To []string
	// Cc are further recipients' addresses.
	Cc []string
	// ReplyTo, when set, is the address replies go to.
	ReplyTo string
	// Subject is the subject line.
	Subject string
	// Text and HTML are the bodies; at least one is set.
	Text, HTML string
	// Headers are further headers, such as List-Unsubscribe.
	Headers map[string]string
}

// CheckMessage verifies m before it is sent: addresses parse, at least one
// recipient and one body, and no header value holds CR or LF (header
// injection). Faults are ErrInvalid naming the field.
func CheckMessage(m Message) error {
	v := &storage.ValidationError{}
	noBreak := func(field, s string) {
		if strings.ContainsAny(s, "\r\n") {
			v.Add(field, "holds a line break (CR or LF), which would inject mail headers")
		}
	}
	addr := func(field, s string) {
		noBreak(field, s)
		if _, err := mail.ParseAddress(s); err != nil {
			v.Add(field, "%q is not an email address", s)
		}
	}
	if m.From != "" {
		addr("from", m.From)
	}
	if len(m.To) == 0 {
		v.Add("to", "at least one recipient is required")
	}
	for i, a := range m.To {
		addr(fmt.Sprintf("to[%d]", i), a)
	}
	for i, a := range m.Cc {
		addr(fmt.Sprintf("cc[%d]", i), a)
	}
	if m.ReplyTo != "" {
		addr("reply_to", m.ReplyTo)
	}
	noBreak("subject", m.Subject)
	noBreak("id", m.ID)
	for k, val := range m.Headers {
		noBreak("headers."+k, k)
		noBreak("headers."+k, val)
		if strings.ContainsAny(k, ": ") || k == "" {
			v.Add("headers."+k, "is not a header name")
		}
	}
	if m.Text == "" && m.HTML == "" {
		v.Add("text", "a text or an HTML body is required")
	}
	return v.Err()
}

// WebhookSender delivers webhook calls, such as those of the workflow
// engine's call_webhook actions. Package workflow/webhook has an HTTP
// implementation that signs the body in the Standard Webhooks format and
// refuses private addresses.
type WebhookSender interface {
	// Send posts req. A response outside 2xx is an error; 4xx other than
	// 408 and 429 should be permanent (see Permanent), the rest is retried.
	Send(ctx context.Context, req WebhookRequest) error
}

// WebhookRequest is one webhook call.
type WebhookRequest struct {
	// ID is the message's stable identity (the webhook-id header), the
	// same on every attempt of a step, so that a receiver can drop a
	// repeat.
	ID string
	// URL is where the body is posted.
	URL string
	// Body is the JSON body.
	Body []byte
	// Secret signs the body ("whsec_" and base64); empty sends it
	// unsigned.
	Secret string
	// Headers are further headers.
	Headers map[string]string
}

// PermanentError is an error that no retry can mend: a job that returns
// it fails at once. Validation errors (ErrInvalid), ErrForbidden,
// ErrNotFound and ErrConflict are permanent too (see IsPermanent).
type PermanentError struct{ Err error }

// Error returns the wrapped error's text.
func (p *PermanentError) Error() string { return p.Err.Error() }

// Unwrap returns the wrapped error.
func (p *PermanentError) Unwrap() error { return p.Err }

// Permanent marks err as permanent (see PermanentError); nil stays nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// IsPermanent reports whether no retry can mend err: it is, or wraps, a
// PermanentError, or it is ErrInvalid, ErrForbidden, ErrNotFound or
// ErrConflict of package storage.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p) || errors.Is(err, storage.ErrInvalid) || errors.Is(err, storage.ErrForbidden) ||
		errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrConflict)
}

package send_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/workflow/send"
)

func TestCheckMessage(t *testing.T) {
	ok := send.Message{From: "crm@example.com", To: []string{"ada@example.com"}, Subject: "Hi", Text: "Hello"}
	if err := send.CheckMessage(ok); err != nil {
		t.Fatal(err)
	}
	for name, m := range map[string]send.Message{
		"subject CRLF":  {To: ok.To, Subject: "Hi\r\nBcc: everyone@example.com", Text: "x"},
		"subject LF":    {To: ok.To, Subject: "Hi\nX-Evil: 1", Text: "x"},
		"to CR":         {To: []string{"ada@example.com\rBcc: x@example.com"}, Subject: "Hi", Text: "x"},
		"header value":  {To: ok.To, Subject: "Hi", Text: "x", Headers: map[string]string{"X-Tag": "a\r\nBcc: x@example.com"}},
		"header name":   {To: ok.To, Subject: "Hi", Text: "x", Headers: map[string]string{"X-Tag:\r\nBcc": "a"}},
		"no recipient":  {Subject: "Hi", Text: "x"},
		"bad address":   {To: []string{"not an address"}, Subject: "Hi", Text: "x"},
		"no body":       {To: ok.To, Subject: "Hi"},
		"reply-to CRLF": {To: ok.To, ReplyTo: "a@example.com\r\n", Subject: "Hi", Text: "x"},
	} {
		if err := send.CheckMessage(m); !errors.Is(err, storage.ErrInvalid) {
			t.Errorf("%s: CheckMessage = %v, want ErrInvalid", name, err)
		}
	}
}

func TestPermanent(t *testing.T) {
	if send.Permanent(nil) != nil {
		t.Error("Permanent(nil) != nil")
	}
	cause := errors.New("mailbox unavailable")
	err := fmt.Errorf("smtp: %w", send.Permanent(cause))
	var p *send.PermanentError
	if !errors.As(err, &p) || !errors.Is(err, cause) || err.Error() != "smtp: mailbox unavailable" {
		t.Errorf("Permanent(%v) wrapped = %v, want a *PermanentError wrapping it with its text", cause, err)
	}
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{cause, false},
		{err, true},
		{fmt.Errorf("x: %w", storage.ErrInvalid), true},
		{fmt.Errorf("x: %w", storage.ErrForbidden), true},
		{fmt.Errorf("x: %w", storage.ErrNotFound), true},
		{fmt.Errorf("x: %w", storage.ErrConflict), true},
	} {
		if got := send.IsPermanent(tc.err); got != tc.want {
			t.Errorf("IsPermanent(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

package send_test

import (
	"errors"
	"fmt"

	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/workflow/send"
)

// CheckMessage refuses a subject that would inject a Bcc header; the
// error is ErrInvalid, which IsPermanent counts as permanent, so a job
// sending it fails at once instead of being retried.
func ExampleCheckMessage() {
	m := send.Message{
		From:    "crm@example.com",
		To:      []string{"ada@example.com"},
		Subject: "Hi\r\nBcc: everyone@example.com",
		Text:    "Hello",
	}
	err := send.CheckMessage(m)
	fmt.Println(err)
	fmt.Println(errors.Is(err, storage.ErrInvalid), send.IsPermanent(err))

	m.Subject = "Hi"
	fmt.Println(send.CheckMessage(m))
	// Output:
	// invalid input: subject: holds a line break (CR or LF), which would inject mail headers
	// true true
	// <nil>
}

// A Mailer marks a failure that no retry can mend (here a recipient the
// server refuses) with Permanent; a caller's IsPermanent then stops
// retrying it, while other errors are retried by the caller's policy.
func ExamplePermanent() {
	refused := errors.New("550 no such mailbox")
	for _, err := range []error{
		fmt.Errorf("smtp: %w", send.Permanent(refused)),
		errors.New("smtp: connection reset"),
	} {
		fmt.Printf("%v: permanent %v\n", err, send.IsPermanent(err))
	}
	// Output:
	// smtp: 550 no such mailbox: permanent true
	// smtp: connection reset: permanent false
}

package smtp_test

import (
	"fmt"
	"time"

	"github.com/crmkit/crm/workflow"
	"github.com/crmkit/crm/workflow/smtp"
)

// A host builds a Mailer for its mail provider and passes it to the
// workflow engine (workflow.Config.Mailer); send_email actions then go
// out through it, each with a Message-ID made of its step's key.
func Example() {
	mailer, err := smtp.New(smtp.Config{
		Host:     "smtp.example.com", // port 587, mandatory STARTTLS by default
		Username: "crm@example.com",
		Password: "app-password",
		From:     "Acme CRM <crm@example.com>",
		Timeout:  20 * time.Second,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = workflow.Config{Mailer: mailer}
	fmt.Println(smtp.MessageID("0190c6e2-7c1d-7e0a-9b4e-0c0c4a3e1f00:1", "example.com"))

	_, err = smtp.New(smtp.Config{From: "crm@example.com"})
	fmt.Println(err)
	// Output:
	// 0190c6e2-7c1d-7e0a-9b4e-0c0c4a3e1f00=3A1@example.com
	// invalid input: host: is required
}

package webhook_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"time"

	"github.com/crmkit/crm/workflow"
	"github.com/crmkit/crm/workflow/send"
	"github.com/crmkit/crm/workflow/webhook"
)

// A receiver verifies the signature of each call with Verify; a host
// passes the Sender to the workflow engine (workflow.Config.Webhooks).
func Example() {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := webhook.Verify(secret, r.Header, body, 5*time.Minute); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		fmt.Printf("received %s: %s\n", r.Header.Get("webhook-id"), body)
	}))
	defer receiver.Close()

	// The receiver is on this host, which the guard refuses unless allowed.
	sender := webhook.New(webhook.Config{
		Timeout:         5 * time.Second,
		AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
	})
	err := sender.Send(context.Background(), send.WebhookRequest{
		ID: "msg_1", URL: receiver.URL + "/hooks/crm", Secret: secret,
		Body: []byte(`{"type":"contact.created","name":"Ada"}`),
	})
	fmt.Println("error:", err)

	_ = workflow.Config{Webhooks: sender} // how a host wires it in
	// Output:
	// received msg_1: {"type":"contact.created","name":"Ada"}
	// error: <nil>
}

package storagetest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/internal/mailtest"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/access"
	"github.com/crmkit/crm/storage/queue"
	"github.com/crmkit/crm/workflow"
	"github.com/crmkit/crm/workflow/smtp"
	"github.com/crmkit/crm/workflow/webhook"
)

// ioRetry is the retry policy of the tests of outside effects: no
// jitter, so a failed attempt's next one is due exactly Base later.
var ioRetry = workflow.RetryPolicy{MaxAttempts: 3, Base: 10 * time.Second, Jitter: -1}

// retryDue moves the fake clock to the one available job's next attempt,
// after checking that it has failed attempts times.
func (f *flow) retryDue(attempts int) {
	f.t.Helper()
	jobs, err := f.app.Workflow.Jobs(f.ctx, queue.JobQuery{State: queue.JobAvailable})
	must(f.t, "jobs", err)
	if len(jobs.Items) != 1 || jobs.Items[0].Attempt != attempts {
		f.t.Fatalf("available jobs = %+v, want one after %d attempts", jobs.Items, attempts)
	}
	f.clock.Add(jobs.Items[0].RunAt.Sub(f.clock.Now()))
}

// testWorkflowMail checks send_email end to end: a rule's templated
// message goes through workflow/smtp to a real SMTP server on localhost;
// the server's first answer is 451, and the retry carries the same
// Message-ID.
func testWorkflowMail(t *testing.T, h Harness) {
	srv := mailtest.Start(t, mailtest.Options{Data: func(m mailtest.Message, n int) error {
		if n == 1 {
			return mailtest.Reply(451, "greylisted, try again later")
		}
		return nil
	}})
	mailer, err := smtp.New(smtp.Config{Host: srv.Host, Port: srv.Port, TLS: smtp.TLSNone, From: "Acme CRM <crm@acme.example>"})
	must(t, "mailer", err)
	f := newFlow(t, h, workflow.Config{Mailer: mailer, Retry: ioRetry})
	r := f.rule(workflow.NewRule{Name: "Welcome mail", Enabled: true,
		Trigger:   workflow.Trigger{Kind: workflow.OnEvent, Object: "contact", Events: []string{"created"}},
		Condition: "email != ''",
		Actions: []workflow.Action{workflow.SendEmail(workflow.EmailParams{
			ReplyTo: "sales@acme.example",
			Subject: "Welcome, {{.first_name}}",
			Text:    "Hello {{.first_name}} {{.last_name}}, from {{.rule}}.",
			HTML:    "<p>Hello <b>{{.first_name}} {{.last_name}}</b></p>",
		})}})
	ada := f.contact(f.ctx, contacts.NewContact{FirstName: "Ada", LastName: "Lovelace & Byron", Email: "ada@example.com"})
	f.contact(f.ctx, contacts.NewContact{FirstName: "No email"})
	f.settle()
	if got := srv.Messages(); len(got) != 1 || got[0].Refused == nil {
		t.Fatalf("after the first attempt the server has %d messages, want one refused", len(got))
	}
	f.retryDue(1)
	f.settle()

	got := srv.Messages()
	if len(got) != 2 || got[1].Refused != nil {
		t.Fatalf("after the retry the server has %+v, want the second accepted", got)
	}
	runs := f.runs(r.ID)
	if len(runs) != 1 || runs[0].State != workflow.RunSucceeded || runs[0].Subject.ID != ada.ID || runs[0].Steps[0].Attempt != 2 {
		t.Fatalf("runs = %+v", runs)
	}
	wantID := "<" + smtp.MessageID(runs[0].ID+":0", "acme.example") + ">"
	for i, m := range got {
		p, err := m.Parse()
		must(t, "parse", err)
		if id := p.Header.Get("Message-Id"); id != wantID {
			t.Errorf("attempt %d: Message-ID %q, want %q (the step's key)", i+1, id, wantID)
		}
		if len(m.To) != 1 || m.To[0] != "ada@example.com" || m.From != "crm@acme.example" {
			t.Errorf("attempt %d: envelope from %q to %v", i+1, m.From, m.To)
		}
		if p.Subject != "Welcome, Ada" || p.Header.Get("Reply-To") != "<sales@acme.example>" {
			t.Errorf("attempt %d: subject %q, reply-to %q", i+1, p.Subject, p.Header.Get("Reply-To"))
		}
		if p.Text != "Hello Ada Lovelace & Byron, from Welcome mail." || p.HTML != "<p>Hello <b>Ada Lovelace &amp; Byron</b></p>" {
			t.Errorf("attempt %d: text %q, html %q", i+1, p.Text, p.HTML)
		}
	}
}

// hookCall is one request a test's webhook receiver got.
type hookCall struct {
	path   string
	header http.Header
	// body is the raw body, verify what webhook.Verify said of it.
	body   []byte
	verify error
}

// hookReceiver is a webhook receiver on loopback that records each call
// and verifies its Standard Webhooks signature under its own secret.
type hookReceiver struct {
	srv    *httptest.Server
	secret string
	// sender posts through workflow/webhook to loopback only.
	sender *webhook.Sender
	mu     sync.Mutex
	calls  []hookCall
}

// newHookReceiver starts a receiver; fail, if not nil, says which calls
// answer 503, by their path and their number among all calls (1 for the
// first).
func newHookReceiver(t *testing.T, fail func(path string, n int) bool) *hookReceiver {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	rc := &hookReceiver{secret: webhook.SecretPrefix + base64.StdEncoding.EncodeToString(key)}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		rc.calls = append(rc.calls, hookCall{r.URL.Path, r.Header.Clone(), body, webhook.Verify(rc.secret, r.Header, body, time.Minute)})
		if fail != nil && fail(r.URL.Path, len(rc.calls)) {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rc.srv.Close)
	rc.sender = webhook.New(webhook.Config{Timeout: 10 * time.Second,
		AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128")}})
	return rc
}

// got returns the calls so far, of path (all when "").
func (rc *hookReceiver) got(path string) []hookCall {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []hookCall
	for _, c := range rc.calls {
		if path == "" || c.path == path {
			out = append(out, c)
		}
	}
	return out
}

// testWorkflowWebhook checks call_webhook end to end: rules post through
// workflow/webhook to a real HTTP receiver on localhost, which verifies
// the Standard Webhooks signature; its first answer is 503, and the retry
// carries the same webhook-id. A rule calling the cloud metadata address
// fails at once, without a call.
func testWorkflowWebhook(t *testing.T, h Harness) {
	rc := newHookReceiver(t, func(path string, n int) bool { return path == "/flaky" && n == 1 })
	srv, secret := rc.srv, rc.secret
	f := newFlow(t, h, workflow.Config{Webhooks: rc.sender, Retry: ioRetry})
	created := workflow.Trigger{Kind: workflow.OnEvent, Object: "contact", Events: []string{"created"}}
	// A secret that is not base64 is refused when the rule is saved.
	_, err := f.app.Workflow.Rules.Create(f.ctx, workflow.NewRule{Name: "Raw secret", Trigger: created,
		Actions: []workflow.Action{workflow.CallWebhook(workflow.WebhookParams{URL: srv.URL, Secret: "correct horse battery staple"})}})
	wantFields(t, "raw secret", err, "actions[0].params")
	flaky := f.rule(workflow.NewRule{Name: "Notify", Enabled: true, Trigger: created,
		Actions: []workflow.Action{workflow.CallWebhook(workflow.WebhookParams{
			URL: srv.URL + "/flaky", Secret: secret, Headers: map[string]string{"X-Source": "crm"},
			Body: `{"event":"contact.created","name":"{{.first_name}} {{.last_name}}","email":"{{.email}}","rule":"{{.rule}}"}`,
		})}})
	f.contact(f.ctx, contacts.NewContact{FirstName: "Grace", LastName: "Hopper", Email: "grace@example.com"})
	f.settle()
	f.retryDue(1)
	f.settle()

	got := rc.got("")
	if len(got) != 2 {
		t.Fatalf("the receiver got %d calls, want 2 (a 503, then a success)", len(got))
	}
	runs := f.runs(flaky.ID)
	if len(runs) != 1 || runs[0].State != workflow.RunSucceeded || runs[0].Steps[0].Attempt != 2 {
		t.Fatalf("runs = %+v", runs)
	}
	for i, c := range got {
		if c.verify != nil {
			t.Errorf("call %d: signature: %v", i+1, c.verify)
		}
		if id := c.header.Get("webhook-id"); id != runs[0].ID+":0" {
			t.Errorf("call %d: webhook-id %q, want the step's key %q", i+1, id, runs[0].ID+":0")
		}
		if c.header.Get("X-Source") != "crm" || c.header.Get("Content-Type") != "application/json" {
			t.Errorf("call %d: headers %v", i+1, c.header)
		}
		var doc map[string]string
		must(t, "body", json.Unmarshal(c.body, &doc))
		if doc["name"] != "Grace Hopper" || doc["email"] != "grace@example.com" || doc["rule"] != "Notify" || doc["event"] != "contact.created" {
			t.Errorf("call %d: body %s", i+1, c.body)
		}
	}

	// The default body: the rule, the run and the record. And a URL the
	// guard refuses: failed at once, nothing sent.
	plain := f.rule(workflow.NewRule{Name: "Default body", Enabled: true, Trigger: created,
		Actions: []workflow.Action{workflow.CallWebhook(workflow.WebhookParams{URL: srv.URL + "/default"})}})
	metadata := f.rule(workflow.NewRule{Name: "Metadata", Enabled: true, Trigger: created,
		Actions: []workflow.Action{workflow.CallWebhook(workflow.WebhookParams{URL: "http://169.254.169.254/latest/meta-data/"})}})
	f.contact(f.ctx, contacts.NewContact{FirstName: "Linus"})
	f.settle()
	got = rc.got("/default")
	if len(got) != 1 || got[0].header.Get("webhook-signature") != "" {
		t.Fatalf("the receiver got %d calls of /default, want one, unsigned", len(got))
	}
	var doc struct {
		Rule   string         `json:"rule"`
		RunID  string         `json:"run_id"`
		Record map[string]any `json:"record"`
	}
	must(t, "default body", json.Unmarshal(got[0].body, &doc))
	if doc.Rule != "Default body" || doc.RunID == "" || doc.Record["first_name"] != "Linus" {
		t.Errorf("default body = %s", got[0].body)
	}
	if runs := f.runs(plain.ID); len(runs) != 1 || runs[0].State != workflow.RunSucceeded {
		t.Errorf("runs of the default-body rule = %+v", runs)
	}
	runs = f.runs(metadata.ID)
	if len(runs) != 1 || runs[0].State != workflow.RunFailed || !strings.Contains(runs[0].Error, "not allowed") {
		t.Fatalf("runs of the metadata rule = %+v, want one failed as not allowed", runs)
	}
	jobs, err := f.app.Workflow.Jobs(f.ctx, queue.JobQuery{RunID: runs[0].ID, State: queue.JobFailed})
	must(t, "jobs", err)
	if len(jobs.Items) != 1 || jobs.Items[0].Attempt != 1 {
		t.Errorf("failed jobs of the refused call = %+v, want one tried once (permanent)", jobs.Items)
	}
}

// testWorkflowSecrets checks that webhook secrets live apart from rules
// (issue 17 item 3): a signing secret and an Authorization header saved
// with a rule come back as references, in the rule, its history and the
// change feed, never as values; the call still carries them; only admins
// set them; a member reads no secret; and a secret the rule stops naming,
// or whose rule is deleted, is deleted.
func testWorkflowSecrets(t *testing.T, h Harness) {
	rc := newHookReceiver(t, nil)
	srv, secret := rc.srv, rc.secret
	const token = "Bearer tok-s3cr3t-4711"
	f := newFlow(t, h, workflow.Config{Webhooks: rc.sender, Retry: ioRetry})
	created := workflow.Trigger{Kind: workflow.OnEvent, Object: "contact", Events: []string{"created"}}
	hook := workflow.WebhookParams{URL: srv.URL + "/hook", Secret: secret, Headers: map[string]string{"Authorization": token, "X-Source": "crm"}}
	r := f.rule(workflow.NewRule{Name: "Notify", Enabled: true, Trigger: created, Actions: []workflow.Action{workflow.CallWebhook(hook)}})
	leaks := func(what string, v any) {
		t.Helper()
		b, err := json.Marshal(v)
		must(t, what, err)
		if s := string(b); strings.Contains(s, "tok-s3cr3t") || strings.Contains(s, secret[len(webhook.SecretPrefix):]) {
			t.Errorf("%s holds a secret: %s", what, s)
		}
	}
	got, err := f.app.Workflow.Rules.Get(f.ctx, r.ID)
	must(t, "rule", err)
	leaks("the rule", got)
	var p workflow.WebhookParams
	must(t, "params", json.Unmarshal(got.Actions[0].Params, &p))
	if !strings.HasPrefix(p.Secret, storage.SecretRefPrefix) || !strings.HasPrefix(p.Headers["Authorization"], storage.SecretRefPrefix) ||
		p.Headers["X-Source"] != "crm" {
		t.Errorf("the rule's webhook = %+v, want references for the secret and the credentials only", p)
	}
	hist, err := f.app.History(f.ctx, r.ID, storage.PageQuery{})
	must(t, "history", err)
	leaks("the rule's history", hist.Items)
	feed, err := f.app.Changes(f.ctx, "", storage.MaxLimit)
	must(t, "feed", err)
	leaks("the change feed", feed.Events)

	f.contact(f.ctx, contacts.NewContact{FirstName: "Grace"})
	f.settle()
	got1 := rc.got("")
	if len(got1) != 1 || got1[0].verify != nil || got1[0].header.Get("Authorization") != token {
		t.Fatalf("the receiver got %d calls: %+v", len(got1), got1)
	}

	// Only admins set secrets; a member reads none.
	acc := access.NewService(f.store)
	all := map[storage.Action]storage.Scope{storage.ActionRead: storage.ScopeAll, storage.ActionCreate: storage.ScopeAll,
		storage.ActionUpdate: storage.ScopeAll, storage.ActionDelete: storage.ScopeAll, storage.ActionExport: storage.ScopeAll}
	_, err = acc.DefineRole(f.ctx, access.NewRole{Name: "builder", Permissions: storage.Permissions{storage.AnyType: all}})
	must(t, "role", err)
	m, err := acc.CreateMember(f.ctx, access.NewMember{Name: "Builder", Role: "builder"})
	must(t, "member", err)
	mctx, err := acc.As(f.ctx, m.ID)
	must(t, "as", err)
	_, err = f.app.Workflow.Rules.Create(mctx, workflow.NewRule{Name: "Mine", Trigger: created,
		Actions: []workflow.Action{workflow.CallWebhook(workflow.WebhookParams{URL: srv.URL, Headers: map[string]string{"X-Api-Key": "k-1"}})}})
	wantErr(t, "a member sets a credential", err, storage.ErrForbidden)
	sec := f.store.(storage.Secrets)
	name := strings.TrimPrefix(p.Headers["Authorization"], storage.SecretRefPrefix)
	_, err = sec.Secret(mctx, name)
	wantErr(t, "a member reads a secret", err, storage.ErrForbidden)

	// The credentials dropped from the rule, then the rule itself: their
	// secrets go.
	hook.Headers = map[string]string{"X-Source": "crm"}
	hook.Secret = p.Secret
	acts := []workflow.Action{workflow.CallWebhook(hook)}
	_, err = f.app.Workflow.Rules.Update(f.ctx, r.ID, workflow.UpdateRule{Actions: &acts})
	must(t, "update", err)
	_, err = sec.Secret(f.ctx, name)
	wantErr(t, "the dropped credential", err, storage.ErrNotFound)
	if v, err := sec.Secret(f.ctx, strings.TrimPrefix(p.Secret, storage.SecretRefPrefix)); err != nil || v != secret {
		t.Errorf("the kept signing secret: %v", err)
	}
	must(t, "delete", f.app.Workflow.Rules.Delete(f.ctx, r.ID))
	_, err = sec.Secret(f.ctx, strings.TrimPrefix(p.Secret, storage.SecretRefPrefix))
	wantErr(t, "the deleted rule's secret", err, storage.ErrNotFound)
}

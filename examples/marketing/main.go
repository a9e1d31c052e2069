// Command marketing shows the marketing module at work on an embedded
// SQLite file: a web form with double opt-in, a lead-scoring rule, a
// segment, and a campaign email to it with open and click tracking and
// one-click unsubscribe. The links in the mail are served by package
// marketing/web on a local HTTP server and followed by the program as a
// subscriber's mail client and browser would; the mail itself goes to an
// in-memory outbox.
//
//	go run ./examples/marketing
package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/crmkit/crm"
	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/marketing"
	"github.com/crmkit/crm/marketing/web"
	"github.com/crmkit/crm/storage/sqlite"
	"github.com/crmkit/crm/workflow"
	"github.com/crmkit/crm/workflow/send"
)

func main() {
	if err := run(context.Background()); err != nil {
		log.Fatal(err)
	}
}

// outbox is a send.Mailer that keeps the mail it is given.
type outbox struct {
	mu   sync.Mutex
	mail []send.Message
}

func (o *outbox) Send(_ context.Context, m send.Message) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.mail = append(o.mail, m)
	return nil
}

func (o *outbox) last() send.Message {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.mail[len(o.mail)-1]
}

// browser follows links without following redirects, so the program can
// show where they lead.
var browser = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func visit(ctx context.Context, method, link string, form url.Values) (*http.Response, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, link, body)
	if err != nil {
		return nil, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("User-Agent", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15")
	resp, err := browser.Do(req)
	if err != nil {
		return nil, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp, nil
}

// clock is the simulated time the marketing module runs on: a person's
// click within two seconds of the send would be taken for a mail
// server's link scanner.
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return time.Now().Add(c.off) }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
}

// link returns the first link in s to the handler's route.
func link(s, base, route string) string {
	return regexp.MustCompile(regexp.QuoteMeta(base) + "/" + route + `/[A-Za-z0-9_.-]+`).FindString(s)
}

func run(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "crm-marketing")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	store, err := sqlite.Open(ctx, filepath.Join(dir, "crm.db"))
	if err != nil {
		return err
	}
	defer store.Close()

	// The host's web server: the marketing links live under /m.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String() + "/m"
	mux := http.NewServeMux()
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	defer srv.Close()

	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	mail, now := &outbox{}, &clock{}
	app, err := crm.New(ctx, store, crm.Config{Marketing: marketing.Options{Mailer: mail, From: "Acme News <news@acme.example>",
		BaseURL: base, Key: key, Now: now.Now}, Workflow: workflow.Config{Now: now.Now}})
	if err != nil {
		return err
	}
	mux.Handle("/m/", http.StripPrefix("/m", web.New(app.Marketing, web.Options{Name: "Acme"})))
	m := app.Marketing

	// 1. A newsletter with double opt-in, and a sign-up form for it.
	news, err := m.Lists.Create(ctx, marketing.NewList{Key: "news", Name: "Acme News", DoubleOptIn: true})
	if err != nil {
		return err
	}
	form, err := m.Forms.Create(ctx, marketing.NewForm{Name: "Newsletter sign-up", Target: marketing.FormContact, ListID: news.ID,
		Fields: []marketing.FormField{{Name: "email", Label: "Email", Field: "email"}, {Name: "name", Label: "First name", Field: "first_name"}}})
	if err != nil {
		return err
	}
	// Who signs up gets a nurture sequence: tagged now, again three days
	// later, unless a deal comes first.
	rules, err := marketing.Nurture{Name: "Welcome", FormID: form.ID, ExitOnDeal: true,
		Steps: []workflow.Action{workflow.AddTag("welcomed"), workflow.Wait(72 * time.Hour), workflow.AddTag("nurtured")}}.Rules()
	if err != nil {
		return err
	}
	for _, r := range rules {
		if err := app.Workflow.Define(ctx, r); err != nil {
			return err
		}
	}
	formURL, err := m.Forms.URL(ctx, form.ID)
	if err != nil {
		return err
	}
	resp, err := visit(ctx, "POST", formURL, url.Values{"email": {"ada@example.com"}, "name": {"Ada"}, "utm_source": {"blog"}})
	if err != nil {
		return err
	}
	fmt.Printf("form posted: %s\n", resp.Status)
	confirm := mail.last()
	fmt.Printf("mail to %s: %q\n", confirm.To[0], confirm.Subject)
	confirmLink := link(confirm.Text, base, "confirm")
	if _, err := visit(ctx, "GET", confirmLink, nil); err != nil { // a link scanner's GET confirms nothing
		return err
	}
	if _, err := visit(ctx, "POST", confirmLink, url.Values{}); err != nil {
		return err
	}
	n, err := m.Lists.Count(ctx, news.ID, marketing.Subscribed)
	if err != nil {
		return err
	}
	fmt.Printf("confirmed: %d subscriber of %s\n", n, news.Name)
	for _, c := range []contacts.NewContact{{FirstName: "Bob", Email: "bob@example.com"}, {FirstName: "Cy", Email: "cy@example.com"}} {
		p, err := app.Contacts.Create(ctx, c)
		if err != nil {
			return err
		}
		if _, err := m.Lists.Subscribe(ctx, news.ID, p.ID, marketing.SubscribeOptions{Source: "import", Confirmed: true}); err != nil {
			return err
		}
	}

	// 2. Lead scoring: signing up counts, and each click, fading by half
	// a week.
	for _, r := range []marketing.NewScoringRule{
		{Name: "Signed up", Kind: marketing.ScoreFit, Where: `source == "web form"`, Points: 20},
		{Name: "Clicks", Kind: marketing.ScoreBehaviour, Behaviour: marketing.BehaviourClick, Points: 30, HalfLifeDays: 7},
	} {
		if _, err := m.Scoring.Create(ctx, r); err != nil {
			return err
		}
	}

	// 3. A segment and a campaign email to it, tracked.
	seg, err := m.Segments.Create(ctx, marketing.NewSegment{Name: "Everyone with an address", Where: `email != ""`})
	if err != nil {
		return err
	}
	camp, err := m.Campaigns.Create(ctx, marketing.NewCampaign{Name: "Spring Sale"})
	if err != nil {
		return err
	}
	em, err := m.Emails.Create(ctx, marketing.NewEmail{CampaignID: camp.ID, Name: "Launch", SegmentID: seg.ID, ListID: news.ID,
		Subject: "Spring sale, {{.Contact.FirstName}}",
		HTML: `<p>Hello {{.Contact.FirstName}},</p><p><a href="https://shop.example/sale">See the sale</a></p>` +
			`<p><a href="{{.UnsubscribeURL}}" data-notrack>Unsubscribe</a></p>`,
		Text: "Hello {{.Contact.FirstName}}, see https://shop.example/sale\nUnsubscribe: {{.UnsubscribeURL}}"})
	if err != nil {
		return err
	}
	rep, err := m.Emails.Send(ctx, em.ID)
	if err != nil {
		return err
	}
	fmt.Printf("campaign sent: %d messages, %d suppressed, status %s\n", rep.Sent, rep.Suppressed, rep.Status)

	// 4. An hour later Ada opens and clicks; Bob unsubscribes with one
	// click.
	now.Add(time.Hour)
	var adaMail, bobMail send.Message
	for _, msg := range mail.mail {
		switch msg.To[0] {
		case "ada@example.com":
			adaMail = msg
		case "bob@example.com":
			bobMail = msg
		}
	}
	if _, err := visit(ctx, "GET", link(adaMail.HTML, base, "o"), nil); err != nil {
		return err
	}
	resp, err = visit(ctx, "GET", link(adaMail.HTML, base, "c"), nil)
	if err != nil {
		return err
	}
	fmt.Printf("click: %s to %s\n", resp.Status, resp.Header.Get("Location"))
	unsub := link(bobMail.Headers["List-Unsubscribe"], base, "u")
	if _, err := visit(ctx, "POST", unsub, url.Values{"List-Unsubscribe": {"One-Click"}}); err != nil {
		return err
	}
	n, err = m.Lists.Count(ctx, news.ID, marketing.Subscribed)
	if err != nil {
		return err
	}
	fmt.Printf("after one-click unsubscribe: %d subscribers\n", n)

	// 5. The feed keeps segments and scores current.
	if _, err := m.Sync(ctx); err != nil {
		return err
	}
	page, err := app.Contacts.List(ctx, crm.ListQuery{Filter: crm.Eq("email", "ada@example.com")})
	if err != nil {
		return err
	}
	score, err := m.Scoring.Get(ctx, page.Items[0].ID)
	if err != nil {
		return err
	}
	fmt.Printf("Ada's lead score: %d (fit %d, behaviour %d), %s\n", score.Total, score.Fit, score.Behaviour, score.Band)
	stats, err := m.Campaigns.Stats(ctx, camp.ID)
	if err != nil {
		return err
	}
	fmt.Printf("campaign: %d sent, %d opened, %d clicked\n", stats.Messages[marketing.MessageSent], stats.Opened, stats.Clicked)

	// 6. The nurture sequence runs on Ada, who signed up by the form.
	ada := page.Items[0].ID
	for _, step := range []struct {
		when string
		wait time.Duration
	}{{"now", 0}, {"three days later", 73 * time.Hour}} {
		now.Add(step.wait)
		if _, err := app.Workflow.Drain(ctx); err != nil {
			return err
		}
		c, err := app.Contacts.Get(ctx, ada)
		if err != nil {
			return err
		}
		fmt.Printf("nurture, %s: Ada's tags %v\n", step.when, c.Tags)
	}
	return nil
}

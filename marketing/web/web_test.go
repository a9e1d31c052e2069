package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/crmkit/crm"
	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/internal/mailtest"
	"github.com/crmkit/crm/internal/testdb"
	"github.com/crmkit/crm/marketing"
	"github.com/crmkit/crm/marketing/web"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/workflow/smtp"
)

// fixture is a CRM on SQLite whose marketing links point at a test
// server running the handler, mailing through a real SMTP server.
type fixture struct {
	t    *testing.T
	app  *crm.CRM
	ctx  context.Context
	srv  *httptest.Server
	mail *mailtest.Server
	// no redirects followed: the tests look at them
	client *http.Client
	store  crm.Store
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{t: t, ctx: t.Context(), mail: mailtest.Start(t, mailtest.Options{})}
	mux := http.NewServeMux()
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	mailer, err := smtp.New(smtp.Config{Host: f.mail.Host, Port: f.mail.Port, TLS: smtp.TLSNone, From: "news@acme.example"})
	if err != nil {
		t.Fatal(err)
	}
	f.store = testdb.SQLite(t)
	f.app, err = crm.New(f.ctx, f.store, crm.Config{Marketing: marketing.Options{Mailer: mailer,
		BaseURL: f.srv.URL + "/m", Key: []byte("0123456789abcdef0123456789abcdef")}})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/m/", http.StripPrefix("/m", web.New(f.app.Marketing, web.Options{Name: "Acme"})))
	f.client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return f
}

func (f *fixture) do(method, link string, body string, header ...string) (*http.Response, string) {
	f.t.Helper()
	req, err := http.NewRequestWithContext(f.ctx, method, link, strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := f.client.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// sent sends a campaign email with a link to one subscriber and returns
// the parsed mail.
func (f *fixture) sent() (*mailtest.Parsed, *contacts.Contact, *marketing.List) {
	t, m, ctx := f.t, f.app.Marketing, f.ctx
	list, err := m.Lists.Create(ctx, marketing.NewList{Key: "news", Name: "Acme News", Description: "Monthly"})
	must(t, "list", err)
	c, err := f.app.Contacts.Create(ctx, contacts.NewContact{FirstName: "Ada", Email: "ada@example.com"})
	must(t, "contact", err)
	_, err = m.Lists.Subscribe(ctx, list.ID, c.ID, marketing.SubscribeOptions{})
	must(t, "subscribe", err)
	camp, err := m.Campaigns.Create(ctx, marketing.NewCampaign{Name: "Launch"})
	must(t, "campaign", err)
	em, err := m.Emails.Create(ctx, marketing.NewEmail{CampaignID: camp.ID, Name: "Launch", ListID: list.ID, Subject: "News",
		HTML: `<p>Hi</p><a href="https://shop.example/new">New</a> <a href="{{.PreferencesURL}}" data-notrack>Preferences</a>`})
	must(t, "email", err)
	_, err = f.app.Marketing.Emails.Send(ctx, em.ID)
	must(t, "send", err)
	msgs := f.mail.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d mails", len(msgs))
	}
	p, err := msgs[0].Parse()
	must(t, "parse", err)
	return p, c, list
}

func (f *fixture) link(s, kind string) string {
	f.t.Helper()
	m := regexp.MustCompile(regexp.QuoteMeta(f.srv.URL) + `/m/` + kind + `/[A-Za-z0-9_.-]+`).FindString(s)
	if m == "" {
		f.t.Fatalf("no /%s/ link in %s", kind, s)
	}
	return m
}

func TestTrackingLinks(t *testing.T) {
	f := newFixture(t)
	p, c, list := f.sent()

	// The pixel answers a GIF whatever happens; a HEAD is a machine's.
	pix := f.link(p.HTML, "o")
	resp, body := f.do("GET", pix, "")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/gif" || !strings.HasPrefix(body, "GIF89a") ||
		resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("pixel: %d %v", resp.StatusCode, resp.Header)
	}
	resp, _ = f.do("GET", pix+"x", "")
	if resp.StatusCode != 200 {
		t.Errorf("a bad pixel token: %d", resp.StatusCode)
	}
	f.do("GET", pix, "", "Sec-Purpose", "prefetch")

	// A click redirects to the bound URL, with its UTM tags; a forged one
	// goes nowhere.
	click := f.link(p.HTML, "c")
	resp, _ = f.do("GET", click, "")
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || loc.Host != "shop.example" || loc.Query().Get("utm_campaign") != "launch" {
		t.Fatalf("click: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body = f.do("GET", click[:len(click)-4]+"AAAA", "")
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" || !strings.Contains(body, "does not work") {
		t.Errorf("a forged click: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	hits, err := storage.All(f.ctx, storage.TableOf[*marketing.Hit](f.store), nil)
	must(t, "hits", err)
	var bots, people int
	for _, h := range hits {
		if h.Bot {
			bots++
		} else {
			people++
		}
	}
	if bots < 1 || len(hits) != 3 {
		t.Errorf("hits: %d, bots %d, people %d", len(hits), bots, people)
	}

	// Unsubscribe: the GET shows a page and changes nothing; the RFC 8058
	// POST unsubscribes.
	unsub := f.link(p.Header.Get("List-Unsubscribe"), "u")
	resp, body = f.do("GET", unsub, "")
	if resp.StatusCode != 200 || !strings.Contains(body, "a***@example.com") || !strings.Contains(body, "Acme News") || !strings.Contains(body, `method="post"`) {
		t.Fatalf("unsubscribe page: %d %s", resp.StatusCode, body)
	}
	if sub, _ := f.app.Marketing.Lists.Subscription(f.ctx, list.ID, c.ID); sub.Status != marketing.Subscribed {
		t.Fatalf("a GET unsubscribed: %+v", sub)
	}
	resp, _ = f.do("POST", unsub, "List-Unsubscribe=One-Click")
	if resp.StatusCode != 200 {
		t.Fatalf("one-click: %d", resp.StatusCode)
	}
	if sub, _ := f.app.Marketing.Lists.Subscription(f.ctx, list.ID, c.ID); sub.Status != marketing.Unsubscribed {
		t.Fatalf("after one-click: %+v", sub)
	}
	resp, _ = f.do("POST", unsub+"x", "List-Unsubscribe=One-Click")
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a forged one-click: %d", resp.StatusCode)
	}

	// The preference center subscribes again.
	prefs := f.link(p.HTML, "p")
	resp, body = f.do("GET", prefs, "")
	if resp.StatusCode != 200 || !strings.Contains(body, `value="`+list.ID+`"`) || strings.Contains(body, "checked") {
		t.Fatalf("preferences: %d %s", resp.StatusCode, body)
	}
	resp, _ = f.do("POST", prefs, "list="+list.ID)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("saving preferences: %d", resp.StatusCode)
	}
	_, body = f.do("GET", prefs+"?saved=1", "")
	if !strings.Contains(body, "checked") || !strings.Contains(body, "Saved.") {
		t.Errorf("preferences after saving: %s", body)
	}
}

func TestConfirmOptIn(t *testing.T) {
	f := newFixture(t)
	m := f.app.Marketing
	list, err := m.Lists.Create(f.ctx, marketing.NewList{Key: "weekly", Name: "Weekly", DoubleOptIn: true})
	must(t, "list", err)
	c, err := f.app.Contacts.Create(f.ctx, contacts.NewContact{FirstName: "Bo", Email: "bo@example.com"})
	must(t, "contact", err)
	_, err = m.Lists.Subscribe(f.ctx, list.ID, c.ID, marketing.SubscribeOptions{Source: "test"})
	must(t, "subscribe", err)
	p, err := f.mail.Messages()[0].Parse()
	must(t, "parse", err)
	link := f.link(p.Text, "confirm")
	// A scanner's GET confirms nothing.
	resp, body := f.do("GET", link, "")
	if resp.StatusCode != 200 || !strings.Contains(body, "Confirm") {
		t.Fatalf("confirm page: %d", resp.StatusCode)
	}
	if sub, _ := m.Lists.Subscription(f.ctx, list.ID, c.ID); sub.Status != marketing.Unconfirmed {
		t.Fatalf("a GET confirmed: %+v", sub)
	}
	resp, _ = f.do("POST", link, "")
	if resp.StatusCode != 200 {
		t.Fatalf("confirm: %d", resp.StatusCode)
	}
	if sub, _ := m.Lists.Subscription(f.ctx, list.ID, c.ID); sub.Status != marketing.Subscribed {
		t.Fatalf("after confirming: %+v", sub)
	}
}

func TestForms(t *testing.T) {
	f := newFixture(t)
	m := f.app.Marketing
	form, err := m.Forms.Create(f.ctx, marketing.NewForm{Name: "Demo", RedirectURL: "https://acme.example/thanks",
		Origins: []string{"https://acme.example"}, Fields: []marketing.FormField{{Name: "email", Label: "Email", Field: "email"},
			{Name: "name", Field: "first_name", Required: true}}})
	must(t, "form", err)
	link, err := m.Forms.URL(f.ctx, form.ID)
	must(t, "url", err)

	resp, body := f.do("GET", link+"?utm_source=ads", "")
	if resp.StatusCode != 200 || !strings.Contains(body, `name="email"`) || !strings.Contains(body, marketing.HoneypotField) ||
		!strings.Contains(body, `name="utm_source" value="ads"`) || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors https://acme.example") {
		t.Fatalf("form page: %d %s", resp.StatusCode, body)
	}
	site := []string{"Origin", "https://acme.example"}
	resp, body = f.do("POST", link, "email=bad", append(site, "Accept", "application/json")...)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `"field":"email"`) || !strings.Contains(body, `"field":"name"`) {
		t.Fatalf("a bad JSON post: %d %s", resp.StatusCode, body)
	}
	resp, body = f.do("POST", link, "email=bad", site...)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `aria-invalid="true"`) || !strings.Contains(body, `value="bad"`) {
		t.Fatalf("a bad page post: %d %s", resp.StatusCode, body)
	}
	resp, _ = f.do("POST", link, "email=ada%40example.com&name=Ada&utm_source=ads", site...)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "https://acme.example/thanks" {
		t.Fatalf("a good post: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ = f.do("POST", link, "email=eve%40example.com&name=Eve", "Origin", "https://evil.example")
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("a post from another site: %d", resp.StatusCode)
	}
	// The burst is 5 posts; the 3 above count, the 3rd after is refused.
	var last int
	for range 3 {
		resp, _ = f.do("POST", link, "email=ada%40example.com&name=Ada", append(site, "Accept", "application/json")...)
		last = resp.StatusCode
	}
	if last != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("past the burst: %d", last)
	}
	posts, err := m.Forms.Posts(f.ctx, form.ID, storage.PageQuery{})
	must(t, "posts", err)
	if len(posts.Items) != 3 || posts.Items[0].UTM.Source != "ads" {
		t.Errorf("posts = %+v", posts.Items)
	}
}

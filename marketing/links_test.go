package marketing

import (
	"bytes"
	htmltemplate "html/template"
	"strings"
	"testing"
	"time"

	xhtml "golang.org/x/net/html"
)

func TestAddUTM(t *testing.T) {
	t.Parallel()
	tags := UTM{Source: "news", Medium: "email", Campaign: "spring sale"}
	for _, c := range []struct{ in, want string }{
		{"https://shop.example/p", "https://shop.example/p?utm_source=news&utm_medium=email&utm_campaign=spring+sale"},
		{"https://shop.example/p?a=1&b=2#top", "https://shop.example/p?a=1&b=2&utm_source=news&utm_medium=email&utm_campaign=spring+sale#top"},
		{"https://shop.example/?utm_source=ads", "https://shop.example/?utm_source=ads&utm_medium=email&utm_campaign=spring+sale"},
		{"mailto:help@acme.example", "mailto:help@acme.example"},
		{"/relative", "/relative"},
		{"ftp://x.example/", "ftp://x.example/"},
	} {
		if got := addUTM(c.in, tags); got != c.want {
			t.Errorf("addUTM(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestRewriteLinks(t *testing.T) {
	t.Parallel()
	wrap := func(u string) string { return "https://t.example/c?u=" + u }
	for _, c := range []struct{ in, want string }{
		{`<a href="https://a.example/x?a=1&amp;b=2">x</a>`, `<a href="https://t.example/c?u=https://a.example/x?a=1&amp;b=2">x</a>`},
		{`<A HREF='http://a.example/'>x</A>`, `<a href="https://t.example/c?u=http://a.example/">x</A>`},
		{`<a class=btn href=https://a.example/>x</a>`, `<a class="btn" href="https://t.example/c?u=https://a.example/">x</a>`},
		{`<a href="mailto:x@a.example">m</a> <a href="#top">t</a> <a href="/rel">r</a> <a name="n">n</a>`,
			`<a href="mailto:x@a.example">m</a> <a href="#top">t</a> <a href="/rel">r</a> <a name="n">n</a>`},
		{`<a href="https://a.example/" data-notrack>x</a>`, `<a href="https://a.example/">x</a>`},
		{`<area shape="rect" href="https://a.example/">`, `<area shape="rect" href="https://t.example/c?u=https://a.example/">`},
		{`<!-- <a href="https://a.example/"> --><style>a[href="https://a.example/"]{}</style><script>var s='<a href="https://a.example/">'</script>`,
			`<!-- <a href="https://a.example/"> --><style>a[href="https://a.example/"]{}</style><script>var s='<a href="https://a.example/">'</script>`},
		{`<p>Hi <b>you</b></p><img src="x.png"/>`, `<p>Hi <b>you</b></p><img src="x.png"/>`},
	} {
		got, err := rewriteLinks(c.in, wrap)
		if err != nil || got != c.want {
			t.Errorf("rewriteLinks(%s)\n got %s (%v)\nwant %s", c.in, got, err, c.want)
		}
		if _, err := xhtml.Parse(strings.NewReader(got)); err != nil {
			t.Errorf("the output does not parse: %v", err)
		}
	}
}

func TestAddPixel(t *testing.T) {
	t.Parallel()
	if got := addPixel("<html><body><p>x</p></BODY></html>", "https://t.example/o/a&b"); !strings.Contains(got,
		`<img src="https://t.example/o/a&amp;b" width="1" height="1" alt=""`) || !strings.HasSuffix(got, "</BODY></html>") {
		t.Errorf("addPixel = %s", got)
	}
	if got := addPixel("<p>x</p>", "https://t.example/o/a"); !strings.HasPrefix(got, "<p>x</p><img ") {
		t.Errorf("addPixel without a body = %s", got)
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	const (
		chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
		safari = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
	)
	for _, c := range []struct {
		h     HitInfo
		since time.Duration
		bot   bool
		why   string
	}{
		{HitInfo{Method: "GET", UserAgent: chrome}, time.Minute, false, ""},
		{HitInfo{Method: "GET", UserAgent: safari}, time.Hour, false, ""},
		{HitInfo{Method: "GET", UserAgent: "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"}, time.Second, false, ""},
		{HitInfo{Method: "GET", UserAgent: chrome}, time.Second, true, "too soon after send"},
		{HitInfo{Method: "GET", UserAgent: chrome}, -1, false, ""},
		{HitInfo{Method: "HEAD", UserAgent: chrome}, time.Hour, true, "head request"},
		{HitInfo{Method: "GET", UserAgent: chrome, Prefetch: true}, time.Hour, true, "prefetch"},
		{HitInfo{Method: "GET"}, time.Hour, true, "empty user agent"},
		{HitInfo{Method: "GET", UserAgent: "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"}, time.Hour, true, "bot user agent"},
		{HitInfo{Method: "GET", UserAgent: "curl/8.5.0"}, time.Hour, true, "bot user agent"},
		{HitInfo{Method: "GET", UserAgent: "Barracuda Sentinel (EE)"}, time.Hour, true, "security scanner"},
		{HitInfo{Method: "GET", UserAgent: "Mozilla/5.0 (compatible; Proofpoint URL Defense)"}, time.Hour, true, "security scanner"},
		{HitInfo{Method: "GET", UserAgent: "facebookexternalhit/1.1"}, time.Hour, true, "bot user agent"},
	} {
		bot, why := classify(c.h, c.since)
		if bot != c.bot || why != c.why {
			t.Errorf("classify(%+v, %v) = %v %q, want %v %q", c.h, c.since, bot, why, c.bot, c.why)
		}
	}
}

// TestPlanLinks checks that an HTML template with its links planned in
// its source, rendered and filled, gives what rewriting the links of the
// rendered mail gives, and that the links only a rendered mail shows are
// left to that rewrite.
func TestPlanLinks(t *testing.T) {
	t.Parallel()
	wrap := func(u string) string { return "https://t.example/c?u=" + u + "&n=1" }
	data := map[string]any{"Name": `Ada <b>&`, "URL": "https://u.example/x?a=1&b=2", "Unsub": "https://t.example/u/tok", "On": true}
	for _, c := range []struct {
		src     string
		planned bool
	}{
		{`<a href="https://a.example/x?a=1&amp;b=2">x</a>`, true},
		{`<A HREF='http://a.example/'>x</A> <a class=btn href=https://a.example/>y</a>`, true},
		{`<p>Hi {{.Name}}</p><a href="mailto:x@a.example">m</a> <a href="#top">t</a> <a href="/rel">r</a>`, true},
		{`<a href="https://a.example/" data-notrack>x</a><area shape="rect" href="https://a.example/">`, true},
		{`<!-- <a href="https://a.example/"> --><style>a[href="https://a.example/"]{}</style><p>{{.Name}}</p>`, true},
		{`<p>Hello {{.Name}},</p><a href="https://shop.example/sale?x=1">sale</a> <a href="{{.Unsub}}" data-notrack>Unsubscribe</a>`, true},
		{`<a href="{{.Unsub}}" title="Leave, {{.Name}}" DATA-NOTRACK class="u">Leave</a><a href="https://a.example/2">2</a>`, true},
		{`{{if .On}}<a href="https://a.example/on">on</a>{{else}}<a href="https://a.example/off">off</a>{{end}}`, true},
		{`{{range $i, $x := .List}}<a href="https://a.example/{{$i}}">{{$x}}</a>{{end}}`, false},
		{`<a href="{{.URL}}">dynamic</a> <a href="https://a.example/">static</a>`, false},
		{`<a {{if .On}}class="on"{{end}} href="https://a.example/">x</a>`, false},
		{`{{"<a href='https://a.example/in-action'>"}} <a href="https://a.example/">x</a>`, false},
		{`<a href="https://a.example/crm-link-0-">literal</a> crm-link-`, true},
		// Braces as entities stay text, never an action.
		{`<a title="&#123;&#123;.Name&#125;&#125;" href="https://a.example/">x</a>`, false},
		// A mark an action may add or drop.
		{`<a {{if .On}} data-notrack {{end}} href="https://a.example/">x</a>`, false},
		{`<a {{/* data-notrack */}} href="https://a.example/">x</a>`, false},
		// A "}}" in CSS is text; the link in the action after it is not planned.
		{"<style>@media screen{.a{color:red}}</style>{{`<a href='https://a.example/in'>`}} <a href=\"https://a.example/\">x</a>", false},
		{`<style>@media screen{.a{color:red}}</style><a href="https://a.example/">x</a>`, true},
	} {
		orig := htmltemplate.Must(htmltemplate.New("h").Option("missingkey=zero").Parse(c.src))
		var want bytes.Buffer
		if err := orig.Execute(&want, data); err != nil {
			t.Fatalf("%s: %v", c.src, err)
		}
		rewritten, err := rewriteLinks(want.String(), wrap)
		if err != nil {
			t.Fatal(err)
		}
		plan := planLinks(c.src)
		if (plan != nil) != c.planned {
			t.Errorf("planLinks(%s) planned = %v, want %v", c.src, plan != nil, c.planned)
		}
		if plan == nil {
			continue
		}
		linked, err := htmltemplate.New("h").Option("missingkey=zero").Parse(plan.src)
		if err != nil {
			t.Fatalf("the planned source of %s does not parse: %v\n%s", c.src, err, plan.src)
		}
		var got bytes.Buffer
		if err := linked.Execute(&got, data); err != nil {
			t.Fatal(err)
		}
		if filled := plan.fill(got.String(), wrap); filled != rewritten {
			t.Errorf("planned links of %s\n got %s\nwant %s", c.src, filled, rewritten)
		}
	}
}

func BenchmarkLinks(b *testing.B) {
	src := `<html><head><style>p{margin:0}</style></head><body>` + strings.Repeat(`<table><tr><td style="padding:8px;font-family:Arial">Some text for {{.Name}} here.</td></tr></table>`, 100) +
		`<a href="https://shop.example/sale?x=1">sale</a> <a href="https://shop.example/new">new</a> <a href="{{.Unsub}}" data-notrack>Unsubscribe</a></body></html>`
	data := map[string]any{"Name": "Ada", "Unsub": "https://t.example/u/tok"}
	wrap := func(u string) string { return "https://t.example/c/" + u }
	orig := htmltemplate.Must(htmltemplate.New("h").Parse(src))
	plan := planLinks(src)
	linked := htmltemplate.Must(htmltemplate.New("h").Parse(plan.src))
	b.Run("rewrite", func(b *testing.B) {
		var buf bytes.Buffer
		for b.Loop() {
			buf.Reset()
			_ = orig.Execute(&buf, data)
			if _, err := rewriteLinks(buf.String(), wrap); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("planned", func(b *testing.B) {
		var buf bytes.Buffer
		for b.Loop() {
			buf.Reset()
			_ = linked.Execute(&buf, data)
			_ = plan.fill(buf.String(), wrap)
		}
	})
}

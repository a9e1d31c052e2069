package marketing

import (
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

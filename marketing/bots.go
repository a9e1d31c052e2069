package marketing

import (
	"strings"
	"time"
)

// HitInfo is what a tracking handler knows of a request on a link.
type HitInfo struct {
	// Method is the HTTP method: GET, HEAD, POST.
	Method    string
	UserAgent string
	// IP is the client's address; it is not stored.
	IP string
	// Prefetch says the request declared itself a prefetch or preview
	// (Purpose: prefetch, Sec-Purpose: prefetch, X-Purpose: preview,
	// X-Moz: prefetch).
	Prefetch bool
}

// minHumanDelay is how soon after a send a hit is taken for a mail
// server's link scanner rather than a person.
const minHumanDelay = 2 * time.Second

// scanners are user-agent fragments (lower-case) of mail security
// gateways that follow every link; crawlers are those of bots, link
// previews and HTTP libraries.
var (
	scanners = []string{"barracuda", "mimecast", "proofpoint", "symantec", "trendmicro", "trend micro", "bitdefender",
		"forcepoint", "sophos", "fortinet", "cisco ironport", "safelinks", "messagelabs"}
	crawlers = []string{"bot", "crawler", "spider", "slurp", "curl/", "wget", "python-requests", "python-urllib", "go-http-client",
		"java/", "libwww", "okhttp", "headless", "phantomjs", "facebookexternalhit", "whatsapp", "skypeuripreview",
		"microsoft office", "ms-office", "preview", "httpclient", "axios", "node-fetch", "scrapy"}
)

// classify reports whether a hit on a message sent sinceSend ago (negative
// when not known) was made by a machine, and why. Image proxies that fetch
// on a real open (GoogleImageProxy, Yahoo's) are people.
func classify(h HitInfo, sinceSend time.Duration) (bot bool, reason string) {
	ua := strings.ToLower(h.UserAgent)
	switch {
	case h.Prefetch:
		return true, "prefetch"
	case strings.EqualFold(h.Method, "HEAD"):
		return true, "head request"
	case strings.TrimSpace(ua) == "":
		return true, "empty user agent"
	case strings.Contains(ua, "googleimageproxy") || strings.Contains(ua, "yahoomailproxy"):
		return false, ""
	}
	for _, s := range scanners {
		if strings.Contains(ua, s) {
			return true, "security scanner"
		}
	}
	for _, s := range crawlers {
		if strings.Contains(ua, s) {
			return true, "bot user agent"
		}
	}
	if sinceSend >= 0 && sinceSend < minHumanDelay {
		return true, "too soon after send"
	}
	return false, ""
}

// Package web serves the links in the mail the marketing module sends: the
// open pixel, click redirects, unsubscribe (RFC 8058 one-click and a
// confirmation page), double opt-in confirmations and the preference
// center. A host mounts the handler where marketing.Options.BaseURL
// points:
//
//	mux.Handle("/m/", http.StripPrefix("/m", web.New(app.Marketing, web.Options{})))
//
// Every link carries a token the marketing service signed; the handler
// acts in the workspace the token names, and a token it did not sign gets
// a plain error page (a click never redirects anywhere a token does not
// name). No request that a link scanner or a mail client's prefetch makes
// with GET changes a subscription: unsubscribing and confirming take a
// POST.
package web

import (
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"strings"

	"golang.org/x/time/rate"

	"github.com/crmkit/crm/marketing"
	"github.com/crmkit/crm/storage"
)

// Options configure the handler. The zero value works.
type Options struct {
	// Name is the sender's name shown on the pages, such as "Acme".
	// Default: "our".
	Name string
	// Logger receives the errors of the store the pages hide. Default:
	// slog.Default().
	Logger *slog.Logger
	// FormRate bounds the posts of web forms per client address: so many
	// per minute, with bursts of FormBurst. Default: 10 a minute, bursts
	// of 5. More is 429 Too Many Requests.
	FormRate  float64
	FormBurst int
}

// handler serves the marketing links.
type handler struct {
	svc    *marketing.Service
	opts   Options
	mux    *http.ServeMux
	limits *limiter
}

// New returns the handler of svc's links, with these routes (relative to
// where it is mounted):
//
//	GET, HEAD  /o/{token}        the open pixel (a 1×1 GIF, whatever the token)
//	GET        /c/{token}        a click: 302 to the link's URL
//	GET        /u/{token}        the unsubscribe page; POST unsubscribes
//	                             (also RFC 8058 one-click)
//	GET        /confirm/{token}  the opt-in confirmation page; POST confirms
//	GET        /p/{token}        the preference center; POST saves it
//	GET        /f/{token}        a web form; POST submits it (JSON when
//	                             the request accepts it, else a redirect)
func New(svc *marketing.Service, opts Options) http.Handler {
	if opts.Name == "" {
		opts.Name = "our"
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.FormRate <= 0 {
		opts.FormRate = 10
	}
	if opts.FormBurst <= 0 {
		opts.FormBurst = 5
	}
	h := &handler{svc: svc, opts: opts, mux: http.NewServeMux(),
		limits: newLimiter(rate.Limit(opts.FormRate/60), opts.FormBurst)}
	h.mux.HandleFunc("GET /o/{token}", h.open)
	h.mux.HandleFunc("GET /c/{token}", h.click)
	h.mux.HandleFunc("GET /u/{token}", h.unsubscribePage)
	h.mux.HandleFunc("POST /u/{token}", h.unsubscribe)
	h.mux.HandleFunc("GET /confirm/{token}", h.confirmPage)
	h.mux.HandleFunc("POST /confirm/{token}", h.confirm)
	h.mux.HandleFunc("GET /p/{token}", h.preferences)
	h.mux.HandleFunc("POST /p/{token}", h.savePreferences)
	h.mux.HandleFunc("GET /f/{token}", h.form)
	h.mux.HandleFunc("POST /f/{token}", h.submit)
	return h
}

// ServeHTTP sets the headers every answer carries and routes r.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer") // the token stays here
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	h.mux.ServeHTTP(w, r)
}

// hitInfo is what a request tells of who made it.
func hitInfo(r *http.Request) marketing.HitInfo {
	prefetch := false
	for _, k := range []string{"Purpose", "Sec-Purpose", "X-Purpose", "X-Moz"} {
		v := strings.ToLower(r.Header.Get(k))
		if strings.Contains(v, "prefetch") || strings.Contains(v, "preview") {
			prefetch = true
		}
	}
	return marketing.HitInfo{Method: r.Method, UserAgent: r.UserAgent(), IP: r.RemoteAddr, Prefetch: prefetch}
}

// pixel is a transparent 1×1 GIF.
var pixel = []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")

func (h *handler) open(w http.ResponseWriter, r *http.Request) {
	if err := h.svc.Tracking.Open(r.Context(), r.PathValue("token"), hitInfo(r)); err != nil && !quiet(err) {
		h.opts.Logger.ErrorContext(r.Context(), "marketing: recording an open", "err", err)
	}
	w.Header().Set("Content-Type", "image/gif")
	_, _ = w.Write(pixel)
}

func (h *handler) click(w http.ResponseWriter, r *http.Request) {
	target, err := h.svc.Tracking.Click(r.Context(), r.PathValue("token"), hitInfo(r))
	if target == "" {
		h.page(w, http.StatusBadRequest, page{Title: "This link does not work", Text: "The link is damaged or was not made by us."})
		return
	}
	if err != nil {
		h.opts.Logger.ErrorContext(r.Context(), "marketing: recording a click", "err", err)
	}
	http.Redirect(w, r, target, http.StatusFound)
}

func (h *handler) unsubscribePage(w http.ResponseWriter, r *http.Request) {
	who, err := h.svc.Tracking.Recipient(r.Context(), r.PathValue("token"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	text := "Stop all mail from " + h.opts.Name + " to " + who.Address + "?"
	if who.List != "" {
		text = "Unsubscribe " + who.Address + " from " + who.List + "?"
	}
	h.page(w, http.StatusOK, page{Title: "Unsubscribe", Text: text, Button: "Unsubscribe", OneClick: true})
}

func (h *handler) unsubscribe(w http.ResponseWriter, r *http.Request) {
	// RFC 8058: the one-click POST's body is "List-Unsubscribe=One-Click";
	// the page's form posts the same. Either way the token is the proof.
	if err := h.svc.Tracking.Unsubscribe(r.Context(), r.PathValue("token"), hitInfo(r)); err != nil {
		h.fail(w, r, err)
		return
	}
	h.page(w, http.StatusOK, page{Title: "Unsubscribed", Text: "You will not get this mail any more."})
}

func (h *handler) confirmPage(w http.ResponseWriter, r *http.Request) {
	h.page(w, http.StatusOK, page{Title: "Confirm your subscription", Text: "Please confirm that you want " + h.opts.Name + " mail.",
		Button: "Confirm"})
}

func (h *handler) confirm(w http.ResponseWriter, r *http.Request) {
	if _, err := h.svc.Tracking.Confirm(r.Context(), r.PathValue("token")); err != nil {
		h.fail(w, r, err)
		return
	}
	h.page(w, http.StatusOK, page{Title: "Subscribed", Text: "Thank you: your subscription is confirmed."})
}

func (h *handler) preferences(w http.ResponseWriter, r *http.Request) {
	p, err := h.svc.Tracking.Preferences(r.Context(), r.PathValue("token"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	pg := page{Title: "Your subscriptions", Text: "Choose the mail " + p.Address + " gets.", Button: "Save", Prefs: p}
	if r.URL.Query().Get("saved") != "" {
		pg.Note = "Saved."
	}
	h.page(w, http.StatusOK, pg)
}

func (h *handler) savePreferences(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		h.page(w, http.StatusBadRequest, page{Title: "Not saved", Text: "The form could not be read."})
		return
	}
	if err := h.svc.Tracking.SetPreferences(r.Context(), r.PathValue("token"), r.PostForm["list"]); err != nil {
		h.fail(w, r, err)
		return
	}
	http.Redirect(w, r, r.URL.Path+"?saved=1", http.StatusSeeOther)
}

// quiet reports errors that are the link's fault, not the server's.
func quiet(err error) bool {
	return errors.Is(err, storage.ErrInvalid) || errors.Is(err, storage.ErrNotFound)
}

// fail answers an error: the link's fault as 400 or 404, the rest as 500
// (logged, its text hidden).
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, storage.ErrInvalid):
		msg := "The link is damaged, expired, or was not made by us."
		h.page(w, http.StatusBadRequest, page{Title: "This link does not work", Text: msg})
	case errors.Is(err, storage.ErrNotFound):
		h.page(w, http.StatusNotFound, page{Title: "Nothing here", Text: "What this link was for no longer exists."})
	default:
		h.opts.Logger.ErrorContext(r.Context(), "marketing: serving a link", "path", r.URL.Path, "err", err)
		h.page(w, http.StatusInternalServerError, page{Title: "Something went wrong", Text: "Please try again later."})
	}
}

// page is what the one page template shows.
type page struct {
	Title, Text, Note string
	// Button, when set, makes the page a form posting back to its URL.
	Button string
	// Prefs, when set, lists the lists with a checkbox each.
	Prefs *marketing.Preferences
	// OneClick makes the form post what an RFC 8058 client posts.
	OneClick bool
}

func (h *handler) page(w http.ResponseWriter, status int, p page) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := pageTemplate.Execute(w, p); err != nil {
		h.opts.Logger.Error("marketing: rendering a page", "err", err)
	}
}

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{{.Title}}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#222}
button{font:inherit;padding:.5rem 1.25rem;border-radius:.375rem;border:1px solid #444;background:#222;color:#fff}
label{display:block;margin:.5rem 0}small{color:#666;display:block;margin-left:1.6rem}</style></head>
<body><main><h1>{{.Title}}</h1><p>{{.Text}}</p>{{with .Note}}<p role="status">{{.}}</p>{{end}}
{{if .Button}}<form method="post">
{{with .Prefs}}{{range .Lists}}<label><input type="checkbox" name="list" value="{{.ListID}}"{{if eq .Status "subscribed"}} checked{{end}}> {{.Name}}{{with .Description}}<small>{{.}}</small>{{end}}</label>
{{end}}{{if .Suppressed}}<p>This address gets no mail at all at the moment.</p>{{end}}{{end}}
{{if .OneClick}}<input type="hidden" name="List-Unsubscribe" value="One-Click">{{end}}<button type="submit">{{.Button}}</button></form>{{end}}
</main></body></html>
`))

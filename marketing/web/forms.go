package web

import (
	"encoding/json"
	"errors"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"golang.org/x/time/rate"

	"github.com/crmkit/crm/marketing"
	"github.com/crmkit/crm/storage"
)

// limiter keeps a token bucket per client address.
type limiter struct {
	mu    sync.Mutex
	r     rate.Limit
	burst int
	m     map[string]*rate.Limiter
}

func newLimiter(r rate.Limit, burst int) *limiter {
	return &limiter{r: r, burst: burst, m: map[string]*rate.Limiter{}}
}

// maxClients bounds the buckets kept; past it they start over.
const maxClients = 10000

// allow reports whether the client at addr may post now.
func (l *limiter) allow(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.m[host]
	if b == nil {
		if len(l.m) >= maxClients {
			l.m = map[string]*rate.Limiter{}
		}
		b = rate.NewLimiter(l.r, l.burst)
		l.m[host] = b
	}
	return b.Allow()
}

func (h *handler) form(w http.ResponseWriter, r *http.Request) {
	v, err := h.svc.Forms.View(r.Context(), r.PathValue("token"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// The form may be shown in a frame of the sites it names (any, when
	// it names none).
	ancestors := "*"
	if len(v.Form.Origins) > 0 {
		ancestors = strings.Join(v.Form.Origins, " ")
	}
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors "+ancestors)
	h.showForm(w, http.StatusOK, v, r.URL.Query(), nil)
}

// wantsJSON reports whether the poster reads JSON (a script's fetch)
// rather than a page.
func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}

// origin returns the site a request came from: its Origin, or the origin
// of its Referer.
func origin(r *http.Request) string {
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		return o
	}
	if u, err := url.Parse(r.Referer()); err == nil && u.Host != "" {
		return u.Scheme + "://" + u.Host
	}
	return ""
}

// fieldError is one bad input of a JSON answer.
type fieldError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

func (h *handler) submit(w http.ResponseWriter, r *http.Request) {
	asJSON := wantsJSON(r)
	answer := func(status int, body any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(body)
	}
	v, err := h.svc.Forms.View(r.Context(), r.PathValue("token"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// Cross-site posting is what a form embedded in another site does; it
	// carries no cookie and no session, so there is nothing to forge. A
	// form that names its sites takes posts from them alone.
	o := origin(r)
	if len(v.Form.Origins) > 0 && !slices.Contains(v.Form.Origins, o) {
		if asJSON {
			answer(http.StatusForbidden, map[string]any{"ok": false, "error": "this site may not post the form"})
		} else {
			h.page(w, http.StatusForbidden, page{Title: "Not sent", Text: "This form cannot be sent from this site."})
		}
		return
	}
	if o != "" && (len(v.Form.Origins) == 0 || slices.Contains(v.Form.Origins, o)) {
		w.Header().Set("Access-Control-Allow-Origin", o)
		w.Header().Set("Vary", "Origin")
	}
	if !h.limits.allow(r.RemoteAddr) {
		w.Header().Set("Retry-After", "60")
		if asJSON {
			answer(http.StatusTooManyRequests, map[string]any{"ok": false, "error": "too many posts; try again in a minute"})
		} else {
			h.page(w, http.StatusTooManyRequests, page{Title: "Not sent", Text: "Too many posts from here: please try again in a minute."})
		}
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		h.page(w, http.StatusBadRequest, page{Title: "Not sent", Text: "The form could not be read."})
		return
	}
	_, err = h.svc.Forms.Submit(r.Context(), r.PathValue("token"), r.PostForm)
	var ve *storage.ValidationError
	switch {
	case errors.As(err, &ve):
		if asJSON {
			errs := make([]fieldError, len(ve.Fields))
			for i, f := range ve.Fields {
				errs[i] = fieldError{f.Field, f.Reason}
			}
			answer(http.StatusUnprocessableEntity, map[string]any{"ok": false, "errors": errs})
			return
		}
		bad := map[string]string{}
		for _, f := range ve.Fields {
			bad[f.Field] = f.Reason
		}
		h.showForm(w, http.StatusUnprocessableEntity, v, r.PostForm, bad)
	case err != nil:
		if asJSON && !quiet(err) {
			h.opts.Logger.ErrorContext(r.Context(), "marketing: a form post", "err", err)
			answer(http.StatusInternalServerError, map[string]any{"ok": false, "error": "the form could not be saved"})
			return
		}
		h.fail(w, r, err)
	case asJSON:
		answer(http.StatusOK, map[string]any{"ok": true})
	case v.Form.RedirectURL != "":
		http.Redirect(w, r, v.Form.RedirectURL, http.StatusSeeOther)
	default:
		h.page(w, http.StatusOK, page{Title: "Thank you", Text: "We got your message."})
	}
}

// formInput is one input of a rendered form.
type formInput struct {
	Name, Label, Type, Value, Error string
	Required                        bool
}

// showForm renders a form with the values posted and their errors.
func (h *handler) showForm(w http.ResponseWriter, status int, v *marketing.FormView, values url.Values, bad map[string]string) {
	var ins []formInput
	for _, f := range v.Form.Fields {
		typ := "text"
		switch f.Field {
		case "email":
			typ = "email"
		case "phone":
			typ = "tel"
		case "website":
			typ = "url"
		}
		ins = append(ins, formInput{Name: f.Name, Label: f.Label, Type: typ, Value: values.Get(f.Name), Error: bad[f.Name], Required: f.Required})
	}
	var utm [][2]string
	for _, k := range []string{"utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"} {
		if val := values.Get(k); val != "" {
			utm = append(utm, [2]string{k, val})
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	err := formTemplate.Execute(w, map[string]any{"Title": v.Form.Name, "Action": v.Action, "Inputs": ins, "UTM": utm,
		"Honeypot": marketing.HoneypotField})
	if err != nil {
		h.opts.Logger.Error("marketing: rendering a form", "err", err)
	}
}

var formTemplate = template.Must(template.New("form").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;color:#222}
label{display:block;margin:.75rem 0 .25rem}input{font:inherit;width:100%;box-sizing:border-box;padding:.5rem}
.err{color:#b00020;font-size:.875rem}.hp{position:absolute;left:-10000px}
button{font:inherit;margin-top:1rem;padding:.5rem 1.25rem;border:1px solid #444;background:#222;color:#fff;border-radius:.375rem}</style></head>
<body><main><h1>{{.Title}}</h1><form method="post" action="{{.Action}}">
{{range .Inputs}}{{$in := .}}<label for="f-{{.Name}}">{{.Label}}{{if .Required}} *{{end}}</label>
<input id="f-{{.Name}}" name="{{.Name}}" type="{{.Type}}" value="{{.Value}}"{{if .Required}} required{{end}}{{if .Error}} aria-invalid="true" aria-describedby="e-{{.Name}}"{{end}}>
{{with .Error}}<div class="err" id="e-{{$in.Name}}">{{.}}</div>{{end}}
{{end}}{{range .UTM}}<input type="hidden" name="{{index . 0}}" value="{{index . 1}}">
{{end}}<div class="hp" aria-hidden="true"><label>Leave this empty <input name="{{.Honeypot}}" tabindex="-1" autocomplete="off"></label></div>
<button type="submit">Send</button></form></main></body></html>
`))

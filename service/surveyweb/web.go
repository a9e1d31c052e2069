// Package surveyweb serves the links of the satisfaction surveys the
// service module mails (service.Surveys): a small HTML form for the survey
// a link's token names, and the answer it posts. A host mounts the handler
// where service.Options.BaseURL points:
//
//	mux.Handle("/service/", http.StripPrefix("/service", surveyweb.New(app.Service, surveyweb.Options{})))
//
// Every link carries a token the service signed; the handler acts in the
// workspace the token names, as the system, on the one survey it names,
// and a token it did not sign gets a plain error page (400). A GET never
// records an answer (mail scanners and prefetching clients fetch links):
// the scores in the mail link to the form with that score chosen
// ("?score=9"), and the answer is the form's POST. A survey answers once:
// a second answer gets "already answered" (409), and so does a GET of an
// answered survey (200); a link past its expiry gets 410.
//
// The pages need no JavaScript and load nothing from elsewhere.
package surveyweb

import (
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/crmkit/crm/service"
	"github.com/crmkit/crm/storage"
)

// Options configure the handler. The zero value works.
type Options struct {
	// Name is the company's name the pages thank the customer for, such
	// as "Acme". Default: "us".
	Name string
	// Logger receives the errors of the store the pages hide. Default:
	// slog.Default().
	Logger *slog.Logger
}

// handler serves the survey links.
type handler struct {
	svc  *service.Service
	opts Options
	mux  *http.ServeMux
}

// New returns the handler of svc's survey links, with these routes
// (relative to where it is mounted):
//
//	GET, HEAD  /s/{token}   the survey's form ("?score=N" chooses a score)
//	POST       /s/{token}   records the answer: fields score and comment
func New(svc *service.Service, opts Options) http.Handler {
	if opts.Name == "" {
		opts.Name = "us"
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	h := &handler{svc: svc, opts: opts, mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /s/{token}", h.form)
	h.mux.HandleFunc("POST /s/{token}", h.answer)
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

func (h *handler) form(w http.ResponseWriter, r *http.Request) {
	f, err := h.svc.Surveys.Form(r.Context(), r.PathValue("token"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if f.Answered {
		h.page(w, http.StatusOK, h.answered())
		return
	}
	chosen := int64(-1)
	if n, err := strconv.ParseInt(r.URL.Query().Get("score"), 10, 64); err == nil && n >= f.Low && n <= f.High {
		chosen = n
	}
	p := h.survey(f, chosen, "")
	if chosen >= 0 {
		p.Note = "Please confirm your answer."
	}
	h.page(w, http.StatusOK, p)
}

func (h *handler) answer(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		h.page(w, http.StatusBadRequest, page{Title: "Not recorded", Text: "The form could not be read."})
		return
	}
	score, err := strconv.ParseInt(strings.TrimSpace(r.PostForm.Get("score")), 10, 64)
	if err != nil {
		score = -1 // off every scale: the service names the field
	}
	comment := r.PostForm.Get("comment")
	_, err = h.svc.Surveys.Answer(r.Context(), token, score, comment)
	var bad *storage.ValidationError
	switch {
	case err == nil:
		h.page(w, http.StatusOK, page{Title: "Thank you", Text: "Your answer is recorded: thank you for helping " + h.opts.Name + " do better."})
	case errors.Is(err, storage.ErrConflict):
		p := h.answered()
		h.page(w, http.StatusConflict, p)
	case !errors.Is(err, service.ErrSurveyExpired) && errors.As(err, &bad) && !names(bad, "token"):
		// The answer's fault: the form again, with what to mend.
		f, ferr := h.svc.Surveys.Form(r.Context(), token)
		if ferr != nil {
			h.fail(w, r, ferr)
			return
		}
		note := "Please choose a score."
		if names(bad, "comment") {
			note = "The comment is too long; please shorten it."
		}
		chosen := int64(-1)
		if score >= f.Low && score <= f.High {
			chosen = score
		}
		h.page(w, http.StatusBadRequest, h.survey(f, chosen, comment, note))
	default:
		h.fail(w, r, err)
	}
}

// names reports whether v names field.
func names(v *storage.ValidationError, field string) bool {
	for _, f := range v.Fields {
		if f.Field == field {
			return true
		}
	}
	return false
}

// answered is the page of a survey answered already.
func (h *handler) answered() page {
	return page{Title: "Already answered", Text: "You have already answered this survey: thank you."}
}

// survey is the form of f, with the score chosen (or −1) and the comment
// typed, and a note.
func (h *handler) survey(f *service.SurveyForm, chosen int64, comment string, note ...string) page {
	p := page{Title: "A quick question", Text: f.Question, Case: f.Case, LowLabel: f.LowLabel, HighLabel: f.HighLabel,
		Comment: comment, Form: true}
	for n := f.Low; n <= f.High; n++ {
		p.Scores = append(p.Scores, choice{N: n, Checked: n == chosen})
	}
	if len(note) > 0 {
		p.Note = note[0]
	}
	return p
}

// fail answers an error: a link past its expiry as 410, one that is not
// this desk's as 400, an erased survey as 404, the rest as 500 (logged,
// its text hidden).
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, service.ErrSurveyExpired):
		h.page(w, http.StatusGone, page{Title: "This survey has closed", Text: "The link has expired; thank you all the same."})
	case errors.Is(err, storage.ErrInvalid):
		h.page(w, http.StatusBadRequest, page{Title: "This link does not work", Text: "The link is damaged or was not made by us."})
	case errors.Is(err, storage.ErrNotFound):
		h.page(w, http.StatusNotFound, page{Title: "Nothing here", Text: "The survey this link was for no longer exists."})
	default:
		h.opts.Logger.ErrorContext(r.Context(), "service: serving a survey link", "err", err)
		h.page(w, http.StatusInternalServerError, page{Title: "Something went wrong", Text: "Please try again later."})
	}
}

// page is what the page template shows.
type page struct {
	Title, Text, Note, Case string
	// Form makes the page the survey's form: the scores, a comment, a
	// button.
	Form                bool
	Scores              []choice
	LowLabel, HighLabel string
	Comment             string
}

// choice is one score of the form.
type choice struct {
	N       int64
	Checked bool
}

func (h *handler) page(w http.ResponseWriter, status int, p page) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := pageTemplate.Execute(w, p); err != nil {
		h.opts.Logger.Error("service: rendering a survey page", "err", err)
	}
}

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{{.Title}}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#222}
button{font:inherit;padding:.5rem 1.25rem;border-radius:.375rem;border:1px solid #444;background:#222;color:#fff}
fieldset{border:0;padding:0;margin:1rem 0}.scale{display:flex;flex-wrap:wrap;gap:.25rem}
.scale label{border:1px solid #999;border-radius:.25rem;padding:.25rem .6rem}.ends{display:flex;justify-content:space-between;color:#666;font-size:.875rem}
textarea{width:100%;min-height:5rem;font:inherit}</style></head>
<body><main><h1>{{.Title}}</h1>{{with .Case}}<p>About your case {{.}}</p>{{end}}<p>{{.Text}}</p>{{with .Note}}<p role="status"><strong>{{.}}</strong></p>{{end}}
{{if .Form}}<form method="post"><fieldset><legend>Your score</legend><div class="scale">
{{range .Scores}}<label><input type="radio" name="score" value="{{.N}}"{{if .Checked}} checked{{end}} required> {{.N}}</label>
{{end}}</div><div class="ends"><span>{{.LowLabel}}</span><span>{{.HighLabel}}</span></div></fieldset>
<p><label for="comment">Anything you would like to add? (optional)</label><br><textarea id="comment" name="comment" maxlength="5000">{{.Comment}}</textarea></p>
<button type="submit">Send</button></form>{{end}}
</main></body></html>
`))

package service

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"strconv"
	"strings"
	"time"

	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/workflow/send"
)

// Send mails the survey id's link to its contact through Options.Mailer
// from Options.From, and stamps SentAt; mailing again is a reminder. The
// mail offers the scale's scores as links (the link with "?score=N"),
// each opening the form with that score chosen, so that one click and a
// confirmation answer it. Whoever may read the survey may send it: the
// contact's address is read as the system. An answered survey is
// ErrConflict, an expired one ErrSurveyExpired; a contact without an
// address, or options missing the mailer, From, Key or BaseURL,
// ErrInvalid. The mail goes before SentAt is stamped: a failure to stamp
// after it went may mail it again later (at least once).
func (sv *Surveys) Send(ctx context.Context, id string) (*SurveyRequest, error) {
	if err := sv.canMail(); err != nil {
		return nil, err
	}
	r, err := sv.s.t.surveys.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return sv.send(ctx, r)
}

// canMail reports, as ErrInvalid, what the options lack for mailing
// survey links.
func (sv *Surveys) canMail() error {
	var v storage.ValidationError
	if sv.s.opts.Mailer == nil {
		v.Add("mailer", "is not configured (service.Options.Mailer)")
	}
	if sv.s.opts.From == "" {
		v.Add("from", "is not configured (service.Options.From)")
	}
	if err := sv.canLink(); err != nil {
		if bad, ok := err.(*storage.ValidationError); ok {
			v.Merge("", bad)
		}
	}
	return v.Err()
}

// send mails r's link and stamps its SentAt (as the system: whoever may
// read the survey may send it).
func (sv *Surveys) send(ctx context.Context, r *SurveyRequest) (*SurveyRequest, error) {
	if err := sv.canMail(); err != nil {
		return nil, err
	}
	if r.Answered() {
		return nil, fmt.Errorf("%w: survey %s was answered already", storage.ErrConflict, r.ID)
	}
	if storage.WriteTimeFrom(ctx).After(r.ExpiresAt) {
		return nil, expired(r)
	}
	msg, err := sv.message(ctx, r)
	if err != nil {
		return nil, err
	}
	if err := sv.s.opts.Mailer.Send(ctx, msg); err != nil {
		return nil, fmt.Errorf("service: mailing survey %s: %w", r.ID, err)
	}
	at := storage.WriteTimeFrom(ctx)
	return storage.Modify(storage.AsSystem(ctx), sv.s.store, sv.s.t.surveys, r.ID, 0, func(_ context.Context, next *SurveyRequest) error {
		next.SentAt = at
		return nil
	})
}

// message writes the mail of r's link.
func (sv *Surveys) message(ctx context.Context, r *SurveyRequest) (send.Message, error) {
	sys := storage.AsSystem(ctx)
	contact, err := sv.s.t.contacts.Get(sys, r.ContactID)
	if err != nil {
		return send.Message{}, err
	}
	if contact.Email == "" {
		return send.Message{}, storage.Invalid("contact_id", "the survey's contact has no email address")
	}
	question, low, high := r.Kind.Question()
	subject := question
	about := ""
	if r.CaseID != "" {
		c, err := sv.s.t.cases.Get(sys, r.CaseID)
		if err != nil {
			return send.Message{}, err
		}
		about = c.Ref() + " " + c.Subject
		subject = "How did we do? [" + c.Ref() + "] " + c.Subject
	}
	link := sv.link(storage.WorkspaceFrom(ctx), r.ID)
	lo, hi, _ := r.Kind.Scale()
	d := mailData{Question: question, Low: low, High: high, About: about, Link: link, Expires: r.ExpiresAt.Format("2 January 2006")}
	var text strings.Builder
	if about != "" {
		fmt.Fprintf(&text, "About your case %s.\n\n", about)
	}
	fmt.Fprintf(&text, "%s\n%d = %s, %d = %s\n\n", question, lo, low, hi, high)
	for n := lo; n <= hi; n++ {
		s := strconv.FormatInt(n, 10)
		d.Scores = append(d.Scores, mailScore{N: s, Link: link + "?score=" + s})
		fmt.Fprintf(&text, "%2d: %s?score=%s\n", n, link, s)
	}
	fmt.Fprintf(&text, "\nThe link works until %s.\n", d.Expires)
	var html strings.Builder
	if err := surveyMail.Execute(&html, d); err != nil {
		return send.Message{}, err
	}
	msg := send.Message{ID: r.ID, From: sv.s.opts.From, To: []string{contact.Email}, Subject: subject, Text: text.String(),
		HTML: html.String(), Headers: map[string]string{"Auto-Submitted": "auto-generated"}}
	return msg, send.CheckMessage(msg)
}

// mailData is what the survey mail's HTML shows.
type mailData struct {
	Question, Low, High, About, Link, Expires string
	Scores                                    []mailScore
}

type mailScore struct{ N, Link string }

var surveyMail = template.Must(template.New("survey").Parse(`<!doctype html>
<html><body style="font-family:sans-serif">{{with .About}}<p>About your case {{.}}.</p>{{end}}
<p><strong>{{.Question}}</strong></p>
<p>{{range .Scores}}<a href="{{.Link}}" style="display:inline-block;padding:6px 10px;margin:2px;border:1px solid #444;border-radius:4px;text-decoration:none">{{.N}}</a>{{end}}</p>
<p><small>{{.Low}} – {{.High}}. The link works until {{.Expires}}.</small></p>
</body></html>
`))

// SendPending mails, as Send does, up to limit surveys of the workspace
// that were never sent and can still be answered (those CSATOnResolve made
// whose mail failed, or the host's own), oldest first, and returns how
// many went. A survey that cannot be mailed (its contact has no address,
// or is gone) is passed over; it stops at the first failure of the
// mailer, returning the count so far and the error. limit ≤ 0 means 100.
func (sv *Surveys) SendPending(ctx context.Context, limit int) (int, error) {
	if err := sv.canMail(); err != nil {
		return 0, err
	}
	if limit <= 0 {
		limit = 100
	}
	page, err := sv.s.t.surveys.List(ctx, storage.ListQuery{
		Filter: storage.And{storage.Eq("sent_at", time.Time{}), storage.Eq("answered_at", time.Time{}),
			storage.Gt("expires_at", storage.WriteTimeFrom(ctx))},
		Sort: []storage.Sort{{Field: "created_at"}}, PageQuery: storage.PageQuery{Limit: limit}})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range page.Items {
		_, err := sv.send(ctx, r)
		switch {
		case errors.Is(err, storage.ErrInvalid), errors.Is(err, storage.ErrNotFound):
			continue // this survey cannot go (no address, its contact gone): the others still can
		case err != nil:
			return n, err
		}
		n++
	}
	return n, nil
}

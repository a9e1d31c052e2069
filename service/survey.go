package service

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/internal/linktoken"
	"github.com/crmkit/crm/storage"
)

// SurveyKind is what a satisfaction survey measures, and so the scale of
// its answer.
type SurveyKind string

// The survey kinds.
const (
	// SurveyCSAT asks how satisfied the customer is, 1 (very dissatisfied)
	// to 5 (very satisfied): customer satisfaction, typically after a case
	// is solved.
	SurveyCSAT SurveyKind = "csat"
	// SurveyNPS asks how likely the customer is to recommend the company,
	// 0 to 10: the net promoter score, typically in campaign waves.
	SurveyNPS SurveyKind = "nps"
	// SurveyCES asks how easy it was to get the issue handled, 1 (very
	// difficult) to 7 (very easy): customer effort.
	SurveyCES SurveyKind = "ces"
)

// Scale returns the lowest and the highest score of k's answers, and
// false for a kind that is not csat, nps or ces.
func (k SurveyKind) Scale() (lo, hi int64, ok bool) {
	switch k {
	case SurveyCSAT:
		return 1, 5, true
	case SurveyNPS:
		return 0, 10, true
	case SurveyCES:
		return 1, 7, true
	}
	return 0, 0, false
}

// Question returns the question a survey of kind k asks, and the words
// for the two ends of its scale.
func (k SurveyKind) Question() (question, low, high string) {
	switch k {
	case SurveyCSAT:
		return "How satisfied are you with the help you received?", "Very dissatisfied", "Very satisfied"
	case SurveyNPS:
		return "How likely are you to recommend us to a friend or colleague?", "Not at all likely", "Extremely likely"
	case SurveyCES:
		return "How easy was it to get your issue handled?", "Very difficult", "Very easy"
	}
	return "", "", ""
}

// MaxCommentLen bounds the comment of a survey's answer, in bytes.
const MaxCommentLen = 5000

// SurveyRequest is one person asked one survey about one subject: a
// case's CSAT, or a contact's answer to a wave of an NPS campaign. It
// holds the answer once given (AnsweredAt, Score, Comment), and answers
// once: the link it is reached by is signed, and a second answer is
// refused.
type SurveyRequest struct {
	storage.Meta
	Kind SurveyKind `bun:"kind,notnull" json:"kind"`
	// ContactID is who is asked.
	ContactID string `bun:"contact_id,notnull" json:"contact_id"`
	// CaseID is the case the survey is about, or "" for a campaign's.
	CaseID string `bun:"case_id,notnull" json:"case_id,omitempty"`
	// Wave names the campaign wave ("2026-q1") of a survey not about a
	// case: a contact is asked a kind once per case and wave.
	Wave string `bun:"wave,notnull" json:"wave,omitempty"`
	// OwnerID and TeamID are the case's when the survey was made: the
	// agent and team the answer scores (Surveys.Scores), and whoever may
	// read the case then reads the answer. They stay when the case is
	// reassigned later: the answer is about the help given then.
	OwnerID string `bun:"owner_id,notnull" json:"owner_id,omitempty"`
	TeamID  string `bun:"team_id,notnull" json:"team_id,omitempty"`
	// SentAt is when the link was last mailed (Surveys.Send), zero while it
	// was not; ExpiresAt is when it stops taking an answer.
	SentAt    time.Time `bun:"sent_at,notnull" json:"sent_at,omitzero"`
	ExpiresAt time.Time `bun:"expires_at,notnull" json:"expires_at"`
	// AnsweredAt is when the answer came, zero while none did; Score and
	// Comment are the answer.
	AnsweredAt time.Time `bun:"answered_at,notnull" json:"answered_at,omitzero"`
	Score      int64     `bun:"score,notnull" json:"score"`
	Comment    string    `bun:"comment_text,notnull" json:"comment,omitempty"`
}

// RecordType returns "survey_request".
func (*SurveyRequest) RecordType() string { return ObjectSurvey }

// Links returns the survey's contact and case, so that it appears in
// their relations.
func (r *SurveyRequest) Links() []storage.Ref {
	out := []storage.Ref{{Type: contacts.ObjectContact, ID: r.ContactID}}
	if r.CaseID != "" {
		out = append(out, storage.Ref{Type: ObjectCase, ID: r.CaseID})
	}
	return out
}

// Answered reports whether the survey has its answer.
func (r *SurveyRequest) Answered() bool { return !r.AnsweredAt.IsZero() }

// EventSurveyAnswered is the change event of a survey's answer, which
// workflow rules trigger on (a low score opening a follow-up).
const EventSurveyAnswered = ObjectSurvey + ".answered"

// ErrSurveyExpired is the error of a survey link used after its
// SurveyRequest.ExpiresAt. It comes with storage.ErrInvalid (errors.Is
// matches both): surveyweb answers it 410 Gone.
var ErrSurveyExpired = errors.New("service: the survey link has expired")

// NewSurvey is the input of Surveys.Request.
type NewSurvey struct {
	Kind SurveyKind
	// CaseID is the case the survey is about: it asks the case's contact
	// and keeps the case's owner and team.
	CaseID string
	// ContactID is who is asked. With a CaseID it is empty or the case's
	// contact.
	ContactID string
	// Wave names the campaign wave; required for a survey not about a
	// case.
	Wave string
	// ExpiresIn is how long the link takes an answer. Default:
	// Options.SurveyTTL.
	ExpiresIn time.Duration
}

// Surveys makes satisfaction surveys (CSAT, NPS, CES), mails their signed
// one-use links, records the answers that come back through them
// (service/surveyweb serves the links) and computes the scores.
type Surveys struct {
	s    *Service
	sign linktoken.Signer
	base string
	ttl  time.Duration
}

// newSurveys returns the surveys of s, with the options' defaults.
func newSurveys(s *Service) *Surveys {
	ttl := s.opts.SurveyTTL
	if ttl <= 0 {
		ttl = DefaultSurveyTTL
	}
	return &Surveys{s: s, sign: linktoken.New(s.opts.Key), base: strings.TrimRight(s.opts.BaseURL, "/"), ttl: ttl}
}

// DefaultSurveyTTL is how long a survey link takes an answer unless
// Options.SurveyTTL says otherwise.
const DefaultSurveyTTL = 30 * 24 * time.Hour

// MinKeyLen is the shortest Options.Key accepted for signing survey links.
const MinKeyLen = linktoken.MinKeyLen

// tokenSurvey is the kind of the survey links' tokens: workspace, request.
const tokenSurvey = "survey"

// canLink reports, as ErrInvalid, what the options lack for making links.
func (sv *Surveys) canLink() error {
	var v storage.ValidationError
	if len(sv.s.opts.Key) < MinKeyLen {
		v.Add("key", "must be at least %d bytes (service.Options.Key) to sign survey links", MinKeyLen)
	}
	if sv.base == "" {
		v.Add("base_url", "is not configured (service.Options.BaseURL), where survey links lead")
	}
	return v.Err()
}

// link returns the link answering the request id of workspace ws.
func (sv *Surveys) link(ws, id string) string {
	return sv.base + "/s/" + sv.sign.Sign(tokenSurvey, ws, id)
}

// Request makes a survey and returns it with its link (Options.BaseURL +
// "/s/" + a signed token), which the host may send itself or mail with
// Send. A contact is asked a kind once per case and wave: a second
// request is ErrConflict. Bad input is ErrInvalid naming each field; so
// are a key shorter than MinKeyLen ("key") and no BaseURL ("base_url").
func (sv *Surveys) Request(ctx context.Context, in NewSurvey) (*SurveyRequest, string, error) {
	if err := sv.canLink(); err != nil {
		return nil, "", err
	}
	r := &SurveyRequest{Kind: in.Kind, CaseID: strings.TrimSpace(in.CaseID), ContactID: strings.TrimSpace(in.ContactID),
		Wave: strings.TrimSpace(in.Wave)}
	err := sv.s.store.RunInTx(ctx, func(ctx context.Context) error {
		var v storage.ValidationError
		if _, _, ok := r.Kind.Scale(); !ok {
			v.Add("kind", "%q is not csat, nps or ces", r.Kind)
		}
		storage.TrimText(&v, "wave", &r.Wave, MaxTextLen)
		if in.ExpiresIn < 0 {
			v.Add("expires_in", "is negative")
		}
		switch {
		case r.CaseID != "":
			c, err := sv.s.t.cases.Get(ctx, r.CaseID)
			switch {
			case errors.Is(err, storage.ErrNotFound):
				v.Add("case_id", "no case %q", r.CaseID)
			case err != nil:
				return err
			case c.ContactID == "":
				v.Add("case_id", "case %s has no contact to ask", c.Ref())
			case r.ContactID != "" && r.ContactID != c.ContactID:
				v.Add("contact_id", "is not the contact of case %s", c.Ref())
			default:
				r.ContactID, r.OwnerID, r.TeamID = c.ContactID, c.OwnerID, c.TeamID
			}
		case r.ContactID == "":
			v.Add("contact_id", "is required (or a case_id)")
		default:
			if err := storage.CheckRef(ctx, &v, "contact_id", sv.s.store, storage.Ref{Type: contacts.ObjectContact, ID: r.ContactID}); err != nil {
				return err
			}
			if r.Wave == "" {
				v.Add("wave", "is required for a survey not about a case")
			}
		}
		if err := v.Err(); err != nil {
			return err
		}
		if err := sv.taken(ctx, r); err != nil {
			return err
		}
		ttl := sv.ttl
		if in.ExpiresIn > 0 {
			ttl = in.ExpiresIn
		}
		r.ExpiresAt = storage.WriteTimeFrom(ctx).Add(ttl)
		return sv.s.t.surveys.Insert(ctx, r)
	})
	if err != nil {
		return nil, "", err
	}
	return r, sv.link(storage.WorkspaceFrom(ctx), r.ID), nil
}

// taken is ErrConflict when r's contact was asked r's kind about r's case
// and wave before (looked up as the system: the unique index would refuse
// it anyway).
func (sv *Surveys) taken(ctx context.Context, r *SurveyRequest) error {
	n, err := sv.s.t.surveys.Count(storage.AsSystem(ctx), storage.And{storage.Eq("kind", string(r.Kind)),
		storage.Eq("contact_id", r.ContactID), storage.Eq("case_id", r.CaseID), storage.Eq("wave", r.Wave)})
	if err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("%w: the contact was asked this %s survey already", storage.ErrConflict, r.Kind)
	}
	return nil
}

// Link returns the link of the survey id, which the context's member may
// read. Options missing for links are ErrInvalid, as for Request.
func (sv *Surveys) Link(ctx context.Context, id string) (string, error) {
	if err := sv.canLink(); err != nil {
		return "", err
	}
	r, err := sv.s.t.surveys.Get(ctx, id)
	if err != nil {
		return "", err
	}
	return sv.link(storage.WorkspaceFrom(ctx), r.ID), nil
}

// Get returns the survey id.
func (sv *Surveys) Get(ctx context.Context, id string) (*SurveyRequest, error) {
	return sv.s.t.surveys.Get(ctx, id)
}

// List returns a page of surveys (filter by case_id, contact_id, kind,
// wave, answered_at…).
func (sv *Surveys) List(ctx context.Context, q storage.ListQuery) (storage.Page[*SurveyRequest], error) {
	return sv.s.t.surveys.List(ctx, q)
}

// SurveyForm is what a survey link shows: the question and its scale, or
// that the survey was answered.
type SurveyForm struct {
	Kind SurveyKind
	// Low and High bound the scale; Question, LowLabel and HighLabel word
	// it (SurveyKind.Question).
	Low, High                     int64
	Question, LowLabel, HighLabel string
	// Case names the case the survey is about ("#42 Printer on fire"), or
	// "".
	Case string
	// Answered says the survey has its answer already (Score).
	Answered bool
	Score    int64
}

// open verifies a survey link's token and returns the context of its
// workspace, as the system, with the request's ID.
func (sv *Surveys) open(ctx context.Context, token string) (context.Context, string, error) {
	f, err := sv.sign.Verify(tokenSurvey, token)
	if err != nil || len(f) != 2 || len(sv.s.opts.Key) < MinKeyLen {
		return nil, "", storage.Invalid("token", "is not a survey link of this desk")
	}
	return storage.AsSystem(storage.WithWorkspace(ctx, f[0])), f[1], nil
}

// expired returns ErrSurveyExpired (and ErrInvalid) for r.
func expired(r *SurveyRequest) error {
	return fmt.Errorf("%w: %w", ErrSurveyExpired, storage.Invalid("token", "the survey link expired on %s", r.ExpiresAt.Format("2 January 2006")))
}

// Form returns what the survey link token shows. It records nothing (mail
// scanners fetch links). A token this desk did not sign is ErrInvalid; an
// unanswered survey past its expiry ErrSurveyExpired; an erased one
// ErrNotFound. The token is the proof: it reads as the system, in the
// workspace the token names, the one survey it names.
func (sv *Surveys) Form(ctx context.Context, token string) (*SurveyForm, error) {
	ctx, id, err := sv.open(ctx, token)
	if err != nil {
		return nil, err
	}
	r, err := sv.s.t.surveys.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if !r.Answered() && storage.WriteTimeFrom(ctx).After(r.ExpiresAt) {
		return nil, expired(r)
	}
	f := &SurveyForm{Kind: r.Kind, Answered: r.Answered(), Score: r.Score}
	f.Low, f.High, _ = r.Kind.Scale()
	f.Question, f.LowLabel, f.HighLabel = r.Kind.Question()
	if r.CaseID != "" {
		c, err := sv.s.t.cases.Get(ctx, r.CaseID)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return nil, err
		}
		if c != nil {
			f.Case = c.Ref() + " " + c.Subject
		}
	}
	return f, nil
}

// Answer records the answer to the survey of the link token: score on the
// kind's scale and an optional comment. It answers once: the answer is a
// conditional update (the survey still unanswered) in one transaction, so
// of two concurrent answers one is recorded and the other is ErrConflict,
// as is every later one. A score off the scale is ErrInvalid naming
// "score", a comment too long "comment"; a bad token ErrInvalid, an
// expired link ErrSurveyExpired, an erased survey ErrNotFound. The change
// event is survey_request.answered.
func (sv *Surveys) Answer(ctx context.Context, token string, score int64, comment string) (*SurveyRequest, error) {
	ctx, id, err := sv.open(ctx, token)
	if err != nil {
		return nil, err
	}
	comment = strings.TrimSpace(comment)
	at := storage.WriteTimeFrom(ctx)
	return storage.Modify(ctx, sv.s.store, sv.s.t.surveys, id, 0, func(ctx context.Context, r *SurveyRequest) error {
		if r.Answered() {
			return fmt.Errorf("%w: the survey was answered already", storage.ErrConflict)
		}
		if at.After(r.ExpiresAt) {
			return expired(r)
		}
		if err := checkAnswer(r.Kind, score, comment); err != nil {
			return err
		}
		r.AnsweredAt, r.Score, r.Comment = at, score, comment
		return nil
	}, storage.WithEventType(EventSurveyAnswered))
}

// checkAnswer validates an answer to a survey of kind, naming each bad
// field.
func checkAnswer(kind SurveyKind, score int64, comment string) error {
	var v storage.ValidationError
	if lo, hi, _ := kind.Scale(); score < lo || score > hi {
		v.Add("score", "%d is not on the %s scale %d–%d", score, kind, lo, hi)
	}
	if len(comment) > MaxCommentLen {
		v.Add("comment", "is longer than %d bytes", MaxCommentLen)
	}
	return v.Err()
}

// csatOnResolve makes the CSAT survey of case c, which has just entered a
// resolved status, in the caller's transaction, when Options.CSATOnResolve
// is set and the case has a contact; nil when it makes none. A case is
// surveyed once: a case reopened and resolved again, or one whose contact
// was asked already, gets no second survey. It writes as the system (the
// module's own bookkeeping, whoever resolved the case).
func (sv *Surveys) csatOnResolve(ctx context.Context, c *Case) (*SurveyRequest, error) {
	if !sv.s.opts.CSATOnResolve || c.ContactID == "" || c.MergedInto != "" {
		return nil, nil
	}
	ctx = storage.AsSystem(ctx)
	n, err := sv.s.t.surveys.Count(ctx, storage.And{storage.Eq("kind", string(SurveyCSAT)), storage.Eq("case_id", c.ID)})
	if err != nil || n > 0 {
		return nil, err
	}
	at := storage.WriteTimeFrom(ctx)
	r := &SurveyRequest{Kind: SurveyCSAT, CaseID: c.ID, ContactID: c.ContactID, OwnerID: c.OwnerID, TeamID: c.TeamID,
		ExpiresAt: at.Add(sv.ttl)}
	if err := sv.s.t.surveys.Insert(ctx, r); err != nil {
		return nil, err
	}
	return r, nil
}

package marketing

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
)

// ScoreKind says what a scoring rule looks at.
type ScoreKind string

// The scoring rule kinds.
const (
	// ScoreFit: who the contact is (a condition on its fields and its
	// account's).
	ScoreFit ScoreKind = "fit"
	// ScoreBehaviour: what the contact did (opens, clicks, form posts),
	// each time, fading with age.
	ScoreBehaviour ScoreKind = "behaviour"
)

// Behaviour is what a behaviour rule counts.
type Behaviour string

// The behaviours scored.
const (
	BehaviourOpen  Behaviour = "open"  // a person's open of campaign mail
	BehaviourClick Behaviour = "click" // a person's click in campaign mail
	BehaviourForm  Behaviour = "form"  // a web form post
)

// ScoringRule gives a contact points: a fit rule when its Where matches,
// a behaviour rule for each time the contact did Behaviour, the points of
// each time halving every HalfLifeDays (0: they never fade), at most Max
// points in all (0: no cap). A contact's score is the sum of its points,
// rounded.
type ScoringRule struct {
	storage.Meta
	Name         string    `bun:"name,notnull" json:"name"`
	Kind         ScoreKind `bun:"kind,notnull" json:"kind"`
	Where        string    `bun:"where_expr,notnull" json:"where,omitempty"`
	Behaviour    Behaviour `bun:"behaviour,notnull" json:"behaviour,omitempty"`
	Points       int       `bun:"points,notnull" json:"points"`
	HalfLifeDays int       `bun:"half_life_days,notnull" json:"half_life_days,omitempty"`
	Max          int       `bun:"max_points,notnull" json:"max,omitempty"`
	Enabled      bool      `bun:"enabled,notnull" json:"enabled"`
}

// RecordType returns "scoring_rule".
func (*ScoringRule) RecordType() string { return ObjectScoringRule }

// ScoreBand is a named range of scores, such as "hot" from 80.
type ScoreBand struct {
	Name string
	Min  int
}

// DefaultBands are the bands of Options.ScoreBands by default.
var DefaultBands = []ScoreBand{{"cold", math.MinInt32}, {"warm", 40}, {"hot", 80}}

// Score is a contact's lead score: the fit and behaviour points, their
// total and its band, and, when the workspace has a predictive model, the
// model's chance of a won deal. The store writes it only when it changes;
// a change of band is its own event (lead_score.<band>, such as
// lead_score.hot), which workflow rules trigger on.
type Score struct {
	storage.Meta
	ContactID string `bun:"contact_id,notnull" json:"contact_id"`
	Fit       int    `bun:"fit,notnull" json:"fit"`
	Behaviour int    `bun:"behaviour,notnull" json:"behaviour"`
	Total     int    `bun:"total,notnull" json:"total"`
	Band      string `bun:"band,notnull" json:"band"`
	// Predicted is the newest predictive model's probability of a won
	// deal, in percent rounded (0–100); 0 when ModelID is "".
	Predicted int `bun:"predicted,notnull" json:"predicted"`
	// ModelID is the model that predicted, or "" without one (see
	// Predictive).
	ModelID string `bun:"model_id,notnull" json:"model_id,omitempty"`
}

// RecordType returns "lead_score".
func (*Score) RecordType() string { return ObjectScore }

// Links returns the contact.
func (s *Score) Links() []storage.Ref {
	return []storage.Ref{{Type: contacts.ObjectContact, ID: s.ContactID}}
}

// NewScoringRule is the input of Scoring.Create.
type NewScoringRule struct {
	Name         string
	Kind         ScoreKind
	Where        string
	Behaviour    Behaviour
	Points       int
	HalfLifeDays int
	Max          int
	Disabled     bool
}

// Scoring manages scoring rules and keeps contacts' scores.
type Scoring struct{ s *Service }

// Create adds a scoring rule and rescores every contact.
func (sc *Scoring) Create(ctx context.Context, in NewScoringRule) (*ScoringRule, error) {
	r := &ScoringRule{Name: in.Name, Kind: in.Kind, Where: in.Where, Behaviour: in.Behaviour, Points: in.Points,
		HalfLifeDays: in.HalfLifeDays, Max: in.Max, Enabled: !in.Disabled}
	if err := sc.check(ctx, r); err != nil {
		return nil, err
	}
	if err := sc.s.t.rules.Insert(ctx, r); err != nil {
		return nil, err
	}
	if _, err := sc.Refresh(ctx); err != nil {
		return r, fmt.Errorf("marketing: scoring rule %s is stored, but rescoring failed: %w", r.ID, err)
	}
	return r, nil
}

// Rules returns the workspace's scoring rules.
func (sc *Scoring) Rules(ctx context.Context) ([]*ScoringRule, error) {
	return storage.All(ctx, sc.s.t.rules, nil)
}

func (sc *Scoring) check(ctx context.Context, r *ScoringRule) error {
	var v storage.ValidationError
	storage.TrimText(&v, "name", &r.Name, MaxTextLen)
	if r.Name == "" {
		v.Add("name", "is required")
	}
	switch r.Kind {
	case ScoreFit:
		if r.Where == "" {
			v.Add("where", "a fit rule needs a condition")
		} else if _, err := sc.s.people.Filter(ctx, contacts.ObjectContact, r.Where); err != nil {
			if !errors.Is(err, storage.ErrInvalid) {
				return err
			}
			v.Add("where", "%v", err)
		}
		if r.Behaviour != "" || r.HalfLifeDays != 0 || r.Max != 0 {
			v.Add("kind", "a fit rule has no behaviour, half-life or cap")
		}
	case ScoreBehaviour:
		if !oneOf(r.Behaviour, []Behaviour{BehaviourOpen, BehaviourClick, BehaviourForm}) {
			v.Add("behaviour", "%q is not open, click or form", r.Behaviour)
		}
		if r.Where != "" {
			v.Add("where", "a behaviour rule has no condition")
		}
		if r.HalfLifeDays < 0 || r.Max < 0 {
			v.Add("half_life_days", "half-life and cap must not be negative")
		}
	default:
		v.Add("kind", "%q is not fit or behaviour", r.Kind)
	}
	if r.Points == 0 || r.Points < -1000 || r.Points > 1000 {
		v.Add("points", "must be from -1000 to 1000, not 0")
	}
	return v.Err()
}

// Get returns a contact's score, or ErrNotFound when it has none (no rule
// gave it a point and the workspace has no predictive model).
func (sc *Scoring) Get(ctx context.Context, contactID string) (*Score, error) {
	page, err := sc.s.t.scores.List(ctx, storage.ListQuery{Filter: storage.Eq("contact_id", contactID), PageQuery: storage.PageQuery{Limit: 1}})
	if err != nil {
		return nil, err
	}
	if len(page.Items) == 0 {
		return nil, fmt.Errorf("%w: contact %s has no score", storage.ErrNotFound, contactID)
	}
	return page.Items[0], nil
}

// Refresh rescores every contact of the workspace, with the rules and
// the newest predictive model: after rules change, and daily for
// behaviour points that fade and behaviour that leaves the model's window.
// It returns how many scores changed.
func (sc *Scoring) Refresh(ctx context.Context) (int, error) {
	ctx = storage.AsSystem(ctx)
	n := 0
	var ids []string
	flush := func() error {
		if len(ids) == 0 {
			return nil
		}
		c, err := sc.updateBatch(ctx, ids)
		n += c
		ids = ids[:0]
		return err
	}
	err := storage.Each(ctx, sc.s.t.contacts, storage.ListQuery{PageQuery: storage.PageQuery{Limit: batchSize}}, func(c *contacts.Contact) error {
		ids = append(ids, c.ID)
		if len(ids) == batchSize {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	// Scores of contacts deleted since.
	if err == nil {
		err = storage.Each(ctx, sc.s.t.scores, storage.ListQuery{PageQuery: storage.PageQuery{Limit: batchSize}}, func(s *Score) error {
			if _, err := sc.s.t.contacts.Get(ctx, s.ContactID); errors.Is(err, storage.ErrNotFound) {
				n++
				return sc.s.t.scores.Delete(ctx, s)
			} else {
				return err
			}
		})
	}
	return n, err
}

// update rescores the contacts ids and returns how many scores changed.
func (sc *Scoring) update(ctx context.Context, ids []string) (int, error) {
	n := 0
	for chunk := range slices.Chunk(ids, batchSize) {
		c, err := sc.updateBatch(ctx, chunk)
		n += c
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// updateBatch is update of at most batchSize contacts.
func (sc *Scoring) updateBatch(ctx context.Context, ids []string) (int, error) {
	ctx = storage.AsSystem(ctx)
	rules, err := storage.All(ctx, sc.s.t.rules, storage.Eq("enabled", true))
	if err != nil {
		return 0, err
	}
	model, err := sc.s.Predictive.Model(ctx)
	if errors.Is(err, storage.ErrNotFound) {
		model, err = nil, nil
	}
	if err != nil {
		return 0, err
	}
	n := 0
	err = sc.s.store.RunInTx(ctx, func(ctx context.Context) error {
		current := map[string]*Score{}
		err := storage.Each(ctx, sc.s.t.scores, storage.ListQuery{Filter: storage.In("contact_id", ids...),
			PageQuery: storage.PageQuery{Limit: storage.MaxLimit}}, func(s *Score) error {
			current[s.ContactID] = s
			return nil
		})
		if err != nil {
			return err
		}
		exist := map[string]bool{}
		var people []*contacts.Contact
		err = storage.Each(ctx, sc.s.t.contacts, storage.ListQuery{Filter: storage.In("id", ids...),
			PageQuery: storage.PageQuery{Limit: storage.MaxLimit}}, func(c *contacts.Contact) error {
			exist[c.ID] = true
			people = append(people, c)
			return nil
		})
		if err != nil {
			return err
		}
		var predicted map[string]int
		if model != nil {
			if predicted, err = sc.s.Predictive.predict(ctx, model, people); err != nil {
				return err
			}
		}
		fit, behaviour := map[string]float64{}, map[string]float64{}
		now := sc.s.now()
		for _, r := range rules {
			switch r.Kind {
			case ScoreFit:
				f, err := sc.s.people.Filter(ctx, contacts.ObjectContact, r.Where)
				if err != nil {
					continue // a custom field it names was removed: the rule gives nothing
				}
				err = storage.Each(ctx, sc.s.t.contacts, storage.ListQuery{Filter: storage.And{f, storage.In("id", ids...)},
					PageQuery: storage.PageQuery{Limit: storage.MaxLimit}}, func(c *contacts.Contact) error {
					fit[c.ID] += float64(r.Points)
					return nil
				})
				if err != nil {
					return err
				}
			case ScoreBehaviour:
				got, err := sc.behaviour(ctx, r, ids, now)
				if err != nil {
					return err
				}
				for id, p := range got {
					behaviour[id] += p
				}
			}
		}
		for _, id := range ids {
			prev := current[id]
			if !exist[id] {
				if prev != nil {
					n++
					if err := sc.s.t.scores.Delete(ctx, prev); err != nil {
						return err
					}
				}
				continue
			}
			next := &Score{ContactID: id, Fit: int(math.Round(fit[id])), Behaviour: int(math.Round(behaviour[id]))}
			next.Total = next.Fit + next.Behaviour
			next.Band = sc.band(next.Total)
			if model != nil {
				next.Predicted, next.ModelID = predicted[id], model.ID
			}
			if prev == nil && next.Total == 0 && fit[id] == 0 && behaviour[id] == 0 && model == nil {
				continue
			}
			if prev != nil && prev.Fit == next.Fit && prev.Behaviour == next.Behaviour && prev.Band == next.Band &&
				prev.Predicted == next.Predicted && prev.ModelID == next.ModelID {
				continue
			}
			n++
			var opts []storage.WriteOption
			if prev == nil || prev.Band != next.Band {
				opts = append(opts, storage.WithEventType(ObjectScore+"."+next.Band))
			}
			if prev == nil {
				err = sc.s.t.scores.Insert(ctx, next, opts...)
			} else {
				next.Meta = prev.Meta
				err = sc.s.t.scores.Update(ctx, prev, next, opts...)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	return n, err
}

// band names the band of a total.
func (sc *Scoring) band(total int) string {
	bands := slices.Clone(sc.s.opts.ScoreBands)
	sort.SliceStable(bands, func(i, j int) bool { return bands[i].Min < bands[j].Min })
	name := ""
	for _, b := range bands {
		if total >= b.Min {
			name = b.Name
		}
	}
	return name
}

// maxEvents bounds the occurrences one behaviour rule reads per contact
// batch; older ones count for nothing.
const maxEvents = 20000

// behaviour returns the points rule r gives each of the contacts ids.
func (sc *Scoring) behaviour(ctx context.Context, r *ScoringRule, ids []string, now time.Time) (map[string]float64, error) {
	var times = map[string][]time.Time{}
	collect := func(contact string, at time.Time) { times[contact] = append(times[contact], at) }
	var err error
	q := storage.PageQuery{Limit: storage.MaxLimit}
	read := 0
	stop := errors.New("enough")
	switch r.Behaviour {
	case BehaviourOpen, BehaviourClick:
		err = storage.Each(ctx, sc.s.t.hits, storage.ListQuery{Filter: storage.And{storage.In("contact_id", ids...),
			storage.Eq("kind", string(r.Behaviour)), storage.Eq("bot", false)}, Sort: []storage.Sort{{Field: "at", Desc: true}}, PageQuery: q},
			func(h *Hit) error {
				collect(h.ContactID, h.At)
				if read++; read >= maxEvents {
					return stop
				}
				return nil
			})
	case BehaviourForm:
		err = storage.Each(ctx, sc.s.t.posts, storage.ListQuery{Filter: storage.In("contact_id", ids...),
			Sort: []storage.Sort{{Field: "at", Desc: true}}, PageQuery: q}, func(p *FormPost) error {
			collect(p.ContactID, p.At)
			if read++; read >= maxEvents {
				return stop
			}
			return nil
		})
	}
	if err != nil && !errors.Is(err, stop) {
		return nil, err
	}
	out := map[string]float64{}
	for _, id := range slices.Sorted(maps.Keys(times)) {
		p := 0.0
		for _, at := range times[id] {
			w := 1.0
			if r.HalfLifeDays > 0 {
				w = math.Exp2(-now.Sub(at).Hours() / 24 / float64(r.HalfLifeDays))
			}
			p += float64(r.Points) * w
		}
		if r.Max > 0 {
			p = math.Min(p, float64(r.Max))
		}
		out[id] = p
	}
	return out, nil
}

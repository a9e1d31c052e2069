package sales

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
)

// ForecastCategory is how a deal counts in a forecast.
type ForecastCategory string

// The forecast categories.
const (
	ForecastPipeline ForecastCategory = "pipeline"
	ForecastBestCase ForecastCategory = "best_case"
	ForecastCommit   ForecastCategory = "commit"
	ForecastClosed   ForecastCategory = "closed"
	ForecastOmitted  ForecastCategory = "omitted"
)

// ContactRole is a contact's part in a deal, such as "decision maker".
type ContactRole struct {
	ContactID string `json:"contact_id"`
	Role      string `json:"role"`
}

// StageVisit is one stay of an opportunity in a stage: when it entered,
// when it left (zero while it is there) and who moved it in.
type StageVisit struct {
	Stage     string    `json:"stage"`
	EnteredAt time.Time `json:"entered_at"`
	LeftAt    time.Time `json:"left_at,omitzero"`
	By        string    `json:"by,omitempty"`
}

// Opportunity is a deal in a pipeline.
type Opportunity struct {
	storage.Meta
	Name string `bun:"name,notnull" json:"name"`
	// AccountID is the company the deal is with, or "".
	AccountID string `bun:"account_id,notnull" json:"account_id,omitempty"`
	// ContactID is the primary contact, or "".
	ContactID    string        `bun:"contact_id,notnull" json:"contact_id,omitempty"`
	ContactRoles []ContactRole `bun:"contact_roles" json:"contact_roles,omitempty"`
	// Amount is the deal's value, in the currency's minor units.
	Amount     storage.Money `bun:"embed:" json:"amount"`
	PipelineID string        `bun:"pipeline_id,notnull" json:"pipeline_id"`
	// Stage is the key of the current stage of the pipeline.
	Stage string `bun:"stage,notnull" json:"stage"`
	// Probability is the chance of winning, in percent: the stage's, unless
	// ProbabilitySet.
	Probability    int  `bun:"probability,notnull" json:"probability"`
	ProbabilitySet bool `bun:"probability_set,notnull" json:"probability_set,omitempty"`
	// ExpectedRevenue is Amount × Probability / 100, rounded down to the
	// minor unit: what the deal is worth weighted by its chance, as the
	// weighted figures of forecasts and the pipeline summary add it up. The
	// store derives it before every write (Prepare). A role that hides
	// amount or probability should hide it too.
	ExpectedRevenue int64 `bun:"expected_revenue,notnull" json:"expected_revenue"`
	// ForecastCategory follows the stage (closed when won, omitted when
	// lost, pipeline when open) unless set.
	ForecastCategory ForecastCategory `bun:"forecast_category,notnull" json:"forecast_category"`
	// ExpectedClose is the date the deal is expected to close (UTC midnight).
	ExpectedClose time.Time `bun:"expected_close,notnull" json:"expected_close,omitzero"`
	// ClosedAt is when the deal entered a won or lost stage; zero while open.
	ClosedAt   time.Time `bun:"closed_at,notnull" json:"closed_at,omitzero"`
	OwnerID    string    `bun:"owner_id,notnull" json:"owner_id,omitempty"`
	TeamID     string    `bun:"team_id,notnull" json:"team_id,omitempty"`
	Source     string    `bun:"source,notnull" json:"source,omitempty"`
	LostReason string    `bun:"lost_reason,notnull" json:"lost_reason,omitempty"`
	// LineItems are the products or services of the deal, priced like quote
	// lines in the deal's currency. When a deal has line items, its amount
	// is their net sum.
	LineItems []Line `bun:"line_items" json:"line_items,omitempty"`
	// StageHistory lists every stay in a stage, oldest first.
	StageHistory []StageVisit `bun:"stage_history" json:"stage_history,omitempty"`
	Tags         []string     `bun:"tags" json:"tags,omitempty"`
	// ExternalID is the host's or the old CRM's ID of the deal, unique in
	// the workspace when set: what Upsert and a re-run import match on.
	ExternalID string `bun:"external_id,notnull" json:"external_id,omitempty"`
}

// RecordType returns "opportunity".
func (*Opportunity) RecordType() string { return ObjectOpportunity }

// References returns the deal's account and primary contact, which
// filter expressions and reports name as "account" and "contact"
// ("account.industry == 'Retail'", won revenue by account.industry).
func (*Opportunity) References() []storage.Reference {
	return []storage.Reference{{Name: "account", Field: "account_id", Type: contacts.ObjectAccount},
		{Name: "contact", Field: "contact_id", Type: contacts.ObjectContact}}
}

// Prepare implements storage.Preparer: it derives ExpectedRevenue.
func (o *Opportunity) Prepare() {
	o.ExpectedRevenue = o.Amount.Amount * int64(o.Probability) / 100
}

// Links returns the account, the contacts and the pipeline of the deal, so
// that it appears in their relations.
func (o *Opportunity) Links() []storage.Ref {
	var out []storage.Ref
	if o.AccountID != "" {
		out = append(out, storage.Ref{Type: contacts.ObjectAccount, ID: o.AccountID})
	}
	seen := map[string]bool{}
	for _, id := range append([]string{o.ContactID}, contactIDs(o.ContactRoles)...) {
		if id != "" && !seen[id] {
			seen[id] = true
			out = append(out, storage.Ref{Type: contacts.ObjectContact, ID: id})
		}
	}
	return out
}

func contactIDs(roles []ContactRole) []string {
	out := make([]string, len(roles))
	for i, r := range roles {
		out[i] = r.ContactID
	}
	return out
}

// SearchTitle returns the deal's name.
func (o *Opportunity) SearchTitle() string { return o.Name }

// SearchText returns the deal's name, source and tags.
func (o *Opportunity) SearchText() string {
	return strings.Join(append([]string{o.Name, o.Source}, o.Tags...), " ")
}

// TimeInStage returns how long the deal has spent in stage over all its
// stays, counting a current stay up to now.
func (o *Opportunity) TimeInStage(stage string, now time.Time) time.Duration {
	var d time.Duration
	for _, v := range o.StageHistory {
		if v.Stage != stage {
			continue
		}
		end := v.LeftAt
		if end.IsZero() {
			end = now
		}
		d += end.Sub(v.EnteredAt)
	}
	return d
}

// CycleLength returns the time from creation to close; zero while open.
func (o *Opportunity) CycleLength() time.Duration {
	if o.ClosedAt.IsZero() {
		return 0
	}
	return o.ClosedAt.Sub(o.CreatedAt)
}

// NewOpportunity is the input of Opportunities.Create.
type NewOpportunity struct {
	Name         string
	AccountID    string
	ContactID    string
	ContactRoles []ContactRole
	Amount       storage.Money
	// PipelineID is the pipeline; "" means the workspace's default.
	PipelineID string
	// Stage is a stage key of the pipeline; "" means its first open stage.
	Stage string
	// Probability, when not nil, overrides the stage's.
	Probability      *int
	ForecastCategory ForecastCategory // "" follows the stage
	ExpectedClose    time.Time
	OwnerID, TeamID  string
	Source           string
	Tags             []string
	// LineItems, when given, price the deal: its amount becomes their net
	// sum, in Amount's currency.
	LineItems []NewLine
	// ExternalID is the deal's ID in the host or the old CRM, unique in the
	// workspace when set (else a *storage.ConflictError for
	// "external_id").
	ExternalID string
}

// UpdateOpportunity changes an opportunity's fields; nil fields stay as
// they are. The stage changes only through MoveStage, Win and Lose.
type UpdateOpportunity struct {
	Version          int64
	Name             *string
	AccountID        *string
	ContactID        *string
	ContactRoles     *[]ContactRole
	Amount           *storage.Money
	Probability      *int // a negative value returns to the stage's probability
	ForecastCategory *ForecastCategory
	ExpectedClose    *time.Time
	OwnerID, TeamID  *string
	Source           *string
	Tags             *[]string
	// LineItems replaces the line items, priced again; the amount follows.
	LineItems  *[]NewLine
	ExternalID *string
}

// Opportunities manages deals.
type Opportunities struct{ s *Service }

// Create stores a new opportunity, entering its first stage.
func (ops *Opportunities) Create(ctx context.Context, in NewOpportunity) (*Opportunity, error) {
	o := &Opportunity{Name: in.Name, AccountID: in.AccountID, ContactID: in.ContactID, ContactRoles: in.ContactRoles,
		Amount: in.Amount, PipelineID: in.PipelineID, Stage: in.Stage, ForecastCategory: in.ForecastCategory,
		ExpectedClose: in.ExpectedClose, OwnerID: in.OwnerID, TeamID: in.TeamID, Source: in.Source, Tags: in.Tags,
		ExternalID: in.ExternalID}
	if in.Probability != nil {
		o.Probability, o.ProbabilitySet = *in.Probability, true
	}
	err := ops.s.store.RunInTx(ctx, func(ctx context.Context) error {
		var v storage.ValidationError
		p, err := ops.pipeline(ctx, &v, o.PipelineID)
		if err != nil {
			return err
		}
		if p != nil {
			o.PipelineID = p.ID
			if o.Stage == "" {
				st, _ := p.first(StageOpen)
				o.Stage = st.Key
			}
		}
		if err := ops.lineItems(ctx, &v, o, in.LineItems); err != nil {
			return err
		}
		if err := ops.check(ctx, &v, o, nil, p); err != nil {
			return err
		}
		if err := v.Err(); err != nil {
			return err
		}
		st, _ := p.Stage(o.Stage)
		// One instant for the stage's entry (and a closed stage's close)
		// and the deal's creation: never closed before it was created;
		// the context's write time when it has one (a load of old deals).
		at := storage.WriteTimeFrom(ctx)
		ops.enter(ctx, o, st, at)
		return ops.s.t.opps.Insert(storage.WithWriteTime(ctx, at), o)
	})
	if err != nil {
		return nil, err
	}
	return o, nil
}

// pipeline returns the pipeline id ("" for the default), or nil with a
// validation error added to v.
func (ops *Opportunities) pipeline(ctx context.Context, v *storage.ValidationError, id string) (*Pipeline, error) {
	if id == "" {
		return ops.s.Pipelines.Default(ctx)
	}
	p, err := ops.s.t.pipelines.Get(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		v.Add("pipeline_id", "no pipeline %s in this workspace", id)
		return nil, nil
	}
	return p, err
}

// check validates and normalises o; prev is the stored deal on update.
func (ops *Opportunities) check(ctx context.Context, v *storage.ValidationError, o, prev *Opportunity, p *Pipeline) error {
	storage.TrimText(v, "name", &o.Name, MaxTextLen)
	if o.Name == "" {
		v.Add("name", "is required")
	}
	storage.TrimText(v, "source", &o.Source, MaxTextLen)
	storage.TrimText(v, "external_id", &o.ExternalID, MaxTextLen)
	storage.TrimText(v, "owner_id", &o.OwnerID, MaxTextLen)
	storage.TrimText(v, "team_id", &o.TeamID, MaxTextLen)
	if err := o.Amount.Validate("amount"); err != nil {
		var ve *storage.ValidationError
		if errors.As(err, &ve) {
			v.Merge("", ve)
		}
	}
	if o.Amount.Amount < 0 {
		v.Add("amount.amount", "is negative")
	}
	if o.ProbabilitySet && (o.Probability < 0 || o.Probability > 100) {
		v.Add("probability", "%d is outside 0–100", o.Probability)
	}
	switch o.ForecastCategory {
	case "", ForecastPipeline, ForecastBestCase, ForecastCommit, ForecastClosed, ForecastOmitted:
	default:
		v.Add("forecast_category", "%q is not pipeline, best_case, commit, closed or omitted", o.ForecastCategory)
	}
	if !o.ExpectedClose.IsZero() {
		t := o.ExpectedClose.UTC()
		o.ExpectedClose = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	}
	if p != nil {
		if _, ok := p.Stage(o.Stage); !ok {
			v.Add("stage", "%q is not a stage of pipeline %s", o.Stage, p.Name)
		}
	}
	tags, err := contacts.NormalizeTags(o.Tags)
	if err != nil {
		v.Add("tags", "%v", err)
	}
	o.Tags = tags
	for i := range o.ContactRoles {
		r := &o.ContactRoles[i]
		r.Role = strings.TrimSpace(r.Role)
		if r.ContactID == "" {
			v.Add(fmt.Sprintf("contact_roles[%d].contact_id", i), "is required")
		}
	}
	if len(v.Fields) > 0 {
		return nil
	}
	people := ops.s.people
	if o.AccountID != "" && (prev == nil || prev.AccountID != o.AccountID) {
		if err := exists(ctx, v, "account_id", func(ctx context.Context) error { _, err := people.Accounts.Get(ctx, o.AccountID); return err }); err != nil {
			return err
		}
	}
	for i, id := range append([]string{o.ContactID}, contactIDs(o.ContactRoles)...) {
		if id == "" || (prev != nil && id == prev.ContactID) {
			continue
		}
		f := "contact_id"
		if i > 0 {
			f = fmt.Sprintf("contact_roles[%d].contact_id", i-1)
		}
		if err := exists(ctx, v, f, func(ctx context.Context) error { _, err := people.Contacts.Get(ctx, id); return err }); err != nil {
			return err
		}
	}
	return nil
}

// exists is storage.CheckExists.
var exists = storage.CheckExists

// enter puts o in stage st at time at: it closes the current stay, opens a
// new one, and derives probability, forecast category and close date.
func (ops *Opportunities) enter(ctx context.Context, o *Opportunity, st Stage, at time.Time) {
	hist := make([]StageVisit, len(o.StageHistory), len(o.StageHistory)+1)
	copy(hist, o.StageHistory)
	if n := len(hist); n > 0 && hist[n-1].LeftAt.IsZero() {
		hist[n-1].LeftAt = at
	}
	o.StageHistory = append(hist, StageVisit{Stage: st.Key, EnteredAt: at, By: storage.ActorFrom(ctx)})
	o.Stage = st.Key
	if !o.ProbabilitySet {
		o.Probability = st.Probability
	}
	switch st.Kind {
	case StageWon:
		o.ClosedAt, o.ForecastCategory = at, ForecastClosed
		o.LostReason = ""
	case StageLost:
		o.ClosedAt, o.ForecastCategory = at, ForecastOmitted
	default:
		o.ClosedAt, o.LostReason = time.Time{}, ""
		if o.ForecastCategory == "" || o.ForecastCategory == ForecastClosed || o.ForecastCategory == ForecastOmitted {
			o.ForecastCategory = ForecastPipeline
		}
	}
}

// Get returns the opportunity with id.
func (ops *Opportunities) Get(ctx context.Context, id string) (*Opportunity, error) {
	return ops.s.t.opps.Get(ctx, id)
}

// List returns a page of opportunities. Filterable fields are the columns
// (name, account_id, pipeline_id, stage, amount, currency, probability,
// forecast_category, expected_close, closed_at, owner_id, …) and tags.
func (ops *Opportunities) List(ctx context.Context, q storage.ListQuery) (storage.Page[*Opportunity], error) {
	return ops.s.t.opps.List(ctx, q)
}

// Count returns how many opportunities match f.
func (ops *Opportunities) Count(ctx context.Context, f storage.Filter) (int64, error) {
	return ops.s.t.opps.Count(ctx, f)
}

// Update changes an opportunity's fields.
func (ops *Opportunities) Update(ctx context.Context, id string, in UpdateOpportunity) (*Opportunity, error) {
	return ops.update(ctx, id, in.Version, func(*Opportunity) UpdateOpportunity { return in })
}

// update is Update with the change made of the deal as read (again, when a
// concurrent write made it stale): for changes that depend on it, such as
// an upsert's tags added to the deal's.
func (ops *Opportunities) update(ctx context.Context, id string, version int64, change func(prev *Opportunity) UpdateOpportunity) (*Opportunity, error) {
	return storage.Modify(ctx, ops.s.store, ops.s.t.opps, id, version, func(ctx context.Context, o *Opportunity) error {
		prev := *o
		in := change(&prev)
		storage.Set(&o.Name, in.Name)
		storage.Set(&o.AccountID, in.AccountID)
		storage.Set(&o.ContactID, in.ContactID)
		storage.Set(&o.ContactRoles, in.ContactRoles)
		storage.Set(&o.Amount, in.Amount)
		storage.Set(&o.ForecastCategory, in.ForecastCategory)
		storage.Set(&o.ExpectedClose, in.ExpectedClose)
		storage.Set(&o.OwnerID, in.OwnerID)
		storage.Set(&o.TeamID, in.TeamID)
		storage.Set(&o.Source, in.Source)
		storage.Set(&o.Tags, in.Tags)
		storage.Set(&o.ExternalID, in.ExternalID)
		var p *Pipeline
		if in.Probability != nil {
			if *in.Probability < 0 {
				var err error
				if p, err = ops.s.t.pipelines.Get(ctx, o.PipelineID); err != nil {
					return err
				}
				st, _ := p.Stage(o.Stage)
				o.Probability, o.ProbabilitySet = st.Probability, false
			} else {
				o.Probability, o.ProbabilitySet = *in.Probability, true
			}
		}
		var v storage.ValidationError
		if in.LineItems != nil {
			if err := ops.lineItems(ctx, &v, o, *in.LineItems); err != nil {
				return err
			}
		}
		if err := ops.check(ctx, &v, o, &prev, p); err != nil {
			return err
		}
		return v.Err()
	})
}

// Upsert creates the opportunity in describes, or updates the one with its
// ExternalID (which must be set), and says whether it created it: the
// call a sync or a re-run load from another CRM makes, so that running it
// twice duplicates nothing. A deal found gets the fields in sets
// (non-zero ones; Tags are added to its own) and, when in.Stage names
// another stage, moves there (MoveStage). Concurrent upserts of one
// external ID are race-safe: they take a lock on it, and the unique index
// on external_id catches a Create that did not.
func (ops *Opportunities) Upsert(ctx context.Context, in NewOpportunity) (*Opportunity, bool, error) {
	id := strings.TrimSpace(in.ExternalID)
	if id == "" {
		return nil, false, storage.Invalid("external_id", "is the upsert's key, and is empty")
	}
	in.ExternalID = id
	return storage.Upsert(ctx, ops.s.store, ops.s.t.opps, "external_id", id,
		func(ctx context.Context) (*Opportunity, error) { return ops.Create(ctx, in) },
		func(ctx context.Context, prev *Opportunity) (*Opportunity, error) {
			o, err := ops.update(ctx, prev.ID, 0, in.changes)
			if err != nil || in.Stage == "" || in.Stage == o.Stage {
				return o, err
			}
			return ops.MoveStage(ctx, o.ID, in.Stage, MoveOptions{})
		})
}

// changes returns the update that sets the fields in gives on prev (see
// Upsert).
func (in NewOpportunity) changes(prev *Opportunity) UpdateOpportunity {
	u := UpdateOpportunity{Probability: in.Probability}
	for _, f := range []struct {
		v   string
		dst **string
	}{{in.Name, &u.Name}, {in.AccountID, &u.AccountID}, {in.ContactID, &u.ContactID}, {in.OwnerID, &u.OwnerID},
		{in.TeamID, &u.TeamID}, {in.Source, &u.Source}} {
		if f.v != "" {
			*f.dst = &f.v
		}
	}
	if in.ContactRoles != nil {
		u.ContactRoles = &in.ContactRoles
	}
	if in.Amount != (storage.Money{}) && in.LineItems == nil {
		u.Amount = &in.Amount
	}
	if in.ForecastCategory != "" {
		u.ForecastCategory = &in.ForecastCategory
	}
	if !in.ExpectedClose.IsZero() {
		u.ExpectedClose = &in.ExpectedClose
	}
	if in.LineItems != nil {
		u.LineItems = &in.LineItems
	}
	if tags := contacts.MergeTags(prev.Tags, in.Tags); len(tags) != len(prev.Tags) {
		u.Tags = &tags
	}
	return u
}

// lineItems prices items as o's line items, in o's currency (the
// price book's standard prices for products), and sets o's amount to their
// net sum. No items clears them and leaves the amount.
func (ops *Opportunities) lineItems(ctx context.Context, v *storage.ValidationError, o *Opportunity, items []NewLine) error {
	o.LineItems = nil
	if len(items) == 0 {
		return nil
	}
	if o.Amount.Currency == "" {
		v.Add("amount.currency", "is required to price line items")
		return nil
	}
	q := &Quote{Currency: o.Amount.Currency}
	if book, err := ops.s.PriceBooks.Standard(ctx); err != nil {
		return err
	} else {
		q.PriceBookID = book.ID
	}
	for i, nl := range items {
		l, err := ops.s.Quotes.line(ctx, v, fmt.Sprintf("line_items[%d]", i), q, nl)
		if err != nil {
			return err
		}
		o.LineItems = append(o.LineItems, l)
	}
	o.Amount.Amount = sum(o.LineItems).Net
	return nil
}

// MoveOptions adjust MoveStage.
type MoveOptions struct {
	// LostReason says why a deal moved to a lost stage.
	LostReason string
}

// MoveStage moves the opportunity to stage, a key of its pipeline, and
// records the stay in StageHistory. The event is opportunity.won or
// opportunity.lost when the stage closes the deal, opportunity.reopened
// when it leaves a closed stage for an open one, and
// opportunity.stage_changed otherwise. Moving to the current stage changes
// nothing.
func (ops *Opportunities) MoveStage(ctx context.Context, id, stage string, mo MoveOptions) (*Opportunity, error) {
	var out *Opportunity
	err := ops.s.store.RunInTx(ctx, func(ctx context.Context) error {
		prev, err := ops.s.t.opps.Get(ctx, id)
		if err != nil {
			return err
		}
		p, err := ops.s.t.pipelines.Get(ctx, prev.PipelineID)
		if err != nil {
			return err
		}
		st, ok := p.Stage(stage)
		if !ok {
			return storage.Invalid("stage", "%q is not a stage of pipeline %s", stage, p.Name)
		}
		if stage == prev.Stage {
			out = prev
			return nil
		}
		from, _ := p.Stage(prev.Stage)
		n := *prev
		// The context's write time when it has one, as for Create: a
		// load of old deals keeps their close dates.
		ops.enter(ctx, &n, st, storage.WriteTimeFrom(ctx))
		if st.Kind == StageLost {
			n.LostReason = strings.TrimSpace(mo.LostReason)
			if len(n.LostReason) > MaxTextLen {
				return storage.Invalid("lost_reason", "is longer than %d characters", MaxTextLen)
			}
		}
		event := "opportunity.stage_changed"
		switch {
		case st.Kind == StageWon:
			event = "opportunity.won"
		case st.Kind == StageLost:
			event = "opportunity.lost"
		case from.Kind != StageOpen:
			event = "opportunity.reopened"
		}
		if err := ops.s.t.opps.Update(ctx, prev, &n, storage.WithEventType(event)); err != nil {
			return err
		}
		out = &n
		if st.Kind == StageWon && ops.s.opts.ProjectOnWin {
			page, err := ops.s.t.projects.List(ctx, storage.ListQuery{Filter: storage.Eq("opportunity_id", id), PageQuery: storage.PageQuery{Limit: 1}})
			if err != nil {
				return err
			}
			if len(page.Items) == 0 {
				if _, err := ops.s.Projects.FromOpportunity(ctx, id, NewProject{}); err != nil {
					return prefixed("project.", err)
				}
			}
		}
		return nil
	})
	return out, err
}

// Win moves the opportunity to the first won stage of its pipeline.
func (ops *Opportunities) Win(ctx context.Context, id string) (*Opportunity, error) {
	return ops.moveToKind(ctx, id, StageWon, "")
}

// Lose moves the opportunity to the first lost stage of its pipeline, with
// the reason.
func (ops *Opportunities) Lose(ctx context.Context, id, reason string) (*Opportunity, error) {
	return ops.moveToKind(ctx, id, StageLost, reason)
}

func (ops *Opportunities) moveToKind(ctx context.Context, id string, kind StageKind, reason string) (*Opportunity, error) {
	var out *Opportunity
	err := ops.s.store.RunInTx(ctx, func(ctx context.Context) error {
		o, err := ops.s.t.opps.Get(ctx, id)
		if err != nil {
			return err
		}
		p, err := ops.s.t.pipelines.Get(ctx, o.PipelineID)
		if err != nil {
			return err
		}
		st, _ := p.first(kind)
		out, err = ops.MoveStage(ctx, id, st.Key, MoveOptions{LostReason: reason})
		return err
	})
	return out, err
}

// Delete removes the opportunity.
func (ops *Opportunities) Delete(ctx context.Context, id string) error {
	return storage.Remove(ctx, ops.s.store, ops.s.t.opps, id, 0, nil)
}

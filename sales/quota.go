package sales

import (
	"context"
	"errors"
	"time"

	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/access"
)

// Quota is a sales target: the revenue a member (or a team) is to win in a
// period, in one currency. Quota attainment (KPIQuotaAttainment) measures
// the deals won against it.
type Quota struct {
	storage.Meta
	// OwnerID is the member the quota is for, or "" for a team's quota;
	// as a record's owner, it is also who may read the quota with an own
	// scope.
	OwnerID string `bun:"owner_id,notnull" json:"owner_id,omitempty"`
	// TeamID is the team the quota is for when OwnerID is "", or the
	// owner's team.
	TeamID string `bun:"team_id,notnull" json:"team_id,omitempty"`
	// From and To bound the period, [From, To).
	From time.Time `bun:"period_from,notnull" json:"from"`
	To   time.Time `bun:"period_to,notnull" json:"to"`
	// Target is the revenue to win, more than zero.
	Target storage.Money `bun:"embed:target_" json:"target"`
}

// RecordType returns "quota".
func (*Quota) RecordType() string { return ObjectQuota }

// NewQuota is the input of Quotas.Create: a member's quota (OwnerID) or a
// team's (TeamID alone).
type NewQuota struct {
	OwnerID, TeamID string
	From, To        time.Time
	Target          storage.Money
}

// Quotas manages sales quotas.
type Quotas struct{ s *Service }

// Create adds a quota. The member or team must exist, the period must end
// after it starts, and the target must be more than zero.
func (qs *Quotas) Create(ctx context.Context, in NewQuota) (*Quota, error) {
	q := &Quota{OwnerID: in.OwnerID, TeamID: in.TeamID, From: in.From, To: in.To, Target: in.Target}
	err := qs.s.store.RunInTx(ctx, func(ctx context.Context) error {
		if err := qs.check(ctx, q); err != nil {
			return err
		}
		return qs.s.t.quotas.Insert(ctx, q)
	})
	if err != nil {
		return nil, err
	}
	return q, nil
}

// check validates q, naming every bad field at once.
func (qs *Quotas) check(ctx context.Context, q *Quota) error {
	var v storage.ValidationError
	switch {
	case q.OwnerID != "":
		if err := storage.CheckRef(ctx, &v, "owner_id", qs.s.store, storage.Ref{Type: access.ObjectMember, ID: q.OwnerID}); err != nil {
			return err
		}
	case q.TeamID != "":
	default:
		v.Add("owner_id", "a quota is for a member (owner_id) or a team (team_id)")
	}
	if q.TeamID != "" {
		if err := storage.CheckRef(ctx, &v, "team_id", qs.s.store, storage.Ref{Type: access.ObjectTeam, ID: q.TeamID}); err != nil {
			return err
		}
	}
	if q.From.IsZero() {
		v.Add("from", "is required")
	}
	if !q.To.After(q.From) {
		v.Add("to", "must be after from")
	}
	var bad *storage.ValidationError
	if errors.As(q.Target.Validate("target"), &bad) {
		v.Merge("", bad)
	} else if q.Target.Amount <= 0 {
		v.Add("target.amount", "must be more than zero")
	}
	return v.Err()
}

// Get returns the quota with id.
func (qs *Quotas) Get(ctx context.Context, id string) (*Quota, error) {
	return qs.s.t.quotas.Get(ctx, id)
}

// List returns a page of quotas.
func (qs *Quotas) List(ctx context.Context, q storage.ListQuery) (storage.Page[*Quota], error) {
	return qs.s.t.quotas.List(ctx, q)
}

// UpdateQuota changes a quota; nil fields stay as they are.
type UpdateQuota struct {
	From, To *time.Time
	Target   *storage.Money
}

// Update changes a quota's period or target.
func (qs *Quotas) Update(ctx context.Context, id string, in UpdateQuota) (*Quota, error) {
	return storage.Modify(ctx, qs.s.store, qs.s.t.quotas, id, 0, func(ctx context.Context, q *Quota) error {
		storage.Set(&q.From, in.From)
		storage.Set(&q.To, in.To)
		storage.Set(&q.Target, in.Target)
		return qs.check(ctx, q)
	})
}

// Delete removes the quota with id.
func (qs *Quotas) Delete(ctx context.Context, id string) error {
	return storage.Remove(ctx, qs.s.store, qs.s.t.quotas, id, 0, nil)
}

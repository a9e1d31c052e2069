package workflow

import (
	"context"
	"fmt"

	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/access"
)

// Rules manages the rules stored in the context's workspace. Every write
// checks the rule first (unknown fields and objects, type errors in
// expressions, bad action parameters are ErrInvalid naming the field) and
// goes through the generic path, so rules have history and access checks
// (record type "workflow_rule": the built-in roles let admins write rules
// and everyone read them).
type Rules struct{ e *Engine }

// NewRule is the input of Rules.Create: a Rule without its metadata.
type NewRule struct {
	Name, Description string
	Enabled           bool
	Trigger           Trigger
	Condition         string
	Actions           []Action
	Exit              Exit
	// RunAsSystem makes the rule act as the system rather than for the
	// member saving it (Rule.ActsAs): only the system and admins may.
	RunAsSystem bool
}

// UpdateRule changes a rule; nil fields stay as they are. Every change
// makes a new version: runs under way keep the version they started with.
type UpdateRule struct {
	// Version, when not 0, makes the update fail with ErrStale unless the
	// rule is still at this version.
	Version           int64
	Name, Description *string
	Enabled           *bool
	Trigger           *Trigger
	Condition         *string
	Actions           *[]Action
	Exit              *Exit
	// RunAsSystem, as NewRule's; nil leaves a rule saved by an admin as
	// it was, and makes one saved by another member act for it.
	RunAsSystem *bool
}

// Create checks and stores a new rule.
func (rs *Rules) Create(ctx context.Context, in NewRule) (*Rule, error) {
	r := &Rule{Name: in.Name, Description: in.Description, Enabled: in.Enabled, Trigger: in.Trigger,
		Condition: in.Condition, Actions: in.Actions, Exit: in.Exit}
	if r.Enabled {
		r.EnabledAt = storage.Now()
	}
	if err := rs.e.check(ctx, r); err != nil {
		return nil, err
	}
	if err := actsAs(ctx, r, &in.RunAsSystem); err != nil {
		return nil, err
	}
	err := rs.e.store.RunInTx(ctx, func(ctx context.Context) error {
		if err := rs.e.seal(ctx, r, nil); err != nil {
			return err
		}
		return rs.e.rules.Insert(ctx, r)
	})
	if err != nil {
		return nil, err
	}
	rs.e.cache.forget(storage.WorkspaceFrom(ctx))
	return r, nil
}

// Get returns the rule id.
func (rs *Rules) Get(ctx context.Context, id string) (*Rule, error) {
	return rs.e.rules.Get(ctx, id)
}

// ByName returns the stored rule called name, or ErrNotFound.
func (rs *Rules) ByName(ctx context.Context, name string) (*Rule, error) {
	page, err := rs.e.rules.List(ctx, storage.ListQuery{Filter: storage.Eq("name", name), PageQuery: storage.PageQuery{Limit: 1}})
	if err != nil {
		return nil, err
	}
	if len(page.Items) == 0 {
		return nil, fmt.Errorf("%w: workflow rule %q", storage.ErrNotFound, name)
	}
	return page.Items[0], nil
}

// List returns one page of rules.
func (rs *Rules) List(ctx context.Context, q storage.ListQuery) (storage.Page[*Rule], error) {
	return rs.e.rules.List(ctx, q)
}

// Update changes rule id and checks the result.
func (rs *Rules) Update(ctx context.Context, id string, in UpdateRule) (*Rule, error) {
	r, err := storage.Modify(ctx, rs.e.store, rs.e.rules, id, in.Version, func(ctx context.Context, r *Rule) error {
		prev := r.Actions
		storage.Set(&r.Name, in.Name)
		storage.Set(&r.Description, in.Description)
		if in.Enabled != nil && *in.Enabled && !r.Enabled {
			r.EnabledAt = storage.Now() // from now on, not the history
		}
		storage.Set(&r.Enabled, in.Enabled)
		storage.Set(&r.Trigger, in.Trigger)
		storage.Set(&r.Condition, in.Condition)
		storage.Set(&r.Actions, in.Actions)
		storage.Set(&r.Exit, in.Exit)
		if err := rs.e.check(ctx, r); err != nil {
			return err
		}
		if err := actsAs(ctx, r, in.RunAsSystem); err != nil {
			return err
		}
		return rs.e.seal(ctx, r, prev)
	})
	if err != nil {
		return nil, err
	}
	rs.e.cache.forget(storage.WorkspaceFrom(ctx))
	return r, nil
}

// Enable switches rule id on or off.
func (rs *Rules) Enable(ctx context.Context, id string, on bool) (*Rule, error) {
	return rs.Update(ctx, id, UpdateRule{Enabled: &on})
}

// Delete removes rule id. Its runs stay in the history.
func (rs *Rules) Delete(ctx context.Context, id string) error {
	err := storage.Remove(ctx, rs.e.store, rs.e.rules, id, 0, func(ctx context.Context, r *Rule) error {
		return rs.e.seal(ctx, &Rule{}, r.Actions) // its secrets go with it
	})
	if err == nil {
		rs.e.cache.forget(storage.WorkspaceFrom(ctx))
	}
	return err
}

// actsAs sets whom the rule r, being saved with ctx, acts for
// (Rule.ActsAs): the saving member, or the system when the system saves it
// (keeping, on a change, the member it acted for) or an admin asks, or
// keeps, it (runAsSystem; nil keeps the rule's own). A member other than
// an admin asking for the system is ErrForbidden.
func actsAs(ctx context.Context, r *Rule, runAsSystem *bool) error {
	p := storage.PrincipalFrom(ctx)
	if p == nil || p.IsSystem() {
		if runAsSystem != nil && *runAsSystem {
			r.ActsAs = ""
		}
		return nil
	}
	admin := p.Role == access.RoleAdmin
	switch {
	case runAsSystem != nil && *runAsSystem && !admin:
		return fmt.Errorf("%w: only an admin saves a rule that runs as the system (run_as_system)", storage.ErrForbidden)
	case runAsSystem != nil && *runAsSystem, runAsSystem == nil && admin && r.ActsAs == "" && r.Version > 0:
		r.ActsAs = ""
	default:
		r.ActsAs = p.MemberID
	}
	return nil
}

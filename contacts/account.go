package contacts

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/crmkit/crm/storage"
)

// MaxAccountDepth is how deep an account hierarchy may nest.
const MaxAccountDepth = 20

// Account is a company or organisation.
type Account struct {
	storage.Meta
	// Name is the company's name; required.
	Name string `bun:"name,notnull" json:"name"`
	// Domain is the company's web domain, normalised ("example.com").
	Domain   string `bun:"domain,notnull" json:"domain,omitempty"`
	Industry string `bun:"industry,notnull" json:"industry,omitempty"`
	// Employees is the head count, or 0 when unknown.
	Employees int64 `bun:"employees,notnull" json:"employees,omitempty"`
	// AnnualRevenue is the yearly revenue, in minor units of its currency.
	AnnualRevenue storage.Money `bun:"embed:annual_revenue_" json:"annual_revenue"`
	// ParentID is the parent company in a hierarchy, or "".
	ParentID    string    `bun:"parent_id,nullzero" json:"parent_id,omitempty"`
	Phone       string    `bun:"phone,notnull" json:"phone,omitempty"` // main number, E.164
	Addresses   []Address `bun:"addresses" json:"addresses,omitempty"`
	Description string    `bun:"description,notnull" json:"description,omitempty"`
	// OwnerID is the member responsible for the account, or "".
	OwnerID string `bun:"owner_id,notnull" json:"owner_id,omitempty"`
	// TeamID is the team the account belongs to, or "".
	TeamID string `bun:"team_id,notnull" json:"team_id,omitempty"`
	// Tags label the account; see NormalizeTags.
	Tags []string `bun:"tags" json:"tags,omitempty"`
	// Custom holds the values of the workspace's custom account fields.
	Custom map[string]any `bun:"custom" json:"custom,omitempty"`
	// LastActivityAt is when the latest activity with the account
	// happened; zero when none was. Kept by the store, as Contact's is.
	LastActivityAt time.Time `bun:"last_activity_at,notnull" json:"last_activity_at,omitzero" crm:"derived"`
}

// RecordType returns "account".
func (*Account) RecordType() string { return ObjectAccount }

// SearchTitle returns the account's name.
func (a *Account) SearchTitle() string { return a.Name }

// SearchText returns the words an account is found by: name, domain,
// industry, phone and tags.
func (a *Account) SearchText() string {
	return strings.Join(append([]string{a.Name, a.Domain, a.Industry, a.Phone}, a.Tags...), " ")
}

// NewAccount is the input of Accounts.Create.
type NewAccount struct {
	Name          string
	Domain        string // any form: "https://www.example.com/" is stored as "example.com"
	Industry      string
	Employees     int64
	AnnualRevenue storage.Money
	ParentID      string // an account of the workspace
	Phone         string
	Addresses     []Address
	Description   string
	OwnerID       string
	TeamID        string
	Tags          []string
	Custom        map[string]any
}

// UpdateAccount changes an account; nil fields stay as they are.
type UpdateAccount struct {
	// Version, when not 0, makes the update fail with ErrStale unless the
	// account is still at this version.
	Version       int64
	Name          *string
	Domain        *string
	Industry      *string
	Employees     *int64
	AnnualRevenue *storage.Money
	ParentID      *string // "" detaches the account from its parent
	Phone         *string
	Addresses     *[]Address
	Description   *string
	OwnerID       *string
	TeamID        *string
	Tags          *[]string
	// Custom sets the named custom values; a nil value removes one.
	Custom map[string]any
}

// Accounts manages accounts.
type Accounts struct{ s *Service }

// Create validates in and stores a new account. Bad input is a
// *storage.ValidationError listing every bad field.
func (as *Accounts) Create(ctx context.Context, in NewAccount) (*Account, error) {
	a := &Account{Name: in.Name, Domain: in.Domain, Industry: in.Industry, Employees: in.Employees,
		AnnualRevenue: in.AnnualRevenue, ParentID: in.ParentID, Phone: in.Phone, Addresses: in.Addresses,
		Description: in.Description, OwnerID: in.OwnerID, TeamID: in.TeamID, Tags: in.Tags}
	err := as.s.store.RunInTx(ctx, func(ctx context.Context) error {
		var ck checker
		as.normalize(ctx, &ck, a, nil)
		a.Custom = as.s.custom(ctx, &ck, ObjectAccount, nil, in.Custom, true)
		if err := ck.Err(); err != nil {
			return err
		}
		return as.s.t.accounts.Insert(ctx, a)
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

func (as *Accounts) normalize(ctx context.Context, ck *checker, a, prev *Account) {
	ck.text("name", &a.Name, MaxNameLen)
	if a.Name == "" {
		ck.Add("name", "is required")
	}
	if d, err := NormalizeDomain(a.Domain); err != nil {
		ck.Add("domain", "%v", err)
	} else {
		a.Domain = d
	}
	ck.text("industry", &a.Industry, MaxNameLen)
	if a.Employees < 0 {
		ck.Add("employees", "must not be negative")
	}
	a.AnnualRevenue.Currency = strings.ToUpper(strings.TrimSpace(a.AnnualRevenue.Currency))
	if err := a.AnnualRevenue.Validate("annual_revenue"); err != nil {
		ck.Merge("", err.(*storage.ValidationError))
	} else if a.AnnualRevenue.Amount < 0 {
		ck.Add("annual_revenue.amount", "must not be negative")
	}
	if a.Phone != "" {
		if n, err := NormalizePhone(a.Phone, as.s.opts.DefaultRegion); err != nil {
			ck.Add("phone", "%v", err)
		} else {
			a.Phone = n
		}
	}
	a.Addresses = ck.addresses("addresses", a.Addresses)
	ck.text("description", &a.Description, MaxTextLen)
	ck.text("owner_id", &a.OwnerID, MaxNameLen)
	ck.text("team_id", &a.TeamID, MaxNameLen)
	a.Tags = ck.tags("tags", a.Tags)
	ck.id("parent_id", a.ParentID)
	if a.ParentID != "" && (prev == nil || prev.ParentID != a.ParentID) && len(ck.Fields) == 0 {
		as.checkParent(ctx, ck, a)
	}
}

// checkParent walks up from a's new parent: it must exist in the workspace,
// must not lead back to a, and the hierarchy must stay within MaxAccountDepth.
func (as *Accounts) checkParent(ctx context.Context, ck *checker, a *Account) {
	id := a.ParentID
	for depth := 0; id != ""; depth++ {
		if id == a.ID {
			ck.Add("parent_id", "would make the account its own ancestor")
			return
		}
		if depth >= MaxAccountDepth {
			ck.Add("parent_id", "would nest accounts more than %d deep", MaxAccountDepth)
			return
		}
		p, err := as.s.t.accounts.Get(ctx, id)
		if err != nil {
			if depth == 0 {
				checkExists(ctx, ck, "parent_id", as.s.t.accounts, id)
			} else {
				ck.Add("parent_id", "cannot be checked: %v", err)
			}
			return
		}
		id = p.ParentID
	}
}

// Get returns the account with id, or ErrNotFound.
func (as *Accounts) Get(ctx context.Context, id string) (*Account, error) {
	return as.s.t.accounts.Get(ctx, id)
}

// Update applies in to the account with id and returns the new state.
func (as *Accounts) Update(ctx context.Context, id string, in UpdateAccount) (*Account, error) {
	return as.update(ctx, id, in.Version, func(*Account) UpdateAccount { return in })
}

// update is Update with the change made of the account as read (see
// Contacts.update).
func (as *Accounts) update(ctx context.Context, id string, version int64, change func(prev *Account) UpdateAccount) (*Account, error) {
	return storage.Modify(ctx, as.s.store, as.s.t.accounts, id, version, func(ctx context.Context, a *Account) error {
		prev := *a
		in := change(&prev)
		storage.Set(&a.Name, in.Name)
		storage.Set(&a.Domain, in.Domain)
		storage.Set(&a.Industry, in.Industry)
		storage.Set(&a.Employees, in.Employees)
		storage.Set(&a.AnnualRevenue, in.AnnualRevenue)
		storage.Set(&a.ParentID, in.ParentID)
		storage.Set(&a.Phone, in.Phone)
		storage.Set(&a.Addresses, in.Addresses)
		storage.Set(&a.Description, in.Description)
		storage.Set(&a.OwnerID, in.OwnerID)
		storage.Set(&a.TeamID, in.TeamID)
		storage.Set(&a.Tags, in.Tags)
		var ck checker
		as.normalize(ctx, &ck, a, &prev)
		a.Custom = as.s.custom(ctx, &ck, ObjectAccount, prev.Custom, in.Custom, false)
		return ck.Err()
	})
}

// Delete removes the account with id. An account that still has contacts or
// child accounts is ErrConflict: move or delete those first.
func (as *Accounts) Delete(ctx context.Context, id string) error {
	return storage.Remove(ctx, as.s.store, as.s.t.accounts, id, 0, func(ctx context.Context, a *Account) error {
		n, err := as.s.t.contacts.Count(ctx, storage.Eq("account_id", id))
		if err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: account %s still has %d contacts", storage.ErrConflict, id, n)
		}
		n, err = as.s.t.accounts.Count(ctx, storage.Eq("parent_id", id))
		if err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: account %s still has %d child accounts", storage.ErrConflict, id, n)
		}
		return nil
	})
}

// List returns one page of accounts; see Contacts.List for filters and sorts.
func (as *Accounts) List(ctx context.Context, q storage.ListQuery) (storage.Page[*Account], error) {
	return as.s.t.accounts.List(ctx, q)
}

// Children returns the direct child accounts of id, by name; ErrNotFound
// when the workspace has no account id.
func (as *Accounts) Children(ctx context.Context, id string, q storage.PageQuery) (storage.Page[*Account], error) {
	if _, err := as.Get(ctx, id); err != nil {
		return storage.Page[*Account]{}, err
	}
	return as.List(ctx, storage.ListQuery{Filter: storage.Eq("parent_id", id),
		Sort: []storage.Sort{{Field: "name"}}, PageQuery: q})
}

// Contacts returns the contacts of the account id, by last name; ErrNotFound
// when the workspace has no account id.
func (as *Accounts) Contacts(ctx context.Context, id string, q storage.PageQuery) (storage.Page[*Contact], error) {
	if _, err := as.Get(ctx, id); err != nil {
		return storage.Page[*Contact]{}, err
	}
	return as.s.t.contacts.List(ctx, storage.ListQuery{Filter: storage.Eq("account_id", id),
		Sort: []storage.Sort{{Field: "last_name"}, {Field: "first_name"}}, PageQuery: q})
}

// Timeline returns the account's timeline, newest first: activities linked
// to it and the change events of the account itself.
func (as *Accounts) Timeline(ctx context.Context, id string, q storage.PageQuery) (storage.Page[TimelineEntry], error) {
	if _, err := as.Get(ctx, id); err != nil {
		return storage.Page[TimelineEntry]{}, err
	}
	return as.s.timeline(ctx, storage.Ref{Type: ObjectAccount, ID: id}, q)
}

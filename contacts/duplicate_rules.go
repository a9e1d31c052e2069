package contacts

import (
	"context"
	"fmt"
	"slices"

	"github.com/crmkit/crm/storage"
)

// ObjectDuplicateRules is the record type of a workspace's duplicate
// rules.
const ObjectDuplicateRules = "duplicate_rules"

// FuzzyScope says which contacts the fuzzy rule compares by name.
type FuzzyScope string

// The scopes of the fuzzy rule.
const (
	// ScopeAccount compares contacts of the same account.
	ScopeAccount FuzzyScope = "account"
	// ScopeDomain compares contacts whose primary emails have the same
	// domain, unless it is a free mail provider's (FreeMailDomain).
	ScopeDomain FuzzyScope = "domain"
	// ScopeEither compares contacts of the same account, and contacts with
	// the same email domain.
	ScopeEither FuzzyScope = "either"
)

// DefaultThreshold is the Jaro-Winkler similarity of full names at which
// the fuzzy rule matches unless a workspace sets another.
const DefaultThreshold = 0.9

// DuplicateRules are a workspace's rules for matching duplicate contacts,
// which FindDuplicates and Contacts.Duplicates (the check before a create,
// which lead capture asks too) apply. A workspace holds at most one
// record of them; until it saves one (Contacts.SetDuplicateRules), the
// rules are DefaultDuplicateRules. They are a record of the generic path,
// so changes have history; the built-in roles let admins change them and
// everyone read them.
type DuplicateRules struct {
	storage.Meta
	// Email matches contacts that share an email address (primary or not).
	Email bool `bun:"email,notnull" json:"email"`
	// Phone matches contacts that share a phone number (normalised).
	Phone bool `bun:"phone,notnull" json:"phone"`
	// KeyField, when set, is a text or number custom field of contacts
	// holding an external ID: contacts with equal values match. "" turns
	// the rule off.
	KeyField string `bun:"key_field,notnull" json:"key_field,omitempty"`
	// Fuzzy matches contacts whose full names have a Jaro-Winkler
	// similarity (JaroWinkler, of the names lower-cased with punctuation
	// dropped) of at least Threshold, among the contacts Scope says.
	Fuzzy bool `bun:"fuzzy,notnull" json:"fuzzy"`
	// Threshold is the fuzzy rule's similarity, in (0, 1].
	Threshold float64 `bun:"threshold,notnull" json:"threshold"`
	// Scope is which contacts the fuzzy rule compares: ScopeAccount,
	// ScopeDomain or ScopeEither.
	Scope FuzzyScope `bun:"fuzzy_scope,notnull" json:"fuzzy_scope"`
}

// RecordType returns "duplicate_rules".
func (*DuplicateRules) RecordType() string { return ObjectDuplicateRules }

// DefaultDuplicateRules returns the rules of a workspace that saved none:
// every exact rule on but the external ID, which needs a field, and the
// fuzzy rule at DefaultThreshold within an account or an email domain.
func DefaultDuplicateRules() *DuplicateRules {
	return &DuplicateRules{Email: true, Phone: true, Fuzzy: true, Threshold: DefaultThreshold, Scope: ScopeEither}
}

// accounts and domains say which blocks the fuzzy rule compares within.
func (r *DuplicateRules) accounts() bool {
	return r.Fuzzy && (r.Scope == ScopeAccount || r.Scope == ScopeEither)
}

func (r *DuplicateRules) domains() bool {
	return r.Fuzzy && (r.Scope == ScopeDomain || r.Scope == ScopeEither)
}

// UpdateDuplicateRules changes a workspace's duplicate rules; nil fields
// stay as they are (as stored, or the defaults).
type UpdateDuplicateRules struct {
	// Version, when not 0, makes the change fail with ErrStale unless the
	// rules are still at this version (0 for the defaults).
	Version   int64
	Email     *bool
	Phone     *bool
	KeyField  *string
	Fuzzy     *bool
	Threshold *float64
	Scope     *FuzzyScope
}

// DuplicateRules returns the workspace's duplicate rules: the stored
// ones, or DefaultDuplicateRules (ID "", version 0) when it saved none.
// A principal needs read rights on duplicate_rules (ErrForbidden).
func (cs *Contacts) DuplicateRules(ctx context.Context) (*DuplicateRules, error) {
	if p := storage.PrincipalFrom(ctx); p != nil && p.Scope(ObjectDuplicateRules, storage.ActionRead) == storage.ScopeNone {
		return nil, fmt.Errorf("%w: role %s may not read %s", storage.ErrForbidden, p.Role, ObjectDuplicateRules)
	}
	return cs.s.duplicateRules(ctx)
}

// duplicateRules reads the workspace's rules as the system: they govern
// every member's duplicate checks, whether or not it may read them.
func (s *Service) duplicateRules(ctx context.Context) (*DuplicateRules, error) {
	page, err := s.t.dupRules.List(storage.AsSystem(ctx), storage.ListQuery{PageQuery: storage.PageQuery{Limit: 1}})
	if err != nil {
		return nil, err
	}
	if len(page.Items) == 0 {
		return DefaultDuplicateRules(), nil
	}
	return page.Items[0], nil
}

// SetDuplicateRules changes the workspace's duplicate rules and returns
// them as stored: the first change stores the defaults with in applied
// (event duplicate_rules.created), later ones update that record
// (duplicate_rules.updated). Two first changes at once end as one record.
//
// Errors: a threshold outside (0, 1], an unknown scope, or a key field
// that is not a text or number custom field of contacts is a
// *storage.ValidationError naming the field; a version given that moved
// on is ErrStale; a principal needs create (first change) or update
// rights on duplicate_rules, which the built-in roles give admins only
// (ErrForbidden). Nothing is written on error.
func (cs *Contacts) SetDuplicateRules(ctx context.Context, in UpdateDuplicateRules) (*DuplicateRules, error) {
	s := cs.s
	tbl := s.t.dupRules
	var out *DuplicateRules
	err := s.store.RunInTx(ctx, func(ctx context.Context) error {
		rec, created, err := storage.FirstOrCreate(ctx, s.store, tbl, nil, func(ctx context.Context) (*DuplicateRules, error) {
			if in.Version != 0 {
				return nil, fmt.Errorf("%w: %s are at version 0 (the defaults), not %d", storage.ErrStale, ObjectDuplicateRules, in.Version)
			}
			r := DefaultDuplicateRules()
			if err := s.applyRules(ctx, r, in); err != nil {
				return nil, err
			}
			return r, tbl.Insert(ctx, r)
		})
		if err != nil || created {
			out = rec
			return err
		}
		out, err = storage.Modify(ctx, s.store, tbl, rec.ID, in.Version, func(ctx context.Context, next *DuplicateRules) error {
			return s.applyRules(ctx, next, in)
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// applyRules sets the fields of in on r and checks the result.
func (s *Service) applyRules(ctx context.Context, r *DuplicateRules, in UpdateDuplicateRules) error {
	storage.Set(&r.Email, in.Email)
	storage.Set(&r.Phone, in.Phone)
	storage.Set(&r.KeyField, in.KeyField)
	storage.Set(&r.Fuzzy, in.Fuzzy)
	storage.Set(&r.Threshold, in.Threshold)
	storage.Set(&r.Scope, in.Scope)
	var ck checker
	s.checkRules(ctx, &ck, r)
	return ck.Err()
}

// checkRules checks r: the threshold, the scope, and that the key field
// is a text or number custom field of contacts (read as the system: the
// definitions are the workspace's schema).
func (s *Service) checkRules(ctx context.Context, ck *checker, r *DuplicateRules) {
	if !(r.Threshold > 0 && r.Threshold <= 1) {
		ck.Add("threshold", "%v is not in (0, 1]: a Jaro-Winkler similarity above 0", r.Threshold)
	}
	ck.oneOf("fuzzy_scope", string(r.Scope), false, string(ScopeAccount), string(ScopeDomain), string(ScopeEither))
	if r.KeyField == "" {
		return
	}
	defs, err := s.Fields.List(storage.AsSystem(ctx), ObjectContact)
	if err != nil {
		ck.fail(err)
		return
	}
	i := slices.IndexFunc(defs, func(d *FieldDef) bool { return d.Name == r.KeyField })
	switch {
	case i < 0:
		ck.Add("key_field", "%q is not a custom field of contacts", r.KeyField)
	case defs[i].Type != FieldText && defs[i].Type != FieldNumber:
		ck.Add("key_field", "%q is a %s field; an external ID is a text or number field", r.KeyField, defs[i].Type)
	}
}

package contacts

import (
	"context"
	"slices"
	"strings"

	"github.com/crmkit/crm/storage"
)

// Upsert creates the contact in describes, or updates the one that already
// has its key, and says whether it created it: the call a host's customer
// sync makes ("this customer, by email" or "by our customer number").
//
// key is "email" (also when ""), matched on in.Email normalised as stored
// emails are, or "custom.<name>", a custom field holding the host's
// external ID, matched on in.Custom[name] (a custom key has no index: the
// look-up reads the workspace's contacts). The key's value must be set.
// A contact found is updated with the fields in sets (non-zero ones): they
// replace the stored ones, but for Tags, which are added to the contact's,
// and Custom, whose named values are set and the others kept. More than
// one contact with the key is a *storage.ConflictError for the key.
//
// Upserts of one key are race-safe: they take a lock on it (on Postgres an
// advisory lock held to the end of the transaction; on SQLite the single
// writer), so concurrent calls, in their own transactions or in a host's,
// never create the contact twice. Errors are those of Create and Update.
func (cs *Contacts) Upsert(ctx context.Context, key string, in NewContact) (*Contact, bool, error) {
	field, value, err := cs.s.upsertKey(ctx, ObjectContact, key, "email", func() (string, error) { return NormalizeEmail(in.Email) }, in.Custom)
	if err != nil {
		return nil, false, err
	}
	return storage.Upsert(ctx, cs.s.store, cs.s.t.contacts, field, value,
		func(ctx context.Context) (*Contact, error) { return cs.Create(ctx, in) },
		func(ctx context.Context, prev *Contact) (*Contact, error) {
			return cs.update(ctx, prev.ID, 0, in.changes)
		})
}

// changes returns the update that sets the fields in gives on prev (see
// Upsert).
func (in NewContact) changes(prev *Contact) UpdateContact {
	u := UpdateContact{Custom: in.Custom}
	for _, f := range []struct {
		v   string
		dst **string
	}{{in.Prefix, &u.Prefix}, {in.FirstName, &u.FirstName}, {in.MiddleName, &u.MiddleName},
		{in.LastName, &u.LastName}, {in.Suffix, &u.Suffix}, {in.Email, &u.Email}, {in.JobTitle, &u.JobTitle},
		{in.Department, &u.Department}, {in.AccountID, &u.AccountID}, {in.OwnerID, &u.OwnerID},
		{in.TeamID, &u.TeamID}, {in.Source, &u.Source}} {
		if f.v != "" {
			*f.dst = &f.v
		}
	}
	if in.Lifecycle != "" {
		u.Lifecycle = &in.Lifecycle
	}
	if in.Emails != nil {
		u.Emails = &in.Emails
	}
	if in.Phones != nil {
		u.Phones = &in.Phones
	}
	if in.Addresses != nil {
		u.Addresses = &in.Addresses
	}
	if in.SocialProfiles != nil {
		u.SocialProfiles = &in.SocialProfiles
	}
	if tags := MergeTags(prev.Tags, in.Tags); len(tags) != len(prev.Tags) {
		u.Tags = &tags
	}
	return u
}

// MergeTags returns have with the tags of add it lacks (compared in any
// case, trimmed) appended: the tags an upsert leaves on a record.
func MergeTags(have, add []string) []string {
	out := slices.Clone(have)
	for _, t := range add {
		if !slices.ContainsFunc(out, func(h string) bool { return strings.EqualFold(h, strings.TrimSpace(t)) }) {
			out = append(out, t)
		}
	}
	return out
}

// Upsert creates the account in describes, or updates the one that already
// has its key, and says whether it created it. key is "domain" (also when
// ""), matched on in.Domain normalised (see NormalizeDomain), or
// "custom.<name>", a custom field holding the host's external ID, matched
// on in.Custom[name]. A found account gets the fields in sets, as
// Contacts.Upsert does; more than one account with the key (domains are not
// unique) is a *storage.ConflictError for it. Concurrent upserts of one key
// are race-safe, as Contacts.Upsert's.
func (as *Accounts) Upsert(ctx context.Context, key string, in NewAccount) (*Account, bool, error) {
	field, value, err := as.s.upsertKey(ctx, ObjectAccount, key, "domain", func() (string, error) { return NormalizeDomain(in.Domain) }, in.Custom)
	if err != nil {
		return nil, false, err
	}
	return storage.Upsert(ctx, as.s.store, as.s.t.accounts, field, value,
		func(ctx context.Context) (*Account, error) { return as.Create(ctx, in) },
		func(ctx context.Context, prev *Account) (*Account, error) {
			return as.update(ctx, prev.ID, 0, in.changes)
		})
}

// changes returns the update that sets the fields in gives on prev (see
// Accounts.Upsert).
func (in NewAccount) changes(prev *Account) UpdateAccount {
	u := UpdateAccount{Custom: in.Custom}
	for _, f := range []struct {
		v   string
		dst **string
	}{{in.Name, &u.Name}, {in.Domain, &u.Domain}, {in.Industry, &u.Industry}, {in.ParentID, &u.ParentID},
		{in.Phone, &u.Phone}, {in.Description, &u.Description}, {in.OwnerID, &u.OwnerID}, {in.TeamID, &u.TeamID}} {
		if f.v != "" {
			*f.dst = &f.v
		}
	}
	if in.Employees != 0 {
		u.Employees = &in.Employees
	}
	if in.AnnualRevenue != (storage.Money{}) {
		u.AnnualRevenue = &in.AnnualRevenue
	}
	if in.Addresses != nil {
		u.Addresses = &in.Addresses
	}
	if tags := MergeTags(prev.Tags, in.Tags); len(tags) != len(prev.Tags) {
		u.Tags = &tags
	}
	return u
}

// upsertKey returns the field and the stored form of the value an upsert
// of object matches on: the built-in key def (its value from builtin) when
// key is "" or def, or a custom field (its value from custom, normalised
// by the field's definition).
func (s *Service) upsertKey(ctx context.Context, object, key, def string, builtin func() (string, error), custom map[string]any) (string, any, error) {
	if key == "" || key == def {
		v, err := builtin()
		if err != nil {
			return "", nil, storage.Invalid(def, "%v", err)
		}
		if v == "" {
			return "", nil, storage.Invalid(def, "is the upsert's key, and is empty")
		}
		return def, v, nil
	}
	name, ok := strings.CutPrefix(key, "custom.")
	if !ok {
		return "", nil, storage.Invalid("key", "%q is not %s or custom.<name>", key, def)
	}
	v, ok := custom[name]
	if !ok || v == nil {
		return "", nil, storage.Invalid(key, "is the upsert's key, and is not set")
	}
	defs, err := s.Fields.List(ctx, object)
	if err != nil {
		return "", nil, err
	}
	i := slices.IndexFunc(defs, func(d *FieldDef) bool { return d.Name == name })
	if i < 0 {
		return "", nil, storage.Invalid("key", "%q is not a defined %s field", name, object)
	}
	if t := defs[i].Type; t == FieldBool || t == FieldMultiEnum {
		return "", nil, storage.Invalid("key", "custom field %s is of type %s; a key is text, a number, a date or a choice", name, t)
	}
	nv, err := normalizeCustom(defs[i], v)
	if err != nil {
		return "", nil, storage.Invalid(key, "%v", err)
	}
	return key, nv, nil
}

package contacts

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/crmkit/crm/storage"
)

// Erasure is what Erase removed.
type Erasure struct {
	ContactID  string `json:"contact_id"`
	Activities int    `json:"activities"`
	Consents   int    `json:"consents"`
	Tombstone  bool   `json:"tombstone"`
	// Scrubbed are the records whose change events lost their values.
	Scrubbed []string `json:"scrubbed"`
}

// Erase removes a person from the CRM under the GDPR's right to erasure, in
// one transaction: the contact, the activities linked to it, its consents,
// its search document, and the values in every past change event of those
// records, of the contacts merged into it and of the records their merges
// removed (their snapshots go with the events). When Options.TombstoneKey is set it keeps a tombstone, a keyed
// hash of the email, so that imports can refuse the address later
// (ImportOptions.SkipErased). The caller needs the right to delete the
// contact. crm.CRM.Erase also erases the person's leads.
func (s *Service) Erase(ctx context.Context, id string) (*Erasure, error) {
	out := &Erasure{ContactID: id}
	err := s.store.RunInTx(ctx, func(ctx context.Context) error {
		c, err := s.store.Contacts().Get(ctx, id)
		if err != nil {
			return err
		}
		// The contacts merged into this one, and the records their merges
		// removed, keep the person's data in their change events.
		merged, err := s.mergedAway(ctx, c.ID)
		if err != nil {
			return err
		}
		scrub := append([]string{c.ID}, merged...)
		q := storage.ListQuery{Filter: storage.Cmp{Field: "contact_ids", Op: storage.OpContains, Value: id}, PageQuery: storage.PageQuery{Limit: storage.MaxLimit}}
		for {
			page, err := s.store.Activities().List(ctx, q)
			if err != nil {
				return err
			}
			for _, a := range page.Items {
				if err := s.store.Activities().Delete(ctx, a); err != nil {
					return fmt.Errorf("activity %s: %w", a.ID, err)
				}
				scrub = append(scrub, a.ID)
				out.Activities++
			}
			if len(page.Items) < q.Limit {
				break
			}
		}
		consents, err := s.Consents.List(ctx, id)
		if err != nil {
			return err
		}
		for _, cn := range consents {
			if err := s.store.Consents().Delete(ctx, cn); err != nil {
				return err
			}
			scrub = append(scrub, cn.ID)
			out.Consents++
		}
		if err := s.store.Contacts().Delete(ctx, c, storage.WithEventType("contact.erased")); err != nil {
			return err
		}
		if err := s.store.ScrubEvents(ctx, scrub...); err != nil {
			return err
		}
		out.Scrubbed = scrub
		if h := s.tombstoneHash(c.Email); h != "" {
			if err := s.store.Tombstone(ctx, h); err != nil {
				return err
			}
			out.Tombstone = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// tombstoneHash is the keyed hash of email, or "" without a key or email.
func (s *Service) tombstoneHash(email string) string {
	if len(s.opts.TombstoneKey) == 0 || email == "" {
		return ""
	}
	e, err := NormalizeEmail(email)
	if err != nil {
		return ""
	}
	m := hmac.New(sha256.New, s.opts.TombstoneKey)
	m.Write([]byte(e))
	return hex.EncodeToString(m.Sum(nil))
}

// Erased reports whether email belongs to a person erased with a
// tombstone.
func (s *Service) Erased(ctx context.Context, email string) (bool, error) {
	h := s.tombstoneHash(email)
	if h == "" {
		return false, errors.New("contacts: Erased needs Options.TombstoneKey and an email")
	}
	return s.store.Tombstoned(ctx, h)
}

// RetentionPolicy says which contacts are kept no longer.
type RetentionPolicy struct {
	// InactiveMonths: contacts not changed, and without an activity, for
	// this many months are erased. Required, at least 1.
	InactiveMonths int
	// DryRun lists them without erasing.
	DryRun bool
	// Limit bounds how many one run erases (default 1000); run again for
	// the rest.
	Limit int
}

// RetentionReport is what ApplyRetention did.
type RetentionReport struct {
	Cutoff time.Time `json:"cutoff"`
	// Contacts are the IDs of the contacts erased (or, dry, to erase).
	Contacts []string `json:"contacts"`
	DryRun   bool     `json:"dry_run,omitempty"`
}

// ApplyRetention erases (Erase) the contacts inactive for
// policy.InactiveMonths: last changed before the cutoff and with no
// activity since. It runs on demand; a workflow schedule can run it later.
func (s *Service) ApplyRetention(ctx context.Context, policy RetentionPolicy) (*RetentionReport, error) {
	if policy.InactiveMonths < 1 {
		return nil, storage.Invalid("inactive_months", "must be at least 1")
	}
	if policy.Limit <= 0 {
		policy.Limit = 1000
	}
	rep := &RetentionReport{Cutoff: storage.Now().AddDate(0, -policy.InactiveMonths, 0), DryRun: policy.DryRun}
	q := storage.ListQuery{Filter: storage.Cmp{Field: "updated_at", Op: storage.OpLt, Value: rep.Cutoff},
		Sort: []storage.Sort{{Field: "updated_at"}}, PageQuery: storage.PageQuery{Limit: 200}}
	for len(rep.Contacts) < policy.Limit {
		page, err := s.store.Contacts().List(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, c := range page.Items {
			if len(rep.Contacts) == policy.Limit {
				break
			}
			recent, err := s.store.Activities().Count(ctx, storage.And{
				storage.Cmp{Field: "contact_ids", Op: storage.OpContains, Value: c.ID},
				storage.Cmp{Field: "occurred_at", Op: storage.OpGe, Value: rep.Cutoff}})
			if err != nil {
				return nil, err
			}
			if recent > 0 {
				continue
			}
			rep.Contacts = append(rep.Contacts, c.ID)
		}
		if page.Next == "" {
			break
		}
		q.Cursor = page.Next
	}
	if policy.DryRun {
		return rep, nil
	}
	for _, id := range rep.Contacts {
		if _, err := s.Erase(ctx, id); err != nil {
			return rep, fmt.Errorf("contact %s: %w", id, err)
		}
	}
	return rep, nil
}

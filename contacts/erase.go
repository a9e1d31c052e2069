package contacts

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/crmkit/crm/storage"
)

// Erasure is what Erase removed, or Anonymise.
type Erasure struct {
	ContactID string `json:"contact_id"`
	// Anonymised is set when the contact was kept without its personal
	// data (Anonymise) rather than deleted.
	Anonymised bool `json:"anonymised,omitempty"`
	Activities int  `json:"activities"`
	// Participations are the activities about others that the person
	// took part in, or that it shared with other contacts: they stay,
	// without the person among their participants and contacts, and with
	// their past change events scrubbed.
	Participations int  `json:"participations"`
	Consents       int  `json:"consents"`
	Tombstone      bool `json:"tombstone"`
	// Scrubbed are the records whose change events lost their values.
	Scrubbed []string `json:"scrubbed"`
	// Related counts the records of other modules erased or anonymised
	// with the person (crm.CRM.Erase), by record type.
	Related map[string]int `json:"related,omitempty"`
}

// PersonalTypes implements storage.PersonalOwner: the module finds and
// forgets a person's contact, activities and consents itself (Erase,
// Anonymise, PersonalData).
func (s *Service) PersonalTypes() []string {
	return []string{ObjectContact, ObjectActivity, ObjectConsent}
}

// PersonOf returns c as the person that records of other modules may name
// by its ID or one of its addresses.
func PersonOf(c *Contact) storage.Person {
	p := storage.Person{ContactID: c.ID}
	if c.Email != "" {
		p.Emails = append(p.Emails, c.Email)
	}
	for _, e := range c.Emails {
		if !slices.Contains(p.Emails, e.Address) {
			p.Emails = append(p.Emails, e.Address)
		}
	}
	return p
}

// Erase removes a person from the CRM under the GDPR's right to erasure, in
// one transaction: the contact, the activities linked to it alone, its
// consents, its search document, the person among the contacts of the
// activities it shares with others and among the participants of
// activities about others (by its ID or one of its addresses; those
// activities stay),
// and the values in every past change event of those records, of the
// contacts merged into it and of the records their merges removed (their
// snapshots go with the events). When Options.TombstoneKey is set it keeps
// a tombstone, a keyed hash of the email, so that imports can refuse the
// address later (ImportOptions.SkipErased). The caller needs the right to
// delete the contact and its activities and to update the activities it
// took part in. crm.CRM.Erase also erases the person's leads.
func (s *Service) Erase(ctx context.Context, id string) (*Erasure, error) {
	return s.forget(ctx, id, false)
}

// Anonymise removes a person's personal data but keeps the contact, in
// one transaction: the fields that hold personal data (PersonalFields:
// names, email addresses, phones, addresses, profiles, job title,
// department, and the custom fields marked Personal) are emptied and the
// contact is tagged TagAnonymised (event contact.anonymised); its other
// fields (account, lifecycle, source, owner, tags, unmarked custom
// fields) stay, and so do the records of other modules that refer to it
// (deals, orders), so figures still add up. Its activities and consents
// are deleted, it leaves the participants of activities about others,
// and the past change events of all of them are scrubbed, as by Erase; with Options.TombstoneKey the email gets a tombstone. An
// anonymised contact has no name: an update must give it one again.
// The caller needs update rights on the contact and delete rights on its
// activities and consents; a role that hides contact fields cannot
// anonymise (ErrForbidden).
func (s *Service) Anonymise(ctx context.Context, id string) (*Erasure, error) {
	if err := noHiddenFields(ctx, ObjectContact); err != nil {
		return nil, err
	}
	return s.forget(ctx, id, true)
}

// forget is Erase, or Anonymise with anonymise.
func (s *Service) forget(ctx context.Context, id string, anonymise bool) (*Erasure, error) {
	out := &Erasure{ContactID: id, Anonymised: anonymise}
	err := s.store.RunInTx(ctx, func(ctx context.Context) error {
		c, err := s.t.contacts.Get(ctx, id)
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
		var shared []string // activities of other contacts too, which stay
		q := storage.ListQuery{Filter: storage.Cmp{Field: "contact_ids", Op: storage.OpContains, Value: id}, PageQuery: storage.PageQuery{Limit: storage.MaxLimit}}
		for {
			page, err := s.t.activities.List(ctx, q)
			if err != nil {
				return err
			}
			for _, a := range page.Items {
				scrub = append(scrub, a.ID)
				if len(a.ContactIDs) > 1 {
					// Shared with other contacts (a meeting of several): it
					// is theirs too, and stays without the person.
					_, err := storage.Modify(ctx, s.store, s.t.activities, a.ID, 0, func(ctx context.Context, next *Activity) error {
						next.ContactIDs = slices.DeleteFunc(slices.Clone(next.ContactIDs), func(c string) bool { return c == id })
						return nil
					})
					if err != nil {
						return fmt.Errorf("activity %s: %w", a.ID, err)
					}
					shared = append(shared, a.ID)
					continue
				}
				if err := s.t.activities.Delete(ctx, a); err != nil {
					return fmt.Errorf("activity %s: %w", a.ID, err)
				}
				out.Activities++
			}
			if len(page.Items) < q.Limit {
				break
			}
		}
		took, err := s.leaveActivities(ctx, c)
		if err != nil {
			return err
		}
		scrub = append(scrub, took...)
		for _, a := range shared {
			if !slices.Contains(took, a) {
				took = append(took, a)
			}
		}
		out.Participations = len(took)
		consents, err := s.Consents.List(ctx, id)
		if err != nil {
			return err
		}
		for _, cn := range consents {
			if err := s.t.consents.Delete(ctx, cn); err != nil {
				return err
			}
			scrub = append(scrub, cn.ID)
			out.Consents++
		}
		if anonymise {
			fields, err := s.Fields.Personal(ctx, ObjectContact)
			if err != nil {
				return err
			}
			_, err = storage.Modify(ctx, s.store, s.t.contacts, id, 0, func(ctx context.Context, next *Contact) error {
				blank(contactFields, next, &next.Custom, fields)
				next.Tags = append(slices.Clone(next.Tags), TagAnonymised)
				next.Tags, _ = NormalizeTags(next.Tags)
				return nil
			}, storage.WithEventType("contact.anonymised"))
			if err != nil {
				return err
			}
		} else if err := s.t.contacts.Delete(ctx, c, storage.WithEventType("contact.erased")); err != nil {
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

// leaveActivities removes the person c from the participants of the
// activities about others that name it, by its ID or one of its email
// addresses, and returns their IDs: their past change events hold the
// person and must be scrubbed. Finding them reads the workspace's
// activities (no index serves a participant).
func (s *Service) leaveActivities(ctx context.Context, c *Contact) ([]string, error) {
	addrs, took := participant(c)
	var ids []string
	err := storage.Each(ctx, s.t.activities, storage.ListQuery{Filter: took, PageQuery: storage.PageQuery{Limit: storage.MaxLimit}},
		func(a *Activity) error {
			ids = append(ids, a.ID)
			return nil
		})
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		_, err := storage.Modify(ctx, s.store, s.t.activities, id, 0, func(ctx context.Context, a *Activity) error {
			a.Participants = slices.DeleteFunc(slices.Clone(a.Participants), func(p Participant) bool {
				return p.ContactID == c.ID || p.Email != "" && slices.Contains(addrs, p.Email)
			})
			if len(a.Participants) == 0 {
				a.Participants = nil
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("activity %s: %w", id, err)
		}
	}
	return ids, nil
}

// participant returns the addresses of c and the filter of the
// activities that name c among their participants, by its ID or one of
// those addresses.
func participant(c *Contact) ([]string, storage.Or) {
	addrs := slices.DeleteFunc(append([]string{c.Email}, emailsOf(c)...), func(a string) bool { return a == "" })
	or := storage.Or{storage.Cmp{Field: "participants", Op: storage.OpContains, Value: map[string]string{"contact_id": c.ID}}}
	for _, a := range addrs {
		or = append(or, storage.Cmp{Field: "participants", Op: storage.OpContains, Value: map[string]string{"email": a}})
	}
	return addrs, or
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
	// Anonymise keeps the contacts and removes their personal data
	// (Anonymise) instead of erasing them; contacts anonymised already are
	// left alone.
	Anonymise bool
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

// ApplyRetention erases (Erase), or anonymises (Anonymise), the contacts
// inactive for policy.InactiveMonths: last changed before the cutoff and
// with no activity since. It runs on demand; a workflow schedule can run
// it later. crm.CRM.ApplyRetention also handles the person's leads, and
// leads on their own.
func (s *Service) ApplyRetention(ctx context.Context, policy RetentionPolicy) (*RetentionReport, error) {
	if policy.InactiveMonths < 1 {
		return nil, storage.Invalid("inactive_months", "must be at least 1")
	}
	if policy.Limit <= 0 {
		policy.Limit = 1000
	}
	rep := &RetentionReport{Cutoff: storage.Now().AddDate(0, -policy.InactiveMonths, 0), DryRun: policy.DryRun}
	filter := storage.Filter(storage.Cmp{Field: "updated_at", Op: storage.OpLt, Value: rep.Cutoff})
	if policy.Anonymise {
		filter = storage.And{filter, storage.Not{Filter: storage.HasTag(TagAnonymised)}}
	}
	q := storage.ListQuery{Filter: filter, Sort: []storage.Sort{{Field: "updated_at"}}, PageQuery: storage.PageQuery{Limit: 200}}
	for len(rep.Contacts) < policy.Limit {
		page, err := s.t.contacts.List(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, c := range page.Items {
			if len(rep.Contacts) == policy.Limit {
				break
			}
			recent, err := s.t.activities.Count(ctx, storage.And{
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
	forget := s.Erase
	if policy.Anonymise {
		forget = s.Anonymise
	}
	for _, id := range rep.Contacts {
		if _, err := forget(ctx, id); err != nil {
			return rep, fmt.Errorf("contact %s: %w", id, err)
		}
	}
	return rep, nil
}

package contacts

import (
	"context"

	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/merge"
)

// ownMovers are the movers of this module's records: what a merge of two
// contacts or two accounts moves without other modules.
func (s *Service) ownMovers() []merge.Mover {
	st := s.store
	return []merge.Mover{
		merge.NewRepointer(st, s.t.activities, ObjectContact,
			func(a *Activity) activityPeople { return activityPeople{a.ContactIDs, a.Participants} },
			func(a *Activity, p activityPeople) { a.ContactIDs, a.Participants = p.ContactIDs, p.Participants },
			func(p activityPeople, from, to string) activityPeople {
				out := activityPeople{ContactIDs: merge.ReplaceIDs(p.ContactIDs, from, to)}
				for _, pt := range p.Participants {
					pt.ContactID = merge.ReplaceID(pt.ContactID, from, to)
					out.Participants = append(out.Participants, pt)
				}
				return out
			}).
			// The activities about the loser, and those it only took part
			// in: a participant is not a link.
			Find(func(from, _ string) storage.Filter {
				return storage.Or{storage.LinkedTo{Type: ObjectContact, ID: from},
					storage.Cmp{Field: "participants", Op: storage.OpContains, Value: map[string]string{"contact_id": from}}}
			}),
		merge.NewIDRepointer(st, s.t.consents, ObjectContact, func(c *Consent) *string { return &c.ContactID }).Clash(s.consentClash),
		merge.NewIDRepointer(st, s.t.contacts, ObjectAccount, func(c *Contact) *string { return &c.AccountID }).
			Find(func(from, _ string) storage.Filter { return storage.Eq("account_id", from) }),
		merge.NewIDRepointer(st, s.t.activities, ObjectAccount, func(a *Activity) *string { return &a.AccountID }),
		// The loser's children; the survivor, when it is one, takes its
		// new parent from the merge itself.
		merge.NewIDRepointer(st, s.t.accounts, ObjectAccount, func(a *Account) *string { return &a.ParentID }).
			Find(func(from, to string) storage.Filter {
				return storage.And{storage.Eq("parent_id", from), storage.Cmp{Field: "id", Op: storage.OpNe, Value: to}}
			}),
	}
}

// activityPeople are the references of an activity to contacts.
type activityPeople struct {
	ContactIDs   []string      `json:"contact_ids,omitempty"`
	Participants []Participant `json:"participants,omitempty"`
}

// consentClash decides between a consent of the loser and the
// survivor's consent to the same purpose: the one given or withdrawn
// last stays, the other is removed.
func (s *Service) consentClash(ctx context.Context, moving *Consent, to string) (*Consent, bool, error) {
	page, err := s.t.consents.List(ctx, storage.ListQuery{Filter: storage.And{storage.Eq("contact_id", to),
		storage.Eq("purpose", moving.Purpose)}, PageQuery: storage.PageQuery{Limit: 1}})
	if err != nil || len(page.Items) == 0 {
		return nil, false, err
	}
	if have := page.Items[0]; moving.At.After(have.At) {
		return have, true, nil
	}
	return moving, true, nil
}

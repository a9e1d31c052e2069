package sales

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
)

// LeadPersonalFields returns the fields of a lead that hold personal
// data: names, email, phone and job title. The company, its domain and
// the lead's source, campaign, status and score describe no person.
func LeadPersonalFields() []string {
	return []string{"first_name", "last_name", "email", "phone", "job_title"}
}

// Anonymise empties the fields of l that hold personal data
// (LeadPersonalFields) and tags it contacts.TagAnonymised; the rest stays,
// so lead statistics still count it. The caller stores l (and scrubs the
// lead's past change events, as ForgetRecord does).
func (l *Lead) Anonymise() {
	l.FirstName, l.LastName, l.Email, l.Phone, l.JobTitle = "", "", "", "", ""
	if !slices.Contains(l.Tags, contacts.TagAnonymised) {
		l.Tags = append(slices.Clone(l.Tags), contacts.TagAnonymised)
	}
}

// PersonalTypes implements storage.PersonalOwner: leads are a person's
// when they were converted into its contact or hold one of its addresses.
func (s *Service) PersonalTypes() []string { return []string{ObjectLead} }

// PersonalRecords implements storage.PersonalDataProvider: the person's
// leads.
func (s *Service) PersonalRecords(ctx context.Context, p storage.Person) (map[string]any, error) {
	leads, err := s.personLeads(ctx, p)
	if err != nil || len(leads) == 0 {
		return nil, err
	}
	return map[string]any{ObjectLead: leads}, nil
}

// ForgetPerson implements storage.PersonalDataProvider: each of the
// person's leads is deleted (event lead.erased) or anonymised
// (lead.anonymised), and its past change events scrubbed.
func (s *Service) ForgetPerson(ctx context.Context, p storage.Person, anonymise bool) (map[string]int, error) {
	leads, err := s.personLeads(ctx, p)
	if err != nil || len(leads) == 0 {
		return nil, err
	}
	for _, l := range leads {
		if err := s.ForgetRecord(ctx, ObjectLead, l.ID, anonymise); err != nil {
			return nil, err
		}
	}
	return map[string]int{ObjectLead: len(leads)}, nil
}

// personLeads returns the leads of p, in ID order: those converted into
// its contact, and those with one of its email addresses. They are two
// look-ups, each by its index (one query with OR read the whole workspace
// on SQLite).
func (s *Service) personLeads(ctx context.Context, p storage.Person) ([]*Lead, error) {
	all := storage.PageQuery{Limit: storage.MaxLimit}
	var out []*Lead
	collect := func(q storage.ListQuery) error {
		return storage.Each(ctx, s.t.leads, q, func(l *Lead) error {
			if !slices.ContainsFunc(out, func(o *Lead) bool { return o.ID == l.ID }) {
				out = append(out, l)
			}
			return nil
		})
	}
	if err := collect(storage.ListQuery{Filter: storage.LinkedTo{Type: contacts.ObjectContact, ID: p.ContactID}, PageQuery: all}); err != nil {
		return nil, err
	}
	if len(p.Emails) > 0 {
		// Sorted by email, so that the email index gives the order.
		if err := collect(storage.ListQuery{Filter: storage.Cmp{Field: "email", Op: storage.OpIn, Value: p.Emails},
			Sort: []storage.Sort{{Field: "email"}}, PageQuery: all}); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(out, func(a, b *Lead) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// Inactive implements storage.RetentionProvider for leads: those last
// changed before cutoff and without an activity since.
func (s *Service) Inactive(ctx context.Context, recordType string, cutoff time.Time, anonymise bool, limit int) ([]string, error) {
	if recordType != ObjectLead {
		return nil, storage.Invalid("record_type", "the sales module applies retention to leads, not %q", recordType)
	}
	filter := storage.Filter(storage.Cmp{Field: "updated_at", Op: storage.OpLt, Value: cutoff})
	if anonymise {
		filter = storage.And{filter, storage.Not{Filter: storage.HasTag(contacts.TagAnonymised)}}
	}
	q := storage.ListQuery{Filter: filter, Sort: []storage.Sort{{Field: "updated_at"}}, PageQuery: storage.PageQuery{Limit: 200}}
	activities := storage.TableOf[*contacts.Activity](s.store)
	out := []string{}
	errFull := errors.New("full")
	err := storage.Each(ctx, s.t.leads, q, func(l *Lead) error {
		recent, err := activities.Count(ctx, storage.And{storage.LinkedTo{Type: ObjectLead, ID: l.ID},
			storage.Cmp{Field: "occurred_at", Op: storage.OpGe, Value: cutoff}})
		if err != nil {
			return err
		}
		if recent == 0 {
			out = append(out, l.ID)
		}
		if len(out) == limit {
			return errFull
		}
		return nil
	})
	if err != nil && !errors.Is(err, errFull) {
		return nil, err
	}
	return out, nil
}

// ForgetRecord implements storage.RetentionProvider for leads: the lead id
// is deleted (event lead.erased) or anonymised (lead.anonymised), and the
// values of its past change events scrubbed, in one transaction.
func (s *Service) ForgetRecord(ctx context.Context, recordType, id string, anonymise bool) error {
	if recordType != ObjectLead {
		return storage.Invalid("record_type", "the sales module forgets leads, not %q", recordType)
	}
	return s.store.RunInTx(ctx, func(ctx context.Context) error {
		if anonymise {
			if _, err := storage.Modify(ctx, s.store, s.t.leads, id, 0, func(ctx context.Context, l *Lead) error {
				l.Anonymise()
				return nil
			}, storage.WithEventType("lead.anonymised")); err != nil {
				return fmt.Errorf("lead %s: %w", id, err)
			}
		} else if err := storage.Remove(ctx, s.store, s.t.leads, id, 0, nil, storage.WithEventType("lead.erased")); err != nil {
			return fmt.Errorf("lead %s: %w", id, err)
		}
		return s.store.ScrubEvents(ctx, id)
	})
}

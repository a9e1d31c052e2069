package contacts

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/crmkit/crm/storage"
)

// LawfulBasis is the GDPR Article 6 ground for processing personal data.
type LawfulBasis string

// The lawful bases.
const (
	BasisConsent             LawfulBasis = "consent"
	BasisContract            LawfulBasis = "contract"
	BasisLegalObligation     LawfulBasis = "legal_obligation"
	BasisVitalInterests      LawfulBasis = "vital_interests"
	BasisPublicTask          LawfulBasis = "public_task"
	BasisLegitimateInterests LawfulBasis = "legitimate_interests"
)

// Consent is where a contact stands on one purpose of processing, such as
// "newsletter". One record per contact and purpose; its change events are
// the history of grants and withdrawals.
type Consent struct {
	storage.Meta
	ContactID   string      `bun:"contact_id,notnull" json:"contact_id"`
	Purpose     string      `bun:"purpose,notnull" json:"purpose"`
	LawfulBasis LawfulBasis `bun:"lawful_basis,notnull" json:"lawful_basis"`
	Granted     bool        `bun:"granted,notnull" json:"granted"`
	// Source says how it was given or withdrawn: "web form", "email link".
	Source string `bun:"source,notnull" json:"source,omitempty"`
	// At is when it was given or withdrawn.
	At time.Time `bun:"at,notnull" json:"at"`
}

// RecordType returns "consent".
func (*Consent) RecordType() string { return ObjectConsent }

// Links returns the contact, so the consent shows in its relations.
func (c *Consent) Links() []storage.Ref {
	return []storage.Ref{{Type: ObjectContact, ID: c.ContactID}}
}

// ConsentChange is the input of Consents.Set.
type ConsentChange struct {
	Purpose     string      // a key: lower-case letters, digits and underscores
	LawfulBasis LawfulBasis // default consent
	Granted     bool
	Source      string
	At          time.Time // zero means now
}

// Consents records what contacts agreed to.
type Consents struct{ s *Service }

// Set records a grant or a withdrawal of contactID's consent to a purpose
// (events consent.granted and consent.withdrawn).
func (cs *Consents) Set(ctx context.Context, contactID string, in ConsentChange) (*Consent, error) {
	var v storage.ValidationError
	in.Purpose = strings.TrimSpace(in.Purpose)
	if !storage.ValidKey(in.Purpose) {
		v.Add("purpose", "%q must be lower-case letters, digits and underscores, starting with a letter", in.Purpose)
	}
	if in.LawfulBasis == "" {
		in.LawfulBasis = BasisConsent
	}
	switch in.LawfulBasis {
	case BasisConsent, BasisContract, BasisLegalObligation, BasisVitalInterests, BasisPublicTask, BasisLegitimateInterests:
	default:
		v.Add("lawful_basis", "%q is not a lawful basis of GDPR Article 6", in.LawfulBasis)
	}
	in.Source = strings.TrimSpace(in.Source)
	if len(in.Source) > MaxNameLen {
		v.Add("source", "is longer than %d characters", MaxNameLen)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if in.At.IsZero() {
		in.At = storage.Now()
	}
	event := "consent.withdrawn"
	if in.Granted {
		event = "consent.granted"
	}
	var out *Consent
	err := cs.s.store.RunInTx(ctx, func(ctx context.Context) error {
		if _, err := cs.s.t.contacts.Get(ctx, contactID); errors.Is(err, storage.ErrNotFound) {
			return storage.Invalid("contact_id", "does not exist in the workspace")
		} else if err != nil {
			return err
		}
		page, err := cs.s.t.consents.List(ctx, storage.ListQuery{Filter: storage.And{storage.Eq("contact_id", contactID),
			storage.Eq("purpose", in.Purpose)}, PageQuery: storage.PageQuery{Limit: 1}})
		if err != nil {
			return err
		}
		n := &Consent{ContactID: contactID, Purpose: in.Purpose, LawfulBasis: in.LawfulBasis, Granted: in.Granted, Source: in.Source, At: in.At}
		out = n
		if len(page.Items) == 0 {
			return cs.s.t.consents.Insert(ctx, n, storage.WithEventType(event))
		}
		prev := page.Items[0]
		n.Meta = prev.Meta
		return cs.s.t.consents.Update(ctx, prev, n, storage.WithEventType(event))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// List returns every consent of a contact.
func (cs *Consents) List(ctx context.Context, contactID string) ([]*Consent, error) {
	page, err := cs.s.t.consents.List(ctx, storage.ListQuery{Filter: storage.Eq("contact_id", contactID),
		Sort: []storage.Sort{{Field: "purpose"}}, PageQuery: storage.PageQuery{Limit: storage.MaxLimit}})
	return page.Items, err
}

// Granted reports whether the contact has granted purpose (and not
// withdrawn it since).
func (cs *Consents) Granted(ctx context.Context, contactID, purpose string) (bool, error) {
	n, err := cs.s.t.consents.Count(ctx, storage.And{storage.Eq("contact_id", contactID),
		storage.Eq("purpose", purpose), storage.Eq("granted", true)})
	return n > 0, err
}

// PersonalData is everything the contacts module holds about one person:
// the answer to a GDPR access request. crm.CRM.PersonalData adds the
// records of the other modules.
type PersonalData struct {
	ExportedAt time.Time `json:"exported_at"`
	// Personal lists the fields of the contact, and of its account, that
	// hold personal data and have a value: the built-in ones
	// (PersonalBuiltins) and the custom fields marked Personal.
	Personal   []PersonalField `json:"personal_fields"`
	Contact    *Contact        `json:"contact"`
	Account    *Account        `json:"account,omitempty"`
	Activities []*Activity     `json:"activities"`
	Consents   []*Consent      `json:"consents"`
	History    []storage.Event `json:"history"`
	// Related holds the records of other modules, by record type.
	Related map[string]any `json:"related,omitempty"`
}

// PersonalData collects what this module holds about contact id: the
// record, its account, its activities (those about it, and those about
// others it took part in, by its ID or one of its addresses), its consents
// and the change history of the contact and its consents, and of the
// contacts merged into it.
func (s *Service) PersonalData(ctx context.Context, id string) (*PersonalData, error) {
	c, err := s.Contacts.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	pd := &PersonalData{ExportedAt: storage.Now(), Contact: c, Related: map[string]any{}}
	if pd.Personal, err = s.personalFields(ctx, ObjectContact, c); err != nil {
		return nil, err
	}
	if c.AccountID != "" {
		if pd.Account, err = s.Accounts.Get(ctx, c.AccountID); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return nil, err
		}
		if pd.Account != nil {
			af, err := s.personalFields(ctx, ObjectAccount, pd.Account)
			if err != nil {
				return nil, err
			}
			pd.Personal = append(pd.Personal, af...)
		}
	}
	// The activities about the person, and those it took part in.
	_, took := participant(c)
	q := storage.ListQuery{Filter: append(storage.Or{storage.Cmp{Field: "contact_ids", Op: storage.OpContains, Value: id}}, took...),
		PageQuery: storage.PageQuery{Limit: storage.MaxLimit}}
	err = storage.Each(ctx, s.t.activities, q, func(a *Activity) error {
		pd.Activities = append(pd.Activities, a)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if pd.Consents, err = s.Consents.List(ctx, id); err != nil {
		return nil, err
	}
	merged, err := s.mergedAway(ctx, id)
	if err != nil {
		return nil, err
	}
	subjects := append([]string{id}, merged...)
	for _, cn := range pd.Consents {
		subjects = append(subjects, cn.ID)
	}
	for _, sub := range subjects {
		pq := storage.PageQuery{Limit: storage.MaxLimit}
		for {
			page, err := s.store.History(ctx, sub, pq)
			if err != nil {
				return nil, fmt.Errorf("history of %s: %w", sub, err)
			}
			pd.History = append(pd.History, page.Items...)
			if page.Next == "" {
				break
			}
			pq.Cursor = page.Next
		}
	}
	return pd, nil
}

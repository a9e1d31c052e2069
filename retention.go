package crm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/sales"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/workflow"
)

// RetentionPolicy says which contacts and leads the CRM keeps no longer.
// Set ContactMonths, LeadMonths or both.
type RetentionPolicy struct {
	// ContactMonths: contacts not changed, and without an activity, for
	// this many months are erased with their leads (Erase), or anonymised.
	// 0 leaves contacts alone.
	ContactMonths int `json:"contact_months,omitempty"`
	// LeadMonths: leads not changed, and without an activity, for this
	// many months are deleted, or anonymised. 0 leaves leads alone.
	LeadMonths int `json:"lead_months,omitempty"`
	// Anonymise keeps the records and empties their personal data
	// (contacts.Service.Anonymise, sales.Lead.Anonymise) instead of
	// deleting them; records anonymised already are left alone.
	Anonymise bool `json:"anonymise,omitempty"`
	// DryRun lists what a run would do, and does nothing.
	DryRun bool `json:"dry_run,omitempty"`
	// Limit bounds how many records of each type one run handles (default
	// 1000); run again for the rest.
	Limit int `json:"limit,omitempty"`
}

// ActionApplyRetention is the workflow action that applies a retention
// policy (its parameters are a RetentionPolicy in JSON: contact_months,
// lead_months, anonymise, dry_run, limit), so that a cron rule runs
// retention on a schedule:
//
//	app.Workflow.Define(ctx, workflow.Rule{Name: "Nightly retention", Enabled: true,
//		Trigger: workflow.Trigger{Kind: workflow.OnSchedule, Cron: "0 3 * * *"},
//		Actions: []workflow.Action{workflow.NewAction(crm.ActionApplyRetention,
//			crm.RetentionPolicy{ContactMonths: 36, LeadMonths: 12})}})
//
// crm.New registers it on the engine.
const ActionApplyRetention = "apply_retention"

// retentionAction is the workflow action of ActionApplyRetention. It runs
// in the step's transaction, so a run's erasures commit with the step.
func (c *CRM) retentionAction() workflow.Handler {
	decode := func(raw json.RawMessage) (RetentionPolicy, error) {
		var p RetentionPolicy
		if len(raw) == 0 {
			return p, errors.New("params: name contact_months or lead_months")
		}
		d := json.NewDecoder(bytes.NewReader(raw))
		d.DisallowUnknownFields()
		if err := d.Decode(&p); err != nil {
			return p, fmt.Errorf("params: %v", err)
		}
		switch {
		case p.ContactMonths < 0 || p.LeadMonths < 0 || p.Limit < 0:
			return p, errors.New("params: months and limit must not be negative")
		case p.ContactMonths == 0 && p.LeadMonths == 0:
			return p, errors.New("params: name contact_months or lead_months")
		}
		return p, nil
	}
	return workflow.Handler{
		Check: func(_ context.Context, in workflow.CheckInput) error {
			_, err := decode(in.Params)
			return err
		},
		Run: func(ctx context.Context, call *workflow.Call) (any, error) {
			p, err := decode(call.Params)
			if err != nil {
				return nil, workflow.Permanent(fmt.Errorf("%w: %v", storage.ErrInvalid, err))
			}
			rep, err := c.ApplyRetention(ctx, p)
			if err != nil {
				return nil, err
			}
			return map[string]any{"contacts": len(rep.Contacts), "leads": len(rep.Leads), "dry_run": p.DryRun}, nil
		},
	}
}

// RetentionReport is what ApplyRetention did.
type RetentionReport struct {
	// ContactCutoff and LeadCutoff are the times before which records
	// count as inactive (zero for a type left alone).
	ContactCutoff time.Time `json:"contact_cutoff,omitzero"`
	LeadCutoff    time.Time `json:"lead_cutoff,omitzero"`
	// Contacts and Leads are the IDs handled (or, dry, to handle). The
	// leads erased with their contacts are not listed.
	Contacts []string `json:"contacts"`
	Leads    []string `json:"leads"`
	// Anonymised and DryRun repeat the policy.
	Anonymised bool `json:"anonymised,omitempty"`
	DryRun     bool `json:"dry_run,omitempty"`
}

// ApplyRetention applies policy on demand (a workflow schedule can run it
// later): the inactive contacts are erased with their leads (Erase) or
// anonymised (Anonymise), then the inactive leads are deleted, their
// change events scrubbed, or anonymised. Each record is handled in a
// transaction of its own, so an error stops the run with what was done
// before it reported. Bad months are ErrInvalid naming the field.
func (c *CRM) ApplyRetention(ctx context.Context, policy RetentionPolicy) (*RetentionReport, error) {
	var v storage.ValidationError
	if policy.ContactMonths < 0 {
		v.Add("contact_months", "must not be negative")
	}
	if policy.LeadMonths < 0 {
		v.Add("lead_months", "must not be negative")
	}
	if policy.ContactMonths == 0 && policy.LeadMonths == 0 {
		v.Add("contact_months", "or lead_months must be at least 1")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if policy.Limit <= 0 {
		policy.Limit = 1000
	}
	rep := &RetentionReport{Anonymised: policy.Anonymise, DryRun: policy.DryRun, Contacts: []string{}, Leads: []string{}}
	if policy.ContactMonths > 0 {
		// The contacts module picks them; the facade erases them, so that
		// their leads go too.
		cr, err := c.people.ApplyRetention(ctx, contacts.RetentionPolicy{InactiveMonths: policy.ContactMonths,
			Anonymise: policy.Anonymise, DryRun: true, Limit: policy.Limit})
		if err != nil {
			return nil, err
		}
		rep.ContactCutoff, rep.Contacts = cr.Cutoff, cr.Contacts
		if !policy.DryRun {
			forget := c.Erase
			if policy.Anonymise {
				forget = c.Anonymise
			}
			for _, id := range cr.Contacts {
				if _, err := forget(ctx, id); err != nil {
					return rep, fmt.Errorf("contact %s: %w", id, err)
				}
			}
		}
	}
	if policy.LeadMonths > 0 {
		rep.LeadCutoff = storage.Now().AddDate(0, -policy.LeadMonths, 0)
		ids, err := c.inactiveLeads(ctx, rep.LeadCutoff, policy.Anonymise, policy.Limit)
		if err != nil {
			return rep, err
		}
		rep.Leads = ids
		if !policy.DryRun {
			for _, id := range ids {
				if err := c.forgetLead(ctx, id, policy.Anonymise); err != nil {
					return rep, fmt.Errorf("lead %s: %w", id, err)
				}
			}
		}
	}
	return rep, nil
}

// inactiveLeads returns up to limit leads last changed before cutoff and
// without an activity since (not anonymised ones, when anonymising),
// oldest first.
func (c *CRM) inactiveLeads(ctx context.Context, cutoff time.Time, anonymise bool, limit int) ([]string, error) {
	filter := storage.Filter(storage.Cmp{Field: "updated_at", Op: storage.OpLt, Value: cutoff})
	if anonymise {
		filter = storage.And{filter, storage.Not{Filter: storage.HasTag(contacts.TagAnonymised)}}
	}
	q := storage.ListQuery{Filter: filter, Sort: []storage.Sort{{Field: "updated_at"}}, PageQuery: storage.PageQuery{Limit: 200}}
	out := []string{}
	errFull := errors.New("full")
	err := storage.Each(ctx, storage.TableOf[*sales.Lead](c.store), q, func(l *sales.Lead) error {
		recent, err := storage.TableOf[*contacts.Activity](c.store).Count(ctx, storage.And{storage.LinkedTo{Type: sales.ObjectLead, ID: l.ID},
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

// forgetLead deletes the lead id (event lead.erased), or anonymises it
// (lead.anonymised), and scrubs the values of its past change events, in
// one transaction.
func (c *CRM) forgetLead(ctx context.Context, id string, anonymise bool) error {
	return c.store.RunInTx(ctx, func(ctx context.Context) error {
		if anonymise {
			_, err := storage.Modify(ctx, c.store, storage.TableOf[*sales.Lead](c.store), id, 0, func(ctx context.Context, l *sales.Lead) error {
				l.Anonymise()
				return nil
			}, storage.WithEventType("lead.anonymised"))
			if err != nil {
				return err
			}
		} else if err := storage.Remove(ctx, c.store, storage.TableOf[*sales.Lead](c.store), id, 0, nil, storage.WithEventType("lead.erased")); err != nil {
			return err
		}
		return c.store.ScrubEvents(ctx, id)
	})
}

// Anonymise removes a person's personal data and keeps their records, in
// one transaction: the contact (contacts.Service.Anonymise: personal
// fields emptied, activities and consents deleted, change events
// scrubbed) and the leads converted into it or with one of its email
// addresses (sales.Lead.Anonymise, their events scrubbed). Deals, quotes,
// invoices and orders stay linked to the anonymous contact.
func (c *CRM) Anonymise(ctx context.Context, contactID string) (*contacts.Erasure, error) {
	return c.forget(ctx, contactID, true)
}

package retention

import (
	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/sales"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/workflow"
)

// WinBack is a win-back sequence: customers enter it when their churn risk
// turns high (the moment RFM.ChurnAt comes, by a time trigger, so nothing
// polls), get its steps (mail, tasks, tags, waits), and leave it as soon
// as they buy again (an order recorded, or a deal won, for the contact).
// Its Rules are workflow rules to save with the engine
// (Workflow.Rules.Create), as marketing.Nurture's are.
type WinBack struct {
	// Name names the sequence rule; the entry rule is "<Name>: enter".
	Name string
	// Steps are the sequence's actions, run on the contact: a
	// workflow.SendEmail, a Wait, a CreateTask…
	Steps []workflow.Action
	// When, if set, is an expression over the customer's RFM record that
	// must hold for it to enter, such as "spent >= 10000" or "segment in
	// ['at_risk', 'cant_lose']" (customers worth winning back).
	When string
	// ExitWhen, if set, is an expression over the contact that ends its
	// run before a step after a wait, such as "'do_not_contact' in tags".
	ExitWhen string
}

// Rules returns the sequence (a manual rule on contacts holding the steps
// and the exits: an order of the contact created, a deal of it won) and
// its entry (a time rule at each customer_rfm's churn_at that enrolls the
// record's contact). A customer who buys moves its churn_at later, so the
// entry waits for the new date; one who falls silent again enters again.
// Missing name or steps are ErrInvalid naming them.
func (w WinBack) Rules() ([]workflow.Rule, error) {
	var v storage.ValidationError
	if w.Name == "" {
		v.Add("name", "is required")
	}
	if len(w.Steps) == 0 {
		v.Add("steps", "are required")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	seq := workflow.Rule{Name: w.Name, Enabled: true, Description: "Win-back sequence",
		Trigger: workflow.Trigger{Kind: workflow.OnManual, Object: contacts.ObjectContact},
		Actions: w.Steps, Exit: workflow.Exit{When: w.ExitWhen, On: []workflow.Trigger{
			{Object: sales.ObjectOrder, Events: []string{"created"}},
			{Object: sales.ObjectOpportunity, Events: []string{"won"}},
		}}}
	entry := workflow.Rule{Name: w.Name + ": enter", Enabled: true, Description: "Enters customers whose churn risk turned high",
		Trigger:   workflow.Trigger{Kind: workflow.OnTime, Object: ObjectRFM, Field: "churn_at"},
		Condition: w.When, Actions: []workflow.Action{workflow.EnrollOf(w.Name, "contact_id")}}
	return []workflow.Rule{seq, entry}, nil
}

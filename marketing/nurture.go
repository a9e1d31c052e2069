package marketing

import (
	"strconv"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/sales"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/workflow"
)

// Nurture is a lead-nurture sequence: steps (workflow actions: waits,
// emails, tasks, field updates) that run for each contact entering a
// segment or posting a web form, until the contact replies, converts or
// leaves the segment. It is made of workflow rules (see Rules): the
// sequence itself runs on the contact, so that its exit conditions see
// the contact's own changes, its activities and its deals; small entry
// rules on the segment's members and the form's posts enroll the contact
// the record names.
type Nurture struct {
	// Name names the sequence, a workflow rule of the workspace; the entry
	// and exit rules are named after it ("<Name>: enter on segment", …).
	Name string
	// SegmentID enrolls the contacts entering this segment (dynamic or
	// static); FormID those posting this web form. At least one is needed.
	SegmentID, FormID string
	// Steps are the sequence's actions, in order, such as
	// workflow.Wait(2*24*time.Hour) and workflow.SendEmail(...). Their
	// templates see the contact's fields.
	Steps []workflow.Action
	// ExitWhen is an expression over the contact, checked before each
	// step after a wait, that ends the run when true, such as "lifecycle
	// == 'customer'". Empty: none.
	ExitWhen string
	// ExitOnReply ends the run when an inbound email activity of the
	// contact is logged (the contact replied).
	ExitOnReply bool
	// ExitOnDeal ends the run when a deal (opportunity) of the contact is
	// created or won: it converted.
	ExitOnDeal bool
	// ExitOnLeave ends the run when the contact leaves SegmentID.
	ExitOnLeave bool
}

// Rules returns the workflow rules of the sequence, enabled: the sequence
// (a manual rule on contacts named Name, with its exit conditions), then a
// rule that enrolls the contacts entering the segment, one that enrolls
// those posting the form, and one that ends the runs of the contacts
// leaving the segment, as n asks. Save them with Engine.Define or
// Rules.Create; the engine checks their expressions and actions then.
// Missing parts are ErrInvalid naming the field.
func (n Nurture) Rules() ([]workflow.Rule, error) {
	var v storage.ValidationError
	if n.Name == "" {
		v.Add("name", "is required")
	}
	if n.SegmentID == "" && n.FormID == "" {
		v.Add("segment_id", "is required, or form_id: who enters the sequence")
	}
	if len(n.Steps) == 0 {
		v.Add("steps", "are required")
	}
	if n.ExitOnLeave && n.SegmentID == "" {
		v.Add("exit_on_leave", "needs segment_id")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	seq := workflow.Rule{Name: n.Name, Enabled: true, Description: "Nurture sequence",
		Trigger: workflow.Trigger{Kind: workflow.OnManual, Object: contacts.ObjectContact},
		Actions: n.Steps, Exit: workflow.Exit{When: n.ExitWhen}}
	if n.ExitOnReply {
		seq.Exit.On = append(seq.Exit.On, workflow.Trigger{Object: contacts.ObjectActivity, Events: []string{"created"}})
		seq.Exit.OnCondition = append(seq.Exit.OnCondition,
			"direction == "+strconv.Quote(string(contacts.Inbound))+" && kind == "+strconv.Quote(string(contacts.KindEmail)))
	}
	if n.ExitOnDeal {
		seq.Exit.On = append(seq.Exit.On, workflow.Trigger{Object: sales.ObjectOpportunity, Events: []string{"created", "won"}})
		if n.ExitOnReply {
			seq.Exit.OnCondition = append(seq.Exit.OnCondition, "")
		}
	}
	out := []workflow.Rule{seq}
	entry := func(name, object, event, field, id string, act workflow.Action) {
		out = append(out, workflow.Rule{Name: n.Name + ": " + name, Enabled: true,
			Trigger:   workflow.Trigger{Kind: workflow.OnEvent, Object: object, Events: []string{event}},
			Condition: field + " == " + strconv.Quote(id), Actions: []workflow.Action{act}})
	}
	if n.SegmentID != "" {
		entry("enter on segment", ObjectSegmentMember, "entered", "segment_id", n.SegmentID, workflow.EnrollOf(n.Name, "contact_id"))
	}
	if n.FormID != "" {
		entry("enter on form", ObjectFormPost, "created", "form_id", n.FormID, workflow.EnrollOf(n.Name, "contact_id"))
	}
	if n.ExitOnLeave {
		entry("exit on leaving segment", ObjectSegmentMember, "left", "segment_id", n.SegmentID, workflow.ExitSequenceOf(n.Name, "contact_id"))
	}
	return out, nil
}

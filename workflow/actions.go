package workflow

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/filterexpr"
	"github.com/crmkit/crm/workflow/send"
)

// The built-in actions.
const (
	ActionSendEmail    = "send_email"
	ActionCreateTask   = "create_task"
	ActionUpdateField  = "update_field"
	ActionAddTag       = "add_tag"
	ActionRemoveTag    = "remove_tag"
	ActionAssignOwner  = "assign_owner"
	ActionCallWebhook  = "call_webhook"
	ActionWait         = "wait"
	ActionEnroll       = "enroll"
	ActionExitSequence = "exit_sequence"
)

// Handler is one kind of action.
type Handler struct {
	// Run performs the action for one step of a run and returns what the
	// run's history should show of it (such as a new record's ID). A
	// non-External action runs inside the step's transaction, with the
	// context that carries it: its writes commit with the step, exactly
	// once. Its error is retried by the policy unless permanent (see
	// Permanent).
	Run func(ctx context.Context, call *Call) (any, error)
	// Check validates the action's parameters when a rule is saved; nil
	// accepts any.
	Check func(ctx context.Context, in CheckInput) error
	// Plan returns the parameters as the action would use them for the
	// call's record, for dry runs, without side effects. Nil shows the
	// stored parameters.
	Plan func(ctx context.Context, call *Call) (any, error)
	// External marks an action with effects outside the database (mail,
	// HTTP). It runs outside any transaction, at least once per step: a
	// worker that dies after the effect and before the step is recorded
	// makes it run again, with the same Call.Key for the receiver to drop
	// the repeat.
	External bool

	builtin bool
}

// CheckInput is what Handler.Check gets.
type CheckInput struct {
	// Object is the rule's trigger object ("" for schedules without one).
	Object string
	// Schema is the object's expression schema (nil without an object).
	Schema filterexpr.Schema
	// Params are the action's parameters.
	Params json.RawMessage
	// Engine is the engine the rule is saved to.
	Engine *Engine
}

// Call is one run of an action.
type Call struct {
	// Run is the run the step belongs to, with the rule as it started.
	Run *Run
	// Step is the index of the action in the rule.
	Step int
	// Action is the action.
	Action Action
	// Params are its parameters.
	Params json.RawMessage
	// Subject is the run's record; empty for schedules without one.
	Subject storage.Ref
	// Record is the subject as read for this step, and Fields its fields
	// by name.
	Record storage.Record
	Fields filterexpr.Record
	// Event is the event that set the run off, when one did, else nil.
	Event *storage.Event
	// Key identifies the step, the same on every attempt: an idempotency
	// key for receivers of external effects.
	Key string
	// Attempt counts the attempts of the step, from 1.
	Attempt int
	// Now is the engine's clock at the start of the step.
	Now time.Time

	e         *Engine
	waitUntil time.Time
	data      map[string]any // what templates see, made at the first Render
	withEvent bool           // data holds the event's old and new values
}

// Decode unmarshals the call's parameters into v.
func (c *Call) Decode(v any) error {
	if len(c.Params) == 0 {
		return nil
	}
	if err := json.Unmarshal(c.Params, v); err != nil {
		return Permanent(fmt.Errorf("%w: action %s: params: %v", storage.ErrInvalid, c.Action.Type, err))
	}
	return nil
}

// Render executes text as a template over the call's record
// ({{.first_name}}, {{.custom.tier}}, {{.rule}}).
func (c *Call) Render(text string) (string, error) {
	out, err := c.e.render(text, c.templateData(text), false)
	if err != nil {
		return "", Permanent(fmt.Errorf("%w: template: %v", storage.ErrInvalid, err))
	}
	return out, nil
}

func (c *Call) renderHTML(text string) (string, error) {
	out, err := c.e.render(text, c.templateData(text), true)
	if err != nil {
		return "", Permanent(fmt.Errorf("%w: template: %v", storage.ErrInvalid, err))
	}
	return out, nil
}

// EmailParams are the parameters of SendEmail. Every text is a template.
type EmailParams struct {
	// To is the recipient; default "{{.email}}", the record's email.
	To string `json:"to,omitempty"`
	// Cc are further recipients.
	Cc      []string `json:"cc,omitempty"`
	From    string   `json:"from,omitempty"`
	ReplyTo string   `json:"reply_to,omitempty"`
	Subject string   `json:"subject"`
	// Text and HTML are the bodies; the HTML template escapes the values
	// it inserts.
	Text string `json:"text,omitempty"`
	HTML string `json:"html,omitempty"`
}

// SendEmail returns an action that sends a templated email through the
// engine's Mailer.
func SendEmail(p EmailParams) Action { return NewAction(ActionSendEmail, p) }

// TaskParams are the parameters of CreateTask.
type TaskParams struct {
	// Title and Description are templates.
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	// DueIn sets the due time that long after the step runs; 0 for none.
	DueIn    Duration `json:"due_in,omitempty"`
	AllDay   bool     `json:"all_day,omitempty"`
	Priority string   `json:"priority,omitempty"`
	// Owner is the assignee (a template); default the record's owner.
	Owner string `json:"owner,omitempty"`
}

// CreateTask returns an action that creates a task related to the record.
func CreateTask(p TaskParams) Action { return NewAction(ActionCreateTask, p) }

// FieldParams are the parameters of UpdateField.
type FieldParams struct {
	// Field is the field, as in expressions ("lifecycle", "custom.tier").
	Field string `json:"field"`
	// Value is the new value; a text value is a template.
	Value any `json:"value"`
}

// UpdateField returns an action that sets one field of the record, through
// its module's validation.
func UpdateField(field string, value any) Action {
	return NewAction(ActionUpdateField, FieldParams{Field: field, Value: value})
}

// TagParams are the parameters of AddTag and RemoveTag.
type TagParams struct {
	Tags []string `json:"tags"`
}

// AddTag returns an action that adds tags to the record.
func AddTag(tags ...string) Action { return NewAction(ActionAddTag, TagParams{Tags: tags}) }

// RemoveTag returns an action that removes tags from the record.
func RemoveTag(tags ...string) Action { return NewAction(ActionRemoveTag, TagParams{Tags: tags}) }

// AssignParams are the parameters of AssignOwner: the first rule whose
// condition holds names the owner; else the next of Members in turn
// (round robin, one counter per rule and step).
type AssignParams struct {
	Rules   []AssignRule `json:"rules,omitempty"`
	Members []string     `json:"members,omitempty"`
}

// AssignRule assigns Owner when the expression When holds for the record.
type AssignRule struct {
	When  string `json:"when"`
	Owner string `json:"owner"`
}

// AssignOwner returns an action that sets the record's owner.
func AssignOwner(p AssignParams) Action { return NewAction(ActionAssignOwner, p) }

// WebhookParams are the parameters of CallWebhook.
type WebhookParams struct {
	URL string `json:"url"`
	// Secret signs the body ("whsec_…", Standard Webhooks); empty sends
	// it unsigned.
	Secret  string            `json:"secret,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
	// Body is a template of the JSON body; default a document with the
	// rule, the run, the record's fields and the event.
	Body string `json:"body,omitempty"`
}

// CallWebhook returns an action that posts to a URL.
func CallWebhook(p WebhookParams) Action { return NewAction(ActionCallWebhook, p) }

// WaitParams are the parameters of Wait: pause For a while, or Until a
// date field of the record plus Offset.
type WaitParams struct {
	For    Duration `json:"for,omitempty"`
	Until  string   `json:"until,omitempty"`
	Offset Duration `json:"offset,omitempty"`
}

// Wait returns an action that pauses the run for d, durably: the next
// step is a job due then.
func Wait(d time.Duration) Action { return NewAction(ActionWait, WaitParams{For: Duration(d)}) }

// WaitUntil returns an action that pauses the run until the record's date
// field plus offset.
func WaitUntil(field string, offset time.Duration) Action {
	return NewAction(ActionWait, WaitParams{Until: field, Offset: Duration(offset)})
}

// SequenceParams are the parameters of Enroll and ExitSequence.
type SequenceParams struct {
	// Rule is the name of the rule (the sequence).
	Rule string `json:"rule"`
	// Of, when set, names a field of the run's record that holds the ID of
	// the record to enroll (or whose runs to end), a record of the
	// sequence's trigger object: "contact_id" enrolls the contact that
	// entered a segment (segment_member) or posted a web form
	// (form_post), so that the sequence runs on the contact, where its
	// exit conditions see the contact's replies and deals. A run whose
	// record has the field empty does nothing.
	Of string `json:"of,omitempty"`
}

// Enroll returns an action that starts a run of the named rule (a
// sequence) for the record, unless one is under way.
func Enroll(rule string) Action { return NewAction(ActionEnroll, SequenceParams{Rule: rule}) }

// EnrollOf returns an action that starts a run of the named rule (a
// sequence) for the record whose ID the run's record holds in field (see
// SequenceParams.Of), unless one is under way.
func EnrollOf(rule, field string) Action {
	return NewAction(ActionEnroll, SequenceParams{Rule: rule, Of: field})
}

// ExitSequence returns an action that ends the record's runs of the named
// rule.
func ExitSequence(rule string) Action {
	return NewAction(ActionExitSequence, SequenceParams{Rule: rule})
}

// ExitSequenceOf returns an action that ends the runs of the named rule of
// the record whose ID the run's record holds in field.
func ExitSequenceOf(rule, field string) Action {
	return NewAction(ActionExitSequence, SequenceParams{Rule: rule, Of: field})
}

// decodeParams unmarshals raw into v, strictly.
func decodeParams(raw json.RawMessage, v any) error {
	if err := storage.DecodeStrict(raw, v); err != nil {
		return fmt.Errorf("params: %v", err)
	}
	return nil
}

// needsRecord refuses an action on a rule without an object.
func needsRecord(in CheckInput) error {
	if in.Object == "" {
		return errors.New("needs a record: set trigger.object")
	}
	return nil
}

func builtinActions() map[string]Handler {
	hs := map[string]Handler{
		ActionSendEmail: {
			External: true,
			Check: func(ctx context.Context, in CheckInput) error {
				var p EmailParams
				if err := decodeParams(in.Params, &p); err != nil {
					return err
				}
				if p.To == "" {
					if err := needsRecord(in); err != nil {
						return fmt.Errorf("to: is required without a record: %w", err)
					}
				}
				if p.Subject == "" {
					return errors.New("subject is required")
				}
				if p.Text == "" && p.HTML == "" {
					return errors.New("text or html is required")
				}
				for name, s := range map[string]string{"to": p.To, "from": p.From, "reply_to": p.ReplyTo, "subject": p.Subject} {
					if strings.ContainsAny(s, "\r\n") {
						return fmt.Errorf("%s holds a line break (CR or LF), which would inject mail headers", name)
					}
				}
				for name, s := range map[string]string{"to": p.To, "from": p.From, "reply_to": p.ReplyTo, "subject": p.Subject, "text": p.Text} {
					if err := checkTemplate(s, in.Schema, false); err != nil {
						return fmt.Errorf("%s: %v", name, err)
					}
				}
				if err := checkTemplate(p.HTML, in.Schema, true); err != nil {
					return fmt.Errorf("html: %v", err)
				}
				return nil
			},
			Plan: func(ctx context.Context, call *Call) (any, error) { return emailMessage(call) },
			Run: func(ctx context.Context, call *Call) (any, error) {
				m, err := emailMessage(call)
				if err != nil {
					return nil, err
				}
				if call.e.cfg.Mailer == nil {
					return nil, Permanent(errors.New("workflow: no Mailer configured (Config.Mailer)"))
				}
				if err := call.e.cfg.Mailer.Send(ctx, m); err != nil {
					return nil, err
				}
				return map[string]any{"message_id": m.ID, "to": m.To}, nil
			},
		},
		ActionCreateTask: {
			Check: func(ctx context.Context, in CheckInput) error {
				var p TaskParams
				if err := decodeParams(in.Params, &p); err != nil {
					return err
				}
				if p.Title == "" {
					return errors.New("title is required")
				}
				if p.DueIn < 0 {
					return errors.New("due_in must not be negative")
				}
				for name, s := range map[string]string{"title": p.Title, "description": p.Description, "owner": p.Owner} {
					if err := checkTemplate(s, in.Schema, false); err != nil {
						return fmt.Errorf("%s: %v", name, err)
					}
				}
				return nil
			},
			Plan: func(ctx context.Context, call *Call) (any, error) { return taskInput(call) },
			Run: func(ctx context.Context, call *Call) (any, error) {
				obj, err := call.e.object(ObjectTask)
				if err != nil || obj.Create == nil {
					return nil, Permanent(errors.New("workflow: no task records to create (register the sales module)"))
				}
				in, err := taskInput(call)
				if err != nil {
					return nil, err
				}
				t, err := obj.Create(ctx, in)
				if err != nil {
					return nil, err
				}
				return map[string]any{"task_id": t.RecordMeta().ID}, nil
			},
		},
		ActionUpdateField: {
			Check: func(ctx context.Context, in CheckInput) error {
				if err := needsRecord(in); err != nil {
					return err
				}
				var p FieldParams
				if err := decodeParams(in.Params, &p); err != nil {
					return err
				}
				typ, ok := in.Schema[p.Field]
				if !ok {
					return fmt.Errorf("unknown field %q", p.Field)
				}
				if !valueFits(p.Value, typ) {
					return fmt.Errorf("value %v is not a %s, the type of %s", p.Value, typ, p.Field)
				}
				if s, ok := p.Value.(string); ok {
					return checkTemplate(s, in.Schema, false)
				}
				return nil
			},
			Plan: func(ctx context.Context, call *Call) (any, error) { return fieldChange(call) },
			Run:  updating(fieldChange),
		},
		ActionAddTag:       tagHandler(true),
		ActionRemoveTag:    tagHandler(false),
		ActionAssignOwner:  assignHandler(),
		ActionCallWebhook:  webhookHandler(),
		ActionWait:         waitHandler(),
		ActionEnroll:       sequenceHandler(true),
		ActionExitSequence: sequenceHandler(false),
	}
	for k, h := range hs {
		h.builtin = true
		hs[k] = h
	}
	return hs
}

// valueFits reports whether a JSON-ish value suits a field of type typ.
func valueFits(v any, typ filterexpr.Type) bool {
	if v == nil {
		return true
	}
	switch typ {
	case filterexpr.Text, filterexpr.Time:
		_, ok := v.(string)
		return ok
	case filterexpr.Number:
		switch v.(type) {
		case float64, float32, int, int64, int32:
			return true
		}
		return false
	case filterexpr.Bool:
		_, ok := v.(bool)
		return ok
	case filterexpr.TextList:
		switch l := v.(type) {
		case []string:
			return true
		case []any:
			_, ok := stringList(l)
			return ok
		}
		return false
	}
	return false
}

func emailMessage(call *Call) (send.Message, error) {
	var p EmailParams
	if err := call.Decode(&p); err != nil {
		return send.Message{}, err
	}
	if p.To == "" {
		p.To = "{{.email}}"
	}
	m := send.Message{ID: call.Key}
	var err error
	render := func(dst *string, src string) {
		if err == nil {
			*dst, err = call.Render(src)
		}
	}
	var to string
	render(&to, p.To)
	render(&m.From, p.From)
	render(&m.ReplyTo, p.ReplyTo)
	render(&m.Subject, p.Subject)
	render(&m.Text, p.Text)
	for _, c := range p.Cc {
		var s string
		render(&s, c)
		m.Cc = append(m.Cc, s)
	}
	if err == nil && p.HTML != "" {
		m.HTML, err = call.renderHTML(p.HTML)
	}
	if err != nil {
		return m, err
	}
	if to = strings.TrimSpace(to); to != "" {
		m.To = []string{to}
	}
	if err := send.CheckMessage(m); err != nil {
		return m, Permanent(err)
	}
	return m, nil
}

// taskInput returns the fields of the task a create_task step makes, by
// stored name.
func taskInput(call *Call) (map[string]any, error) {
	var p TaskParams
	if err := call.Decode(&p); err != nil {
		return nil, err
	}
	in := map[string]any{"all_day": p.AllDay}
	if p.Priority != "" {
		in["priority"] = p.Priority
	}
	for field, text := range map[string]string{"title": p.Title, "description": p.Description} {
		v, err := call.Render(text)
		if err != nil {
			return nil, err
		}
		in[field] = v
	}
	owner := p.Owner
	if owner == "" {
		if o, ok := call.Fields["owner_id"].(string); ok {
			owner = o
		}
	}
	v, err := call.Render(owner)
	if err != nil {
		return nil, err
	}
	in["owner_id"] = v
	if p.DueIn > 0 {
		in["due"] = call.Now.Add(time.Duration(p.DueIn))
	}
	if call.Subject.ID != "" && call.Record != nil {
		// A deleted record (fields from its event) cannot be related.
		in["related"] = []storage.Ref{call.Subject}
	}
	return in, nil
}

func fieldChange(call *Call) (map[string]any, error) {
	var p FieldParams
	if err := call.Decode(&p); err != nil {
		return nil, err
	}
	if call.Subject.ID == "" {
		return nil, Permanent(errors.New("update_field needs a record"))
	}
	v := p.Value
	if s, ok := v.(string); ok {
		r, err := call.Render(s)
		if err != nil {
			return nil, err
		}
		v = r
	}
	return map[string]any{p.Field: v}, nil
}

func tagHandler(add bool) Handler {
	change := func(call *Call) (map[string]any, error) {
		var p TagParams
		if err := call.Decode(&p); err != nil {
			return nil, err
		}
		have, _ := call.Fields["tags"].([]string)
		next := slices.Clone(have)
		for _, t := range p.Tags {
			i := slices.Index(next, t)
			switch {
			case add && i < 0:
				next = append(next, t)
			case !add && i >= 0:
				next = slices.Delete(next, i, i+1)
			}
		}
		return map[string]any{"tags": next}, nil
	}
	return Handler{
		Check: func(ctx context.Context, in CheckInput) error {
			if err := needsRecord(in); err != nil {
				return err
			}
			var p TagParams
			if err := decodeParams(in.Params, &p); err != nil {
				return err
			}
			if len(p.Tags) == 0 {
				return errors.New("name at least one tag")
			}
			if in.Schema["tags"] != filterexpr.TextList {
				return fmt.Errorf("%s records have no tags", in.Object)
			}
			return nil
		},
		Plan: func(ctx context.Context, call *Call) (any, error) { return change(call) },
		Run:  updating(change),
	}
}

// updating returns the Run of an action that changes fields of the run's
// record: the fields change computes, written through the record's
// module, reported as the step's output.
func updating(change func(*Call) (map[string]any, error)) func(ctx context.Context, call *Call) (any, error) {
	return func(ctx context.Context, call *Call) (any, error) {
		set, err := change(call)
		if err != nil {
			return nil, err
		}
		if _, err := call.e.update(ctx, call.Subject, set); err != nil {
			return nil, err
		}
		return set, nil
	}
}

func assignHandler() Handler {
	// pick returns the owner: the first rule that holds, or the member at
	// the round-robin counter n (1-based), or "" and the need of a counter.
	pick := func(ctx context.Context, call *Call, p AssignParams) (string, bool, error) {
		if len(p.Rules) > 0 {
			schema, err := call.e.schema(ctx, call.Subject.Type)
			if err != nil {
				return "", false, err
			}
			for _, r := range p.Rules {
				x, err := filterexpr.Compile(r.When, schema)
				if err != nil {
					return "", false, Permanent(err)
				}
				if ok, err := x.Match(call.Fields, call.Now); err == nil && ok {
					return r.Owner, false, nil
				}
			}
		}
		return "", len(p.Members) > 0, nil
	}
	return Handler{
		Check: func(ctx context.Context, in CheckInput) error {
			if err := needsRecord(in); err != nil {
				return err
			}
			var p AssignParams
			if err := decodeParams(in.Params, &p); err != nil {
				return err
			}
			if len(p.Rules) == 0 && len(p.Members) == 0 {
				return errors.New("name rules or members")
			}
			for i, r := range p.Rules {
				if _, err := filterexpr.Compile(r.When, in.Schema); err != nil {
					return fmt.Errorf("rules[%d].when: %s", i, exprReason(err))
				}
				if r.Owner == "" {
					return fmt.Errorf("rules[%d].owner is required", i)
				}
			}
			if _, ok := in.Schema["owner_id"]; !ok {
				return fmt.Errorf("%s records have no owner", in.Object)
			}
			return nil
		},
		Plan: func(ctx context.Context, call *Call) (any, error) {
			var p AssignParams
			if err := call.Decode(&p); err != nil {
				return nil, err
			}
			owner, rr, err := pick(ctx, call, p)
			if rr {
				return map[string]any{"owner_id": "(next in turn of " + strings.Join(p.Members, ", ") + ")"}, err
			}
			return map[string]any{"owner_id": owner}, err
		},
		Run: func(ctx context.Context, call *Call) (any, error) {
			var p AssignParams
			if err := call.Decode(&p); err != nil {
				return nil, err
			}
			owner, rr, err := pick(ctx, call, p)
			if err != nil {
				return nil, err
			}
			if rr {
				sum := sha256.Sum256(fmt.Appendf(nil, "%s:%d", call.Run.RuleID, call.Step))
				n, err := call.e.store.NextNumber(ctx, "workflow_rr_"+hex.EncodeToString(sum[:16]))
				if err != nil {
					return nil, err
				}
				owner = p.Members[(n-1)%int64(len(p.Members))]
			}
			if owner == "" {
				return map[string]any{"owner_id": nil, "note": "no rule held"}, nil
			}
			set := map[string]any{"owner_id": owner}
			if _, err := call.e.update(ctx, call.Subject, set); err != nil {
				return nil, err
			}
			return set, nil
		},
	}
}

func webhookHandler() Handler {
	request := func(ctx context.Context, call *Call) (send.WebhookRequest, error) {
		var p WebhookParams
		if err := call.Decode(&p); err != nil {
			return send.WebhookRequest{}, err
		}
		req := send.WebhookRequest{ID: call.Key, URL: p.URL, Headers: p.Headers}
		if ctx != nil { // a dry run shows the references, not the secrets
			var err error
			if req.Secret, err = call.e.unseal(ctx, p.Secret); err != nil {
				return req, err
			}
			if len(p.Headers) > 0 {
				req.Headers = make(map[string]string, len(p.Headers))
				for h, v := range p.Headers {
					if req.Headers[h], err = call.e.unseal(ctx, v); err != nil {
						return req, err
					}
				}
			}
		}
		if p.Body != "" {
			body, err := call.Render(p.Body)
			if err != nil {
				return req, err
			}
			if !json.Valid([]byte(body)) {
				return req, Permanent(fmt.Errorf("%w: the rendered body is not JSON", storage.ErrInvalid))
			}
			req.Body = []byte(body)
			return req, nil
		}
		doc := map[string]any{"type": "workflow.action", "rule": call.Run.Rule.Name, "rule_id": call.Run.RuleID,
			"run_id": call.Run.ID, "step": call.Step}
		if call.Subject.ID != "" {
			doc["subject"] = call.Subject
			if call.Record != nil {
				doc["record"] = call.Record
			} else {
				doc["record"] = call.Fields // gone: as its event had it
			}
		}
		if call.Event != nil {
			doc["event"] = call.Event
		}
		b, err := json.Marshal(doc)
		if err != nil {
			return req, Permanent(err)
		}
		req.Body = b
		return req, nil
	}
	return Handler{
		External: true,
		Check: func(ctx context.Context, in CheckInput) error {
			var p WebhookParams
			if err := decodeParams(in.Params, &p); err != nil {
				return err
			}
			if !strings.HasPrefix(p.URL, "https://") && !strings.HasPrefix(p.URL, "http://") {
				return fmt.Errorf("url %q: want an http or https URL", p.URL)
			}
			if p.Secret != "" && !isRef(p.Secret) {
				// As the Standard Webhooks libraries read it: base64
				// after an optional "whsec_".
				if key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(p.Secret, "whsec_")); err != nil || len(key) == 0 {
					return errors.New(`secret: want "whsec_" and the key in standard base64 (Standard Webhooks)`)
				}
			}
			for k, v := range p.Headers {
				if strings.ContainsAny(k+v, "\r\n") {
					return fmt.Errorf("headers.%s holds a line break", k)
				}
			}
			return checkTemplate(p.Body, in.Schema, false)
		},
		Plan: func(ctx context.Context, call *Call) (any, error) {
			req, err := request(nil, call)
			return map[string]any{"url": req.URL, "id": req.ID, "body": json.RawMessage(req.Body)}, err
		},
		Run: func(ctx context.Context, call *Call) (any, error) {
			req, err := request(ctx, call)
			if err != nil {
				return nil, err
			}
			if call.e.cfg.Webhooks == nil {
				return nil, Permanent(errors.New("workflow: no webhook sender configured (Config.Webhooks)"))
			}
			if err := call.e.cfg.Webhooks.Send(ctx, req); err != nil {
				return nil, err
			}
			return map[string]any{"webhook_id": req.ID}, nil
		},
	}
}

func waitHandler() Handler {
	until := func(call *Call) (time.Time, error) {
		var p WaitParams
		if err := call.Decode(&p); err != nil {
			return time.Time{}, err
		}
		if p.Until == "" {
			return call.Now.Add(time.Duration(p.For)), nil
		}
		t, ok := call.Fields[p.Until].(time.Time)
		if !ok || t.IsZero() {
			// No date to wait for: go on at once.
			return call.Now, nil
		}
		return t.Add(time.Duration(p.Offset)), nil
	}
	return Handler{
		Check: func(ctx context.Context, in CheckInput) error {
			var p WaitParams
			if err := decodeParams(in.Params, &p); err != nil {
				return err
			}
			switch {
			case p.Until != "":
				if in.Schema[p.Until] != filterexpr.Time {
					return fmt.Errorf("until: %q is not a date field", p.Until)
				}
				if p.For != 0 {
					return errors.New("set for or until, not both")
				}
			case p.For <= 0:
				return errors.New("for must be a positive duration, such as \"2d\"")
			}
			return nil
		},
		Plan: func(ctx context.Context, call *Call) (any, error) {
			t, err := until(call)
			return map[string]any{"until": t}, err
		},
		Run: func(ctx context.Context, call *Call) (any, error) {
			t, err := until(call)
			if err != nil {
				return nil, err
			}
			call.waitUntil = t
			return map[string]any{"until": t}, nil
		},
	}
}

func sequenceHandler(enroll bool) Handler {
	return Handler{
		Check: func(ctx context.Context, in CheckInput) error {
			if err := needsRecord(in); err != nil {
				return err
			}
			var p SequenceParams
			if err := decodeParams(in.Params, &p); err != nil {
				return err
			}
			if p.Rule == "" {
				return errors.New("rule is required: the name of the sequence")
			}
			if p.Of != "" {
				if t, ok := in.Schema[p.Of]; !ok || t != filterexpr.Text {
					return fmt.Errorf("of: %s has no text field %q", in.Object, p.Of)
				}
			}
			return nil
		},
		Run: func(ctx context.Context, call *Call) (any, error) {
			var p SequenceParams
			if err := call.Decode(&p); err != nil {
				return nil, err
			}
			target, err := call.e.ruleNamed(ctx, p.Rule)
			if err != nil {
				return nil, err
			}
			subject := call.Subject
			if p.Of != "" {
				if target.Trigger.Object == "" {
					return nil, Permanent(fmt.Errorf("%w: rule %q has no trigger object, so %s cannot name its record", storage.ErrInvalid, p.Rule, p.Of))
				}
				id, _ := call.Fields[p.Of].(string)
				if id == "" {
					return map[string]any{"note": p.Of + " is empty"}, nil
				}
				subject = storage.Ref{Type: target.Trigger.Object, ID: id}
				if _, err := call.e.get(ctx, subject); err != nil {
					return nil, err
				}
			}
			if !enroll {
				return nil, call.e.exitRuns(ctx, target.ID, subject, "exit_sequence by "+call.Run.Rule.Name)
			}
			if target.Trigger.Object != "" && target.Trigger.Object != subject.Type {
				return nil, Permanent(fmt.Errorf("%w: rule %q is about %s records, not %s", storage.ErrInvalid, p.Rule, target.Trigger.Object, subject.Type))
			}
			page, err := call.e.runs(ctx, RunQuery{RuleID: target.ID, SubjectID: subject.ID, Active: true, PageQuery: storage.PageQuery{Limit: 1}})
			if err != nil {
				return nil, err
			}
			if len(page.Items) > 0 {
				return map[string]any{"run_id": page.Items[0].ID, "note": "already enrolled"}, nil
			}
			run, _, err := call.e.startRun(ctx, target, subject, nil, "enroll:"+call.Key, call.Run.Depth, OnManual, true)
			if err != nil {
				return nil, err
			}
			return map[string]any{"run_id": run.ID}, nil
		},
	}
}

// ruleNamed returns the enabled rule called name in the context's
// workspace: stored, or defined in code.
func (e *Engine) ruleNamed(ctx context.Context, name string) (*Rule, error) {
	rs, err := e.ruleSet(ctx, storage.WorkspaceFrom(ctx))
	if err != nil {
		return nil, err
	}
	if c, ok := rs.byName[name]; ok {
		return c.rule, nil
	}
	return nil, Permanent(fmt.Errorf("%w: no enabled workflow rule %q", storage.ErrNotFound, name))
}

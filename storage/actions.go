package storage

import (
	"bytes"
	"context"
	"encoding/json"
	"time"
)

// ActionSpec is an automation action a module offers, in storage terms,
// so that the module needs no import of the workflow engine: crm.New
// registers the actions of every module service that is an
// ActionProvider with the engine, where rules name them by Name.
type ActionSpec struct {
	// Name is what rules call the action: lower-case letters, digits and
	// _, unique among the engine's actions.
	Name string
	// Check validates the action's parameters when a rule is saved (an
	// error is the rule's ErrInvalid, naming the action); nil accepts
	// any.
	Check func(ctx context.Context, params json.RawMessage) error
	// Run performs the action for one step of a run and returns what the
	// run's history shows of it. It runs in the step's transaction, with
	// the context that carries it, unless External: its writes commit with
	// the step, exactly once. An error is retried by the engine's policy;
	// ErrInvalid, ErrForbidden, ErrNotFound and ErrConflict fail at once.
	Run func(ctx context.Context, call ActionCall) (any, error)
	// External marks an action with effects outside the database (mail,
	// HTTP): it runs outside any transaction, at least once per step, with
	// the same ActionCall.Key on every attempt.
	External bool
}

// ActionCall is one run of an ActionSpec.
type ActionCall struct {
	// Params are the action's parameters, as saved with the rule.
	Params json.RawMessage
	// Subject is the record the run is about (empty for schedules), and
	// Record that record as read for the step (nil when it is gone).
	Subject Ref
	Record  Record
	// Event is the event that set the run off, when one did.
	Event *Event
	// Key identifies the step, the same on every attempt.
	Key string
	// Now is the engine's clock at the start of the step.
	Now time.Time
}

// ActionProvider is implemented by the services of modules that offer
// automation actions.
type ActionProvider interface {
	// Actions returns the module's actions.
	Actions() []ActionSpec
}

// DecodeStrict unmarshals an action's parameters raw into v, refusing
// fields v does not have; empty raw leaves v as it is.
func DecodeStrict(raw json.RawMessage, v any) error {
	if len(raw) == 0 {
		return nil
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.DisallowUnknownFields()
	return d.Decode(v)
}

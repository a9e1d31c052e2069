package marketing

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
)

// Actions returns the marketing module's workflow actions (see
// storage.ActionProvider), each about the contact of the run's record (a
// contact, or any record with a contact_id such as a segment member, a
// message or a subscription):
//
//   - subscribe: {"list": "<key>"} subscribes the contact to the list
//     (a double opt-in list mails its confirmation);
//   - unsubscribe: {"list": "<key>"} ends the subscription;
//   - add_to_segment / remove_from_segment: {"segment": "<id>"} puts the
//     contact into or takes it out of a static segment.
func (s *Service) Actions() []storage.ActionSpec {
	return []storage.ActionSpec{
		{Name: "subscribe", Check: checkParams[listParams], Run: s.listAction(true)},
		{Name: "unsubscribe", Check: checkParams[listParams], Run: s.listAction(false)},
		{Name: "add_to_segment", Check: checkParams[segmentParams], Run: s.segmentAction(true)},
		{Name: "remove_from_segment", Check: checkParams[segmentParams], Run: s.segmentAction(false)},
	}
}

type listParams struct {
	List string `json:"list"`
}

func (p listParams) check() error {
	if !storage.ValidKey(p.List) {
		return storage.Invalid("list", "%q is not a list key", p.List)
	}
	return nil
}

type segmentParams struct {
	Segment string `json:"segment"`
}

func (p segmentParams) check() error {
	if p.Segment == "" {
		return storage.Invalid("segment", "is required")
	}
	return nil
}

// checkParams decodes an action's parameters strictly and checks them.
func checkParams[P interface{ check() error }](_ context.Context, raw json.RawMessage) error {
	_, err := decode[P](raw)
	return err
}

func decode[P interface{ check() error }](raw json.RawMessage) (P, error) {
	var p P
	if err := storage.DecodeStrict(raw, &p); err != nil {
		return p, storage.Invalid("params", "%v", err)
	}
	return p, p.check()
}

// contactOf returns the contact a run's record is about.
func contactOf(call storage.ActionCall) (string, error) {
	if call.Subject.Type == contacts.ObjectContact {
		return call.Subject.ID, nil
	}
	if call.Record != nil {
		if v, ok := storage.FieldValue(call.Record, "contact_id"); ok {
			if id, _ := v.(string); id != "" {
				return id, nil
			}
		}
	}
	return "", storage.Invalid("subject", "a %s names no contact", call.Subject.Type)
}

func (s *Service) listAction(subscribe bool) func(ctx context.Context, call storage.ActionCall) (any, error) {
	return func(ctx context.Context, call storage.ActionCall) (any, error) {
		p, err := decode[listParams](call.Params)
		if err != nil {
			return nil, err
		}
		id, err := contactOf(call)
		if err != nil {
			return nil, err
		}
		l, err := s.Lists.ByKey(ctx, p.List)
		if err != nil {
			return nil, err
		}
		if !subscribe {
			return map[string]string{"list": l.Key, "contact_id": id}, s.Lists.Unsubscribe(ctx, l.ID, id, "workflow")
		}
		sub, err := s.Lists.Subscribe(ctx, l.ID, id, SubscribeOptions{Source: "workflow"})
		if err != nil {
			return nil, err
		}
		return map[string]string{"list": l.Key, "contact_id": id, "status": string(sub.Status)}, nil
	}
}

func (s *Service) segmentAction(add bool) func(ctx context.Context, call storage.ActionCall) (any, error) {
	return func(ctx context.Context, call storage.ActionCall) (any, error) {
		p, err := decode[segmentParams](call.Params)
		if err != nil {
			return nil, err
		}
		id, err := contactOf(call)
		if err != nil {
			return nil, err
		}
		if add {
			err = s.Segments.Add(ctx, p.Segment, id)
		} else {
			err = s.Segments.Remove(ctx, p.Segment, id)
		}
		if err != nil {
			return nil, fmt.Errorf("segment %s: %w", p.Segment, err)
		}
		return map[string]string{"segment": p.Segment, "contact_id": id}, nil
	}
}

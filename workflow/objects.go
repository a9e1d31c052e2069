package workflow

import (
	"context"
	"fmt"

	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/filterexpr"
)

// object returns the object typ: one registered with RegisterObject, or
// else the object of the record type typ registered with the store, made
// once (genericObject).
func (e *Engine) object(typ string) (Object, error) {
	e.mu.RLock()
	o, ok := e.objects[typ]
	e.mu.RUnlock()
	if ok {
		return o, nil
	}
	t, ok := e.store.Table(typ)
	if !ok || typ == ObjectRule {
		return Object{}, fmt.Errorf("%w: workflow: unknown object %q", storage.ErrInvalid, typ)
	}
	o = e.genericObject(t)
	e.mu.Lock()
	defer e.mu.Unlock()
	if old, ok := e.objects[typ]; ok {
		return old, nil
	}
	e.objects[typ] = o
	return o, nil
}

// genericObject is the object of a record type registered with the store:
// its records read through the generic path, its schema from
// Config.Schema, and its writes through its module's writer
// (Config.Writers) or, without one, the generic path.
func (e *Engine) genericObject(t storage.RecordTable) Object {
	typ := t.Type().Name()
	zero := filterexpr.SchemaOf(t.Type().New(), nil)
	o := Object{
		Type: typ,
		// Conditions see the record alone (fieldsOf): the fields of
		// related records, which lists compare in SQL, are left out.
		Schema: func(ctx context.Context) (filterexpr.Schema, error) {
			if e.cfg.Schema == nil {
				return zero, nil
			}
			s, err := e.cfg.Schema(ctx, typ)
			if err != nil {
				return nil, err
			}
			return s.Own(), nil
		},
		Get: t.Get,
		List: func(ctx context.Context, q storage.ListQuery) ([]storage.Record, string, error) {
			p, err := t.List(ctx, q)
			return p.Items, p.Next, err
		},
	}
	w := e.writers[typ]
	o.Update, o.Create = w.Update, w.Create
	if o.Update == nil {
		o.Update = func(ctx context.Context, id string, set map[string]any) (storage.Record, error) {
			return storage.ModifyRecord(ctx, e.store, t, id, 0, func(_ context.Context, next storage.Record) error {
				return storage.SetFields(next, set)
			})
		}
	}
	if o.Create == nil {
		o.Create = func(ctx context.Context, fields map[string]any) (storage.Record, error) {
			rec := t.Type().New()
			if err := storage.SetFields(rec, fields); err != nil {
				return nil, err
			}
			return rec, t.Insert(ctx, []storage.Record{rec})
		}
	}
	return o
}

// update changes fields of the record ref through its object.
func (e *Engine) update(ctx context.Context, ref storage.Ref, set map[string]any) (storage.Record, error) {
	obj, err := e.object(ref.Type)
	if err != nil {
		return nil, err
	}
	if obj.Update == nil {
		return nil, Permanent(fmt.Errorf("workflow: %s records cannot be changed by actions", ref.Type))
	}
	return obj.Update(ctx, ref.ID, set)
}

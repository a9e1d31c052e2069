package bunstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"

	"github.com/crmkit/crm/storage"
)

// table is the one generic CRUD path: every record type is a table[T].
type table[T storage.Record] struct {
	s  *Store
	c  *codec
	rt string
}

func newTable[T storage.Record](s *Store, name string) (*table[T], error) {
	var zero T
	typ := reflect.TypeOf(zero)
	if typ.Kind() != reflect.Pointer || typ.Elem().Kind() != reflect.Struct {
		return nil, fmt.Errorf("bunstore: record type %s must be a pointer to a struct", typ)
	}
	rt := recordType[T]()
	c, err := newCodec(s.d, s.db.Table(typ.Elem()), name, rt)
	if err != nil {
		return nil, err
	}
	_, c.searchable = any(zero).(storage.Searchable)
	s.codecs[rt] = c
	s.codecOrder = append(s.codecOrder, rt)
	return &table[T]{s: s, c: c, rt: rt}, nil
}

// Insert implements storage.Table.
func (t *table[T]) Insert(ctx context.Context, rec T, opts ...storage.WriteOption) error {
	o := writeOptions(opts, t.rt+".created")
	m := rec.RecordMeta()
	if m.ID == "" {
		m.ID = storage.NewID()
	} else if !storage.ValidID(m.ID) {
		return storage.Invalid("id", "%q is not a record ID", m.ID)
	}
	now, actor := storage.Now(), storage.ActorFrom(ctx)
	m.WorkspaceID = storage.WorkspaceFrom(ctx)
	if o.Restore && !m.CreatedAt.IsZero() {
		m.Version++
		m.CreatedAt = storage.Truncate(m.CreatedAt)
	} else {
		m.Version = 1
		m.CreatedAt, m.CreatedBy = now, actor
	}
	m.UpdatedAt, m.UpdatedBy = now, actor
	rv := reflect.ValueOf(rec)
	fm, err := t.s.mask(ctx, t.c)
	if err != nil {
		return err
	}
	if fm != nil {
		if err := fm.checkWrite(t.c.diff(reflect.Value{}, rv)); err != nil {
			return err
		}
	}
	return t.s.write(ctx, t.rt, func(ctx context.Context) error {
		if err := t.s.authorizeCreate(ctx, t.c, rv); err != nil {
			return err
		}
		args, err := t.c.args(t.s.d, rv)
		if err != nil {
			return err
		}
		if _, err := t.s.exec(ctx, t.c.insertSQL, args...); err != nil {
			return err
		}
		if err := t.s.appendEvent(ctx, o, rec, t.c.diff(reflect.Value{}, rv)); err != nil {
			return err
		}
		if t.c.after != nil {
			if err := t.c.after(ctx, reflect.Value{}, rv); err != nil {
				return err
			}
		}
		if err := t.s.index(ctx, rec, nil); err != nil {
			return err
		}
		return t.s.link(ctx, rec, nil, false)
	})
}

// Get implements storage.Table.
func (t *table[T]) Get(ctx context.Context, id string) (T, error) {
	return reading(ctx, t.s, func(ctx context.Context) (T, error) { return t.get(ctx, id) })
}

func (t *table[T]) get(ctx context.Context, id string) (T, error) {
	var zero T
	q := t.c.getSQL
	b := sqlBuilder{args: []any{storage.WorkspaceFrom(ctx), id}}
	if err := t.s.readable(ctx, t.c, "t", &b); err != nil {
		return zero, err
	}
	if b.sb.Len() > 0 {
		q = t.s.d.rebind(t.c.getQ + b.sb.String())
	}
	rows, err := t.s.query(ctx, q, b.args...)
	if err != nil {
		return zero, t.s.d.translate(err, t.rt)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return zero, t.s.d.translate(err, t.rt)
		}
		return zero, fmt.Errorf("%w: %s %s", storage.ErrNotFound, t.rt, id)
	}
	rv, err := t.c.scan(rows, t.c.newScanner())
	if err != nil {
		return zero, err
	}
	m, err := t.s.mask(ctx, t.c)
	if err != nil {
		return zero, err
	}
	m.apply(rv)
	return rv.Interface().(T), rows.Close()
}

// Update implements storage.Table.
func (t *table[T]) Update(ctx context.Context, prev, next T, opts ...storage.WriteOption) error {
	o := writeOptions(opts, t.rt+".updated")
	pm, nm := prev.RecordMeta(), next.RecordMeta()
	pv, nv := reflect.ValueOf(prev), reflect.ValueOf(next)
	if pv.Pointer() == nv.Pointer() {
		return errors.New("bunstore: Update needs two records, prev and next; got the same pointer twice")
	}
	// next keeps prev's identity whatever the caller did to it.
	nm.ID, nm.WorkspaceID, nm.CreatedAt, nm.CreatedBy = pm.ID, storage.WorkspaceFrom(ctx), pm.CreatedAt, pm.CreatedBy
	nm.Version, nm.UpdatedAt, nm.UpdatedBy = pm.Version, pm.UpdatedAt, pm.UpdatedBy
	changes := t.c.diff(pv, nv)
	if len(changes) == 0 && len(o.Changes) == 0 {
		// Nothing to write, but a principal still learns whether it may.
		_, err := reading(ctx, t.s, func(ctx context.Context) (struct{}, error) {
			return struct{}{}, t.s.authorize(ctx, t.c, pm.ID, storage.ActionUpdate)
		})
		return err
	}
	m, err := t.s.mask(ctx, t.c)
	if err != nil {
		return err
	}
	if err := m.checkWrite(changes); err != nil {
		return err
	}
	nm.Version = pm.Version + 1
	nm.UpdatedAt, nm.UpdatedBy = storage.Now(), storage.ActorFrom(ctx)
	err = t.s.write(ctx, t.rt, func(ctx context.Context) error {
		if err := t.s.authorize(ctx, t.c, pm.ID, storage.ActionUpdate); err != nil {
			return err
		}
		// What is written: next, or, when fields are hidden from the
		// principal, next with the stored values of those fields.
		wv, stored := nv, pv
		if m.hides() {
			sv, err := t.s.load(ctx, t.c, pm.ID)
			if err != nil {
				return err
			}
			if sv.IsValid() {
				wv, stored = m.restore(sv, nv), sv
			}
		}
		args := make([]any, 0, len(t.c.updCols)+3)
		for _, i := range t.c.updCols {
			a, err := t.c.cols[i].arg(t.s.d, wv)
			if err != nil {
				return err
			}
			args = append(args, a)
		}
		args = append(args, nm.WorkspaceID, nm.ID, pm.Version)
		res, err := t.s.exec(ctx, t.c.updateSQL, args...)
		if err != nil {
			return err
		}
		if err := t.s.checkOne(ctx, res, t.c, pm); err != nil {
			return err
		}
		if err := t.s.appendEvent(ctx, o, next, changes); err != nil {
			return err
		}
		if t.c.after != nil {
			if err := t.c.after(ctx, stored, wv); err != nil {
				return err
			}
		}
		w, st := wv.Interface().(storage.Record), stored.Interface().(storage.Record)
		if err := t.s.index(ctx, w, st); err != nil {
			return err
		}
		return t.s.link(ctx, w, st, false)
	})
	if err != nil {
		nm.Version, nm.UpdatedAt, nm.UpdatedBy = pm.Version, pm.UpdatedAt, pm.UpdatedBy
	}
	return err
}

// Delete implements storage.Table.
func (t *table[T]) Delete(ctx context.Context, prev T, opts ...storage.WriteOption) error {
	o := writeOptions(opts, t.rt+".deleted")
	pm := prev.RecordMeta()
	m, err := t.s.mask(ctx, t.c)
	if err != nil {
		return err
	}
	return t.s.write(ctx, t.rt, func(ctx context.Context) error {
		if err := t.s.authorize(ctx, t.c, pm.ID, storage.ActionDelete); err != nil {
			return err
		}
		pv := reflect.ValueOf(prev)
		var sv reflect.Value
		if m.hides() {
			var err error
			if sv, err = t.s.load(ctx, t.c, pm.ID); err != nil {
				return err
			}
		}
		res, err := t.s.exec(ctx, t.c.deleteSQL, storage.WorkspaceFrom(ctx), pm.ID, pm.Version)
		if err != nil {
			return err
		}
		if err := t.s.checkOne(ctx, res, t.c, pm); err != nil {
			return err
		}
		// The event lists the stored values, those hidden from the
		// principal included.
		if m.hides() && sv.IsValid() {
			pv = sv
		}
		if err := t.s.appendEvent(ctx, o, prev, t.c.diff(pv, reflect.Value{})); err != nil {
			return err
		}
		if t.c.after != nil {
			if err := t.c.after(ctx, pv, reflect.Value{}); err != nil {
				return err
			}
		}
		if _, ok := any(prev).(storage.Searchable); ok {
			if _, err := t.s.exec(ctx, t.s.d.rebind(t.s.d.deleteSearch()), pm.ID); err != nil {
				return err
			}
		}
		return t.s.link(ctx, prev, nil, true)
	})
}

// checkOne turns an update or delete that touched no row into ErrStale (the
// row exists at another version) or ErrNotFound (it does not exist).
func (s *Store) checkOne(ctx context.Context, res sql.Result, c *codec, m *storage.Meta) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 1 {
		return nil
	}
	rows, err := s.query(ctx, c.getSQL, storage.WorkspaceFrom(ctx), m.ID)
	if err != nil {
		return err
	}
	found := rows.Next()
	rows.Close()
	if !found {
		return fmt.Errorf("%w: %s %s", storage.ErrNotFound, c.recType, m.ID)
	}
	return fmt.Errorf("%w: %s %s changed since version %d was read", storage.ErrStale, c.recType, m.ID, m.Version)
}

// write runs fn in the context's transaction, or in a new one, and
// translates driver errors.
func (s *Store) write(ctx context.Context, recType string, fn func(ctx context.Context) error) error {
	return s.d.translate(s.RunInTx(ctx, fn), recType)
}

func writeOptions(opts []storage.WriteOption, eventType string) storage.WriteOptions {
	o := storage.WriteOptions{EventType: eventType}
	for _, f := range opts {
		f(&o)
	}
	return o
}

// appendEvent adds the change event of a write to the log: of type
// o.EventType, with the changes the store found and o.Changes.
func (s *Store) appendEvent(ctx context.Context, o storage.WriteOptions, rec storage.Record, changes []storage.Change) error {
	m := rec.RecordMeta()
	changes = append(changes, o.Changes...)
	var ch any
	if len(changes) > 0 {
		b, err := json.Marshal(changes)
		if err != nil {
			return err
		}
		ch = string(b)
	}
	id := o.EventID
	if id == "" {
		id = storage.NewID()
	} else if !storage.ValidID(id) {
		return storage.Invalid("event_id", "%q is not an ID", id)
	}
	_, err := s.exec(ctx, s.eventSQL, id, m.WorkspaceID, o.EventType, rec.RecordType(), m.ID,
		storage.ActorFrom(ctx), s.d.timeArg(storage.Now()), ch, storage.DepthFrom(ctx))
	return err
}

// link keeps the link index of a storage.Linked record: the links of rec
// replace those of prev; with drop, rec's links are removed.
func (s *Store) link(ctx context.Context, rec, prev storage.Record, drop bool) error {
	l, ok := rec.(storage.Linked)
	if !ok {
		return nil
	}
	m := rec.RecordMeta()
	var links []storage.Ref
	if !drop {
		links = l.Links()
	}
	if prev != nil {
		if slices.Equal(prev.(storage.Linked).Links(), links) {
			return nil
		}
	}
	if prev != nil || drop {
		if _, err := s.exec(ctx, s.d.rebind(`DELETE FROM crm_links WHERE from_id = ?`), m.ID); err != nil {
			return err
		}
	}
	for _, to := range links {
		if _, err := s.exec(ctx, s.linkSQL, m.WorkspaceID, rec.RecordType(), m.ID, to.Type, to.ID); err != nil {
			return err
		}
	}
	return nil
}

package bunstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"

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
	if r, ok := any(zero).(storage.Referrer); ok {
		c.refs = map[string]storage.Reference{}
		for _, ref := range r.References() {
			c.refs[ref.Name] = ref
		}
	}
	s.codecs[rt] = c
	s.codecOrder = append(s.codecOrder, rt)
	return &table[T]{s: s, c: c, rt: rt}, nil
}

// Insert implements storage.Table.
func (t *table[T]) Insert(ctx context.Context, rec T, opts ...storage.WriteOption) error {
	return t.insert(ctx, []T{rec}, opts)
}

// InsertMany implements storage.BatchWriter: the records go in with one
// multi-row INSERT (per bind-value limit), and so do their events, search
// documents and links.
func (t *table[T]) InsertMany(ctx context.Context, recs []T, opts ...storage.WriteOption) error {
	if len(recs) == 0 {
		return nil
	}
	return t.insert(ctx, recs, opts)
}

func (t *table[T]) insert(ctx context.Context, recs []T, opts []storage.WriteOption) error {
	o := writeOptions(opts, t.rt+".created")
	if err := oneEvent(o, len(recs)); err != nil {
		return err
	}
	now, actor, ws := storage.Now(), storage.ActorFrom(ctx), storage.WorkspaceFrom(ctx)
	fm, err := t.s.mask(ctx, t.c)
	if err != nil {
		return err
	}
	rvs := make([]reflect.Value, len(recs))
	for i, rec := range recs {
		m := rec.RecordMeta()
		if m.ID == "" {
			m.ID = storage.NewID()
		} else if !storage.ValidID(m.ID) {
			return storage.Invalid("id", "%q is not a record ID", m.ID)
		}
		m.WorkspaceID = ws
		if o.Restore && !m.CreatedAt.IsZero() {
			m.Version++
			m.CreatedAt = storage.Truncate(m.CreatedAt)
		} else {
			m.Version = 1
			m.CreatedAt, m.CreatedBy = now, actor
		}
		m.UpdatedAt, m.UpdatedBy = now, actor
		rvs[i] = reflect.ValueOf(rec)
		if fm != nil {
			if err := fm.checkWrite(t.c.diff(reflect.Value{}, rvs[i])); err != nil {
				return err
			}
		}
	}
	return t.s.write(ctx, t.rt, func(ctx context.Context) error {
		args := make([]any, 0, len(recs)*len(t.c.cols))
		for _, rv := range rvs {
			if err := t.s.authorizeCreate(ctx, t.c, rv, o.Restore); err != nil {
				return err
			}
			if args, err = t.c.appendArgs(args, t.s.d, rv); err != nil {
				return err
			}
		}
		if err := t.s.insertRows(ctx, t.c.insertHead, "", len(t.c.cols), args); err != nil {
			return err
		}
		var side sideRows
		for i, rec := range recs {
			if err := side.event(ctx, t.s.d, o, rec, t.c.diff(reflect.Value{}, rvs[i])); err != nil {
				return err
			}
			if t.c.after != nil {
				if err := t.c.after(ctx, reflect.Value{}, rvs[i]); err != nil {
					return err
				}
			}
			side.index(rec, nil)
			side.link(rec, nil, false)
		}
		return t.s.flush(ctx, &side)
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
	return t.update(ctx, []T{prev}, []T{next}, opts)
}

// UpdateMany implements storage.BatchWriter: each record has its own
// UPDATE with its version check, and the events, search documents and
// links of all of them go in with multi-row statements.
func (t *table[T]) UpdateMany(ctx context.Context, prev, next []T, opts ...storage.WriteOption) error {
	if len(prev) != len(next) {
		return fmt.Errorf("bunstore: UpdateMany got %d records before and %d after", len(prev), len(next))
	}
	if len(prev) == 0 {
		return nil
	}
	return t.update(ctx, prev, next, opts)
}

// pendingUpdate is one record of an update: the records before and after,
// and the fields that differ.
type pendingUpdate struct {
	pm, nm  *storage.Meta
	pv, nv  reflect.Value
	next    storage.Record
	changes []storage.Change
	was     storage.Meta // next's Meta before the write, restored when it fails
}

func (t *table[T]) update(ctx context.Context, prevs, nexts []T, opts []storage.WriteOption) error {
	o := writeOptions(opts, t.rt+".updated")
	if err := oneEvent(o, len(prevs)); err != nil {
		return err
	}
	m, err := t.s.mask(ctx, t.c)
	if err != nil {
		return err
	}
	var todo []pendingUpdate
	var unchanged []string
	for i := range prevs {
		u := pendingUpdate{pm: prevs[i].RecordMeta(), nm: nexts[i].RecordMeta(),
			pv: reflect.ValueOf(prevs[i]), nv: reflect.ValueOf(nexts[i]), next: nexts[i]}
		if u.pv.Pointer() == u.nv.Pointer() {
			return errors.New("bunstore: Update needs two records, prev and next; got the same pointer twice")
		}
		// next keeps prev's identity whatever the caller did to it.
		u.nm.ID, u.nm.WorkspaceID, u.nm.CreatedAt, u.nm.CreatedBy = u.pm.ID, storage.WorkspaceFrom(ctx), u.pm.CreatedAt, u.pm.CreatedBy
		u.nm.Version, u.nm.UpdatedAt, u.nm.UpdatedBy = u.pm.Version, u.pm.UpdatedAt, u.pm.UpdatedBy
		u.was = *u.nm
		if u.changes = t.c.diff(u.pv, u.nv); len(u.changes) == 0 && len(o.Changes) == 0 {
			unchanged = append(unchanged, u.pm.ID)
			continue
		}
		if err := m.checkWrite(u.changes); err != nil {
			return err
		}
		todo = append(todo, u)
	}
	// A record with nothing to write is not written, but a principal still
	// learns whether it may update it.
	authorizeUnchanged := func(ctx context.Context) error {
		for _, id := range unchanged {
			if err := t.s.authorize(ctx, t.c, id, storage.ActionUpdate); err != nil {
				return err
			}
		}
		return nil
	}
	if len(todo) == 0 {
		_, err := reading(ctx, t.s, func(ctx context.Context) (struct{}, error) { return struct{}{}, authorizeUnchanged(ctx) })
		return err
	}
	now, actor := storage.Now(), storage.ActorFrom(ctx)
	err = t.s.write(ctx, t.rt, func(ctx context.Context) error {
		if err := authorizeUnchanged(ctx); err != nil {
			return err
		}
		var side sideRows
		args := make([]any, 0, len(t.c.updCols)+3)
		for _, u := range todo {
			u.nm.Version = u.pm.Version + 1
			u.nm.UpdatedAt, u.nm.UpdatedBy = now, actor
			if err := t.s.authorize(ctx, t.c, u.pm.ID, storage.ActionUpdate); err != nil {
				return err
			}
			// What is written: next, or, when fields are hidden from the
			// principal, next with the stored values of those fields.
			wv, stored := u.nv, u.pv
			if m.hides() {
				sv, err := t.s.load(ctx, t.c, u.pm.ID)
				if err != nil {
					return err
				}
				if sv.IsValid() {
					wv, stored = m.restore(sv, u.nv), sv
				}
			}
			args = args[:0]
			for _, i := range t.c.updCols {
				a, err := t.c.cols[i].arg(t.s.d, wv)
				if err != nil {
					return err
				}
				args = append(args, a)
			}
			args = append(args, u.nm.WorkspaceID, u.nm.ID, u.pm.Version)
			res, err := t.s.exec(ctx, t.c.updateSQL, args...)
			if err != nil {
				return err
			}
			if err := t.s.checkOne(ctx, res, t.c, u.pm); err != nil {
				return err
			}
			if err := side.event(ctx, t.s.d, o, u.next, u.changes); err != nil {
				return err
			}
			if t.c.after != nil {
				if err := t.c.after(ctx, stored, wv); err != nil {
					return err
				}
			}
			w, st := wv.Interface().(storage.Record), stored.Interface().(storage.Record)
			side.index(w, st)
			side.link(w, st, false)
		}
		return t.s.flush(ctx, &side)
	})
	if err != nil {
		for _, u := range todo {
			*u.nm = u.was
		}
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
		var side sideRows
		if err := side.event(ctx, t.s.d, o, prev, t.c.diff(pv, reflect.Value{})); err != nil {
			return err
		}
		if t.c.after != nil {
			if err := t.c.after(ctx, pv, reflect.Value{}); err != nil {
				return err
			}
		}
		side.unindex(prev)
		side.link(prev, nil, true)
		return t.s.flush(ctx, &side)
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

// oneEvent refuses an event ID for a write of n records: it names one
// event.
func oneEvent(o storage.WriteOptions, n int) error {
	if o.EventID != "" && n > 1 {
		return fmt.Errorf("bunstore: WithEventID names one event; the write has %d records", n)
	}
	return nil
}

func writeOptions(opts []storage.WriteOption, eventType string) storage.WriteOptions {
	o := storage.WriteOptions{EventType: eventType}
	for _, f := range opts {
		f(&o)
	}
	return o
}

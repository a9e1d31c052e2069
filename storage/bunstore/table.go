package bunstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/crmkit/crm/storage"
)

// table is the one generic CRUD path of one record type: it implements
// storage.RecordTable, and storage.TableOf gives its typed view.
type table struct {
	s  *Store
	c  *codec
	rt string
	ty storage.RecordType
}

// newTable makes the table of ty and its codec.
func newTable(s *Store, ty storage.RecordType) (*table, error) {
	typ := ty.GoType()
	zero := ty.New()
	c, err := newCodec(s.d, s.db.Table(typ.Elem()), ty.Table(), ty.Name())
	if err != nil {
		return nil, err
	}
	_, c.searchable = zero.(storage.Searchable)
	_, c.prepare = zero.(storage.Preparer)
	return &table{s: s, c: c, rt: ty.Name(), ty: ty}, nil
}

// Type implements storage.RecordTable.
func (t *table) Type() storage.RecordType { return t.ty }

// Insert implements storage.RecordTable: the records go in with one
// multi-row INSERT (per bind-value limit), and so do their events, search
// documents and links.
func (t *table) Insert(ctx context.Context, recs []storage.Record, opts ...storage.WriteOption) error {
	if len(recs) == 0 {
		return nil
	}
	if err := t.own(recs...); err != nil {
		return err
	}
	o := writeOptions(opts, t.rt+".created")
	if err := oneEvent(o, len(recs)); err != nil {
		return err
	}
	now, actor, ws := storage.WriteTimeFrom(ctx), storage.ActorFrom(ctx), storage.WorkspaceFrom(ctx)
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
		if t.c.prepare {
			rec.(storage.Preparer).Prepare()
		}
		rvs[i] = reflect.ValueOf(rec)
		if fm != nil {
			if err := fm.checkWrite(t.c.diff(reflect.Value{}, rvs[i])); err != nil {
				return err
			}
		}
	}
	err = t.s.write(ctx, t.rt, func(ctx context.Context) error {
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
			if !o.NoEvent {
				if err := side.event(ctx, t.s.d, o, rec, t.c.diff(reflect.Value{}, rvs[i])); err != nil {
					return err
				}
			}
			if err := t.c.afterWrite(ctx, reflect.Value{}, rvs[i]); err != nil {
				return err
			}
			side.index(rec, nil)
			side.link(rec, nil, false)
		}
		return t.s.flush(ctx, &side)
	})
	if len(recs) == 1 {
		t.conflictHolder(ctx, recs[0], err)
	}
	return err
}

// conflictHolder fills in the ExistingID of err when it is a conflict on a
// field of rec: the record that holds rec's value, as the principal may
// read it.
func (t *table) conflictHolder(ctx context.Context, rec storage.Record, err error) {
	var ce *storage.ConflictError
	if !errors.As(err, &ce) || ce.Field == "" {
		return
	}
	col := t.c.byName[ce.Field]
	if col == nil || col.kind != kString {
		return
	}
	v, _ := col.field(reflect.ValueOf(rec)).Interface().(string)
	if v == "" {
		return
	}
	// A failed statement dooms a Postgres transaction: read on another
	// connection, which sees the holder once committed. SQLite's goes on
	// (and an in-memory store has one connection): read in it.
	look := ctx
	if t.s.Dialect() == "postgres" {
		// Bounded: a pool of one connection, which the transaction holds,
		// must not make the conflict wait.
		var cancel context.CancelFunc
		look, cancel = context.WithTimeout(context.WithValue(ctx, txKey{t.s}, (*txState)(nil)), 2*time.Second)
		defer cancel()
	}
	page, lerr := t.List(look, storage.ListQuery{Filter: storage.Eq(ce.Field, v), PageQuery: storage.PageQuery{Limit: 1}})
	if lerr == nil && len(page.Items) == 1 {
		ce.ExistingID = page.Items[0].RecordMeta().ID
	}
}

// Get implements storage.RecordTable.
func (t *table) Get(ctx context.Context, id string) (storage.Record, error) {
	return reading(ctx, t.s, func(ctx context.Context) (storage.Record, error) { return t.get(ctx, id) })
}

func (t *table) get(ctx context.Context, id string) (storage.Record, error) {
	var zero storage.Record
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
	return rv.Interface().(storage.Record), rows.Close()
}

// Update implements storage.RecordTable: each record has its own UPDATE
// with its version check, and the events, search documents and links of
// all of them go in with multi-row statements.
func (t *table) Update(ctx context.Context, prev, next []storage.Record, opts ...storage.WriteOption) error {
	if len(prev) != len(next) {
		return fmt.Errorf("bunstore: Update got %d records before and %d after", len(prev), len(next))
	}
	if len(prev) == 0 {
		return nil
	}
	if err := t.own(prev...); err != nil {
		return err
	}
	if err := t.own(next...); err != nil {
		return err
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

func (t *table) update(ctx context.Context, prevs, nexts []storage.Record, opts []storage.WriteOption) error {
	o := writeOptions(opts, t.rt+".updated")
	if err := oneEvent(o, len(prevs)); err != nil {
		return err
	}
	if err := insertOnly(o); err != nil {
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
		if t.c.prepare {
			nexts[i].(storage.Preparer).Prepare()
		}
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
	now, actor := storage.WriteTimeFrom(ctx), storage.ActorFrom(ctx)
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
			if err := t.c.afterWrite(ctx, stored, wv); err != nil {
				return err
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

// Delete implements storage.RecordTable.
func (t *table) Delete(ctx context.Context, prev storage.Record, opts ...storage.WriteOption) error {
	if err := t.own(prev); err != nil {
		return err
	}
	o := writeOptions(opts, t.rt+".deleted")
	if err := insertOnly(o); err != nil {
		return err
	}
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
		if err := t.c.afterWrite(ctx, pv, reflect.Value{}); err != nil {
			return err
		}
		side.unindex(prev)
		side.link(prev, nil, true)
		return t.s.flush(ctx, &side)
	})
}

// own refuses records of another Go type than the table's: a programming
// error, which would otherwise panic in the codec.
func (t *table) own(recs ...storage.Record) error {
	for _, r := range recs {
		if r == nil || reflect.TypeOf(r) != t.ty.GoType() {
			return fmt.Errorf("bunstore: the %s table takes %s records, not %T", t.rt, t.ty.GoType(), r)
		}
	}
	return nil
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

// insertOnly refuses WithoutEvent for an update or a delete: a record's
// changes after its insert are always in the feed.
func insertOnly(o storage.WriteOptions) error {
	if o.NoEvent {
		return fmt.Errorf("bunstore: WithoutEvent is for inserts; an update or delete always writes its event")
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

package bunstore

import (
	"context"
	"fmt"
	"reflect"
	"slices"

	"github.com/crmkit/crm/storage"
)

// Rollups (storage.Rollup) live in one table, crm_rollups: a row per
// (workspace, rollup, up to three keys) with the count of the records and
// up to three sums. Every write of a record adjusts the rows of its
// record before and after in the write's transaction (rollupHook), so the
// figures are exact at every commit and reading them is one indexed
// query, whatever the number of records. A principal whose read scope on
// the type is not "all" gets the same figures from an aggregate of the
// records it may read instead (Rollup), since the totals cannot know
// which those are.

const rollupUpsert = `INSERT INTO crm_rollups (workspace_id, rollup, k1, k2, k3, n, s1, s2, s3)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (workspace_id, rollup, k1, k2, k3) DO UPDATE SET
n = crm_rollups.n + excluded.n,
s1 = crm_rollups.s1 + excluded.s1,
s2 = crm_rollups.s2 + excluded.s2,
s3 = crm_rollups.s3 + excluded.s3`

// rollupCols resolves the key and sum columns of ru in c.
func rollupCols(c *codec, ru storage.Rollup) (keys, sums []*column, err error) {
	if ru.Name == "" || len(ru.Keys) == 0 || len(ru.Keys) > 3 || len(ru.Sums) > 3 {
		return nil, nil, fmt.Errorf("bunstore: %s rollup %q: needs a name, 1 to 3 keys and at most 3 sums", c.recType, ru.Name)
	}
	for _, k := range ru.Keys {
		col := c.byName[k]
		if col == nil || col.kind != kString {
			return nil, nil, fmt.Errorf("bunstore: %s rollup %q: key %q is not a text field", c.recType, ru.Name, k)
		}
		keys = append(keys, col)
	}
	for _, f := range ru.Sums {
		col := c.byName[f]
		if col == nil || col.kind != kInt {
			return nil, nil, fmt.Errorf("bunstore: %s rollup %q: sum %q is not an integer field", c.recType, ru.Name, f)
		}
		sums = append(sums, col)
	}
	return keys, sums, nil
}

// rollupHook returns the after-write function that keeps ru of c.
func (s *Store) rollupHook(c *codec, ru storage.Rollup) (func(ctx context.Context, prev, next reflect.Value) error, error) {
	keys, sums, err := rollupCols(c, ru)
	if err != nil {
		return nil, err
	}
	name := c.recType + "." + ru.Name
	q := s.d.rebind(rollupUpsert)
	// row returns the rollup row of rec: its keys and sums.
	row := func(rec reflect.Value) (k [3]string, v [3]int64) {
		for i, col := range keys {
			k[i] = col.field(rec).String()
		}
		for i, col := range sums {
			v[i] = col.field(rec).Int()
		}
		return k, v
	}
	return func(ctx context.Context, prev, next reflect.Value) error {
		var pk, nk [3]string
		var pv, nv [3]int64
		if prev.IsValid() {
			pk, pv = row(prev)
		}
		if next.IsValid() {
			nk, nv = row(next)
		}
		if prev.IsValid() && next.IsValid() && pk == nk && pv == nv {
			return nil
		}
		for _, r := range []struct {
			rec  reflect.Value
			k    [3]string
			v    [3]int64
			sign int64
		}{{prev, pk, pv, -1}, {next, nk, nv, 1}} {
			if !r.rec.IsValid() {
				continue
			}
			ws := r.rec.Interface().(storage.Record).RecordMeta().WorkspaceID
			if _, err := s.exec(ctx, q, ws, name, r.k[0], r.k[1], r.k[2], r.sign, r.sign*r.v[0], r.sign*r.v[1], r.sign*r.v[2]); err != nil {
				return err
			}
		}
		return nil
	}, nil
}

// Rollup implements storage.Rollups.
func (s *Store) Rollup(ctx context.Context, recordType, name string, match ...string) ([]storage.RollupRow, error) {
	t, ok := s.table(recordType)
	if !ok {
		return nil, storage.Invalid("record_type", "%q is not a registered record type", recordType)
	}
	i := slices.IndexFunc(t.ty.Options().Rollups, func(r storage.Rollup) bool { return r.Name == name })
	if i < 0 {
		return nil, storage.Invalid("rollup", "%s has no rollup %q", recordType, name)
	}
	ru := t.ty.Options().Rollups[i]
	if len(match) > len(ru.Keys) {
		return nil, storage.Invalid("match", "rollup %q has %d keys, not %d", name, len(ru.Keys), len(match))
	}
	return reading(ctx, s, func(ctx context.Context) ([]storage.RollupRow, error) {
		p, err := s.principal(ctx)
		if err != nil {
			return nil, err
		}
		if p != nil {
			m := t.c.maskOf(p)
			for _, f := range append(slices.Clone(ru.Keys), ru.Sums...) {
				if m.access(f) == storage.FieldHidden {
					return nil, fmt.Errorf("%w: %s field %s is hidden from role %s, so its totals are too", storage.ErrForbidden, recordType, f, p.Role)
				}
			}
			if p.Scope(recordType, storage.ActionRead) != storage.ScopeAll {
				return s.rollupScan(ctx, ru, recordType, match)
			}
		}
		var b sqlBuilder
		b.add("SELECT k1, k2, k3, n, s1, s2, s3 FROM crm_rollups WHERE workspace_id = ? AND rollup = ?", storage.WorkspaceFrom(ctx), recordType+"."+name)
		for i, m := range match {
			b.add(fmt.Sprintf(" AND k%d = ?", i+1), m)
		}
		b.add(" AND n <> 0 ORDER BY k1, k2, k3")
		rows, err := s.query(ctx, s.d.rebind(b.sb.String()), b.args...)
		if err != nil {
			return nil, s.d.translate(err, recordType)
		}
		defer rows.Close()
		var out []storage.RollupRow
		for rows.Next() {
			var k [3]string
			var v [3]int64
			var n int64
			if err := rows.Scan(&k[0], &k[1], &k[2], &n, &v[0], &v[1], &v[2]); err != nil {
				return nil, err
			}
			out = append(out, storage.RollupRow{Keys: slices.Clone(k[:len(ru.Keys)]), Count: n, Sums: slices.Clone(v[:len(ru.Sums)])})
		}
		return out, s.d.translate(rows.Err(), recordType)
	})
}

// rollupScan computes the groups of ru from the records the principal may
// read.
func (s *Store) rollupScan(ctx context.Context, ru storage.Rollup, recordType string, match []string) ([]storage.RollupRow, error) {
	var f storage.And
	for i, m := range match {
		f = append(f, storage.Eq(ru.Keys[i], m))
	}
	q := storage.AggregateQuery{GroupBy: ru.Keys, Measures: []storage.Measure{{Op: storage.AggCount}}}
	if len(f) > 0 {
		q.Filter = f
	}
	for _, sf := range ru.Sums {
		q.Measures = append(q.Measures, storage.Measure{Op: storage.AggSum, Field: sf})
	}
	rows, err := s.aggregate(ctx, recordType, q)
	if err != nil {
		return nil, err
	}
	out := make([]storage.RollupRow, 0, len(rows))
	for _, r := range rows {
		rr := storage.RollupRow{Keys: make([]string, len(r.Group)), Count: r.Values[0].(int64), Sums: make([]int64, len(ru.Sums))}
		for i, g := range r.Group {
			rr.Keys[i], _ = g.(string)
		}
		for i := range ru.Sums {
			rr.Sums[i], _ = r.Values[i+1].(int64)
		}
		out = append(out, rr)
	}
	return out, nil
}

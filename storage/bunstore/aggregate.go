package bunstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/crmkit/crm/storage"
)

// Aggregate implements storage.Aggregator: one SELECT … GROUP BY over the
// type's table in the workspace, with the principal's read scope in its
// WHERE clause like a list's, and each measure's own condition as a CASE
// inside its aggregate, so that several conditional figures (won, commit,
// best case…) come from one scan.
func (s *Store) Aggregate(ctx context.Context, recordType string, q storage.AggregateQuery) ([]storage.AggregateRow, error) {
	return reading(ctx, s, func(ctx context.Context) ([]storage.AggregateRow, error) { return s.aggregate(ctx, recordType, q) })
}

// aggCol resolves a grouped or measured field of c, named under field in
// errors.
func aggCol(c *codec, name, field string) (*column, error) {
	col := c.byName[name]
	if col == nil || col.kind == kJSON {
		return nil, storage.Invalid(field, "%s has no field %q that can be grouped or measured", c.recType, name)
	}
	return col, nil
}

func (s *Store) aggregate(ctx context.Context, recordType string, q storage.AggregateQuery) ([]storage.AggregateRow, error) {
	c := s.codec(recordType)
	if c == nil {
		return nil, storage.Invalid("record_type", "%q is not a registered record type", recordType)
	}
	if len(q.Measures) == 0 {
		return nil, storage.Invalid("measures", "at least one measure is required")
	}
	fm, err := s.mask(ctx, c)
	if err != nil {
		return nil, err
	}
	hidden := func(col *column) error {
		if fm.access(col.name) == storage.FieldHidden {
			return fmt.Errorf("%w: %s field %s is hidden from role %s, so its totals are too", storage.ErrForbidden, recordType, col.name, fm.role)
		}
		return nil
	}
	groups := make([]*column, len(q.GroupBy))
	for i, g := range q.GroupBy {
		if groups[i], err = aggCol(c, g, fmt.Sprintf("group_by[%d]", i)); err != nil {
			return nil, err
		}
		if err := hidden(groups[i]); err != nil {
			return nil, err
		}
	}
	filters := storage.And{q.Filter}
	measured := make([]*column, len(q.Measures))
	for i, m := range q.Measures {
		field := fmt.Sprintf("measures[%d]", i)
		if m.Field == "" {
			if m.Op != storage.AggCount {
				return nil, storage.Invalid(field, "%s needs a field", m.Op)
			}
		} else {
			col, err := aggCol(c, m.Field, field+".field")
			if err != nil {
				return nil, err
			}
			switch m.Op {
			case storage.AggCount, storage.AggCountDistinct:
			case storage.AggSum, storage.AggAvg:
				if col.kind != kInt && col.kind != kFloat {
					return nil, storage.Invalid(field, "%s of %s: not a number field", m.Op, m.Field)
				}
			case storage.AggMin, storage.AggMax:
				if col.kind == kBool {
					return nil, storage.Invalid(field, "%s of %s: a yes/no field has no order", m.Op, m.Field)
				}
			default:
				return nil, storage.Invalid(field, "%q is not an aggregate (count, count_distinct, sum, avg, min, max)", m.Op)
			}
			if err := hidden(col); err != nil {
				return nil, err
			}
			measured[i] = col
		}
		if m.Where != nil {
			filters = append(filters, m.Where)
		}
	}
	if err := fm.checkFilter(filters); err != nil {
		return nil, err
	}
	b := sqlBuilder{ws: storage.WorkspaceFrom(ctx)}
	if err := s.relatedFilter(ctx, c, filters, &b); err != nil {
		return nil, err
	}
	b.add("SELECT ")
	for i, col := range groups {
		if i > 0 {
			b.add(", ")
		}
		b.add(col.expr())
	}
	for i, m := range q.Measures {
		if i > 0 || len(groups) > 0 {
			b.add(", ")
		}
		if err := s.measureSQL(c, m, measured[i], &b); err != nil {
			return nil, fmt.Errorf("measures[%d]: %w", i, err)
		}
	}
	if len(groups) == 0 {
		b.add(", COUNT(*)") // the one group is no group when there is no record
	}
	b.add(" FROM "+c.table+" t WHERE t.workspace_id = ? AND ", b.ws)
	if err := s.where(c, q.Filter, &b); err != nil {
		return nil, err
	}
	if err := s.readable(ctx, c, "t", &b); err != nil {
		return nil, err
	}
	if len(groups) > 0 {
		pos := make([]string, len(groups))
		for i := range groups {
			pos[i] = strconv.Itoa(i + 1)
		}
		b.add(" GROUP BY " + strings.Join(pos, ", ") + " ORDER BY " + strings.Join(pos, ", "))
	}
	rows, err := s.query(ctx, s.d.rebind(b.sb.String()), b.args...)
	if err != nil {
		return nil, s.d.translate(err, recordType)
	}
	defer rows.Close()
	n := len(groups) + len(q.Measures)
	if len(groups) == 0 {
		n++
	}
	vals := make([]any, n)
	ptrs := make([]any, n)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var out []storage.AggregateRow
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		r := storage.AggregateRow{Group: make([]any, len(groups)), Values: make([]any, len(q.Measures))}
		for i, col := range groups {
			if r.Group[i], err = aggValue(col.kind, vals[i]); err != nil {
				return nil, err
			}
		}
		for i, m := range q.Measures {
			k := kInt
			switch {
			case m.Op == storage.AggAvg, m.Op == storage.AggSum && measured[i].kind == kFloat:
				k = kFloat
			case m.Op == storage.AggMin || m.Op == storage.AggMax:
				k = measured[i].kind
			}
			if r.Values[i], err = aggValue(k, vals[len(groups)+i]); err != nil {
				return nil, err
			}
		}
		if len(groups) == 0 {
			if all, _ := aggValue(kInt, vals[n-1]); all == int64(0) {
				break
			}
		}
		out = append(out, r)
	}
	return out, s.d.translate(rows.Err(), recordType)
}

// measureSQL appends the aggregate of m over col (nil for a count of
// records), with m.Where as a CASE inside it.
func (s *Store) measureSQL(c *codec, m storage.Measure, col *column, b *sqlBuilder) error {
	// val appends the value measured: the column, or under m.Where the
	// column where it holds and the given otherwise.
	val := func(expr, otherwise string) error {
		if m.Where == nil {
			b.add(expr)
			return nil
		}
		b.add("CASE WHEN ")
		if err := s.where(c, m.Where, b); err != nil {
			return err
		}
		b.add(" THEN " + expr + otherwise + " END")
		return nil
	}
	var expr string
	if col != nil {
		expr = col.expr()
		if col.kind == kString {
			expr = "NULLIF(" + expr + ", '')" // an empty text is no value
		}
	}
	var err error
	switch {
	case m.Op == storage.AggCount && col == nil:
		if m.Where == nil {
			b.add("COUNT(*)")
			return nil
		}
		b.add("CAST(SUM(")
		err = val("1", " ELSE 0")
		b.add(") AS BIGINT)")
	case m.Op == storage.AggCount:
		b.add("COUNT(")
		err = val(expr, "")
		b.add(")")
	case m.Op == storage.AggCountDistinct:
		b.add("COUNT(DISTINCT ")
		err = val(expr, "")
		b.add(")")
	case m.Op == storage.AggSum:
		cast := "BIGINT"
		if col.kind == kFloat {
			cast = "DOUBLE PRECISION"
		}
		b.add("CAST(SUM(")
		err = val(expr, " ELSE 0")
		b.add(") AS " + cast + ")")
	case m.Op == storage.AggAvg:
		b.add("CAST(AVG(")
		err = val(expr, "")
		b.add(") AS DOUBLE PRECISION)")
	case m.Op == storage.AggMin, m.Op == storage.AggMax:
		b.add(strings.ToUpper(string(m.Op)) + "(")
		err = val(expr, "")
		b.add(")")
	}
	return err
}

// aggValue converts a scanned driver value to the Go type of kind k.
func aggValue(k kind, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch k {
	case kString:
		switch s := v.(type) {
		case string:
			return s, nil
		case []byte:
			return string(s), nil
		}
	case kInt:
		switch n := v.(type) {
		case int64:
			return n, nil
		case int32:
			return int64(n), nil
		case float64:
			return int64(n), nil
		}
	case kFloat:
		switch f := v.(type) {
		case float64:
			return f, nil
		case int64:
			return float64(f), nil
		}
	case kBool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case int64:
			return x != 0, nil
		}
	case kTime:
		return parseTime(v)
	}
	return nil, fmt.Errorf("bunstore: aggregate: cannot read %T", v)
}

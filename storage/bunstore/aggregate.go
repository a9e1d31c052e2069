package bunstore

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crmkit/crm/storage"
)

// Aggregate implements storage.Aggregator: one SELECT … GROUP BY over the
// type's table in the workspace, with the principal's read scope in its
// WHERE clause like a list's, and each measure's own condition as a CASE
// inside its aggregate, so that several conditional figures (won, commit,
// best case…) come from one scan.
func (s *Store) Aggregate(ctx context.Context, recordType string, q storage.AggregateQuery) ([]storage.AggregateRow, error) {
	return bounded(ctx, s, func(ctx context.Context) ([]storage.AggregateRow, error) { return s.aggregate(ctx, recordType, q) })
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

// aggGroup is one resolved grouping: its SQL (with its bind values) and
// how its values are read.
type aggGroup struct {
	sql    sqlBuilder
	kind   kind
	bucket storage.TimeBucket
	custom bool
}

func (s *Store) aggregate(ctx context.Context, recordType string, q storage.AggregateQuery) ([]storage.AggregateRow, error) {
	c := s.codec(recordType)
	if c == nil {
		return nil, storage.Invalid("record_type", "%q is not a registered record type", recordType)
	}
	if len(q.Measures) == 0 {
		return nil, storage.Invalid("measures", "at least one measure is required")
	}
	from := ""
	if q.Each != "" {
		ec, err := c.elements(s.d, q.Each)
		if err != nil {
			return nil, err
		}
		from = s.d.elementsFrom("t." + q.Each)
		c = ec
	}
	loc := q.Location
	if loc == nil {
		loc = time.UTC
	}
	if loc.String() == "Local" || loc.String() == "" {
		return nil, storage.Invalid("location", "is the process's local zone; give an IANA zone (time.LoadLocation)")
	}
	if q.WeekStart < time.Sunday || q.WeekStart > time.Saturday {
		return nil, storage.Invalid("week_start", "%d is not a weekday", q.WeekStart)
	}
	if q.Limit < 0 || q.Limit > maxAggLimit {
		return nil, storage.Invalid("limit", "%d is outside 0–%d", q.Limit, maxAggLimit)
	}
	fm, err := s.mask(ctx, c)
	if err != nil {
		return nil, err
	}
	hidden := func(name string) error {
		if fm.access(name) == storage.FieldHidden {
			return fmt.Errorf("%w: %s field %s is hidden from role %s, so its totals are too", storage.ErrForbidden, recordType, name, fm.role)
		}
		return nil
	}
	all := make([]storage.Group, 0, len(q.GroupBy)+len(q.Groups))
	for _, g := range q.GroupBy {
		all = append(all, storage.Group{Field: g})
	}
	all = append(all, q.Groups...)
	groups := make([]aggGroup, len(all))
	for i, g := range all {
		field := fmt.Sprintf("group_by[%d]", i)
		if err := hidden(g.Field); err != nil {
			return nil, err
		}
		gr := &groups[i]
		if rel, rest, ok := strings.Cut(g.Field, "."); ok && rel != "custom" && c.byName[g.Field] == nil {
			if err := s.relatedGroup(ctx, c, fm, g, rel, rest, field, gr); err != nil {
				return nil, err
			}
			continue
		}
		if name, ok := strings.CutPrefix(g.Field, "custom."); ok {
			if err := customKey(c, name, field); err != nil {
				return nil, err
			}
			if g.Bucket != "" {
				return nil, storage.Invalid(field, "a custom field is grouped by its text, not by period")
			}
			gr.sql.add(s.d.jsonGroupText("t.custom", name))
			gr.kind, gr.custom = kString, true
			continue
		}
		col, err := aggCol(c, g.Field, field)
		if err != nil {
			return nil, err
		}
		gr.kind = col.kind
		if g.Bucket == "" {
			gr.sql.add(col.expr())
			continue
		}
		if col.kind != kTime {
			return nil, storage.Invalid(field, "%s is not a time field, so it has no %s", g.Field, g.Bucket)
		}
		q, args, err := s.d.timeBucket(col.expr(), g.Bucket, loc.String(), int(q.WeekStart))
		if err != nil {
			return nil, storage.Invalid(field, "%v", err)
		}
		gr.sql.add(q, args...)
		gr.bucket = g.Bucket
	}
	filters := storage.And{q.Filter}
	measured := make([]*column, len(q.Measures))
	spans := make([]*column, len(q.Measures)) // the Since of a span measure
	customs := make([]string, len(q.Measures))
	for i, m := range q.Measures {
		field := fmt.Sprintf("measures[%d]", i)
		switch {
		case m.Op == storage.AggRatio:
			for _, j := range m.Of {
				if j < 0 || j >= i || q.Measures[j].Op == storage.AggRatio {
					return nil, storage.Invalid(field, "a ratio divides two earlier measures that are not ratios; %d is not one", j)
				}
			}
			continue
		case m.Field == "":
			if m.Op != storage.AggCount {
				return nil, storage.Invalid(field, "%s needs a field", m.Op)
			}
		case strings.HasPrefix(m.Field, "custom."):
			name := strings.TrimPrefix(m.Field, "custom.")
			if err := customKey(c, name, field+".field"); err != nil {
				return nil, err
			}
			switch m.Op {
			case storage.AggCount, storage.AggCountDistinct, storage.AggSum, storage.AggAvg, storage.AggMin, storage.AggMax:
			default:
				return nil, storage.Invalid(field, "%q is not an aggregate (count, count_distinct, sum, avg, min, max, ratio)", m.Op)
			}
			if err := hidden(m.Field); err != nil {
				return nil, err
			}
			customs[i] = name
		case m.Since != "":
			col, err := aggCol(c, m.Field, field+".field")
			if err != nil {
				return nil, err
			}
			since, err := aggCol(c, m.Since, field+".since")
			if err != nil {
				return nil, err
			}
			if col.kind != kTime || since.kind != kTime {
				return nil, storage.Invalid(field, "a span is measured between two time fields, and %s or %s is not one", m.Field, m.Since)
			}
			switch m.Op {
			case storage.AggSum, storage.AggAvg, storage.AggMin, storage.AggMax:
			default:
				return nil, storage.Invalid(field, "a span is summed, averaged or bounded (sum, avg, min, max), not %q", m.Op)
			}
			for _, x := range []string{col.name, since.name} {
				if err := hidden(x); err != nil {
					return nil, err
				}
			}
			measured[i], spans[i] = col, since
		default:
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
				return nil, storage.Invalid(field, "%q is not an aggregate (count, count_distinct, sum, avg, min, max, ratio)", m.Op)
			}
			if err := hidden(col.name); err != nil {
				return nil, err
			}
			measured[i] = col
		}
		if m.Where != nil {
			filters = append(filters, m.Where)
		}
	}
	for i, h := range q.Having {
		if h.Measure < 0 || h.Measure >= len(q.Measures) {
			return nil, storage.Invalid(fmt.Sprintf("having[%d].measure", i), "%d is not a measure of the query", h.Measure)
		}
		if _, ok := havingOps[h.Op]; !ok {
			return nil, storage.Invalid(fmt.Sprintf("having[%d].op", i), "%q is not =, !=, >, >=, < or <=", h.Op)
		}
	}
	ncols := len(groups) + len(q.Measures)
	for i, o := range q.Sort {
		if o.Column < 0 || o.Column >= ncols {
			return nil, storage.Invalid(fmt.Sprintf("sort[%d].column", i), "%d is not a column of the rows (0–%d)", o.Column, ncols-1)
		}
	}
	if err := fm.checkFilter(filters); err != nil {
		return nil, err
	}
	b := sqlBuilder{ws: storage.WorkspaceFrom(ctx)}
	if err := s.relatedFilter(ctx, c, filters, &b); err != nil {
		return nil, err
	}
	// Each measure's SQL is built once and written where it is used (the
	// select list, ratios, HAVING, ORDER BY), bind values with it.
	msql := make([]sqlBuilder, len(q.Measures))
	for i, m := range q.Measures {
		if m.Op == storage.AggRatio {
			continue
		}
		mb := sqlBuilder{ws: b.ws, p: b.p, sets: b.sets, nest: b.nest, reg: b.reg}
		var err error
		switch {
		case customs[i] != "":
			err = s.customMeasureSQL(c, m, customs[i], &mb)
		case spans[i] != nil:
			err = s.spanMeasureSQL(c, m, measured[i], spans[i], &mb)
		default:
			err = s.measureSQL(c, m, measured[i], &mb)
		}
		if err != nil {
			return nil, fmt.Errorf("measures[%d]: %w", i, err)
		}
		b.nest = mb.nest
		msql[i] = mb
	}
	for i, m := range q.Measures {
		if m.Op != storage.AggRatio {
			continue
		}
		num, den := &msql[m.Of[0]], &msql[m.Of[1]]
		var rb sqlBuilder
		rb.add("(CAST(")
		rb.add(num.sb.String(), num.args...)
		rb.add(" AS DOUBLE PRECISION) / NULLIF(CAST(")
		rb.add(den.sb.String(), den.args...)
		rb.add(" AS DOUBLE PRECISION), 0))")
		msql[i] = rb
	}
	col := func(i int) *sqlBuilder {
		if i < len(groups) {
			return &groups[i].sql
		}
		return &msql[i-len(groups)]
	}
	b.add("SELECT ")
	for i := range ncols {
		if i > 0 {
			b.add(", ")
		}
		b.add(col(i).sb.String(), col(i).args...)
	}
	if len(groups) == 0 {
		b.add(", COUNT(*)") // the one group is no group when there is no record
	}
	b.add(" FROM "+c.table+" t"+s.sharedCustom(c, q.Filter, &b)+from+" WHERE t.workspace_id = ? AND ", b.ws)
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
		b.add(" GROUP BY " + strings.Join(pos, ", "))
	}
	for i, h := range q.Having {
		if i == 0 {
			b.add(" HAVING ")
		} else {
			b.add(" AND ")
		}
		m := &msql[h.Measure]
		b.add("CAST(")
		b.add(m.sb.String(), m.args...)
		b.add(" AS DOUBLE PRECISION) "+havingOps[h.Op]+" ?", h.Value)
	}
	// The sort asked for (by default the groups), then the groups not in
	// it, so that the order is stable; nil values last either way. The
	// query's slice is the caller's: appended to on a copy.
	order := slices.Clone(q.Sort)
	if len(order) == 0 {
		for i := range groups {
			order = append(order, storage.AggSort{Column: i})
		}
	}
	seen := map[int]bool{}
	for _, o := range order {
		seen[o.Column] = true
	}
	for i := range groups {
		if !seen[i] {
			order = append(order, storage.AggSort{Column: i})
		}
	}
	for i, o := range order {
		if i == 0 {
			b.add(" ORDER BY ")
		} else {
			b.add(", ")
		}
		b.add(strconv.Itoa(o.Column + 1))
		if o.Desc {
			b.add(" DESC")
		}
		b.add(" NULLS LAST")
	}
	if q.Limit > 0 {
		b.add(limitSQL(q.Limit))
	}
	rows, err := s.query(ctx, s.d.rebind(b.sb.String()), b.args...)
	if err != nil {
		return nil, s.d.translate(err, recordType)
	}
	defer rows.Close()
	n := ncols
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
		for i, g := range groups {
			if r.Group[i], err = groupValue(g, vals[i], loc); err != nil {
				return nil, err
			}
		}
		for i, m := range q.Measures {
			k := kInt
			switch {
			case m.Op == storage.AggRatio, m.Op == storage.AggAvg, spans[i] != nil,
				m.Op == storage.AggSum && (customs[i] != "" || measured[i].kind == kFloat):
				k = kFloat
			case customs[i] != "" && (m.Op == storage.AggMin || m.Op == storage.AggMax):
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

// relatedGroup resolves a grouping by a field of a related record
// ("account.industry", an extension's "rfm.segment"): a scalar subquery
// reading the record the group's reference names, within the principal's
// read scope of that type, so a record the principal may not read groups
// as no value. The reference's fields (the referring record's, and the
// related record's Key) and the related field must be visible to the
// principal.
func (s *Store) relatedGroup(ctx context.Context, c *codec, fm *fieldMask, g storage.Group, rel, rest, field string, gr *aggGroup) error {
	reg := s.refs(&gr.sql)
	ref, rc, ok := reg.related(c, rel)
	if !ok {
		return storage.Invalid(field, "%s has no related record %q (its references: %s)", c.recType, rel, strings.Join(refNames(reg.refs[c.recType]), ", "))
	}
	if g.Bucket != "" {
		return storage.Invalid(field, "a related field is grouped by its value, not by period")
	}
	if fm.access(ref.Field) == storage.FieldHidden {
		return fmt.Errorf("%w: group by %s through %s field %s, which is hidden", storage.ErrForbidden, g.Field, c.recType, ref.Field)
	}
	rm, err := s.mask(ctx, rc)
	if err != nil {
		return err
	}
	if key := ref.KeyField(); key != "id" && rm.access(key) == storage.FieldHidden {
		return fmt.Errorf("%w: group by %s through %s field %s, which is hidden", storage.ErrForbidden, g.Field, rc.recType, key)
	}
	if rm.access(rest) == storage.FieldHidden {
		return fmt.Errorf("%w: %s field %s is hidden from role %s", storage.ErrForbidden, rc.recType, rest, rm.role)
	}
	refCol := c.byName[ref.Field]
	var expr string
	if name, ok := strings.CutPrefix(rest, "custom."); ok {
		if err := customKey(rc, name, field); err != nil {
			return err
		}
		expr, gr.kind, gr.custom = s.d.jsonGroupText("r.custom", name), kString, true
	} else {
		col, err := aggCol(rc, rest, field)
		if err != nil {
			return err
		}
		expr, gr.kind = col.exprAt("r"), col.kind
	}
	if ref.KeyField() == "id" {
		gr.sql.add("(SELECT " + expr + " FROM " + rc.table + " r WHERE r.workspace_id = t.workspace_id AND r.id = " + refCol.expr())
	} else {
		gr.sql.add("(SELECT " + expr + " FROM " + rc.table + " r WHERE r.workspace_id = t.workspace_id AND " + relJoin(ref, "r", "t"))
	}
	if err := s.readable(ctx, rc, "r", &gr.sql); err != nil {
		return err
	}
	if ref.KeyField() != "id" {
		// One record, the first by ID as the in-memory reading takes it,
		// should the Key's values not be unique as they are meant to be.
		gr.sql.add(" ORDER BY r.id" + limitSQL(1))
	}
	gr.sql.add(")")
	return nil
}

// customKey refuses, naming field, a custom field name that c's type
// cannot have: a type without custom fields, or not a key (it enters the
// SQL text as a JSON key).
func customKey(c *codec, name, field string) error {
	if c.byName["custom"] == nil || !storage.ValidKey(name) {
		return storage.Invalid(field, "%s has no custom field %q", c.recType, name)
	}
	return nil
}

// refNames are the names of refs, sorted.
func refNames(refs map[string]storage.Reference) []string {
	out := make([]string, 0, len(refs))
	for name := range refs {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// maxAggLimit bounds AggregateQuery.Limit.
const maxAggLimit = 100000

// havingOps are the comparisons of a Having.
var havingOps = map[storage.Op]string{storage.OpEq: "=", storage.OpNe: "<>", storage.OpGt: ">",
	storage.OpGe: ">=", storage.OpLt: "<", storage.OpLe: "<="}

// groupValue converts the scanned value of group g: a bucket's period
// start read as a wall clock in loc, a custom field's text.
func groupValue(g aggGroup, v any, loc *time.Location) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch g.bucket {
	case "":
	case storage.BucketWeekday, storage.BucketMonthOfYear:
		return aggValue(kInt, v)
	default:
		var wall time.Time
		switch x := v.(type) {
		case time.Time:
			wall = x
		case string:
			t, err := time.Parse("2006-01-02 15:04:05", x)
			if err != nil {
				return nil, fmt.Errorf("bunstore: aggregate: a bucket %q: %w", x, err)
			}
			wall = t
		default:
			return nil, fmt.Errorf("bunstore: aggregate: cannot read a bucket of %T", v)
		}
		y, m, d := wall.Date()
		return time.Date(y, m, d, 0, 0, 0, 0, loc), nil
	}
	if g.custom {
		switch x := v.(type) {
		case string:
			return x, nil
		case []byte:
			return string(x), nil
		default:
			return fmt.Sprint(x), nil
		}
	}
	return aggValue(g.kind, v)
}

// spanMeasureSQL appends the aggregate m of the seconds from since to col
// over the records where both are set (not the zero time).
//
// Times of list elements are read as the dialect measures them best, the
// zero time as no value (dialect.spanTime), which reads each key once.
func (s *Store) spanMeasureSQL(c *codec, m storage.Measure, col, since *column, b *sqlBuilder) error {
	b.add("CAST(" + strings.ToUpper(string(m.Op)) + "(")
	if col.text != "" && since.text != "" {
		to, from := s.d.spanTime(col.sql, col.text), s.d.spanTime(since.sql, since.text)
		if err := s.measured(c, m.Where, s.d.seconds(to, from), "", b); err != nil {
			return err
		}
		b.add(") AS DOUBLE PRECISION)")
		return nil
	}
	set := storage.And{storage.Gt(col.name, time.Time{}), storage.Gt(since.name, time.Time{})}
	if m.Where != nil {
		set = append(set, m.Where)
	}
	if err := s.measured(c, set, s.d.seconds(col.expr(), since.expr()), "", b); err != nil {
		return err
	}
	b.add(") AS DOUBLE PRECISION)")
	return nil
}

// measured appends the value a measure aggregates: expr, or, under where,
// the CASE that is expr where it holds and otherwise (such as " ELSE 0";
// "" is NULL) elsewhere.
func (s *Store) measured(c *codec, where storage.Filter, expr, otherwise string, b *sqlBuilder) error {
	if where == nil {
		b.add(expr)
		return nil
	}
	b.add("CASE WHEN ")
	if err := s.where(c, where, b); err != nil {
		return err
	}
	b.add(" THEN " + expr + otherwise + " END")
	return nil
}

// customMeasureSQL appends the aggregate m of the custom field name: its
// text for counts, its number for the others.
func (s *Store) customMeasureSQL(c *codec, m storage.Measure, name string, b *sqlBuilder) error {
	text, num := s.d.jsonGroupText("t.custom", name), s.d.jsonNum("t.custom", name)
	val := func(expr string) error { return s.measured(c, m.Where, expr, "", b) }
	var err error
	switch m.Op {
	case storage.AggCount:
		b.add("COUNT(")
		err = val("NULLIF(" + text + ", '')")
		b.add(")")
	case storage.AggCountDistinct:
		b.add("COUNT(DISTINCT ")
		err = val("NULLIF(" + text + ", '')")
		b.add(")")
	default:
		b.add("CAST(" + strings.ToUpper(string(m.Op)) + "(")
		err = val(num)
		b.add(") AS DOUBLE PRECISION)")
	}
	return err
}

// measureSQL appends the aggregate of m over col (nil for a count of
// records), with m.Where as a CASE inside it.
func (s *Store) measureSQL(c *codec, m storage.Measure, col *column, b *sqlBuilder) error {
	val := func(expr, otherwise string) error { return s.measured(c, m.Where, expr, otherwise, b) }
	var expr string
	if col != nil {
		expr = col.expr()
		if col.kind == kString {
			expr = "NULLIF(" + expr + ", '')" // an empty text is no value
		}
		if col.text != "" && m.Op == storage.AggCount {
			expr = col.text // counted as set, not read as a time
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
	case m.Op == storage.AggCountDistinct && col.kind == kString && col.sql == "":
		// The column bare, as DISTINCT can read it from an index in
		// order, less the empty text if it is among the values (the
		// least text, so MIN finds it).
		b.add("(COUNT(DISTINCT ")
		if err := val(col.expr(), ""); err != nil {
			return err
		}
		b.add(") - CASE WHEN MIN(")
		err = val(col.expr(), "")
		b.add(") = '' THEN 1 ELSE 0 END)")
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

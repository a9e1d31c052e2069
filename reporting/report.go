package reporting

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/access"
	"github.com/crmkit/crm/storage/filterexpr"
)

// ObjectReport is the record type of saved reports.
const ObjectReport = "report"

// MaxGroupings is how many groupings a report has at most.
const MaxGroupings = 2

// MaxRows bounds Report.Limit; a report without a limit returns every
// group, up to this many.
const MaxRows = 10000

// Grouping is one group-by of a report: a field's values, or periods of a
// time field.
type Grouping struct {
	// Field is a field of the report's record type, "custom.<name>", or
	// a field of a related record ("account.industry", as expressions name
	// it), read as the member may read that record.
	Field string `json:"field"`
	// Bucket, for a time field, groups by period (day, week, month,
	// quarter, year) or part (weekday, month_of_year) in the report's time
	// zone.
	Bucket storage.TimeBucket `json:"bucket,omitempty"`
}

// Measure is one figure of a report.
type Measure struct {
	// Name names the measure in the result, in Of, Having and Sort: a key
	// (lower-case letters, digits, underscores), unique in the report.
	Name string `json:"name"`
	// Op is count, count_distinct, sum, avg, min, max or ratio.
	Op storage.AggOp `json:"op"`
	// Field is the field measured (none for a count of records): a number
	// field for sum and avg, any ordered field for min and max, or
	// "custom.<name>".
	Field string `json:"field,omitempty"`
	// Where, an expression, limits the measure to the records it matches
	// ("stage == 'won'"), so that several conditional figures come from
	// one statement.
	Where string `json:"where,omitempty"`
	// Of, for a ratio, names the numerator and the denominator, two
	// earlier measures.
	Of [2]string `json:"of,omitzero"`
	// Since, with a time Field, measures the span from the record's Since
	// (another time field) to its Field, in seconds: the average sales
	// cycle is avg of closed_at since created_at. With sum, avg, min and
	// max.
	Since string `json:"since,omitempty"`
}

// Condition keeps the groups whose measure compares with Value.
type Condition struct {
	Measure string     `json:"measure"`
	Op      storage.Op `json:"op"` // ==, !=, >, >=, <, <=
	Value   float64    `json:"value"`
}

// Order sorts the rows by a grouping (its field) or a measure (its name).
type Order struct {
	By   string `json:"by"`
	Desc bool   `json:"desc,omitempty"`
}

// Report is a saved report: a record type, a filter in the expression
// language, up to two groupings, measures, having, sort and limit. It is a
// record of the generic path (history, change events, access: a rep
// reads its team's reports and its own).
type Report struct {
	storage.Meta
	Name        string `bun:"name,notnull" json:"name"`
	Description string `bun:"description,notnull" json:"description,omitempty"`
	// Object is the record type reported on: any registered type, the
	// host's own included.
	Object string `bun:"object,notnull" json:"object"`
	// Each, when set, names a list of objects of Object (an
	// opportunity's stage_history: one element per stay in a stage) whose
	// elements the report groups and measures in place of the records
	// (storage.AggregateQuery.Each): their keys are fields named
	// "<Each>.<key>" (stage_history.stage, stage_history.left_at) in the
	// groupings, the measures and Where, beside the record's own.
	Each string `bun:"each_field,notnull" json:"each,omitempty"`
	// Where, an expression over Object's fields (see package filterexpr),
	// keeps the records it matches; "" keeps all.
	Where    string      `bun:"where_expr,notnull" json:"where,omitempty"`
	GroupBy  []Grouping  `bun:"group_by" json:"group_by,omitempty"`
	Measures []Measure   `bun:"measures" json:"measures"`
	Having   []Condition `bun:"having_conds" json:"having,omitempty"`
	Sort     []Order     `bun:"sort_by" json:"sort,omitempty"`
	// Limit bounds the rows (at most MaxRows); 0 returns every group.
	Limit int `bun:"row_limit,notnull" json:"limit,omitempty"`
	// DateField is the time field a run's date range (Params) applies to;
	// "" is created_at.
	DateField string `bun:"date_field,notnull" json:"date_field,omitempty"`
	// TimeZone is the IANA zone of the time buckets; "" is the service's
	// (Options.Location).
	TimeZone string `bun:"time_zone,notnull" json:"time_zone,omitempty"`
	// WeekStart is the first day of weekly buckets; 0 is the service's
	// (Options.WeekStart), Sunday unless set.
	WeekStart time.Weekday `bun:"week_start,notnull" json:"week_start,omitempty"`
	OwnerID   string       `bun:"owner_id,notnull" json:"owner_id,omitempty"`
	TeamID    string       `bun:"team_id,notnull" json:"team_id,omitempty"`
}

// RecordType returns "report".
func (*Report) RecordType() string { return ObjectReport }

// SearchTitle returns the report's name.
func (r *Report) SearchTitle() string { return r.Name }

// SearchText returns the report's name and description.
func (r *Report) SearchText() string { return r.Name + " " + r.Description }

// Params are a run's runtime parameters.
type Params struct {
	// From and To bound the report's DateField to [From, To); a zero
	// bound is open.
	From, To time.Time
}

// Column describes one column of a result: a grouping, then the
// measures.
type Column struct {
	// Name is the grouping's field (with its bucket: "created_at:month")
	// or the measure's name.
	Name    string `json:"name"`
	Measure bool   `json:"measure,omitempty"`
}

// Row is one group of a result.
type Row struct {
	// Values are the row's values, one per column: a grouping's value as
	// storage.AggregateRow.Group gives it, a measure's as Values does.
	Values []any `json:"values"`
	// Labels are the display names of the groupings' values that are
	// records (an owner's name, an account's): "" for values that are not
	// records or that the member may not read.
	Labels []string `json:"labels,omitempty"`
}

// Result is what a report run returns.
type Result struct {
	Columns []Column `json:"columns"`
	Rows    []Row    `json:"rows"`
}

// Reports stores reports and runs them.
type Reports struct{ s *Service }

// Create checks in and stores it as a new report. Bad definitions are a
// *storage.ValidationError naming each bad part.
func (rs *Reports) Create(ctx context.Context, in Report) (*Report, error) {
	r := in
	r.Meta = storage.Meta{}
	if _, err := rs.s.compile(ctx, &r, Params{}, nil); err != nil {
		return nil, err
	}
	if err := rs.s.t.reports.Insert(ctx, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// Get returns the report with id, or ErrNotFound.
func (rs *Reports) Get(ctx context.Context, id string) (*Report, error) {
	return rs.s.t.reports.Get(ctx, id)
}

// List returns one page of the reports the member may read.
func (rs *Reports) List(ctx context.Context, q storage.ListQuery) (storage.Page[*Report], error) {
	return rs.s.t.reports.List(ctx, q)
}

// Update replaces the definition of the report with id by in's (its Meta
// ignored), when it is still at version (0: whatever is stored).
func (rs *Reports) Update(ctx context.Context, id string, version int64, in Report) (*Report, error) {
	return storage.Modify(ctx, rs.s.store, rs.s.t.reports, id, version, func(ctx context.Context, r *Report) error {
		meta := r.Meta
		*r = in
		r.Meta = meta
		_, err := rs.s.compile(ctx, r, Params{}, nil)
		return err
	})
}

// Delete removes the report with id.
func (rs *Reports) Delete(ctx context.Context, id string) error {
	return storage.Remove(ctx, rs.s.store, rs.s.t.reports, id, 0, nil)
}

// RunSaved runs the saved report id with p.
func (rs *Reports) RunSaved(ctx context.Context, id string, p Params) (*Result, error) {
	r, err := rs.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return rs.Run(ctx, *r, p)
}

// Run runs r (saved or not) as the context's member, in one statement:
// the groups cover only the records the member may read, grouping by or
// measuring a field hidden from it is ErrForbidden, and the labels of
// groups that are records are those it may read.
func (rs *Reports) Run(ctx context.Context, r Report, p Params) (*Result, error) {
	return rs.run(ctx, r, p, nil)
}

// run is Run with a cache of expression schemas (see Service.schema).
func (rs *Reports) run(ctx context.Context, r Report, p Params, schemas map[string]filterexpr.Schema) (*Result, error) {
	q, err := rs.s.compile(ctx, &r, p, schemas)
	if err != nil {
		return nil, err
	}
	rows, err := rs.s.store.Aggregate(ctx, r.Object, q)
	if err != nil {
		return nil, err
	}
	res := &Result{Rows: make([]Row, len(rows))}
	for _, g := range r.GroupBy {
		name := g.Field
		if g.Bucket != "" {
			name += ":" + string(g.Bucket)
		}
		res.Columns = append(res.Columns, Column{Name: name})
	}
	for _, m := range r.Measures {
		res.Columns = append(res.Columns, Column{Name: m.Name, Measure: true})
	}
	for i, row := range rows {
		res.Rows[i] = Row{Values: append(slices.Clone(row.Group), row.Values...)}
	}
	if err := rs.s.label(ctx, r, res); err != nil {
		return nil, err
	}
	return res, nil
}

// compile checks r (normalising it) and returns its query with p's range.
// Every bad part is reported at once.
func (s *Service) compile(ctx context.Context, r *Report, p Params, schemas map[string]filterexpr.Schema) (storage.AggregateQuery, error) {
	var q storage.AggregateQuery
	var v storage.ValidationError
	storage.TrimText(&v, "name", &r.Name, 200)
	if r.Name == "" {
		v.Add("name", "is required")
	}
	storage.TrimText(&v, "description", &r.Description, 2000)
	if _, ok := s.store.Table(r.Object); !ok {
		v.Add("object", "%q is not a registered record type", r.Object)
		return q, v.Err()
	}
	schema, err := s.schema(ctx, r.Object, schemas)
	if err != nil {
		return q, err
	}
	filter := func(field, src string) storage.Filter {
		if strings.TrimSpace(src) == "" {
			return nil
		}
		f, err := contacts.CompileFilter(schema, r.Object, src)
		if err != nil {
			v.Add(field, "%v", err)
			return nil
		}
		return f
	}
	own := schema.Own() // measures and the date field are the type's own fields
	if r.Each != "" {
		t, _ := s.store.Table(r.Object)
		es, ok := filterexpr.ElementsOf(t.Type().New(), r.Each)
		if !ok {
			v.Add("each", "%q is not a list of objects of %s", r.Each, r.Object)
		}
		schema = maps.Clone(schema)
		maps.Copy(schema, es)
		maps.Copy(own, es)
	}
	if f := filter("where", r.Where); f != nil {
		q.Filter = f
	}
	if len(r.GroupBy) > MaxGroupings {
		v.Add("group_by", "has %d groupings; a report has at most %d", len(r.GroupBy), MaxGroupings)
	}
	for i, g := range r.GroupBy {
		field := fmt.Sprintf("group_by[%d]", i)
		t, ok := schema[g.Field] // a grouping may name a related record's field too
		if !ok {
			v.Add(field+".field", "%q is not a field of %s", g.Field, r.Object)
			continue
		}
		if g.Bucket != "" && t != filterexpr.Time {
			v.Add(field+".bucket", "%s is not a time field", g.Field)
		}
		q.Groups = append(q.Groups, storage.Group{Field: g.Field, Bucket: g.Bucket})
	}
	if len(r.Measures) == 0 {
		v.Add("measures", "a report needs at least one measure")
	}
	index := map[string]int{}
	for i, m := range r.Measures {
		field := fmt.Sprintf("measures[%d]", i)
		if !storage.ValidKey(m.Name) {
			v.Add(field+".name", "%q is not a key (lower-case letters, digits, underscores)", m.Name)
		} else if _, dup := index[m.Name]; dup {
			v.Add(field+".name", "%q names two measures", m.Name)
		}
		index[m.Name] = i
		am := storage.Measure{Op: m.Op, Field: m.Field, Since: m.Since, Where: filter(field+".where", m.Where)}
		if t, ok := own[m.Since]; m.Since != "" && (!ok || t != filterexpr.Time) {
			v.Add(field+".since", "%q is not a time field of %s", m.Since, r.Object)
		}
		if m.Op == storage.AggRatio {
			for k, name := range m.Of {
				j, ok := index[name]
				if !ok || j >= i || r.Measures[j].Op == storage.AggRatio {
					v.Add(fmt.Sprintf("%s.of[%d]", field, k), "%q is not an earlier measure that is not a ratio", name)
				}
				am.Of[k] = j
			}
		} else if m.Field != "" {
			if _, ok := own[m.Field]; !ok {
				v.Add(field+".field", "%q is not a field of %s", m.Field, r.Object)
			}
		}
		q.Measures = append(q.Measures, am)
	}
	for i, h := range r.Having {
		j, ok := index[h.Measure]
		if !ok {
			v.Add(fmt.Sprintf("having[%d].measure", i), "%q is not a measure of the report", h.Measure)
		}
		q.Having = append(q.Having, storage.Having{Measure: j, Op: h.Op, Value: h.Value})
	}
	for i, o := range r.Sort {
		c := slices.IndexFunc(r.GroupBy, func(g Grouping) bool { return g.Field == o.By })
		if c < 0 {
			j, ok := index[o.By]
			if !ok {
				v.Add(fmt.Sprintf("sort[%d].by", i), "%q is neither a grouping's field nor a measure", o.By)
				continue
			}
			c = len(r.GroupBy) + j
		}
		q.Sort = append(q.Sort, storage.AggSort{Column: c, Desc: o.Desc})
	}
	if r.Limit < 0 || r.Limit > MaxRows {
		v.Add("limit", "%d is outside 0–%d", r.Limit, MaxRows)
	}
	q.Limit, q.Each = r.Limit, r.Each
	if q.Limit == 0 {
		q.Limit = MaxRows
	}
	date := r.DateField
	if date == "" {
		date = "created_at"
	}
	if t, ok := own[date]; !ok || t != filterexpr.Time {
		v.Add("date_field", "%q is not a time field of %s", date, r.Object)
	}
	q.Location = s.opts.Location
	if r.TimeZone != "" {
		loc, err := time.LoadLocation(r.TimeZone)
		if err != nil || r.TimeZone == "Local" {
			v.Add("time_zone", "%q is not an IANA time zone", r.TimeZone)
		}
		q.Location = loc
	}
	q.WeekStart = s.opts.WeekStart
	if r.WeekStart != 0 {
		q.WeekStart = r.WeekStart
	}
	if r.WeekStart < time.Sunday || r.WeekStart > time.Saturday {
		v.Add("week_start", "%d is not a weekday (0 = Sunday … 6)", r.WeekStart)
	}
	if err := v.Err(); err != nil {
		return q, err
	}
	if rng := storage.InPeriod(date, p.From, p.To); rng != nil {
		if q.Filter != nil {
			rng = storage.And{rng, q.Filter}
		}
		q.Filter = rng
	}
	return q, nil
}

// schema returns object's expression schema, from schemas when it holds
// it (a dashboard's render reads each type's once), else read and kept
// there.
func (s *Service) schema(ctx context.Context, object string, schemas map[string]filterexpr.Schema) (filterexpr.Schema, error) {
	if sc, ok := schemas[object]; ok {
		return sc, nil
	}
	sc, err := s.people.Schema(ctx, object)
	if err == nil && schemas != nil {
		schemas[object] = sc
	}
	return sc, err
}

// label fills in the display names of the groupings whose values are
// records: the type's references (storage.Referrer), owners (members),
// teams, and fields named after a record type (account_id, pipeline_id).
// It reads each referenced type once, as the member: a record it may not
// read has no label.
func (s *Service) label(ctx context.Context, r Report, res *Result) error {
	targets := map[string]string{"owner_id": access.ObjectMember, "team_id": access.ObjectTeam}
	if t, ok := s.store.Table(r.Object); ok {
		if ref, ok := t.Type().New().(storage.Referrer); ok {
			for _, x := range ref.References() {
				targets[x.Field] = x.Type
			}
		}
	}
	for c, g := range r.GroupBy {
		if g.Bucket != "" {
			continue
		}
		if done, err := s.labelKeys(ctx, r, res, c); err != nil {
			return err
		} else if done {
			continue
		}
		typ, ok := targets[g.Field]
		if !ok {
			// By the naming rule of references: account_id names an
			// account, pipeline_id a pipeline.
			typ, ok = strings.CutSuffix(g.Field, "_id")
		}
		if !ok {
			continue
		}
		tbl, ok := s.store.Table(typ)
		if !ok {
			continue
		}
		var ids []any
		seen := map[string]bool{}
		for _, row := range res.Rows {
			if id, ok := row.Values[c].(string); ok && id != "" && !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
		names := map[string]string{}
		for chunk := range slices.Chunk(ids, storage.MaxLimit) {
			page, err := tbl.List(ctx, storage.ListQuery{Filter: storage.Cmp{Field: "id", Op: storage.OpIn, Value: chunk},
				PageQuery: storage.PageQuery{Limit: storage.MaxLimit}})
			if err != nil {
				return err
			}
			for _, rec := range page.Items {
				names[rec.RecordMeta().ID] = displayName(rec)
			}
		}
		setLabels(r, res, c, names)
	}
	return nil
}

// labelKeys labels grouping c of res by the first of the modules'
// FieldLabelers (Options.Labelers) that names its field's values, and
// reports whether one did.
func (s *Service) labelKeys(ctx context.Context, r Report, res *Result, c int) (bool, error) {
	var keys []string
	for _, row := range res.Rows {
		if k, ok := row.Values[c].(string); ok && k != "" && !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	for _, l := range s.opts.Labelers {
		names, err := l.FieldLabels(ctx, r.Object, r.GroupBy[c].Field, keys)
		if err != nil || names == nil {
			if err != nil {
				return false, err
			}
			continue
		}
		setLabels(r, res, c, names)
		return true, nil
	}
	return false, nil
}

// setLabels sets the labels of grouping c of res from names, by value.
func setLabels(r Report, res *Result, c int, names map[string]string) {
	for i := range res.Rows {
		row := &res.Rows[i]
		k, _ := row.Values[c].(string)
		if names[k] == "" {
			continue
		}
		if row.Labels == nil {
			row.Labels = make([]string, len(r.GroupBy))
		}
		row.Labels[c] = names[k]
	}
}

// displayName is what a record is called: its Name(), its search title,
// or its stored name field.
func displayName(rec storage.Record) string {
	switch x := rec.(type) {
	case interface{ Name() string }:
		return x.Name()
	case storage.Searchable:
		return x.SearchTitle()
	}
	name, _ := storage.FieldValue(rec, "name")
	s, _ := name.(string)
	return s
}

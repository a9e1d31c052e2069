package bunstore

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/internal/cursor"
)

// sqlBuilder accumulates SQL text and its bind values.
type sqlBuilder struct {
	sb   strings.Builder
	args []any
	ws   string // the workspace of a list or count, for subqueries of its filter
	// p and sets scope the related records a filter compares fields of
	// (see relatedFilter); p is nil when no principal's scopes apply.
	p    *storage.Principal
	sets *scopeSets
	// nest numbers the aliases of the Within subqueries.
	nest int
	// shared holds, by custom field name, the column of the row aliased
	// t that holds the field's text extracted once (see sharedCustom).
	shared map[string]string
	// reg is the registry the statement's related fields are read from
	// (see Store.refs); nil until one is read.
	reg *registry
}

func (b *sqlBuilder) add(sql string, args ...any) {
	b.sb.WriteString(sql)
	b.args = append(b.args, args...)
}

// expr is the SQL of a column of the row aliased t, read so that "" and
// NULL are alike for optional references.
func (col *column) expr() string { return col.exprAt("t") }

// exprAt is expr for the row aliased a.
func (col *column) exprAt(a string) string {
	if col.nullZero {
		return "COALESCE(" + col.at(a) + ", '')"
	}
	return col.at(a)
}

// at is the column of the row aliased a itself, or the SQL that reads a
// key of an element (codec.elements).
func (col *column) at(a string) string {
	if col.sql != "" {
		return col.sql
	}
	return a + "." + col.name
}

// where appends the SQL of f on the row aliased t. Field names come only
// from the codec's columns; values only become bind values.
func (s *Store) where(c *codec, f storage.Filter, b *sqlBuilder) error {
	if err := storage.CheckFilterSize(f); err != nil {
		return err
	}
	return s.whereAt(c, "t", f, b)
}

// whereAt is where for the row aliased a.
func (s *Store) whereAt(c *codec, a string, f storage.Filter, b *sqlBuilder) error {
	switch f := f.(type) {
	case nil:
		b.add("1 = 1")
	case storage.And:
		return s.junction(c, a, f, " AND ", "1 = 1", b)
	case storage.Or:
		return s.junction(c, a, f, " OR ", "1 = 0", b)
	case storage.Not:
		if w, ok := f.Filter.(storage.Within); ok {
			// EXISTS is two-valued; written bare, NOT EXISTS is the
			// anti-join both planners know.
			b.add("NOT ")
			return s.within(c, a, w, true, b)
		}
		// A comparison with a missing value (NULL) is false, and NOT of it
		// true, as in Go: the operand is made two-valued first.
		b.add("NOT COALESCE((")
		if err := s.whereAt(c, a, f.Filter, b); err != nil {
			return err
		}
		b.add("), FALSE)")
	case storage.Cmp:
		return s.cmp(c, a, f, b)
	case *storage.Cmp:
		return s.cmp(c, a, *f, b)
	case storage.LinkedTo:
		if f.Type == "" || f.ID == "" {
			return storage.Invalid("filter.linked_to", "needs a record type and an ID")
		}
		b.add(a+".id IN (SELECT l.from_id FROM crm_links l WHERE l.workspace_id = ? AND l.to_id = ? AND l.to_type = ? AND l.from_type = ?)",
			b.ws, f.ID, f.Type, c.recType)
	case storage.Within:
		return s.within(c, a, f, false, b)
	default:
		return storage.Invalid("filter", "unsupported filter node %T", f)
	}
	return nil
}

func (s *Store) junction(c *codec, a string, fs []storage.Filter, sep, empty string, b *sqlBuilder) error {
	if len(fs) == 0 {
		b.add(empty)
		return nil
	}
	b.add("(")
	n := 0
	if sep == " OR " {
		fs, n = s.anyObject(c, a, fs, b)
	}
	for _, f := range fs {
		if n > 0 {
			b.add(sep)
		}
		n++
		if err := s.whereAt(c, a, f, b); err != nil {
			return err
		}
	}
	b.add(")")
	return nil
}

// anyObject writes, where the dialect has a form for it, the alternatives
// of fs that ask whether a list of objects holds an element with one key
// among several values (a deal that reached one of the later stages:
// stage_history contains {stage: x} or {stage: y} …) as one condition per
// list and key, which reads the list once (see
// dialect.listHasAnyObject). It returns the other alternatives and how
// many conditions it wrote.
func (s *Store) anyObject(c *codec, a string, fs []storage.Filter, b *sqlBuilder) ([]storage.Filter, int) {
	type group struct {
		col  *column
		key  string
		vals []any
	}
	var groups []*group
	var rest []storage.Filter
	for _, f := range fs {
		cmp, ok := f.(storage.Cmp)
		col := c.byName[cmp.Field]
		m, isMap := cmp.Value.(map[string]string)
		if !ok || col == nil || !col.objects || cmp.Op != storage.OpContains || !isMap || len(m) != 1 {
			rest = append(rest, f)
			continue
		}
		var key, val string
		for k, v := range m { // its one key
			key, val = k, v
		}
		i := slices.IndexFunc(groups, func(g *group) bool { return g.col == col && g.key == key })
		if i < 0 {
			groups = append(groups, &group{col: col, key: key})
			i = len(groups) - 1
		}
		groups[i].vals = append(groups[i].vals, val)
	}
	n := 0
	for _, g := range groups {
		sql := s.d.listHasAnyObject(g.col.at(a), g.key, len(g.vals))
		if len(g.vals) < 2 || sql == "" || !storage.ValidKey(g.key) {
			for _, v := range g.vals {
				rest = append(rest, storage.Cmp{Field: g.col.name, Op: storage.OpContains, Value: map[string]string{g.key: v.(string)}})
			}
			continue
		}
		if n > 0 {
			b.add(" OR ")
		}
		n++
		b.add(sql, g.vals...)
	}
	return rest, n
}

var sqlOps = map[storage.Op]string{storage.OpEq: " = ", storage.OpNe: " <> ", storage.OpLt: " < ",
	storage.OpLe: " <= ", storage.OpGt: " > ", storage.OpGe: " >= "}

// cmp appends the comparison f on the row aliased a of c.
func (s *Store) cmp(c *codec, a string, f storage.Cmp, b *sqlBuilder) error {
	field := "filter." + f.Field
	if name, ok := strings.CutPrefix(f.Field, "custom."); ok {
		return s.customCmp(c, a, name, f, b)
	}
	col := c.byName[f.Field]
	if rel, rest, ok := strings.Cut(f.Field, "."); ok && col == nil {
		return s.relatedCmp(c, a, rel, rest, f, b)
	}
	if col == nil {
		return storage.Invalid(field, "%s has no field %q", c.recType, f.Field)
	}
	if col.kind == kJSON {
		switch {
		case f.Op == storage.OpEmpty && col.list:
			b.add(s.d.listEmpty(col.at(a)))
		case f.Op == storage.OpEmpty:
			b.add(col.at(a) + " IS NULL")
		case f.Op == storage.OpContains && col.list:
			v, ok := f.Value.(string)
			if !ok {
				return storage.Invalid(field, "contains needs a text value, not %T", f.Value)
			}
			b.add(s.d.listHas(col.at(a)), v)
		case f.Op == storage.OpContains && col.objects:
			fields, ok := f.Value.(map[string]string)
			if !ok || len(fields) == 0 {
				return storage.Invalid(field, "contains on a list of objects needs the fields an element must hold (map[string]string), not %T", f.Value)
			}
			keys := slices.Sorted(maps.Keys(fields))
			args := make([]any, len(keys))
			for i, k := range keys {
				if !storage.ValidKey(k) {
					return storage.Invalid(field, "%q is not a field name", k)
				}
				args[i] = fields[k]
			}
			b.add(s.d.listHasObject(col.at(a), keys), args...)
		default:
			return storage.Invalid(field, "operator %s is not supported on %s", f.Op, f.Field)
		}
		return nil
	}
	switch f.Op {
	case storage.OpEq, storage.OpNe, storage.OpLt, storage.OpLe, storage.OpGt, storage.OpGe:
		v, err := s.filterArg(col, f.Value)
		if err != nil {
			return storage.Invalid(field, "%v", err)
		}
		if f.Op == storage.OpEq && lookup(col, v) {
			b.add("("+col.at(a)+" = ? AND "+col.at(a)+" <> '')", v)
			return nil
		}
		b.add(col.exprAt(a)+sqlOps[f.Op]+"?", v)
	case storage.OpIn:
		rv := reflect.ValueOf(f.Value)
		if rv.Kind() != reflect.Slice {
			return storage.Invalid(field, "in needs a list, not %T", f.Value)
		}
		if rv.Len() == 0 {
			b.add("1 = 0")
			return nil
		}
		args := make([]any, rv.Len())
		all := true // every value a lookup
		for i := range args {
			v, err := s.filterArg(col, rv.Index(i).Interface())
			if err != nil {
				return storage.Invalid(field, "%v", err)
			}
			args[i] = v
			all = all && lookup(col, v)
		}
		if all {
			b.add("("+col.at(a)+" IN ("+placeholders(len(args))+") AND "+col.at(a)+" <> '')", args...)
			return nil
		}
		b.add(col.exprAt(a)+" IN ("+placeholders(len(args))+")", args...)
	case storage.OpContains, storage.OpStartsWith, storage.OpEndsWith:
		v, ok := f.Value.(string)
		if col.kind != kString || !ok {
			return storage.Invalid(field, "%s needs a text field and a text value", f.Op)
		}
		cond, n := s.d.textOp(f.Op, col.exprAt(a))
		if v != "" {
			// Only a text that is not empty holds a value that is not
			// empty; with the term a partial index on the column (such as
			// contacts' email index) can be read instead of the table.
			cond = "(" + cond + " AND " + col.at(a) + " <> '')"
		}
		b.add(cond, repeat(v, n)...)
	case storage.OpEmpty:
		switch {
		case col.kind == kString:
			b.add("(" + col.exprAt(a) + " = '')")
		case col.text != "":
			b.add(col.text + " IS NULL") // a list element's missing time: its key is read once
		default:
			b.add(col.at(a) + " IS NULL")
		}
	default:
		return storage.Invalid(field, "unknown operator %q", f.Op)
	}
	return nil
}

// lookup reports whether comparing col with v for equality is a look-up
// by a text value that is not empty. Such a comparison is written
//
//	t.col = ? AND t.col <> ''
//
// (and the same with IN) rather than through col.expr(): for such a value
// both select the same rows, but only this form can use an index. It names
// the column itself, not COALESCE(t.col, ...), so that an index on an
// optional reference (a contact's account_id) serves it; and its second
// term is the predicate of the partial unique indexes (contacts' email,
// members' external_id, products' sku…), which a planner uses only when
// the WHERE clause implies it in a form it recognises: SQLite needs the
// very term, and a generic plan on Postgres (a prepared statement with the
// value a parameter) cannot infer it from the equality. Without it every
// look-up by email read the whole workspace on SQLite, and on Postgres
// once its prepared statement went generic.
func lookup(col *column, v any) bool {
	s, ok := v.(string)
	return ok && col.kind == kString && s != ""
}

// checkRefs checks the references of every record type of r, its own
// (storage.Referrer) and the extensions other types declare on it
// (storage.TypeOptions.Extends), and keeps them in r.refs by name. An
// extension needs a type, a name and a field; it extends another record
// type of the store, by a text field of the extending type. Every
// reference has a name that is not empty, not "custom", holds no "." and
// is no field name nor another reference's name of the referring type;
// its Field is a text field of that type, its Type a record type of the
// store, and its Key (default "id") a text field of that type.
func checkRefs(r *registry) error {
	for _, t := range r.types {
		e := t.ty.Options().Extends
		if e == (storage.Extension{}) {
			continue
		}
		col := t.c.byName[e.Field]
		switch {
		case e.Type == "" || e.Name == "" || e.Field == "":
			return fmt.Errorf("bunstore: %s extends %q as %q by %q: an extension needs a record type, a name and a field", t.rt, e.Type, e.Name, e.Field)
		case e.Type == t.rt:
			return fmt.Errorf("bunstore: %s extends itself", t.rt)
		case r.tables[e.Type] == nil:
			return fmt.Errorf("bunstore: %s extends %q, not a record type of the store", t.rt, e.Type)
		case col == nil || col.kind != kString:
			return fmt.Errorf("bunstore: %s extends %s by %q, not a text field of %s", t.rt, e.Type, e.Field, t.rt)
		}
	}
	r.refs = make(map[string]map[string]storage.Reference, len(r.types))
	for _, t := range r.types {
		c, rt := t.c, t.rt
		refs := storage.ReferencesOf(r, rt)
		if len(refs) == 0 {
			continue
		}
		byName := make(map[string]storage.Reference, len(refs))
		for _, ref := range refs {
			name, what := ref.Name, rt+"'s reference "+strconv.Quote(ref.Name)
			if e := r.tables[ref.Type]; e != nil && ref.Key != "" && ref.Field == "id" && e.ty.Options().Extends == (storage.Extension{Type: rt, Name: ref.Name, Field: ref.Key}) {
				what = ref.Type + "'s extension " + strconv.Quote(ref.Name) + " of " + rt
			}
			col := c.byName[ref.Field]
			rel := r.tables[ref.Type]
			_, dup := byName[name]
			switch {
			case name == "" || name == "custom" || strings.Contains(name, ".") || c.byName[name] != nil:
				return fmt.Errorf("bunstore: %s: %q cannot name a relation of %s (empty, custom, with a dot, or a field of it)", what, name, rt)
			case dup:
				return fmt.Errorf("bunstore: %s: %s has two references named %q", what, rt, name)
			case col == nil || col.kind != kString:
				return fmt.Errorf("bunstore: %s is by %q, not a text field of %s", what, ref.Field, rt)
			case rel == nil:
				return fmt.Errorf("bunstore: %s is to %q, not a record type of the store", what, ref.Type)
			}
			if key := rel.c.byName[ref.KeyField()]; key == nil || key.kind != kString {
				return fmt.Errorf("bunstore: %s matches %q, not a text field of %s", what, ref.KeyField(), ref.Type)
			}
			byName[name] = ref
		}
		r.refs[rt] = byName
	}
	return nil
}

// refs returns the registry b's statement reads references from: the one
// it first read them from, so that the related fields of a statement all
// come from one registry (relatedFilter readies what relatedCmp writes,
// and a Register between them must not add a relation that relatedFilter
// did not check).
func (s *Store) refs(b *sqlBuilder) *registry {
	if b.reg == nil {
		b.reg = s.reg.Load()
	}
	return b.reg
}

// relatedCmp compares a field of the record that c's reference rel refers
// to ("account" of "account.industry", or an extension's "rfm" of
// "rfm.segment"), as an EXISTS on the related table in the workspace:
// true when the related record exists, the principal may read it (b.p's
// read scope on its type) and the comparison holds. So a missing related
// record, or one the principal may not read, compares as a missing value:
// false, except "empty" (== nil), which is written as "no such record
// whose field is not empty" and so holds for it. The related record is
// the one whose Key (its ID by default) is the referring record's Field.
func (s *Store) relatedCmp(c *codec, a, rel, rest string, f storage.Cmp, b *sqlBuilder) error {
	ref, rc, ok := s.refs(b).related(c, rel)
	if !ok {
		return storage.Invalid("filter."+f.Field, "%s has no field %q", c.recType, f.Field)
	}
	if head, _, nested := strings.Cut(rest, "."); nested && head != "custom" {
		return storage.Invalid("filter."+f.Field, "fields of related records reach one record deep")
	}
	inner := f
	inner.Field = rest
	empty := f.Op == storage.OpEmpty
	if empty {
		b.add("NOT ")
	}
	b.add("EXISTS (SELECT 1 FROM " + rc.table + " rel WHERE rel.workspace_id = " + a + ".workspace_id AND " + relJoin(ref, "rel", a) + " AND ")
	if b.p != nil {
		s.scopeCond(b.p, b.sets, rc, "rel", storage.ActionRead, b)
		b.add(" AND ")
	}
	if empty {
		b.add("NOT ")
	}
	b.add("(")
	if err := s.cmp(rc, "rel", inner, b); err != nil {
		return fmt.Errorf("%s: %w", rel, err)
	}
	b.add("))")
	return nil
}

// relJoin is the condition that the row aliased r of ref's type is the
// one ref names for the row aliased a: "r.id = a.account_id", or with a
// Key "r.contact_id = a.id". Both columns bare, so that the related
// table's (workspace_id, key) index serves it. With a Key, a Field other
// than the ID adds that r's key is not empty: an empty Field names no
// record, as an empty reference does.
func relJoin(ref storage.Reference, r, a string) string {
	key := ref.KeyField()
	cond := r + "." + key + " = " + a + "." + ref.Field
	if key != "id" && ref.Field != "id" {
		cond += " AND " + r + "." + key + " <> ''"
	}
	return cond
}

func repeat(v any, n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// customCmp compares a custom field, whose SQL type follows the value's Go
// type: text, number or bool. The name is checked against the custom field
// name pattern before it enters the SQL text, as a JSON key.
func (s *Store) customCmp(c *codec, a, name string, f storage.Cmp, b *sqlBuilder) error {
	field := "filter." + f.Field
	if c.byName["custom"] == nil {
		return storage.Invalid(field, "%s has no custom fields", c.recType)
	}
	if !storage.ValidKey(name) {
		return storage.Invalid(field, "%q is not a custom field name", name)
	}
	text := s.d.jsonText(a+".custom", name)
	if col, ok := b.shared[name]; ok && a == "t" {
		text = col
	}
	if f.Op == storage.OpEmpty {
		b.add("(" + text + " IS NULL OR " + text + " = '')")
		return nil
	}
	op, cmp := sqlOps[f.Op]
	switch v := f.Value.(type) {
	case string:
		switch f.Op {
		case storage.OpContains, storage.OpStartsWith, storage.OpEndsWith:
			cond, n := s.d.textOp(f.Op, text) // NULL when missing: false
			b.add(cond, repeat(v, n)...)
			return nil
		}
		if cmp {
			b.add(text+op+"?", v)
			return nil
		}
	case bool:
		if f.Op == storage.OpEq || f.Op == storage.OpNe {
			b.add(s.d.jsonBool(a+".custom", name)+op+"?", v)
			return nil
		}
	case int, int32, int64, float32, float64:
		if cmp {
			n, _ := toFloat(v)
			b.add(s.d.jsonNum(a+".custom", name)+op+"?", n)
			return nil
		}
	}
	return storage.Invalid(field, "operator %s with a %T value is not supported on custom fields", f.Op, f.Value)
}

func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case int32:
		return float64(n), true
	case int64:
		return float64(n), true
	case float32:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}

// filterArg converts a filter value to the bind value of col.
func (s *Store) filterArg(col *column, v any) (any, error) {
	rv := reflect.ValueOf(v)
	switch col.kind {
	case kString:
		if rv.Kind() == reflect.String {
			return rv.String(), nil
		}
	case kInt:
		switch rv.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			return rv.Int(), nil
		case reflect.Float32, reflect.Float64:
			if f := rv.Float(); f == float64(int64(f)) {
				return int64(f), nil
			}
			return rv.Float(), nil // compared as a number
		}
	case kFloat:
		if f, ok := toFloat(v); ok {
			return f, nil
		}
	case kBool:
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case kTime:
		switch t := v.(type) {
		case time.Time:
			return s.d.timeArg(storage.Truncate(t)), nil
		case string:
			tt, err := time.Parse(time.RFC3339Nano, t)
			if err != nil {
				return nil, fmt.Errorf("%q is not an RFC 3339 time", t)
			}
			return s.d.timeArg(storage.Truncate(tt)), nil
		}
	}
	return nil, fmt.Errorf("a %T value cannot be compared with this field", v)
}

// limitSQL is " LIMIT n", the number written into the SQL text rather than
// bound: n is a page size the store computed (at most storage.MaxLimit + 1),
// never caller text. Postgres plans a prepared statement generically once
// its estimate is no worse than the custom plans'; with the LIMIT a
// parameter the generic estimate assumes a large fraction of the rows and
// loses, so every execution of a list paid for planning again (for a
// scoped list about 0.2 ms on a busy machine, more than running it).
func limitSQL(n int) string { return " LIMIT " + strconv.Itoa(n) }

// order resolves the sorts of a list query, appending the ID as the last key.
func (c *codec) order(sorts []storage.Sort) ([]*column, []bool, error) {
	var cols []*column
	var desc []bool
	for i, s := range sorts {
		col := c.byName[s.Field]
		if col == nil || col.kind == kJSON {
			return nil, nil, storage.Invalid(fmt.Sprintf("sort[%d]", i), "%s cannot be sorted by %q", c.recType, s.Field)
		}
		if col.name == "id" {
			break
		}
		cols = append(cols, col)
		desc = append(desc, s.Desc)
	}
	last := false
	if len(desc) > 0 {
		last = desc[len(desc)-1]
	}
	return append(cols, c.byName["id"]), append(desc, last), nil
}

// List implements storage.RecordTable.
func (t *table) List(ctx context.Context, q storage.ListQuery) (storage.Page[storage.Record], error) {
	return bounded(ctx, t.s, func(ctx context.Context) (storage.Page[storage.Record], error) { return t.list(ctx, q) })
}

// listStmt is a list query made SQL, with what reading its rows needs.
type listStmt struct {
	sql   string // rebound for the dialect
	args  []any
	cols  []*column // the sort keys, the ID last
	fp    string    // the query's fingerprint, for cursors
	fm    *fieldMask
	limit int   // the page size; the statement reads one row more
	pick  []int // the columns read (ListQuery.Fields), nil for all
}

// pick returns the indexes of the columns a list with fields reads: the
// ID, workspace and version, the sort keys and the fields, in the codec's
// order; nil when fields is empty (all of them).
func (c *codec) pick(fields []string, sort []*column) ([]int, error) {
	if len(fields) == 0 {
		return nil, nil
	}
	want := map[string]bool{"id": true, "workspace_id": true, "version": true}
	for _, col := range sort {
		want[col.name] = true
	}
	for _, f := range fields {
		if c.byName[f] == nil {
			return nil, storage.Invalid("fields", "%q is not a field of %s", f, c.recType)
		}
		want[f] = true
	}
	var out []int
	for i := range c.cols {
		if want[c.cols[i].name] {
			out = append(out, i)
		}
	}
	return out, nil
}

// listSQL turns q into the statement List runs.
func (t *table) listSQL(ctx context.Context, q storage.ListQuery) (*listStmt, error) {
	cols, desc, err := t.c.order(q.Sort)
	if err != nil {
		return nil, err
	}
	fm, err := t.s.mask(ctx, t.c)
	if err != nil {
		return nil, err
	}
	if err := fm.checkFilter(q.Filter); err != nil {
		return nil, err
	}
	if err := fm.checkSort(cols); err != nil {
		return nil, err
	}
	b := sqlBuilder{ws: storage.WorkspaceFrom(ctx)}
	if err := t.s.relatedFilter(ctx, t.c, q.Filter, &b); err != nil {
		return nil, err
	}
	pick, err := t.c.pick(q.Fields, cols)
	if err != nil {
		return nil, err
	}
	sel := t.c.selectCols
	if pick != nil {
		names := make([]string, len(pick))
		for i, k := range pick {
			names[i] = "t." + t.c.cols[k].name
		}
		sel = strings.Join(names, ", ")
	}
	b.add("SELECT "+sel+" FROM "+t.c.table+" t"+t.s.sharedCustom(t.c, q.Filter, &b)+" WHERE t.workspace_id = ? AND ", b.ws)
	if err := t.s.where(t.c, q.Filter, &b); err != nil {
		return nil, err
	}
	action := q.For
	if action == "" && storage.ExportingFrom(ctx) && t.ty.Options().Access != storage.AccessConfig {
		action = storage.ActionExport
	}
	if err := t.s.scoped(ctx, t.c, "t", action, &b); err != nil {
		return nil, err
	}
	fp := cursor.Fingerprint(t.rt, fmt.Sprintf("%#v", q.Filter), q.Sort, action)
	if q.Cursor != "" {
		keys, err := cursor.Decode(q.Cursor, fp, len(cols))
		if err != nil {
			return nil, err
		}
		b.add(" AND ")
		if err := t.s.keyset(cols, desc, keys, &b); err != nil {
			return nil, err
		}
	}
	b.add(" ORDER BY ")
	for i, col := range cols {
		if i > 0 {
			b.add(", ")
		}
		b.add(col.expr())
		if desc[i] {
			b.add(" DESC")
		}
	}
	limit := q.PageSize()
	b.add(limitSQL(limit + 1))
	return &listStmt{sql: t.s.d.rebind(b.sb.String()), args: b.args, cols: cols, fp: fp, fm: fm, limit: limit, pick: pick}, nil
}

func (t *table) list(ctx context.Context, q storage.ListQuery) (storage.Page[storage.Record], error) {
	var page storage.Page[storage.Record]
	st, err := t.listSQL(ctx, q)
	if err != nil {
		return page, err
	}
	cols, fp, fm, limit := st.cols, st.fp, st.fm, st.limit
	rows, err := t.s.query(ctx, st.sql, st.args...)
	if err != nil {
		return page, t.s.d.translate(err, t.rt)
	}
	defer rows.Close()
	sc := t.c.newScanner()
	if st.pick != nil {
		sc = t.c.newScannerOf(len(st.pick))
	}
	page.Items = make([]storage.Record, 0, min(limit, 64))
	var last reflect.Value
	for rows.Next() {
		if len(page.Items) == limit {
			keys := make([]any, len(cols))
			for i, col := range cols {
				keys[i] = col.field(last).Interface()
			}
			page.Next = cursor.Encode(fp, keys...)
			break
		}
		rv, err := t.c.scanSome(rows, sc, st.pick)
		if err != nil {
			return page, err
		}
		last = rv
		page.Items = append(page.Items, rv.Interface().(storage.Record))
	}
	if fm.hides() {
		for _, it := range page.Items {
			fm.apply(reflect.ValueOf(it))
		}
	}
	if err := rows.Err(); err != nil {
		return page, t.s.d.translate(err, t.rt)
	}
	return page, nil
}

// keyset appends the condition "after the row whose sort keys are keys":
// (a ⋗ ka) OR (a = ka AND b ⋗ kb) OR …, where ⋗ is > ascending, < descending.
func (s *Store) keyset(cols []*column, desc []bool, keys []json.RawMessage, b *sqlBuilder) error {
	vals := make([]any, len(cols))
	for i, col := range cols {
		v := reflect.New(col.typ)
		if err := json.Unmarshal(keys[i], v.Interface()); err != nil {
			return storage.Invalid("cursor", "is malformed")
		}
		a, err := col.valueArg(s.d, v.Elem())
		if err != nil {
			return storage.Invalid("cursor", "is malformed")
		}
		if a == nil {
			a = ""
		}
		vals[i] = a
	}
	// One direction: a row value, which both planners read as the start
	// of a range of the sort's index. Mixed directions: the OR chain, led
	// by a bound on the first key, so that the range starts there too
	// (without it a page deep in the order read as much as OFFSET).
	same := !slices.Contains(desc, !desc[0])
	if same {
		op := " > "
		if desc[0] {
			op = " < "
		}
		exprs := make([]string, len(cols))
		for i, col := range cols {
			exprs[i] = col.expr()
		}
		b.add("("+strings.Join(exprs, ", ")+")"+op+"("+placeholders(len(cols))+")", vals...)
		return nil
	}
	lead := " >= ?"
	if desc[0] {
		lead = " <= ?"
	}
	b.add(cols[0].expr()+lead+" AND (", vals[0])
	for i := range cols {
		if i > 0 {
			b.add(" OR ")
		}
		b.add("(")
		for j := 0; j < i; j++ {
			b.add(cols[j].expr()+" = ? AND ", vals[j])
		}
		op := " > ?"
		if desc[i] {
			op = " < ?"
		}
		b.add(cols[i].expr()+op, vals[i])
		b.add(")")
	}
	b.add(")")
	return nil
}

// Count implements storage.RecordTable.
func (t *table) Count(ctx context.Context, f storage.Filter) (int64, error) {
	return bounded(ctx, t.s, func(ctx context.Context) (int64, error) { return t.count(ctx, f) })
}

func (t *table) count(ctx context.Context, f storage.Filter) (int64, error) {
	fm, err := t.s.mask(ctx, t.c)
	if err != nil {
		return 0, err
	}
	if err := fm.checkFilter(f); err != nil {
		return 0, err
	}
	b := sqlBuilder{ws: storage.WorkspaceFrom(ctx)}
	if err := t.s.relatedFilter(ctx, t.c, f, &b); err != nil {
		return 0, err
	}
	b.add("SELECT COUNT(*) FROM "+t.c.table+" t"+t.s.sharedCustom(t.c, f, &b)+" WHERE t.workspace_id = ? AND ", b.ws)
	if err := t.s.where(t.c, f, &b); err != nil {
		return 0, err
	}
	if err := t.s.readable(ctx, t.c, "t", &b); err != nil {
		return 0, err
	}
	var n int64
	_, err = t.s.queryRow(ctx, t.rt, t.s.d.rebind(b.sb.String()), b.args, &n)
	return n, err
}

// sharedCustom returns, where the dialect wants it (Postgres, whose ->>
// reads and parses the whole JSON document again at every use), the FROM
// clause that extracts once per row, as text, each custom field that f
// compares more than once: CROSS JOIN LATERAL (SELECT t.custom ->> 'bio'
// AS c0 … OFFSET 0) cx, OFFSET 0 keeping the planner from folding the
// extraction back into each comparison. It records the columns in
// b.shared for customCmp; "" when there is nothing to share. 30
// substring tests of one 100 KB field used to cost 30 extractions a row.
func (s *Store) sharedCustom(c *codec, f storage.Filter, b *sqlBuilder) string {
	if !s.d.sharesJSON() || c.byName["custom"] == nil {
		return ""
	}
	uses := map[string]int{}
	storage.WalkFilter(f, func(c storage.Cmp) {
		if name, ok := strings.CutPrefix(c.Field, "custom."); ok && storage.ValidKey(name) {
			if _, text := c.Value.(string); text || c.Op == storage.OpEmpty {
				uses[name]++
			}
		}
	})
	var names []string
	for name, n := range uses {
		if n > 1 {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return ""
	}
	slices.Sort(names)
	b.shared = make(map[string]string, len(names))
	cols := make([]string, len(names))
	for i, name := range names {
		b.shared[name] = fmt.Sprintf("cx.c%d", i)
		cols[i] = s.d.jsonText("t.custom", name) + fmt.Sprintf(" AS c%d", i)
	}
	return " CROSS JOIN LATERAL (SELECT " + strings.Join(cols, ", ") + " OFFSET 0) cx"
}

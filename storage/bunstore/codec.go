package bunstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/crmkit/crm/storage"
	"github.com/uptrace/bun/schema"
)

// kind is how a column's Go value is stored.
type kind int

const (
	kString kind = iota
	kInt
	kBool
	kFloat
	kTime
	kJSON // slices, maps and structs, as JSON text (jsonb on Postgres)
)

// column is one stored field of a record type.
type column struct {
	name     string
	index    []int
	kind     kind
	nullZero bool // "" is stored as NULL (optional references)
	list     bool // a JSON list (tags): OpContains means membership
	objects  bool // a JSON list of objects (participants): OpContains matches an element's fields
	derived  bool // kept by the store (struct tag crm:"derived"): never updated from the record, never in events
	typ      reflect.Type
	// sql, for a key of an element of a list of objects (see
	// codec.elements), is the SQL that reads it; such a column is no
	// column of the table. text, for such a time, is the SQL of its JSON
	// text (dialect.elementKey).
	sql, text string
}

var timeType = reflect.TypeFor[time.Time]()

// codec maps one record type to its table: columns, and the statements of
// the generic CRUD path, built once.
type codec struct {
	table      string
	recType    string
	searchable bool         // the records implement storage.Searchable
	typ        reflect.Type // the struct type
	cols       []column
	byName     map[string]*column

	selectCols string // "t.id, t.workspace_id, …"
	insertHead string // "INSERT INTO <table> (<columns>)", before the VALUES
	getSQL     string
	getQ       string // getSQL with ? placeholders, to extend
	updateSQL  string
	deleteSQL  string
	// updCols are the columns the update writes, in order: every column but
	// id, workspace_id, created_at, created_by and the derived ones.
	updCols []int
	// prepare: the records implement storage.Preparer.
	prepare bool
	// after run in every write's transaction after the row is written, in
	// order, with the stored record before and after (the zero Value for a
	// create's before and a delete's after): the store's own bookkeeping
	// (scope versions), rollups and the type's AfterWrite hook.
	after []func(ctx context.Context, prev, next reflect.Value) error
}

// afterWrite runs the codec's after functions.
func (c *codec) afterWrite(ctx context.Context, prev, next reflect.Value) error {
	for _, f := range c.after {
		if err := f(ctx, prev, next); err != nil {
			return err
		}
	}
	return nil
}

// kindOf is how a Go value of type t is stored, false for none.
func kindOf(t reflect.Type) (kind, bool) {
	switch {
	case t == timeType:
		return kTime, true
	case t.Kind() == reflect.String:
		return kString, true
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
		return kInt, true
	case t.Kind() == reflect.Bool:
		return kBool, true
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return kFloat, true
	case t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map || t.Kind() == reflect.Struct:
		return kJSON, true
	}
	return 0, false
}

// elements returns c as an aggregate over the elements of its list of
// objects each (storage.AggregateQuery.Each) sees it: a copy whose fields
// also include each key of the element, as "<each>.<key>", typed as the
// element struct's field is and read from the element the dialect's
// elementsFrom names e. Keys of lists, maps and structs are left out.
func (c *codec) elements(d dialect, each string) (*codec, error) {
	list := c.byName[each]
	if list == nil || !list.objects {
		return nil, storage.Invalid("each", "%s has no list of objects %q", c.recType, each)
	}
	ec := *c
	ec.byName = maps.Clone(c.byName)
	elem := list.typ.Elem()
	for i := range elem.NumField() {
		f := elem.Field(i)
		key, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if key == "" {
			key = f.Name
		}
		k, ok := kindOf(f.Type)
		if !f.IsExported() || key == "-" || !ok || k == kJSON || !storage.ValidKey(key) {
			continue
		}
		name := each + "." + key
		col := &column{name: name, kind: k, typ: f.Type}
		col.sql, col.text = d.elementKey(key, k)
		ec.byName[name] = col
	}
	return &ec, nil
}

// newCodec reads the struct tags of the record type (through bun's table
// metadata) and builds its statements.
func newCodec(d dialect, bt *schema.Table, table, recType string) (*codec, error) {
	c := &codec{table: table, recType: recType, typ: bt.Type, byName: map[string]*column{}}
	for _, f := range bt.Fields {
		col := column{name: f.Name, index: f.Index, nullZero: f.NullZero, typ: f.IndirectType,
			derived: f.StructField.Tag.Get("crm") == "derived"}
		t := f.StructField.Type
		k, ok := kindOf(t)
		if !ok {
			return nil, fmt.Errorf("bunstore: %s.%s: unsupported type %s", bt.TypeName, f.GoName, t)
		}
		col.kind = k
		if k == kJSON {
			col.list = t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String
			col.objects = t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct
		}
		c.cols = append(c.cols, col)
	}
	names := make([]string, len(c.cols))
	qualified := make([]string, len(c.cols))
	var sets []string
	for i := range c.cols {
		col := &c.cols[i]
		c.byName[col.name] = col
		names[i] = col.name
		qualified[i] = "t." + col.name
		switch {
		case col.name == "id", col.name == "workspace_id", col.name == "created_at", col.name == "created_by", col.derived:
		default:
			sets = append(sets, col.name+" = ?")
			c.updCols = append(c.updCols, i)
		}
	}
	for _, need := range []string{"id", "workspace_id", "version", "created_at", "updated_at"} {
		if c.byName[need] == nil {
			return nil, fmt.Errorf("bunstore: %s has no %s column; embed storage.Meta", bt.TypeName, need)
		}
	}
	c.selectCols = strings.Join(qualified, ", ")
	c.insertHead = fmt.Sprintf("INSERT INTO %s (%s)", table, strings.Join(names, ", "))
	c.getQ = fmt.Sprintf("SELECT %s FROM %s t WHERE t.workspace_id = ? AND t.id = ?", c.selectCols, table)
	c.getSQL = d.rebind(c.getQ)
	c.updateSQL = d.rebind(fmt.Sprintf("UPDATE %s SET %s WHERE workspace_id = ? AND id = ? AND version = ?", table, strings.Join(sets, ", ")))
	c.deleteSQL = d.rebind(fmt.Sprintf("DELETE FROM %s WHERE workspace_id = ? AND id = ? AND version = ?", table))
	return c, nil
}

// field returns the field of rec (a pointer to the struct) for col.
func (col *column) field(rec reflect.Value) reflect.Value {
	return rec.Elem().FieldByIndex(col.index)
}

// arg returns the bind value of col's field in rec.
func (col *column) arg(d dialect, rec reflect.Value) (any, error) {
	return col.valueArg(d, col.field(rec))
}

// valueArg returns the bind value of v, a value of col's Go type.
//
// It bounds what both adapters can store and read back, for every record
// type alike: text without NUL bytes (Postgres refuses them, SQLite keeps
// them), finite numbers, times within the years 1–9999 (SQLite's text
// form, and Postgres's range, end there), JSON without NaN or NUL; a value
// out of bounds is ErrInvalid naming the field.
func (col *column) valueArg(d dialect, v reflect.Value) (any, error) {
	switch col.kind {
	case kString:
		if col.nullZero && v.Len() == 0 {
			return nil, nil
		}
		if strings.IndexByte(v.String(), 0) >= 0 {
			return nil, storage.Invalid(col.name, "holds a NUL byte")
		}
		return v.String(), nil
	case kInt:
		return v.Int(), nil
	case kBool:
		return v.Bool(), nil
	case kFloat:
		if f := v.Float(); math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, storage.Invalid(col.name, "is %v, not a number that can be stored", f)
		}
		return v.Float(), nil
	case kTime:
		t := v.Interface().(time.Time)
		if y := t.UTC().Year(); y < 1 || y > 9999 {
			return nil, storage.Invalid(col.name, "is in the year %d, outside 1–9999", y)
		}
		return d.timeArg(t), nil
	}
	if (v.Kind() == reflect.Slice || v.Kind() == reflect.Map) && v.Len() == 0 {
		return nil, nil
	}
	if field := badJSON(col.name, v.Interface()); field != "" {
		return nil, storage.Invalid(field, "holds NaN, an infinity or a NUL byte, which cannot be stored")
	}
	b, err := json.Marshal(v.Interface())
	if err != nil {
		return nil, storage.Invalid(col.name, "cannot be encoded: %v", err)
	}
	return string(b), nil
}

// badJSON returns the path of the first value in v, to be stored as JSON
// under name, that is NaN, an infinity or text with a NUL byte ("custom.score"),
// or "".
func badJSON(name string, v any) string {
	switch x := v.(type) {
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return name
		}
	case float32:
		if f := float64(x); math.IsNaN(f) || math.IsInf(f, 0) {
			return name
		}
	case string:
		if strings.IndexByte(x, 0) >= 0 {
			return name
		}
	case map[string]any:
		for k, e := range x {
			if p := badJSON(name+"."+k, e); p != "" {
				return p
			}
		}
	case []any:
		for i, e := range x {
			if p := badJSON(fmt.Sprintf("%s[%d]", name, i), e); p != "" {
				return p
			}
		}
	case []string:
		for i, e := range x {
			if strings.IndexByte(e, 0) >= 0 {
				return fmt.Sprintf("%s[%d]", name, i)
			}
		}
	}
	return ""
}

// jsonValue returns the field's value as JSON, for change events; nil for a
// zero value.
func (col *column) jsonValue(rec reflect.Value) json.RawMessage {
	v := col.field(rec)
	if v.IsZero() || ((v.Kind() == reflect.Slice || v.Kind() == reflect.Map) && v.Len() == 0) {
		return nil
	}
	b, err := json.Marshal(v.Interface())
	if err != nil {
		return nil
	}
	return b
}

// set stores a scanned driver value into col's field of rec.
func (col *column) set(rec reflect.Value, src any) error {
	v := col.field(rec)
	if src == nil {
		v.SetZero()
		return nil
	}
	switch col.kind {
	case kString:
		switch s := src.(type) {
		case string:
			v.SetString(s)
		case []byte:
			v.SetString(string(s))
		default:
			return fmt.Errorf("bunstore: column %s: cannot read %T as text", col.name, src)
		}
	case kInt:
		switch n := src.(type) {
		case int64:
			v.SetInt(n)
		case int32:
			v.SetInt(int64(n))
		default:
			return fmt.Errorf("bunstore: column %s: cannot read %T as an integer", col.name, src)
		}
	case kBool:
		switch b := src.(type) {
		case bool:
			v.SetBool(b)
		case int64:
			v.SetBool(b != 0)
		default:
			return fmt.Errorf("bunstore: column %s: cannot read %T as a bool", col.name, src)
		}
	case kFloat:
		switch f := src.(type) {
		case float64:
			v.SetFloat(f)
		case int64:
			v.SetFloat(float64(f))
		default:
			return fmt.Errorf("bunstore: column %s: cannot read %T as a number", col.name, src)
		}
	case kTime:
		t, err := parseTime(src)
		if err != nil {
			return err
		}
		v.Set(reflect.ValueOf(t))
	case kJSON:
		var b []byte
		switch s := src.(type) {
		case string:
			b = []byte(s)
		case []byte:
			b = s
		default:
			// pgx hands jsonb to *any already decoded; encode it again.
			var err error
			if b, err = json.Marshal(s); err != nil {
				return err
			}
		}
		v.SetZero()
		if len(b) == 0 || bytes.Equal(b, []byte("null")) {
			return nil
		}
		if err := json.Unmarshal(b, v.Addr().Interface()); err != nil {
			return fmt.Errorf("bunstore: column %s: %w", col.name, err)
		}
	}
	return nil
}

// appendArgs appends the bind values of every column of rec, in column
// order, to out.
func (c *codec) appendArgs(out []any, d dialect, rec reflect.Value) ([]any, error) {
	for i := range c.cols {
		a, err := c.cols[i].arg(d, rec)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// scanner scans rows of the codec's columns.
type scanner struct {
	vals []any
	ptrs []any
}

func (c *codec) newScanner() *scanner { return c.newScannerOf(len(c.cols)) }

// newScannerOf returns a scanner of n columns.
func (c *codec) newScannerOf(n int) *scanner {
	s := &scanner{vals: make([]any, n), ptrs: make([]any, n)}
	for i := range s.vals {
		s.ptrs[i] = &s.vals[i]
	}
	return s
}

// scan reads the current row into a new record.
func (c *codec) scan(rows interface{ Scan(...any) error }, s *scanner) (reflect.Value, error) {
	return c.scanSome(rows, s, nil)
}

// scanSome reads the current row, of the columns pick (all when nil),
// into a new record.
func (c *codec) scanSome(rows interface{ Scan(...any) error }, s *scanner, pick []int) (reflect.Value, error) {
	if err := rows.Scan(s.ptrs...); err != nil {
		return reflect.Value{}, err
	}
	rec := reflect.New(c.typ)
	for i := range s.vals {
		k := i
		if pick != nil {
			k = pick[i]
		}
		if err := c.cols[k].set(rec, s.vals[i]); err != nil {
			return reflect.Value{}, err
		}
	}
	return rec, nil
}

// diff lists the fields that differ between a and b (either may be invalid,
// for a create or a delete). Custom values are compared key by key, as
// "custom.<key>".
func (c *codec) diff(a, b reflect.Value) []storage.Change {
	var out []storage.Change
	for i := range c.cols {
		col := &c.cols[i]
		switch col.name {
		case "id", "workspace_id", "version", "created_at", "created_by", "updated_at", "updated_by":
			continue
		}
		if col.derived {
			continue
		}
		var av, bv json.RawMessage
		if a.IsValid() {
			av = col.jsonValue(a)
		}
		if b.IsValid() {
			bv = col.jsonValue(b)
		}
		if bytes.Equal(av, bv) {
			continue
		}
		if col.name == "custom" && col.typ.Kind() == reflect.Map {
			out = append(out, diffMap(av, bv)...)
			continue
		}
		out = append(out, storage.Change{Field: col.name, Old: av, New: bv})
	}
	return out
}

func diffMap(a, b json.RawMessage) []storage.Change {
	var am, bm map[string]json.RawMessage
	_ = json.Unmarshal(a, &am)
	_ = json.Unmarshal(b, &bm)
	keys := map[string]bool{}
	for k := range am {
		keys[k] = true
	}
	for k := range bm {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	slices.Sort(sorted)
	var out []storage.Change
	for _, k := range sorted {
		if !bytes.Equal(am[k], bm[k]) {
			out = append(out, storage.Change{Field: "custom." + k, Old: am[k], New: bm[k]})
		}
	}
	return out
}

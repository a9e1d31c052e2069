package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
)

// RecordWriter creates and changes records of one type through its
// module's own rules (validation, derived fields, the domain's events)
// from field values by stored name, as workflow actions and other
// generic callers give them. A module offers its writers with
// RecordWriters; a record type without one is written by the generic path
// alone (SetFields and the type's Table).
type RecordWriter struct {
	// Type is the record type written.
	Type string
	// Create makes a record from fields ("title", "due", "custom.tier").
	// Nil: the type's records are not created this way.
	Create func(ctx context.Context, fields map[string]any) (Record, error)
	// Update changes the fields set of record id. Nil: the type's records
	// are not changed this way.
	Update func(ctx context.Context, id string, set map[string]any) (Record, error)
}

// RecordWriters is implemented by the services of modules whose record
// types have rules of their own for creating and changing records.
type RecordWriters interface {
	// RecordWriters returns a writer per record type that has one.
	RecordWriters() []RecordWriter
}

// SetFields sets fields of rec, a pointer to a record struct, from set,
// whose keys are stored field names ("stage", "owner_id") or
// "custom.<name>" (into the record's Custom map). Values are converted
// through JSON, so "2025-01-02T00:00:00Z" fills a time.Time. The record's
// identity and bookkeeping fields (Meta) cannot be set, and a key the
// record has no field for is an ErrInvalid naming it.
func SetFields(rec Record, set map[string]any) error {
	rv := reflect.ValueOf(rec)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("storage: SetFields needs a pointer to a struct, not %T", rec)
	}
	return fill(rv.Elem(), reflect.TypeOf(rec), set, false)
}

// FillUpdate sets the fields of update, a pointer to a module's update
// input such as *contacts.UpdateContact (pointer fields, nil for "leave
// as is"), from set, whose keys are the stored field names of the record
// type rec (such as "lifecycle" for Contact.Lifecycle). A "custom.<name>"
// key goes into the update's Custom map. Values are converted through
// JSON, so "customer" fills a *Lifecycle and 3 a *int. A key the update
// has no field for is an ErrInvalid naming it.
func FillUpdate(update any, rec any, set map[string]any) error {
	uv := reflect.ValueOf(update)
	if uv.Kind() != reflect.Pointer || uv.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("storage: FillUpdate needs a pointer to a struct, not %T", update)
	}
	return fill(uv.Elem(), reflect.TypeOf(rec), set, true)
}

// fill sets the fields of the struct dst from set (see FillUpdate and
// SetFields): the fields of the record type rec by stored name, through
// pointers (an update input: a nil pointer leaves a field as is) or not.
func fill(uv reflect.Value, rec reflect.Type, set map[string]any, pointers bool) error {
	names := goNames(rec)
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	v := &ValidationError{}
	for _, key := range keys {
		val := set[key]
		if name, ok := strings.CutPrefix(key, "custom."); ok {
			f := uv.FieldByName("Custom")
			if !f.IsValid() || f.Kind() != reflect.Map {
				v.Add(key, "the record has no custom fields")
				continue
			}
			if f.IsNil() {
				f.Set(reflect.MakeMap(f.Type()))
			}
			f.SetMapIndex(reflect.ValueOf(name), reflect.ValueOf(&val).Elem())
			continue
		}
		goName, ok := names[key]
		if !ok || slices.Contains(MetaFields, key) {
			v.Add(key, "is not a field of the record")
			continue
		}
		f := uv.FieldByName(goName)
		if !f.IsValid() || (pointers && f.Kind() != reflect.Pointer) {
			v.Add(key, "cannot be changed this way")
			continue
		}
		b, err := json.Marshal(val)
		if err != nil {
			v.Add(key, "%v", err)
			continue
		}
		t := f.Type()
		if pointers {
			t = t.Elem()
		}
		p := reflect.New(t)
		if err := json.Unmarshal(b, p.Interface()); err != nil {
			v.Add(key, "%s is not a %s", b, t)
			continue
		}
		if pointers {
			f.Set(p)
		} else {
			f.Set(p.Elem())
		}
	}
	return v.Err()
}

// goNames maps the stored field names of struct type t to their Go names.
// The map is made once per type and shared: callers must not change it.
func goNames(t reflect.Type) map[string]string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if m, ok := goNamesCache.Load(t); ok {
		return m.(map[string]string)
	}
	m := readGoNames(t)
	goNamesCache.Store(t, m)
	return m
}

var goNamesCache sync.Map // reflect.Type → map[string]string

// readGoNames is goNames without the cache.
func readGoNames(t reflect.Type) map[string]string {
	out := map[string]string{}
	var visit func(t reflect.Type)
	visit = func(t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("bun")
			if f.Anonymous && tag == "" && f.Type.Kind() == reflect.Struct {
				visit(f.Type)
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			if name == "" || name == "-" || strings.HasPrefix(name, "embed:") || !f.IsExported() {
				continue
			}
			out[name] = f.Name
		}
	}
	visit(t)
	return out
}

// fieldOf returns the field stored as name of rec, a pointer to a record
// struct, and false when the type has no such field.
func fieldOf(rec Record, name string) (reflect.Value, bool) {
	rv := reflect.ValueOf(rec)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		return reflect.Value{}, false
	}
	goName, ok := goNames(rv.Type())[name]
	if !ok {
		return reflect.Value{}, false
	}
	return rv.Elem().FieldByName(goName), true
}

// CustomOf returns a pointer to the custom field values of rec, a pointer
// to a record struct: its field stored as "custom", a map[string]any. It
// returns nil when the type has no such field.
func CustomOf(rec Record) *map[string]any {
	f, ok := fieldOf(rec, "custom")
	if !ok {
		return nil
	}
	m, _ := f.Addr().Interface().(*map[string]any)
	return m
}

// FieldValue returns the value of the field stored as name of rec, a
// pointer to a record struct, and false when the type has no such field.
func FieldValue(rec Record, name string) (any, bool) {
	f, ok := fieldOf(rec, name)
	if !ok {
		return nil, false
	}
	return f.Interface(), true
}

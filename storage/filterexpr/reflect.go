package filterexpr

import (
	"reflect"
	"strings"
	"sync"
	"time"
)

var timeType = reflect.TypeFor[time.Time]()

// SchemaOf returns the schema of a record struct (or a pointer to one):
// each field stored under a bun tag name, typed by its Go type (string
// kinds are Text, numbers Number, bool Bool, time.Time Time, string slices
// TextList; other fields are left out), plus custom fields as
// "custom.<name>".
func SchemaOf(rec any, custom map[string]Type) Schema {
	s := Schema{}
	walk(reflect.TypeOf(rec), "", func(name string, t reflect.Type, _ []int) {
		if typ := typeOf(t); typ != 0 {
			s[name] = typ
		}
	})
	for k, t := range custom {
		s["custom."+k] = t
	}
	return s
}

// ElementsOf returns the schema of the elements of the list of objects
// list, a bun-tagged field of the record struct rec (such as an
// opportunity's stage_history): each key of the element struct under its
// JSON name, as "<list>.<key>", typed as SchemaOf types fields, the form
// storage.AggregateQuery.Each addresses them in. ok is false when rec has
// no such list.
func ElementsOf(rec any, list string) (s Schema, ok bool) {
	walk(reflect.TypeOf(rec), "", func(name string, t reflect.Type, _ []int) {
		if name != list || t.Kind() != reflect.Slice || t.Elem().Kind() != reflect.Struct {
			return
		}
		ok, s = true, Schema{}
		elem := t.Elem()
		for i := range elem.NumField() {
			f := elem.Field(i)
			key, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if key == "" {
				key = f.Name
			}
			if typ := typeOf(f.Type); typ != 0 && typ != TextList && key != "-" && f.IsExported() {
				s[list+"."+key] = typ
			}
		}
	})
	return s, ok
}

// RecordOf returns rec (a struct or a pointer to one) as a Record for
// Match: every bun-tagged field by name, and the custom map under
// "custom". Values of named string types (such as a Lifecycle) become
// plain strings.
func RecordOf(rec any) Record {
	v := reflect.ValueOf(rec)
	for v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	fields := fieldsOf(v.Type())
	out := make(Record, len(fields))
	for _, f := range fields {
		fv := v.FieldByIndex(f.index)
		if f.named {
			out[f.name] = fv.String()
			continue
		}
		out[f.name] = fv.Interface()
	}
	return out
}

// field is one stored field of a struct type.
type field struct {
	name  string
	index []int
	named bool // a string kind of another type
}

var fieldCache sync.Map // reflect.Type → []field

// fieldsOf returns the stored fields of struct type t, computed once.
func fieldsOf(t reflect.Type) []field {
	if f, ok := fieldCache.Load(t); ok {
		return f.([]field)
	}
	var out []field
	walk(t, "", func(name string, ft reflect.Type, index []int) {
		out = append(out, field{name: name, index: index, named: ft.Kind() == reflect.String && ft != reflect.TypeFor[string]()})
	})
	fieldCache.Store(t, out)
	return out
}

func typeOf(t reflect.Type) Type {
	switch {
	case t == timeType:
		return Time
	case t.Kind() == reflect.String:
		return Text
	case t.Kind() == reflect.Bool:
		return Bool
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Float64:
		return Number
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String:
		return TextList
	}
	return 0
}

// walk calls fn with every bun-tagged field of struct type t (embedded
// structs and "embed:" fields included), named as the stores name columns.
func walk(t reflect.Type, prefix string, fn func(name string, t reflect.Type, index []int)) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var visit func(t reflect.Type, prefix string, index []int)
	visit = func(t reflect.Type, prefix string, index []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			idx := append(append([]int(nil), index...), i)
			tag := f.Tag.Get("bun")
			if f.Anonymous && tag == "" && f.Type.Kind() == reflect.Struct {
				visit(f.Type, prefix, idx)
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			if p, ok := strings.CutPrefix(name, "embed:"); ok {
				visit(f.Type, prefix+p, idx)
				continue
			}
			if name == "" || name == "-" || !f.IsExported() {
				continue
			}
			fn(prefix+name, f.Type, idx)
		}
	}
	visit(t, prefix, nil)
}

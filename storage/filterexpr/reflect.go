package filterexpr

import (
	"reflect"
	"strings"
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

// RecordOf returns rec (a struct or a pointer to one) as a Record for
// Match: every bun-tagged field by name, and the custom map under
// "custom".
func RecordOf(rec any) Record {
	out := Record{}
	v := reflect.ValueOf(rec)
	for v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	walk(v.Type(), "", func(name string, t reflect.Type, index []int) {
		out[name] = v.FieldByIndex(index).Interface()
	})
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

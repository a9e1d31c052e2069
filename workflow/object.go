package workflow

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/filterexpr"
)

// Object is a record type rules can be about: how the engine reads its
// records, the fields its expressions may name, and how actions change
// them. The engine knows contacts, accounts, leads, opportunities and
// tasks; a host or a later module adds its own with Engine.RegisterObject.
type Object struct {
	// Type is the record type, such as "contact".
	Type string
	// Schema returns the fields expressions over the object may name, with
	// the workspace's custom fields.
	Schema func(ctx context.Context) (filterexpr.Schema, error)
	// Get reads one record.
	Get func(ctx context.Context, id string) (storage.Record, error)
	// List reads one page of records, for time triggers and schedules.
	List func(ctx context.Context, q storage.ListQuery) ([]storage.Record, string, error)
	// Update changes fields of a record through its module's validation:
	// set maps field names (as in expressions: "lifecycle", "owner_id",
	// "tags", "custom.tier") to new values. Nil means the object's records
	// cannot be changed by actions.
	Update func(ctx context.Context, id string, set map[string]any) (storage.Record, error)
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
		return fmt.Errorf("workflow: FillUpdate needs a pointer to a struct, not %T", update)
	}
	uv = uv.Elem()
	names := goNames(reflect.TypeOf(rec))
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	v := &storage.ValidationError{}
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
		if !ok {
			v.Add(key, "is not a field of the record")
			continue
		}
		f := uv.FieldByName(goName)
		if !f.IsValid() || f.Kind() != reflect.Pointer {
			v.Add(key, "cannot be changed by a workflow action")
			continue
		}
		b, err := json.Marshal(val)
		if err != nil {
			v.Add(key, "%v", err)
			continue
		}
		p := reflect.New(f.Type().Elem())
		if err := json.Unmarshal(b, p.Interface()); err != nil {
			v.Add(key, "%s is not a %s", b, f.Type().Elem())
			continue
		}
		f.Set(p)
	}
	return v.Err()
}

// goNames maps the stored field names of struct type t to their Go names.
func goNames(t reflect.Type) map[string]string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
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

// fieldsOf returns the record's fields as expressions and templates read
// them.
func fieldsOf(rec storage.Record) filterexpr.Record {
	if rec == nil {
		return filterexpr.Record{}
	}
	return filterexpr.RecordOf(rec)
}

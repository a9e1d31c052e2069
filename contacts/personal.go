package contacts

import (
	"context"
	"encoding/json"
	"slices"
)

// TagAnonymised is the tag Anonymise puts on a contact it emptied.
const TagAnonymised = "anonymised"

// PersonalBuiltins returns the built-in fields of a record type of this
// package that hold personal data: for a contact its names, email
// addresses, phones, postal addresses, social profiles, job title and
// department (with the company, enough to single a person out); an
// account, a company, has none. Custom fields are personal when their
// definition says so (FieldDef.Personal).
func PersonalBuiltins(object string) []string {
	if object == ObjectContact {
		return []string{"prefix", "first_name", "middle_name", "last_name", "suffix", "email", "emails", "phones",
			"addresses", "social_profiles", "job_title", "department"}
	}
	return nil
}

// Personal returns the fields of object (ObjectContact or ObjectAccount)
// that hold personal data, as filters and events name them: the built-in
// ones (PersonalBuiltins) and "custom.<name>" for each custom field
// marked Personal.
func (f *Fields) Personal(ctx context.Context, object string) ([]string, error) {
	defs, err := f.List(ctx, object)
	if err != nil {
		return nil, err
	}
	out := PersonalBuiltins(object)
	for _, d := range defs {
		if d.Personal {
			out = append(out, "custom."+d.Name)
		}
	}
	return out, nil
}

// blank empties the named fields of rec: built-in ones through the merge
// field table (taking the value of an empty record), custom ones by key.
func blank[T any](fields []mergeField[T], rec *T, custom *map[string]any, names []string) {
	var zero T
	for _, f := range fields {
		if slices.Contains(names, f.name) {
			f.take(rec, &zero)
		}
	}
	if len(*custom) == 0 {
		return
	}
	out := make(map[string]any, len(*custom))
	for k, v := range *custom {
		if !slices.Contains(names, "custom."+k) {
			out[k] = v
		}
	}
	if len(out) == 0 {
		out = nil
	}
	*custom = out
}

// PersonalField is one field that holds personal data, with its value.
type PersonalField struct {
	// Object is the record type: "contact" or "account".
	Object string `json:"object"`
	// Field is the field's name, such as "email" or "custom.nickname".
	Field string `json:"field"`
	// Label is a custom field's label.
	Label string `json:"label,omitempty"`
	// Value is the field's value, as JSON.
	Value json.RawMessage `json:"value"`
}

// personalFields lists the personal fields of rec (of type object) that
// have a value, in the order of the definitions.
func (s *Service) personalFields(ctx context.Context, object string, rec any) ([]PersonalField, error) {
	defs, err := s.Fields.List(ctx, object)
	if err != nil {
		return nil, err
	}
	flat, err := flatten(rec)
	if err != nil {
		return nil, err
	}
	var out []PersonalField
	add := func(field, label string) {
		if v, ok := flat[field]; ok && len(v) > 0 && string(v) != `""` && string(v) != "null" {
			out = append(out, PersonalField{Object: object, Field: field, Label: label, Value: v})
		}
	}
	for _, f := range PersonalBuiltins(object) {
		add(f, "")
	}
	for _, d := range defs {
		if d.Personal {
			add("custom."+d.Name, d.Label)
		}
	}
	return out, nil
}

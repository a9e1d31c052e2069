package contacts

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/crmkit/crm/storage"
)

// FieldType is the type of a custom field.
type FieldType string

// The custom field types and the Go values they hold once stored (the values
// encoding/json decodes to, so a record reads back as it was written).
const (
	FieldText      FieldType = "text"       // string
	FieldNumber    FieldType = "number"     // float64; any Go number is accepted on write
	FieldBool      FieldType = "bool"       // bool
	FieldDate      FieldType = "date"       // string "2006-01-02"; a time.Time is accepted on write
	FieldEnum      FieldType = "enum"       // string, one of the definition's Options
	FieldMultiEnum FieldType = "multi_enum" // []any of strings, each one of the Options; a []string is accepted on write
)

// The record types custom fields can be defined for.
const (
	ObjectContact = "contact"
	ObjectAccount = "account"
)

// The other record types of this package.
const (
	ObjectActivity = "activity"
	ObjectFieldDef = "field_def"
	ObjectConsent  = "consent"
)

// FieldDef defines one custom field of a record type in a workspace.
type FieldDef struct {
	storage.Meta
	// Object is the record type the field belongs to: ObjectContact or ObjectAccount.
	Object string `bun:"object,notnull" json:"object"`
	// Name is the field's key in a record's Custom map: lower-case letters,
	// digits and underscores, starting with a letter, at most 64 characters.
	// Filters reach it as "custom.<name>". It cannot change.
	Name string `bun:"name,notnull" json:"name"`
	// Label is the name shown to people; it defaults to Name.
	Label string `bun:"label,notnull" json:"label"`
	// Type is the value's type. It cannot change.
	Type FieldType `bun:"type,notnull" json:"type"`
	// Required makes a write of a record without a value fail. Records
	// written before the field became required keep working until their next
	// update.
	Required bool `bun:"required,notnull" json:"required"`
	// Options are the allowed values of an enum or multi_enum field.
	Options []string `bun:"options" json:"options,omitempty"`
	// Personal marks the field as holding personal data: the access-request
	// document lists it among the person's data (PersonalData), an export
	// with OmitPersonal leaves it out, and Anonymise removes its value
	// while keeping the record's other fields.
	Personal bool `bun:"personal,notnull" json:"personal,omitempty"`
}

// RecordType returns "field_def".
func (*FieldDef) RecordType() string { return ObjectFieldDef }

// NewFieldDef is the input of Fields.Define.
type NewFieldDef struct {
	Object   string    // a registered record type with custom fields: ObjectContact, ObjectAccount, a host's own
	Name     string    // see FieldDef.Name
	Label    string    // defaults to Name
	Type     FieldType // the value's type
	Required bool      // a record must have a value
	Options  []string  // allowed values of enum and multi_enum fields
	Personal bool      // the field holds personal data (see FieldDef.Personal)
}

// UpdateFieldDef changes a field definition; nil fields stay as they are.
type UpdateFieldDef struct {
	Version  int64     // when not 0, the update fails with ErrStale unless the definition is at this version
	Label    *string   // a new label
	Required *bool     // a new required flag
	Options  *[]string // new options (enum and multi_enum only)
	Personal *bool     // a new personal-data mark
}

// Fields manages custom field definitions.
type Fields struct{ s *Service }

// Define adds a custom field to a record type. A name already defined for the
// type is a *storage.ConflictError.
func (f *Fields) Define(ctx context.Context, in NewFieldDef) (*FieldDef, error) {
	var c checker
	if t, ok := f.s.store.Table(in.Object); !ok || !t.Type().HasField("custom") {
		c.Add("object", "%q is not a record type with custom fields", in.Object)
	}
	if !storage.ValidKey(in.Name) {
		c.Add("name", "%q must be lower-case letters, digits and underscores, start with a letter and be at most 64 characters", in.Name)
	}
	c.oneOf("type", string(in.Type), false, string(FieldText), string(FieldNumber), string(FieldBool),
		string(FieldDate), string(FieldEnum), string(FieldMultiEnum))
	if in.Label == "" {
		in.Label = in.Name
	}
	c.text("label", &in.Label, MaxNameLen)
	d := &FieldDef{Object: in.Object, Name: in.Name, Label: in.Label, Type: in.Type, Required: in.Required, Personal: in.Personal}
	d.Options = c.options(d.Type, in.Options)
	if err := c.Err(); err != nil {
		return nil, err
	}
	if err := f.s.t.fieldDefs.Insert(ctx, d); err != nil {
		return nil, err
	}
	return d, nil
}

func (c *checker) options(t FieldType, opts []string) []string {
	if t != FieldEnum && t != FieldMultiEnum {
		if len(opts) > 0 {
			c.Add("options", "are only for enum and multi_enum fields")
		}
		return nil
	}
	out := make([]string, 0, len(opts))
	for i, o := range opts {
		c.text(fmt.Sprintf("options[%d]", i), &o, MaxNameLen)
		if o != "" && !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	if len(out) == 0 {
		c.Add("options", "are required for an %s field", t)
	}
	return out
}

// Get returns the definition with id, or ErrNotFound.
func (f *Fields) Get(ctx context.Context, id string) (*FieldDef, error) {
	return f.s.t.fieldDefs.Get(ctx, id)
}

// List returns the custom fields of a record type (ObjectContact or
// ObjectAccount), in the order they were defined.
func (f *Fields) List(ctx context.Context, object string) ([]*FieldDef, error) {
	page, err := f.s.t.fieldDefs.List(ctx, storage.ListQuery{
		Filter:    storage.Eq("object", object),
		PageQuery: storage.PageQuery{Limit: storage.MaxLimit},
	})
	return page.Items, err
}

// Update changes a definition's label, required flag or options.
func (f *Fields) Update(ctx context.Context, id string, in UpdateFieldDef) (*FieldDef, error) {
	return storage.Modify(ctx, f.s.store, f.s.t.fieldDefs, id, in.Version, func(ctx context.Context, d *FieldDef) error {
		var c checker
		if in.Label != nil {
			d.Label = *in.Label
			c.text("label", &d.Label, MaxNameLen)
		}
		if in.Required != nil {
			d.Required = *in.Required
		}
		if in.Personal != nil {
			d.Personal = *in.Personal
		}
		if in.Options != nil {
			d.Options = c.options(d.Type, *in.Options)
		}
		return c.Err()
	})
}

// Delete removes a definition. Values already stored under its name stay in
// records until their next update, which drops them.
func (f *Fields) Delete(ctx context.Context, id string) error {
	return storage.Remove(ctx, f.s.store, f.s.t.fieldDefs, id, 0, nil)
}

// Check validates and normalises values, the custom field values of a
// record of object (any registered record type with custom fields), as
// the module's own writes do: it returns them in their stored form, or a
// *storage.ValidationError naming each bad "custom.<name>" (not defined,
// of the wrong type, required and missing). crm.Objects checks the custom
// fields of a host's record types with it.
func (f *Fields) Check(ctx context.Context, object string, values map[string]any) (map[string]any, error) {
	var c checker
	out := f.s.custom(ctx, &c, object, nil, values, true)
	if err := c.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// custom validates and normalises the custom values of a record of object.
// prev holds the stored values (nil on create); patch the values to write, a
// nil value removing the key. Values of fields that are no longer defined are
// dropped from prev.
func (s *Service) custom(ctx context.Context, c *checker, object string, prev, patch map[string]any, replace bool) map[string]any {
	defs, err := s.Fields.List(ctx, object)
	if err != nil {
		c.fail(fmt.Errorf("custom fields: %w", err))
		return nil
	}
	return s.customWith(c, defs, object, prev, patch, replace)
}

// customWith is custom with the definitions of object's custom fields
// given, for callers that read them once for many records (imports).
func (s *Service) customWith(c *checker, defs []*FieldDef, object string, prev, patch map[string]any, replace bool) map[string]any {
	byName := make(map[string]*FieldDef, len(defs))
	for _, d := range defs {
		byName[d.Name] = d
	}
	out := make(map[string]any, len(prev)+len(patch))
	if !replace {
		for k, v := range prev {
			if byName[k] != nil {
				out[k] = v
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(patch)) {
		v := patch[k]
		d := byName[k]
		if d == nil {
			c.Add("custom."+k, "is not a defined %s field", object)
			continue
		}
		if v == nil {
			delete(out, k)
			continue
		}
		nv, err := normalizeCustom(d, v)
		if err != nil {
			c.Add("custom."+k, "%v", err)
			continue
		}
		out[k] = nv
	}
	for _, d := range defs {
		if _, ok := out[d.Name]; d.Required && !ok {
			c.Add("custom."+d.Name, "is required")
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// normalizeCustom checks v against d's type and returns it in its stored form.
func normalizeCustom(d *FieldDef, v any) (any, error) {
	switch d.Type {
	case FieldText:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("must be text, not %T", v)
		}
		var c checker
		c.text("", &s, MaxTextLen)
		if len(c.Fields) > 0 {
			return nil, fmt.Errorf("%s", c.Fields[0].Reason)
		}
		return s, nil
	case FieldNumber:
		switch n := v.(type) {
		case float64:
			return n, nil
		case float32:
			return float64(n), nil
		case int:
			return float64(n), nil
		case int32:
			return float64(n), nil
		case int64:
			return float64(n), nil
		case json.Number:
			return n.Float64()
		}
		return nil, fmt.Errorf("must be a number, not %T", v)
	case FieldBool:
		b, ok := v.(bool)
		if !ok {
			return nil, fmt.Errorf("must be true or false, not %T", v)
		}
		return b, nil
	case FieldDate:
		switch t := v.(type) {
		case time.Time:
			return t.Format(time.DateOnly), nil
		case string:
			if _, err := time.Parse(time.DateOnly, t); err != nil {
				return nil, fmt.Errorf("%q is not a date in the form 2006-01-02", t)
			}
			return t, nil
		}
		return nil, fmt.Errorf("must be a date, not %T", v)
	case FieldEnum:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("must be text, not %T", v)
		}
		if !slices.Contains(d.Options, s) {
			return nil, fmt.Errorf("%q is not one of the options", s)
		}
		return s, nil
	case FieldMultiEnum:
		var in []string
		switch l := v.(type) {
		case []string:
			in = l
		case []any:
			for _, e := range l {
				s, ok := e.(string)
				if !ok {
					return nil, fmt.Errorf("must be a list of text, holds %T", e)
				}
				in = append(in, s)
			}
		default:
			return nil, fmt.Errorf("must be a list of text, not %T", v)
		}
		out := make([]any, 0, len(in))
		for _, s := range in {
			if !slices.Contains(d.Options, s) {
				return nil, fmt.Errorf("%q is not one of the options", s)
			}
			if !slices.Contains(out, any(s)) {
				out = append(out, s)
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("has unknown type %q", d.Type)
}

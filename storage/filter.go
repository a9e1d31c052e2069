package storage

import (
	"reflect"
	"time"
)

// Filter is a node of the filter tree: Cmp, And, Or or Not. Adapters turn a
// tree into parameterised SQL, and only fields the record type declares as
// filterable may appear in it; the expression language (workflow conditions,
// segments, report filters) compiles to the same tree.
type Filter interface{ isFilter() }

// Op is a comparison operator of a Cmp.
type Op string

// The operators of a Cmp.
const (
	OpEq         Op = "=="
	OpNe         Op = "!="
	OpLt         Op = "<"
	OpLe         Op = "<="
	OpGt         Op = ">"
	OpGe         Op = ">="
	OpIn         Op = "in"         // Value is a slice; the field equals one of its elements
	OpContains   Op = "contains"   // text: substring; list fields (tags): membership; lists of objects: see Cmp.Value
	OpStartsWith Op = "startsWith" // text prefix
	OpEndsWith   Op = "endsWith"   // text suffix
	OpEmpty      Op = "empty"      // the field has no value (null, "" or an empty list); Value is ignored
)

// Cmp compares one field with a value.
type Cmp struct {
	// Field is a filterable field, such as "email", or a custom field as
	// "custom.<name>".
	Field string
	// Op is the comparison.
	Op Op
	// Value is what the field is compared with: a string, number, bool or
	// time.Time, or a slice of them for OpIn. OpContains on a list of
	// objects (an activity's participants, a contact's emails) takes a
	// map[string]string of field names (as in the objects' JSON) to
	// values, and matches the records with an element holding all of
	// them: {"contact_id": id}.
	Value any
}

// And matches records that every element matches; an empty And matches all.
type And []Filter

// Or matches records that any element matches; an empty Or matches none.
type Or []Filter

// Not matches the records its filter does not match.
type Not struct{ Filter Filter }

// LinkedTo matches the records that point at the record it names through
// their links (Linked.Links), as the store's link index keeps them: the
// activities, deals, quotes or tasks of a contact, whichever of their
// fields refers to it. The record types without links match nothing.
type LinkedTo Ref

// Within matches the records whose Field holds one of the values of the
// field Select of the records of Type that Filter matches (nil: all of
// them), in the same workspace and readable by the principal: the
// contacts in a segment are
//
//	Within{Field: "id", Type: "segment_member", Select: "contact_id",
//		Filter: Eq("segment_id", segmentID)}
//
// and Not{Within{...}} the others. Stores run it as a semi-join in the
// database (EXISTS), so that a set of any size never leaves it: set
// differences such as "matching contacts not yet members" cost what the
// hand-written anti-join costs. Filter's fields are those of Type; the
// fields of Type that the principal may not see cannot be named in it nor
// be Select (ErrForbidden), nor can Field, a field of the outer type; nor
// may Type be one the principal may not read at all.
type Within struct {
	Field  string
	Type   string
	Select string
	Filter Filter
}

func (Cmp) isFilter()      {}
func (And) isFilter()      {}
func (Or) isFilter()       {}
func (Not) isFilter()      {}
func (LinkedTo) isFilter() {}
func (Within) isFilter()   {}

// Eq returns the filter field == value.
func Eq(field string, value any) Filter { return Cmp{Field: field, Op: OpEq, Value: value} }

// Ne returns the filter field != value.
func Ne(field string, value any) Filter { return Cmp{Field: field, Op: OpNe, Value: value} }

// InPeriod returns the filter of the records whose time field is in
// [from, to), a zero bound being open; nil when both are (no condition).
func InPeriod(field string, from, to time.Time) Filter {
	var f And
	if !from.IsZero() {
		f = append(f, Cmp{Field: field, Op: OpGe, Value: from})
	}
	if !to.IsZero() {
		f = append(f, Cmp{Field: field, Op: OpLt, Value: to})
	}
	if len(f) == 0 {
		return nil
	}
	return f
}

// Gt returns the filter field > value.
func Gt(field string, value any) Filter { return Cmp{Field: field, Op: OpGt, Value: value} }

// Ge returns the filter field >= value.
func Ge(field string, value any) Filter { return Cmp{Field: field, Op: OpGe, Value: value} }

// Lt returns the filter field < value.
func Lt(field string, value any) Filter { return Cmp{Field: field, Op: OpLt, Value: value} }

// Le returns the filter field <= value.
func Le(field string, value any) Filter { return Cmp{Field: field, Op: OpLe, Value: value} }

// In returns the filter that matches records whose field is one of
// values.
func In[V any](field string, values ...V) Filter { return Cmp{Field: field, Op: OpIn, Value: values} }

// Contains returns the filter field contains value: a substring of a text
// field, an element of a list field (tags).
func Contains(field string, value any) Filter {
	return Cmp{Field: field, Op: OpContains, Value: value}
}

// StartsWith returns the filter that matches records whose text field
// starts with prefix.
func StartsWith(field, prefix string) Filter {
	return Cmp{Field: field, Op: OpStartsWith, Value: prefix}
}

// Empty returns the filter that matches records whose field has no value.
func Empty(field string) Filter { return Cmp{Field: field, Op: OpEmpty} }

// HasTag returns the filter that matches records tagged tag.
func HasTag(tag string) Filter { return Cmp{Field: "tags", Op: OpContains, Value: tag} }

// WalkFilter calls fn with every comparison of f, depth first. It does not
// enter a Within, whose comparisons are on another record type.
func WalkFilter(f Filter, fn func(Cmp)) {
	switch f := f.(type) {
	case Cmp:
		fn(f)
	case *Cmp:
		if f != nil {
			fn(*f)
		}
	case And:
		for _, g := range f {
			WalkFilter(g, fn)
		}
	case Or:
		for _, g := range f {
			WalkFilter(g, fn)
		}
	case Not:
		WalkFilter(f.Filter, fn)
	}
}

// The bounds of a filter tree, which CheckFilterSize enforces before any
// SQL is built: past them a database refuses the statement with an error
// of its own (SQLite's expression depth and variable limits, Postgres's
// 65,535 parameters) or spends its time parsing.
const (
	// MaxFilterDepth is the deepest nesting of And, Or, Not and Within:
	// twice the expression language's, leaving room for the filters the
	// library wraps around a user's.
	MaxFilterDepth = 64
	// MaxFilterTerms is the most comparisons a filter holds.
	MaxFilterTerms = 500
	// MaxFilterValues is the most values its In lists hold together.
	MaxFilterValues = 10_000
)

// CheckFilterSize returns ErrInvalid naming "filter" and the limit when f
// is deeper, or holds more comparisons or values, than the bounds above.
// Adapters call it on every filter they are given; a filter built in Go
// from user input meets it first.
func CheckFilterSize(f Filter) error {
	var terms, values int
	var walk func(f Filter, depth int) error
	walk = func(f Filter, depth int) error {
		if depth > MaxFilterDepth {
			return Invalid("filter", "is nested more than %d deep", MaxFilterDepth)
		}
		switch f := f.(type) {
		case And:
			for _, g := range f {
				if err := walk(g, depth+1); err != nil {
					return err
				}
			}
		case Or:
			for _, g := range f {
				if err := walk(g, depth+1); err != nil {
					return err
				}
			}
		case Not:
			return walk(f.Filter, depth+1)
		case Within:
			return walk(f.Filter, depth+1)
		case Cmp, *Cmp, LinkedTo:
			terms++
			if terms > MaxFilterTerms {
				return Invalid("filter", "has more than %d comparisons", MaxFilterTerms)
			}
			c, ok := f.(Cmp)
			if p, isPtr := f.(*Cmp); isPtr && p != nil {
				c, ok = *p, true
			}
			if ok && c.Op == OpIn {
				if rv := reflect.ValueOf(c.Value); rv.Kind() == reflect.Slice {
					values += rv.Len()
				}
				if values > MaxFilterValues {
					return Invalid("filter", "has more than %d values in its in lists", MaxFilterValues)
				}
			}
		}
		return nil
	}
	return walk(f, 0)
}

package storage

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// The sentinel errors. Every error the library returns for one of these
// conditions wraps the sentinel, so callers test with errors.Is.
var (
	// ErrNotFound: the record does not exist, or not in the context's workspace.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a unique key is taken (a primary email already in use), or
	// the operation conflicts with the record's state.
	ErrConflict = errors.New("conflict")
	// ErrStale: the record changed since it was read (its version moved on).
	ErrStale = errors.New("stale version")
	// ErrInvalid: the input is invalid; errors.As finds a *ValidationError
	// that lists every bad field.
	ErrInvalid = errors.New("invalid input")
	// ErrForbidden: the actor may not do this.
	ErrForbidden = errors.New("forbidden")
)

// FieldError is one bad field of a ValidationError.
type FieldError struct {
	// Field is the field's name as the API spells it, such as "email" or
	// "custom.tier"; an element of a list has its index, as in "phones[1]".
	Field string `json:"field"`
	// Reason says what is wrong, in words for a person.
	Reason string `json:"reason"`
}

// ValidationError lists every bad field of an input. It matches ErrInvalid
// with errors.Is.
type ValidationError struct {
	// Fields holds one entry per problem, in the order they were found.
	Fields []FieldError `json:"fields"`
}

// Error lists the bad fields and their reasons.
func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString(ErrInvalid.Error())
	for i, f := range e.Fields {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(f.Field)
		b.WriteString(": ")
		b.WriteString(f.Reason)
	}
	return b.String()
}

// Is reports whether target is ErrInvalid.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// Add records one bad field; format and args make the reason.
func (e *ValidationError) Add(field, format string, args ...any) {
	e.Fields = append(e.Fields, FieldError{Field: field, Reason: fmt.Sprintf(format, args...)})
}

// Merge appends the fields of another error, prefixing their names with
// prefix (for example "addresses[0]."). It accepts nil.
func (e *ValidationError) Merge(prefix string, other *ValidationError) {
	if other == nil {
		return
	}
	for _, f := range other.Fields {
		e.Fields = append(e.Fields, FieldError{Field: prefix + f.Field, Reason: f.Reason})
	}
}

// Err returns e as an error when it lists a field, and nil when it lists none.
func (e *ValidationError) Err() error {
	if e == nil || len(e.Fields) == 0 {
		return nil
	}
	return e
}

// Invalid returns a *ValidationError for one field.
func Invalid(field, format string, args ...any) error {
	e := &ValidationError{}
	e.Add(field, format, args...)
	return e
}

// ConflictError says which unique field a write collided on. It matches
// ErrConflict with errors.Is.
type ConflictError struct {
	// RecordType is the type of the record written, such as "contact".
	RecordType string
	// Field is the unique field that is already taken, such as "email".
	Field string
	// ExistingID is the ID of the record that holds the value, when the
	// store could read it (one record written, the holder committed and
	// readable by the principal); else "". An upsert updates that one.
	ExistingID string
	// Err is the driver's error, kept for logging; it may be nil.
	Err error
}

// Error names the record type and the field.
func (e *ConflictError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s: %s already exists", ErrConflict, e.RecordType)
	}
	return fmt.Sprintf("%s: %s %s is already in use", ErrConflict, e.RecordType, e.Field)
}

// Is reports whether target is ErrConflict.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// Unwrap returns the driver's error.
func (e *ConflictError) Unwrap() error { return e.Err }

// CheckExists runs get and adds field to v, "does not exist in the
// workspace", when get's error is ErrNotFound; any other error is
// returned. Services check the records an input names with it, so that a
// bad reference is ErrInvalid naming the field.
func CheckExists(ctx context.Context, v *ValidationError, field string, get func(context.Context) error) error {
	err := get(ctx)
	if errors.Is(err, ErrNotFound) {
		v.Add(field, "does not exist in the workspace")
		return nil
	}
	return err
}

// CheckRef adds to v, under field, a fault of ref as a reference a record
// keeps (a task's or an activity's Related): a type no module registered,
// or a record that is not in the context's workspace or that the principal
// may not read. Other errors are returned.
func CheckRef(ctx context.Context, v *ValidationError, field string, tables Tables, ref Ref) error {
	t, ok := tables.Table(ref.Type)
	if !ok {
		v.Add(field, "%q is not a record type", ref.Type)
		return nil
	}
	if !ValidID(ref.ID) {
		v.Add(field, "%q is not a record ID", ref.ID)
		return nil
	}
	return CheckExists(ctx, v, field, func(ctx context.Context) error { _, err := t.Get(ctx, ref.ID); return err })
}

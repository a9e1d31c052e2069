package storage

// Page limits: a query that asks for no limit gets DefaultLimit, and no query
// gets more than MaxLimit rows at once.
const (
	DefaultLimit = 50
	MaxLimit     = 1000
)

// Page is one page of a keyset-paginated list.
type Page[T any] struct {
	// Items are the page's records, in the query's order.
	Items []T
	// Next is the cursor of the following page, or "" on the last page.
	Next string
}

// PageQuery asks for one page.
type PageQuery struct {
	// Limit is the page size; 0 means DefaultLimit, and more than MaxLimit is
	// cut to MaxLimit.
	Limit int
	// Cursor is the Next of the previous page, or "" for the first page.
	Cursor string
}

// PageSize returns the limit the query gets after defaults and caps.
func (q PageQuery) PageSize() int {
	switch {
	case q.Limit <= 0:
		return DefaultLimit
	case q.Limit > MaxLimit:
		return MaxLimit
	}
	return q.Limit
}

// Sort orders a list by one field.
type Sort struct {
	// Field is a sortable field of the record type.
	Field string
	// Desc sorts from the largest value down.
	Desc bool
}

// ListQuery selects, orders and pages records.
type ListQuery struct {
	// Filter keeps only the records it matches; nil keeps all.
	Filter Filter
	// Sort orders the records; ties, and an empty Sort, fall back to the ID,
	// which follows creation order.
	Sort []Sort
	// For is the action the list serves: ActionRead (the default, "") or
	// ActionExport. Records outside the principal's scope for it are left
	// out.
	For Action
	// Fields, when not empty, names the only fields to read (as in
	// filters: "contact_id", "custom" for all custom fields); the
	// records' other fields are left zero, except the ID, workspace,
	// version and the sort's fields, which are always read. For a caller
	// that needs a few fields of many records, such as a campaign send
	// reading its audience's contact IDs. A name that is not a field is
	// ErrInvalid naming "fields". Such records are partial: writing one
	// back would store the fields not read as cleared.
	Fields []string
	PageQuery
}

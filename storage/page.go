package storage

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
)

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
	PageQuery
}

type cursorBody struct {
	Query string            `json:"q"`
	Keys  []json.RawMessage `json:"k"`
}

// Fingerprint returns a short hash of parts, used to tie a cursor to the query
// that made it.
func Fingerprint(parts ...any) string {
	b, _ := json.Marshal(parts)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:6])
}

// EncodeCursor makes an opaque cursor that holds the sort keys of the last row
// of a page, tied to the query fingerprint.
func EncodeCursor(fingerprint string, keys ...any) string {
	body := cursorBody{Query: fingerprint}
	for _, k := range keys {
		b, _ := json.Marshal(k)
		body.Keys = append(body.Keys, b)
	}
	b, _ := json.Marshal(body)
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor returns the keys of a cursor made by EncodeCursor. A cursor
// that is malformed, holds other than want keys, or was made by another query
// (another fingerprint) is ErrInvalid naming the field "cursor".
func DecodeCursor(cursor, fingerprint string, want int) ([]json.RawMessage, error) {
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return nil, Invalid("cursor", "is malformed")
	}
	var body cursorBody
	if err := json.Unmarshal(b, &body); err != nil || len(body.Keys) != want {
		return nil, Invalid("cursor", "is malformed")
	}
	if body.Query != fingerprint {
		return nil, Invalid("cursor", "belongs to another query")
	}
	return body.Keys, nil
}

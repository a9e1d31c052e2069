// Package cursor makes the opaque cursors of keyset pages: the sort keys
// of a page's last row, tied to a fingerprint of the query that made them
// so that a cursor of another query is refused. The store's adapters use
// it; callers only pass cursors back.
package cursor

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"

	"github.com/crmkit/crm/storage"
)

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

// Encode makes an opaque cursor that holds the sort keys of the last row
// of a page, tied to the query fingerprint.
func Encode(fingerprint string, keys ...any) string {
	body := cursorBody{Query: fingerprint}
	for _, k := range keys {
		b, _ := json.Marshal(k)
		body.Keys = append(body.Keys, b)
	}
	b, _ := json.Marshal(body)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Decode returns the keys of a cursor made by Encode. A cursor
// that is malformed, holds other than want keys, or was made by another query
// (another fingerprint) is ErrInvalid naming the field "cursor".
func Decode(cursor, fingerprint string, want int) ([]json.RawMessage, error) {
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return nil, storage.Invalid("cursor", "is malformed")
	}
	var body cursorBody
	if err := json.Unmarshal(b, &body); err != nil || len(body.Keys) != want {
		return nil, storage.Invalid("cursor", "is malformed")
	}
	if body.Query != fingerprint {
		return nil, storage.Invalid("cursor", "belongs to another query")
	}
	return body.Keys, nil
}

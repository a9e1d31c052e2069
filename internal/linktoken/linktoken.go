// Package linktoken signs and verifies the tokens of the links the CRM
// mails (a campaign's tracking and unsubscribe links, a survey's answer
// link): opaque, URL-safe strings that bind a kind and a few fields under
// an HMAC-SHA256 of the module's key, so that no one can make a link the
// module did not. A token holds its fields in the clear (base64url), so
// it carries identifiers, never secrets.
package linktoken

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"hash"
	"strings"
	"sync"

	"github.com/crmkit/crm/storage"
)

// MinKeyLen is the shortest key the modules accept for signing (256 bits).
const MinKeyLen = 32

// Signer signs and verifies link tokens under one key; it is safe for
// concurrent use. The zero value (no key) signs tokens that never verify.
type Signer struct {
	key []byte
	// macs reuses keyed HMACs: a campaign send signs five tokens per
	// message, and a new HMAC each was a fifth of composing one.
	macs *sync.Pool
}

// New returns a Signer with key. The modules check the key's length
// (MinKeyLen) where they need it, with their option's name in the error.
func New(key []byte) Signer {
	return Signer{key: key, macs: &sync.Pool{New: func() any { return hmac.New(sha256.New, key) }}}
}

// macLen is how many bytes of the HMAC a token keeps (128 bits).
const macLen = 16

// b64 is the tokens' encoding: base64url without padding, strict, so
// that a token has one spelling.
var b64 = base64.RawURLEncoding.Strict()

// Sign returns a token binding kind and fields: the payload (kind and each
// field, each prefixed by its length, so that any text fits) in base64url,
// a dot, and the MAC of the payload.
func (s Signer) Sign(kind string, fields ...string) string {
	p := payload(kind, fields)
	return b64.EncodeToString(p) + "." + b64.EncodeToString(s.mac(p))
}

// payload encodes kind and fields, each as a uvarint length and its bytes.
func payload(kind string, fields []string) []byte {
	n := len(kind) + binary.MaxVarintLen64
	for _, f := range fields {
		n += len(f) + binary.MaxVarintLen64
	}
	p := make([]byte, 0, n)
	for _, f := range append([]string{kind}, fields...) {
		p = binary.AppendUvarint(p, uint64(len(f)))
		p = append(p, f...)
	}
	return p
}

func (s Signer) mac(p []byte) []byte {
	var h hash.Hash
	if s.macs != nil {
		h = s.macs.Get().(hash.Hash)
		defer s.macs.Put(h)
		h.Reset()
	} else {
		h = hmac.New(sha256.New, s.key)
	}
	h.Write(p)
	var sum [sha256.Size]byte
	return h.Sum(sum[:0])[:macLen]
}

// Verify returns the fields of a token of kind made by Sign with the same
// key. Any other string (tampered, truncated, of another kind or key, or
// any token when the key is empty) is ErrInvalid naming the token.
func (s Signer) Verify(kind, token string) ([]string, error) {
	bad := storage.Invalid("token", "is not a valid link token")
	if len(s.key) == 0 {
		return nil, bad
	}
	enc, sig, ok := strings.Cut(token, ".")
	if !ok {
		return nil, bad
	}
	p, err1 := b64.DecodeString(enc)
	mac, err2 := b64.DecodeString(sig)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, s.mac(p)) {
		return nil, bad
	}
	var parts []string
	for len(p) > 0 {
		n, w := binary.Uvarint(p)
		if w <= 0 || uint64(len(p)-w) < n {
			return nil, bad
		}
		parts = append(parts, string(p[w:w+int(n)]))
		p = p[w+int(n):]
	}
	if len(parts) == 0 || parts[0] != kind {
		return nil, bad
	}
	return parts[1:], nil
}

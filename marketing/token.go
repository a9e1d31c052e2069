package marketing

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"strings"

	"github.com/crmkit/crm/storage"
)

// signer signs and verifies the tokens of the links in mail: opaque,
// URL-safe, bound to their kind and fields by an HMAC-SHA256 under the
// service's key, so that no one can make a link the service did not.
type signer struct{ key []byte }

// newSigner returns a signer with key.
func newSigner(key []byte) signer { return signer{key: key} }

// macLen is how many bytes of the HMAC a token keeps (128 bits).
const macLen = 16

// b64 is the tokens' encoding: base64url without padding, strict, so
// that a token has one spelling.
var b64 = base64.RawURLEncoding.Strict()

// sign returns a token binding kind and fields: the payload (kind and each
// field, each prefixed by its length, so that any text fits) in base64url,
// a dot, and the MAC of the payload.
func (s signer) sign(kind string, fields ...string) string {
	p := s.payload(kind, fields)
	return b64.EncodeToString(p) + "." + b64.EncodeToString(s.mac(p))
}

// payload encodes kind and fields, each as a uvarint length and its bytes.
func (s signer) payload(kind string, fields []string) []byte {
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

func (s signer) mac(p []byte) []byte {
	h := hmac.New(sha256.New, s.key)
	h.Write(p)
	return h.Sum(nil)[:macLen]
}

// verify returns the fields of a token of kind made by sign with the same
// key. Any other string (tampered, truncated, of another kind or key) is
// ErrInvalid naming the token.
func (s signer) verify(kind, token string) ([]string, error) {
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

package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/crmkit/crm/storage"
)

// The Standard Webhooks headers.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// SecretPrefix starts a Standard Webhooks secret: "whsec_" and the key in
// base64.
const SecretPrefix = "whsec_"

// DefaultTolerance is how far a webhook's timestamp may be from the
// receiver's clock when Verify is given no tolerance, as the Standard
// Webhooks specification recommends.
const DefaultTolerance = 5 * time.Minute

// ErrVerification is what Verify returns, wrapped, when a request is not
// signed with the secret, or signed too long ago.
var ErrVerification = errors.New("webhook: verification failed")

// DecodeSecret returns the key of a Standard Webhooks secret: the base64
// after the optional "whsec_" prefix, as the specification's reference
// libraries read it. A secret that is not base64 is ErrInvalid: a raw
// (unencoded) secret is not accepted, because receivers using those
// libraries would base64-decode it and compute another signature.
func DecodeSecret(secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if err != nil || len(key) == 0 {
		return nil, storage.Invalid("secret", "want %q and the key in standard base64", SecretPrefix)
	}
	return key, nil
}

// Sign returns the webhook-signature header value of a message: "v1," and
// the base64 HMAC-SHA256, keyed by the secret's key, of
// id + "." + timestamp (unix seconds) + "." + body. A bad secret is
// ErrInvalid.
func Sign(secret, id string, timestamp time.Time, body []byte) (string, error) {
	key, err := DecodeSecret(secret)
	if err != nil {
		return "", err
	}
	return "v1," + base64.StdEncoding.EncodeToString(mac(key, id, timestamp.Unix(), body)), nil
}

func mac(key []byte, id string, ts int64, body []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(id))
	h.Write([]byte{'.'})
	h.Write(strconv.AppendInt(nil, ts, 10))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Verify checks a received webhook, for receivers: header holds the
// webhook-id, webhook-timestamp and webhook-signature headers, body is
// the raw body as received. The timestamp must be within tolerance of
// the local clock (DefaultTolerance when tolerance ≤ 0), which bounds
// replays, and one of the space-separated "v1," signatures must match,
// compared in constant time. A failure is ErrVerification saying why; a
// bad secret is ErrInvalid.
func Verify(secret string, header http.Header, body []byte, tolerance time.Duration) error {
	key, err := DecodeSecret(secret)
	if err != nil {
		return err
	}
	id, tsText, sigs := header.Get(HeaderID), header.Get(HeaderTimestamp), header.Get(HeaderSignature)
	if id == "" || tsText == "" || sigs == "" {
		return fmt.Errorf("%w: missing %s, %s or %s header", ErrVerification, HeaderID, HeaderTimestamp, HeaderSignature)
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %s %q is not unix seconds", ErrVerification, HeaderTimestamp, tsText)
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	if d := time.Since(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: timestamp %d is %v away from now, more than %v", ErrVerification, ts, d.Round(time.Second), tolerance)
	}
	want := mac(key, id, ts, body)
	for _, s := range strings.Fields(sigs) {
		version, sig, ok := strings.Cut(s, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(sig)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return fmt.Errorf("%w: no v1 signature matches", ErrVerification)
}

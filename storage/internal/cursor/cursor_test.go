package cursor_test

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/internal/cursor"
)

func fieldsOf(t *testing.T, err error) []storage.FieldError {
	t.Helper()
	var ve *storage.ValidationError
	if !errors.Is(err, storage.ErrInvalid) || !errors.As(err, &ve) {
		t.Fatalf("error %v is not a *ValidationError", err)
	}
	return ve.Fields
}

func TestCursorRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		keys []any
		want []string // the keys as JSON
	}{
		{"no keys", nil, nil},
		{"one number", []any{int64(42)}, []string{`42`}},
		{"text and ID", []any{"Lovelace", "01890a5d-ac96-774b-bcce-b302099a8057"},
			[]string{`"Lovelace"`, `"01890a5d-ac96-774b-bcce-b302099a8057"`}},
		{"mixed", []any{true, 1.5, nil, "a\"b"}, []string{`true`, `1.5`, `null`, `"a\"b"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fp := cursor.Fingerprint("contact", tc.name)
			c := cursor.Encode(fp, tc.keys...)
			if strings.ContainsAny(c, "+/= ") {
				t.Errorf("cursor %q is not URL-safe", c)
			}
			keys, err := cursor.Decode(c, fp, len(tc.keys))
			if err != nil {
				t.Fatalf("DecodeCursor: %v", err)
			}
			var got []string
			for _, k := range keys {
				got = append(got, string(k))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("keys (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeCursorRefusesBadCursors(t *testing.T) {
	t.Parallel()
	fp := cursor.Fingerprint("contact", "filter")
	good := cursor.Encode(fp, "Lovelace", 7)
	notJSON := base64.RawURLEncoding.EncodeToString([]byte("not json"))
	tests := []struct {
		name        string
		cursor      string
		fingerprint string
		want        int
		reason      string
	}{
		{"another query", good, cursor.Fingerprint("contact", "other filter"), 2, "belongs to another query"},
		{"garbage", "%%% not base64 %%%", fp, 2, "is malformed"},
		{"padded base64", good + "==", fp, 2, "is malformed"},
		{"base64 of non-JSON", notJSON, fp, 2, "is malformed"},
		{"empty", "", fp, 2, "is malformed"},
		{"too few keys", good, fp, 3, "is malformed"},
		{"too many keys", good, fp, 1, "is malformed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			keys, err := cursor.Decode(tc.cursor, tc.fingerprint, tc.want)
			if keys != nil {
				t.Errorf("keys = %q, want nil", keys)
			}
			want := []storage.FieldError{{Field: "cursor", Reason: tc.reason}}
			if diff := cmp.Diff(want, fieldsOf(t, err)); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFingerprint(t *testing.T) {
	t.Parallel()
	a := cursor.Fingerprint("contact", `storage.Cmp{Field:"email"}`, []storage.Sort{{Field: "last_name"}})
	if b := cursor.Fingerprint("contact", `storage.Cmp{Field:"email"}`, []storage.Sort{{Field: "last_name"}}); a != b {
		t.Errorf("same parts give %q and %q", a, b)
	}
	if len(a) != 12 {
		t.Errorf("fingerprint %q has %d characters, want 12", a, len(a))
	}
	others := []string{
		cursor.Fingerprint("account", `storage.Cmp{Field:"email"}`, []storage.Sort{{Field: "last_name"}}),
		cursor.Fingerprint("contact", `storage.Cmp{Field:"email"}`, []storage.Sort{{Field: "last_name", Desc: true}}),
		cursor.Fingerprint("contact", `storage.Cmp{Field:"email"}`),
		cursor.Fingerprint(),
	}
	for i, o := range others {
		if o == a {
			t.Errorf("other parts %d give the same fingerprint %q", i, a)
		}
	}
}

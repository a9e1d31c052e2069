package linktoken

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/crmkit/crm/storage"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

func TestTokenRoundTrip(t *testing.T) {
	t.Parallel()
	s := New(testKey)
	for _, fields := range [][]string{
		{"ws", "msg"},
		{"ws", "msg", "https://shop.example/a.b|c?x=1&y=ü#frag"},
		{"", "", ""},
		{strings.Repeat("x", 300), "\x00\xff", "."},
	} {
		tok := s.Sign("c", fields...)
		for _, r := range tok {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
				t.Fatalf("token %q holds %q", tok, r)
			}
		}
		got, err := s.Verify("c", tok)
		if err != nil || strings.Join(got, "\n") != strings.Join(fields, "\n") || len(got) != len(fields) {
			t.Errorf("Verify(Sign(%q)) = %q, %v", fields, got, err)
		}
	}
}

func TestTokenRefusesForgeries(t *testing.T) {
	t.Parallel()
	s := New(testKey)
	tok := s.Sign("c", "ws", "msg", "https://shop.example/")
	bad := []string{"", ".", tok + "x", tok[:len(tok)-1], "x" + tok, strings.Replace(tok, ".", "", 1)}
	for i := range tok {
		b := []byte(tok)
		b[i] ^= 1
		bad = append(bad, string(b))
	}
	for _, b := range bad {
		if _, err := s.Verify("c", b); !errors.Is(err, storage.ErrInvalid) {
			t.Errorf("Verify(%q) = %v, want ErrInvalid", b, err)
		}
	}
	if _, err := s.Verify("o", tok); err == nil {
		t.Error("a click token verified as an open token")
	}
	if _, err := New([]byte("another key, just as long as it is")).Verify("c", tok); err == nil {
		t.Error("a token verified under another key")
	}
	if _, err := New(nil).Verify("c", New(nil).Sign("c", "x")); err == nil {
		t.Error("a signer without a key verified a token")
	}
	var zero Signer
	if _, err := zero.Verify("c", zero.Sign("c", "x")); err == nil {
		t.Error("the zero Signer verified a token")
	}
}

func FuzzToken(f *testing.F) {
	s := New(testKey)
	f.Add(s.Sign("c", "ws", "m", "https://x.example/"))
	f.Add("AAAA.BBBB")
	f.Add("..")
	f.Fuzz(func(t *testing.T, tok string) {
		fields, err := s.Verify("c", tok)
		if err == nil && s.Sign("c", fields...) != tok {
			t.Errorf("Verify accepted %q, which Sign does not make", tok)
		}
	})
}

func ExampleSigner() {
	s := New([]byte("a key of at least thirty-two bytes, kept secret"))
	tok := s.Sign("survey", "workspace-1", "request-42")
	fields, err := s.Verify("survey", tok)
	fmt.Println(fields, err)
	_, err = s.Verify("survey", tok[:len(tok)-2]+"xx")
	fmt.Println(errors.Is(err, storage.ErrInvalid))
	// Output:
	// [workspace-1 request-42] <nil>
	// true
}

package contacts_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
)

func TestNormalizeEmail(t *testing.T) {
	t.Parallel()
	local64 := strings.Repeat("a", 64)
	// 64 + 1 + 185 + 4 = 254 characters: the longest address allowed.
	longest := local64 + "@" + strings.Repeat("b", 185) + ".com"
	tests := []struct {
		name    string
		in      string
		want    string
		wantErr string // a part of the error message; "" means valid
	}{
		{"plain", "ada@example.com", "ada@example.com", ""},
		{"upper-case", "Ada.Lovelace@Example.COM", "ada.lovelace@example.com", ""},
		{"surrounding spaces", " \t ada@example.com \n", "ada@example.com", ""},
		{"plus and sub-domain", "ada+crm@mail.example.co.uk", "ada+crm@mail.example.co.uk", ""},
		{"longest", longest, longest, ""},
		{"empty", "", "", "is empty"},
		{"blank", "   ", "", "is empty"},
		{"display name", "Ada Lovelace <ada@example.com>", "", "not a valid email address"},
		{"quoted display name", `"Ada" <ada@example.com>`, "", "not a valid email address"},
		{"angle brackets only", "<ada@example.com>", "", "not a valid email address"},
		{"two addresses", "ada@example.com, bob@example.com", "", "not a valid email address"},
		{"no at", "ada.example.com", "", "not a valid email address"},
		{"error quotes the input as given", "Ada.Example.COM", "", `"Ada.Example.COM" is not a valid email address`},
		{"no local part", "@example.com", "", "not a valid email address"},
		{"no domain", "ada@", "", "not a valid email address"},
		{"no dot in domain", "ada@localhost", "", "not a valid email address"},
		{"leading dot in domain", "ada@.example.com", "", "not a valid email address"},
		{"trailing dot in domain", "ada@example.com.", "", "not a valid email address"},
		{"double dot in domain", "ada@example..com", "", "not a valid email address"},
		{"space inside", "ada lovelace@example.com", "", "not a valid email address"},
		{"over-long", "a" + longest, "", "longer than 254 characters"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := contacts.NormalizeEmail(tc.in)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("NormalizeEmail(%q): %v", tc.in, err)
				}
				if got != tc.want {
					t.Errorf("NormalizeEmail(%q) = %q, want %q", tc.in, got, tc.want)
				}
				again, err := contacts.NormalizeEmail(got)
				if err != nil || again != got {
					t.Errorf("NormalizeEmail is not idempotent: %q gives %q, %v", got, again, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("NormalizeEmail(%q) = %q, %v; want an error with %q", tc.in, got, err, tc.wantErr)
			}
			if got != "" {
				t.Errorf("NormalizeEmail(%q) returned %q beside its error", tc.in, got)
			}
		})
	}
}

func TestNormalizePhone(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		region  string
		want    string
		wantErr string // a part of the error message; "" means valid
	}{
		{"international, no region", "+44 20 7946 0958", "", "+442079460958", ""},
		{"international with punctuation", "+1 (650) 253-0000", "", "+16502530000", ""},
		{"E.164 stays", "+442079460958", "", "+442079460958", ""},
		{"spaces around", "  +33 1 42 68 53 00  ", "", "+33142685300", ""},
		{"national with region", "020 7946 0958", "GB", "+442079460958", ""},
		{"national with lower-case region", "020 7946 0958", "gb", "+442079460958", ""},
		{"US national", "(650) 253-0000", "US", "+16502530000", ""},
		{"country code wins over region", "+1 650 253 0000", "GB", "+16502530000", ""},
		{"national without region", "020 7946 0958", "", "", "has no country code"},
		{"empty", "", "US", "", "is empty"},
		{"blank", "   ", "", "", "is empty"},
		{"letters", "call me maybe", "US", "", "not a valid phone number"},
		{"letters after plus", "+call me", "", "", "not a valid phone number"},
		{"too short", "+1 650", "", "", "not a valid phone number"},
		{"too short national", "12345", "US", "", "not a valid phone number"},
		{"too long", "+44 20 7946 0958 0958 0958", "", "", "not a valid phone number"},
		{"unknown country code", "+999 1234 5678", "", "", "not a valid phone number"},
		{"unknown region", "020 7946 0958", "ZZ", "", "not a valid phone number"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := contacts.NormalizePhone(tc.in, tc.region)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("NormalizePhone(%q, %q): %v", tc.in, tc.region, err)
				}
				if got != tc.want {
					t.Errorf("NormalizePhone(%q, %q) = %q, want %q", tc.in, tc.region, got, tc.want)
				}
				// The E.164 form reads back as itself, whatever the region.
				for _, r := range []string{"", "US", "GB"} {
					if again, err := contacts.NormalizePhone(got, r); err != nil || again != got {
						t.Errorf("NormalizePhone(%q, %q) = %q, %v; want it unchanged", got, r, again, err)
					}
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("NormalizePhone(%q, %q) = %q, %v; want an error with %q", tc.in, tc.region, got, err, tc.wantErr)
			}
			if got != "" {
				t.Errorf("NormalizePhone(%q, %q) returned %q beside its error", tc.in, tc.region, got)
			}
		})
	}
}

func TestNormalizeDomain(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    string
		wantErr bool
	}{
		{"plain", "example.com", "example.com", false},
		{"empty is allowed", "", "", false},
		{"blank is allowed", "  ", "", false},
		{"upper-case", "Example.COM", "example.com", false},
		{"spaces around", "  example.com\t", "example.com", false},
		{"www", "www.example.com", "example.com", false},
		{"upper-case www", "WWW.Example.com", "example.com", false},
		{"https URL", "https://www.Example.com/about", "example.com", false},
		{"http URL, trailing slash", "http://example.com/", "example.com", false},
		{"path without scheme", "example.com/about/team", "example.com", false},
		{"query", "https://example.com?utm=x", "example.com", false},
		{"fragment", "example.com#top", "example.com", false},
		{"sub-domain stays", "https://shop.example.co.uk/cart", "shop.example.co.uk", false},
		{"only the first www goes", "www.www.example.com", "www.example.com", false},
		{"port", "example.com:8080", "example.com", false},
		{"URL with port", "https://www.example.com:8443/login", "example.com", false},
		{"empty port", "example.com:", "", true},
		{"email", "ada@example.com", "", true},
		{"no dot", "localhost", "", true},
		{"www of a TLD", "www.com", "", true},
		{"leading dot", ".example.com", "", true},
		{"trailing dot", "example.com.", "", true},
		{"double dot", "example..com", "", true},
		{"space inside", "exa mple.com", "", true},
		{"scheme only", "https://", "", true},
		{"over-long", strings.Repeat("a", 250) + ".com", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := contacts.NormalizeDomain(tc.in)
			if tc.wantErr {
				if err == nil || !strings.Contains(err.Error(), "is not a domain name") {
					t.Fatalf("NormalizeDomain(%q) = %q, %v; want a \"not a domain name\" error", tc.in, got, err)
				}
				if got != "" {
					t.Errorf("NormalizeDomain(%q) returned %q beside its error", tc.in, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("NormalizeDomain(%q): %v", tc.in, err)
			}
			if got != tc.want {
				t.Errorf("NormalizeDomain(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestNormalizeTags(t *testing.T) {
	t.Parallel()
	many := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("tag%03d", i)
		}
		return out
	}
	tests := []struct {
		name       string
		in         []string
		want       []string
		wantFields []string // the fields of the ValidationError; nil means valid
	}{
		{"nil", nil, nil, nil},
		{"empty list", []string{}, nil, nil},
		{"only blanks", []string{"", "  "}, nil, nil},
		{"trim and lower-case", []string{" VIP ", "Math"}, []string{"vip", "math"}, nil},
		{"dedupe keeps the first", []string{"vip", "math", "VIP", " vip", "math"}, []string{"vip", "math"}, nil},
		{"blanks dropped", []string{"a", "", "b", " "}, []string{"a", "b"}, nil},
		{"inner spaces stay", []string{"Key Account"}, []string{"key account"}, nil},
		{"longest tag", []string{strings.Repeat("x", contacts.MaxTagLen)}, []string{strings.Repeat("x", contacts.MaxTagLen)}, nil},
		{"length counts characters, not bytes", []string{strings.Repeat("é", contacts.MaxTagLen)}, []string{strings.Repeat("é", contacts.MaxTagLen)}, nil},
		{"spaces around do not count", []string{"  " + strings.Repeat("x", contacts.MaxTagLen) + "  "}, []string{strings.Repeat("x", contacts.MaxTagLen)}, nil},
		{"too long", []string{"ok", strings.Repeat("x", contacts.MaxTagLen+1)}, nil, []string{"tags[1]"}},
		{"invalid UTF-8", []string{"ok", "bad\xff"}, nil, []string{"tags[1]"}},
		{"most tags", many(contacts.MaxTags), many(contacts.MaxTags), nil},
		{"too many tags", many(contacts.MaxTags + 1), nil, []string{"tags"}},
		{"repeats do not count toward the limit", append(many(contacts.MaxTags), "TAG000", "tag001 "), many(contacts.MaxTags), nil},
		{"every problem listed", append(many(contacts.MaxTags+1), strings.Repeat("y", contacts.MaxTagLen+1)), nil,
			[]string{fmt.Sprintf("tags[%d]", contacts.MaxTags+1), "tags"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := contacts.NormalizeTags(tc.in)
			if tc.wantFields == nil {
				if err != nil {
					t.Fatalf("NormalizeTags: %v", err)
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("NormalizeTags (-want +got):\n%s", diff)
				}
				return
			}
			if !errors.Is(err, storage.ErrInvalid) {
				t.Fatalf("NormalizeTags error %v does not match ErrInvalid", err)
			}
			var ve *storage.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("NormalizeTags error %T is not a *ValidationError", err)
			}
			var fields []string
			for _, f := range ve.Fields {
				fields = append(fields, f.Field)
			}
			if diff := cmp.Diff(tc.wantFields, fields); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNormalizeTagsDoesNotChangeItsInput(t *testing.T) {
	t.Parallel()
	in := []string{" VIP ", "vip", "Math"}
	if _, err := contacts.NormalizeTags(in); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{" VIP ", "vip", "Math"}, in); diff != "" {
		t.Errorf("input changed (-want +got):\n%s", diff)
	}
}

package crm

import (
	"testing"

	"github.com/crmkit/crm/contacts"
)

// TestScrubPattern checks what erasure takes out of linked texts.
func TestScrubPattern(t *testing.T) {
	sc := personPattern(&contacts.Contact{FirstName: "Zoë", LastName: "Forgetme", Email: "zz@x.example", Phones: []contacts.Phone{{Number: "+14155550177"}}})
	for in, want := range map[string]string{
		"Call ZZ@x.example now":            "Call [erased] now",
		"Zoë Forgetme, Zoë":                "[erased], [erased]",
		"Zoëlle stays":                     "Zoëlle stays",
		"dial +14155550177 or 14155550177": "dial [erased] or [erased]",
		"Zoë Zoë":                          "[erased] [erased]",
	} {
		if got := sc.ReplaceAllString(in, "[erased]"); got != want {
			t.Errorf("%q → %q, want %q", in, got, want)
		}
	}
}

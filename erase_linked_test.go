package crm

import (
	"reflect"
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

// TestScrubNested checks that what erasure finds in a record it also
// replaces, in nested custom values too.
func TestScrubNested(t *testing.T) {
	sc := personPattern(&contacts.Contact{FirstName: "Zoë", Email: "zz@x.example"})
	rec := &contacts.Contact{JobTitle: "Zoë's boss", Tags: []string{"zz@x.example"},
		Custom: map[string]any{"note": "call Zoë", "list": []any{"a", "zz@x.example"}, "deep": map[string]any{"who": "Zoë"}, "n": 3.0}}
	if !scrubStrings(reflect.ValueOf(rec).Elem(), sc, true) {
		t.Fatal("nothing found")
	}
	if scrubStrings(reflect.ValueOf(rec).Elem(), sc, false) {
		t.Errorf("still found after scrubbing: %+v", rec)
	}
	if rec.JobTitle != "[erased]'s boss" || rec.Custom["n"] != 3.0 || rec.Custom["list"].([]any)[0] != "a" {
		t.Errorf("scrubbed record = %+v", rec)
	}
}

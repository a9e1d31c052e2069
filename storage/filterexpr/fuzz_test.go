package filterexpr_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/filterexpr"
)

var fuzzSchema = filterexpr.Schema{"name": filterexpr.Text, "score": filterexpr.Number, "ok": filterexpr.Bool,
	"at": filterexpr.Time, "tags": filterexpr.TextList, "custom.tier": filterexpr.Text, "custom.n": filterexpr.Number}

// FuzzCompile checks that no source makes the compiler or the evaluator
// panic, hang or return an error other than ErrInvalid. Its seed corpus
// (testdata/fuzz/FuzzCompile and the seeds below) runs with go test.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{"name == 'a'", "score > 1 && !(ok)", "'x' in tags", "at > daysAgo(3)", "custom.tier in ['a']",
		"name startsWith 'a' || custom.n != nil", "not (score in [1, 2])", "((", "name == ", "a.b.c == 1", "-", "now()"} {
		f.Add(s)
	}
	rec := filterexpr.Record{"name": "a", "score": 2, "ok": true, "at": time.Unix(0, 0), "tags": []string{"x"},
		"custom": map[string]any{"tier": "a"}}
	f.Fuzz(func(t *testing.T, src string) {
		e, err := filterexpr.Compile(src, fuzzSchema)
		if err != nil {
			if !errors.Is(err, storage.ErrInvalid) {
				t.Fatalf("%q: error %v is not ErrInvalid", src, err)
			}
			return
		}
		now := time.Now()
		_ = e.Filter(now)
		if _, err := e.Match(rec, now); err != nil {
			t.Fatalf("%q: match: %v", src, err)
		}
		if _, err := e.Match(filterexpr.Record{}, now); err != nil {
			t.Fatalf("%q: match on an empty record: %v", src, err)
		}
	})
}

func TestPositions(t *testing.T) {
	_, err := filterexpr.Compile("name == 'a' &&\n  scor > 1", fuzzSchema)
	var fe *filterexpr.Error
	if !errors.As(err, &fe) || fe.Line != 2 || fe.Column != 3 {
		t.Fatalf("error = %v, want line 2 column 3", err)
	}
}

// Brackets inside string literals do not count as nesting.
func TestNestingIgnoresStrings(t *testing.T) {
	src := "name == '" + strings.Repeat("(", 100) + "'"
	if _, err := filterexpr.Compile(src, fuzzSchema); err != nil {
		t.Fatalf("a string of brackets: %v", err)
	}
	if _, err := filterexpr.Compile(strings.Repeat("(", 40)+"ok"+strings.Repeat(")", 40), fuzzSchema); err == nil {
		t.Fatal("40 levels of nesting compiled")
	}
}

package filterexpr_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/filterexpr"
)

var fuzzSchema = func() filterexpr.Schema {
	s := filterexpr.Schema{"name": filterexpr.Text, "score": filterexpr.Number, "ok": filterexpr.Bool,
		"at": filterexpr.Time, "tags": filterexpr.TextList, "custom.tier": filterexpr.Text, "custom.n": filterexpr.Number}
	s.Relate("acc", filterexpr.Schema{"name": filterexpr.Text, "n": filterexpr.Number, "tags": filterexpr.TextList,
		"custom.tier": filterexpr.Text})
	return s
}()

// FuzzCompile checks that no source makes the compiler or the evaluator
// panic, hang or return an error other than ErrInvalid. Its seed corpus
// (testdata/fuzz/FuzzCompile and the seeds below) runs with go test.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{"name == 'a'", "score > 1 && !(ok)", "'x' in tags", "at > daysAgo(3)", "custom.tier in ['a']",
		"name startsWith 'a' || custom.n != nil", "not (score in [1, 2])", "((", "name == ", "a.b.c == 1", "-", "now()",
		"acc.name == 'a'", "acc.custom.tier in ['a'] && acc.n > 1", "!(acc.name == nil) || 'x' in acc.tags", "acc.b.c.d == 1",
		"acc.name.x == 'a'", "acc?.name == 'a'", "acc['name'] == 'a'", "acc.name() == 'a'"} {
		f.Add(s)
	}
	rec := filterexpr.Record{"name": "a", "score": 2, "ok": true, "at": time.Unix(0, 0), "tags": []string{"x"},
		"custom": map[string]any{"tier": "a"}, "acc": filterexpr.Record{"name": "a", "n": 3, "custom": map[string]any{"tier": "b"}}}
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

// An expression's error is a *ValidationError too, as crm.ErrInvalid's doc
// promises of every ErrInvalid, naming the field "expression".
func TestErrorAsValidation(t *testing.T) {
	_, err := filterexpr.Compile("name == 'a' &&\n  scor > 1", fuzzSchema)
	var v *storage.ValidationError
	if !errors.As(fmt.Errorf("wrapped: %w", err), &v) || len(v.Fields) != 1 || v.Fields[0].Field != "expression" ||
		!strings.HasPrefix(v.Fields[0].Reason, "line 2, column 3: ") {
		t.Fatalf("as a ValidationError: %+v (from %v)", v, err)
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

// Fields of a related record: named through the relation, missing when the
// record has none, and compiled to comparisons the stores resolve.
func TestRelatedFields(t *testing.T) {
	if _, ok := fuzzSchema.Own()["acc.name"]; ok || fuzzSchema.Own()["custom.tier"] != filterexpr.Text {
		t.Fatalf("Own() = %v", fuzzSchema.Own())
	}
	with := filterexpr.Record{"acc": map[string]any{"name": "Acme", "n": 4, "custom": map[string]any{"tier": "gold"}}}
	without := filterexpr.Record{}
	now := time.Now()
	for src, want := range map[string][2]bool{
		"acc.name == 'Acme'":                      {true, false},
		"!(acc.name == 'Acme')":                   {false, true},
		"acc.name == nil":                         {false, true},
		"acc.name != nil":                         {true, false},
		"acc.n >= 4 && acc.custom.tier == 'gold'": {true, false},
		"acc.custom.tier in ['gold', 'x']":        {true, false},
		"acc.custom.tier == nil":                  {false, true},
	} {
		e, err := filterexpr.Compile(src, fuzzSchema)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		for i, rec := range []filterexpr.Record{with, without} {
			if got, err := e.Match(rec, now); err != nil || got != want[i] {
				t.Errorf("%s on %v = %v (%v), want %v", src, rec, got, err, want[i])
			}
		}
	}
	e, err := filterexpr.Compile("acc.custom.tier in ['a', 'b'] && acc.name == 'x'", fuzzSchema)
	if err != nil {
		t.Fatal(err)
	}
	want := storage.And{storage.Or{storage.Cmp{Field: "acc.custom.tier", Op: storage.OpEq, Value: "a"},
		storage.Cmp{Field: "acc.custom.tier", Op: storage.OpEq, Value: "b"}}, storage.Cmp{Field: "acc.name", Op: storage.OpEq, Value: "x"}}
	if got := e.Filter(now); fmt.Sprintf("%#v", got) != fmt.Sprintf("%#v", want) {
		t.Errorf("filter = %#v, want %#v", got, want)
	}
	for src, msg := range map[string]string{
		"acc.custom.tier < 'b'": "cannot be ordered",
		"acc.nope == 1":         `unknown field "acc.nope"`,
		"acc.b.c.d == 1":        "is not a field",
	} {
		if _, err := filterexpr.Compile(src, fuzzSchema); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: error %v, want %q", src, err, msg)
		}
	}
}

package merge_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/merge"
)

func TestReplace(t *testing.T) {
	t.Parallel()
	if got := merge.ReplaceIDs([]string{"a", "l", "s", "l"}, "l", "s"); !cmp.Equal(got, []string{"a", "s"}) {
		t.Errorf("ReplaceIDs = %v", got)
	}
	if got := merge.ReplaceIDs(nil, "l", "s"); got != nil {
		t.Errorf("ReplaceIDs(nil) = %v", got)
	}
	refs := []storage.Ref{{Type: "contact", ID: "l"}, {Type: "account", ID: "l"}, {Type: "contact", ID: "s"}}
	want := []storage.Ref{{Type: "contact", ID: "s"}, {Type: "account", ID: "l"}}
	if got := merge.ReplaceRefs(refs, "contact", "l", "s"); !cmp.Equal(got, want) {
		t.Errorf("ReplaceRefs = %v", got)
	}
	if merge.ReplaceID("x", "l", "s") != "x" || merge.ReplaceID("l", "l", "s") != "s" {
		t.Error("ReplaceID")
	}
}

func TestEqualJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		want bool
	}{
		{`{"a":1,"b":[1,2]}`, `{"b": [1, 2], "a": 1}`, true},
		{`[1,2]`, `[2,1]`, false},
		{`"x"`, `"x"`, true},
		{``, ``, true},
		{``, `null`, false},
		{`{"a":1}`, `{"a":2}`, false},
	}
	for _, tc := range tests {
		if got := merge.EqualJSON(json.RawMessage(tc.a), json.RawMessage(tc.b)); got != tc.want {
			t.Errorf("EqualJSON(%s, %s) = %v", tc.a, tc.b, got)
		}
	}
}

package contacts

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/crmkit/crm/storage"
)

// TestMergeValues checks the rules and choices of a contact merge on
// values alone.
func TestMergeValues(t *testing.T) {
	t.Parallel()
	surv := &Contact{FirstName: "Ada", LastName: "", JobTitle: "Analyst", Email: "ada@s.example",
		Phones: []Phone{{Number: "+1"}}, Tags: []string{"vip"}, Custom: map[string]any{"tier": "gold", "note": ""}}
	loser := &Contact{FirstName: "Augusta", LastName: "King", JobTitle: "", Email: "ada@l.example",
		Phones: []Phone{{Number: "+2"}, {Number: "+1"}}, Tags: []string{"lead"}, Custom: map[string]any{"tier": "silver", "note": "x"}}
	type got struct {
		First, Last, Job, Email string
		Phones                  []Phone
		Tags                    []string
		Custom                  map[string]any
	}
	tests := []struct {
		name       string
		rule       MergeRule
		choose     map[string]Side
		loserNewer bool
		want       got
	}{
		{"survivor", RuleSurvivor, nil, true,
			got{"Ada", "", "Analyst", "ada@s.example", []Phone{{"+1", ""}, {"+2", ""}}, []string{"vip", "lead"}, map[string]any{"tier": "gold"}}},
		{"non-empty", RuleNonEmpty, nil, true,
			got{"Ada", "King", "Analyst", "ada@s.example", []Phone{{"+1", ""}, {"+2", ""}}, []string{"vip", "lead"}, map[string]any{"tier": "gold", "note": "x"}}},
		{"newest, loser newer", RuleNewest, nil, true,
			got{"Augusta", "King", "Analyst", "ada@l.example", []Phone{{"+1", ""}, {"+2", ""}}, []string{"vip", "lead"}, map[string]any{"tier": "silver", "note": "x"}}},
		{"newest, survivor newer", RuleNewest, nil, false,
			got{"Ada", "King", "Analyst", "ada@s.example", []Phone{{"+1", ""}, {"+2", ""}}, []string{"vip", "lead"}, map[string]any{"tier": "gold", "note": "x"}}},
		{"chosen", RuleSurvivor, map[string]Side{"first_name": FromLoser, "job_title": FromLoser, "phones": FromLoser,
			"tags": FromSurvivor, "custom.tier": FromLoser}, false,
			got{"Augusta", "", "", "ada@s.example", []Phone{{"+2", ""}, {"+1", ""}}, []string{"vip"}, map[string]any{"tier": "silver"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := mergeValues(contactFields, surv, loser, func(c *Contact) *map[string]any { return &c.Custom }, tc.rule, tc.choose, tc.loserNewer)
			g := got{m.FirstName, m.LastName, m.JobTitle, m.Email, m.Phones, m.Tags, m.Custom}
			if diff := cmp.Diff(tc.want, g); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if surv.LastName != "" || len(surv.Phones) != 1 || len(surv.Tags) != 1 {
		t.Errorf("the merge changed its input: %+v", surv)
	}
}

// TestUnpatch checks that a patch puts fields back, custom keys included,
// and refuses fields changed since.
func TestUnpatch(t *testing.T) {
	t.Parallel()
	before := &Contact{Meta: storage.Meta{ID: "x", Version: 3}, FirstName: "Ada", Tags: []string{"vip"}, Custom: map[string]any{"tier": "gold"}}
	after := &Contact{Meta: storage.Meta{ID: "x", Version: 4}, FirstName: "Ada", LastName: "King", Custom: map[string]any{"tier": "gold", "note": "n"}}
	p, err := changedFields(before, after)
	if err != nil {
		t.Fatal(err)
	}
	if len(p) != 3 { // last_name, tags, custom.note; not the version
		t.Fatalf("patch = %v", p)
	}
	cur := *after
	cur.JobTitle = "Countess" // changed since, but not by the merge: stays
	if err := unpatch(&cur, p); err != nil {
		t.Fatal(err)
	}
	want := *before
	want.JobTitle, want.Version = "Countess", 4
	if diff := cmp.Diff(&want, &cur); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	cur = *after
	cur.LastName = "Byron"
	if err := unpatch(&cur, p); !errors.Is(err, storage.ErrConflict) {
		t.Errorf("unpatch of a field changed since: %v", err)
	}
}

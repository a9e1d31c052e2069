package contacts

import (
	"fmt"
	"slices"
	"testing"
)

// TestSplitBlock checks that a fuzzy block too large to compare pairwise
// is split into groups of at most maxBlock names sharing a prefix, every
// member in exactly one group, and that a small block stays whole.
func TestSplitBlock(t *testing.T) {
	first := []string{"ada", "alan", "grace", "greta", "edsger", "barbara", "ken", "kenneth"}
	var names []string
	for i := range 3 * maxBlock {
		names = append(names, fmt.Sprintf("%s smith%d", first[i%len(first)], i))
	}
	name := func(i int) string { return names[i] }
	all := make([]int, len(names))
	for i := range all {
		all[i] = i
	}
	groups := splitBlock(all, 0, name)
	if len(groups) < 2 {
		t.Fatalf("a block of %d stays whole", len(all))
	}
	var seen []int
	for _, g := range groups {
		if len(g) > maxBlock {
			t.Errorf("a group of %d, more than %d", len(g), maxBlock)
		}
		seen = append(seen, g...)
		if r := []rune(names[g[0]])[0]; slices.ContainsFunc(g, func(i int) bool { return []rune(names[i])[0] != r }) {
			t.Errorf("a group's names do not share their first letter")
		}
	}
	slices.Sort(seen)
	if !slices.Equal(seen, all) {
		t.Errorf("the groups hold %d members, want each of %d once", len(seen), len(all))
	}
	if got := splitBlock(all[:maxBlock], 0, name); len(got) != 1 {
		t.Errorf("a block of maxBlock was split in %d", len(got))
	}
	// Names alike to the end cannot be split: they stay one group.
	same := make([]int, maxBlock+1)
	if got := splitBlock(same, 0, func(int) string { return "jo" }); len(got) != 1 || len(got[0]) != len(same) {
		t.Errorf("equal names were split: %d groups", len(got))
	}
}

// TestBetterRule checks that of two matches with one score the earlier
// rule is kept, whichever comes first.
func TestBetterRule(t *testing.T) {
	for _, c := range []struct {
		score     float64
		rule      string
		prevScore float64
		prevRule  string
		want      bool
	}{
		{1, "email", 1, "phone", true},
		{1, "phone", 1, "email", false},
		{1, "custom.ext_id", 1, "name+company", true},
		{0.95, "name+company", 0.95, "name+domain", true},
		{0.95, "name+domain", 0.95, "name+company", false},
		{0.96, "name+domain", 0.95, "name+company", true},
		{0.95, "email", 1, "name+domain", false},
	} {
		if got := better(c.score, c.rule, c.prevScore, c.prevRule); got != c.want {
			t.Errorf("better(%v %s over %v %s) = %v", c.score, c.rule, c.prevScore, c.prevRule, got)
		}
	}
}

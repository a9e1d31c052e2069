package contacts_test

import (
	"math"
	"testing"

	"github.com/crmkit/crm/contacts"
)

func TestJaroWinkler(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want float64
	}{
		{"martha", "marhta", 0.961}, {"dwayne", "duane", 0.84}, {"dixon", "dicksonx", 0.813},
		{"", "", 1}, {"abc", "", 0}, {"same", "same", 1}, {"abc", "xyz", 0},
	} {
		if got := contacts.JaroWinkler(c.a, c.b); math.Abs(got-c.want) > 0.001 {
			t.Errorf("JaroWinkler(%q, %q) = %.3f, want %.3f", c.a, c.b, got, c.want)
		}
	}
}

package bizhours

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestJSON round-trips a calendar's parts through JSON in their text
// forms ("09:00-17:00", "2026-12-25").
func TestJSON(t *testing.T) {
	in := struct {
		Week      Week
		Holidays  []Date
		Overrides []Override
	}{
		Week:      MondayToFriday(Interval{At(9, 0), At(12, 30)}, Interval{At(13, 30), Midnight}),
		Holidays:  []Date{{2026, 12, 25}, {2028, 2, 29}},
		Overrides: []Override{{Date: Date{2026, 12, 24}, Intervals: []Interval{{At(22, 0), At(6, 0) + 30}}}},
	}
	in.Week[6] = []Interval{{At(22, 0), At(6, 0)}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	out := in
	out.Week, out.Holidays, out.Overrides = Week{}, nil, nil
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%v in %s", err, b)
	}
	if d := cmp.Diff(in, out); d != "" {
		t.Errorf("round trip (-in +out):\n%s\n%s", d, b)
	}
	var iv Interval
	if err := json.Unmarshal([]byte(`"25:00-26:00"`), &iv); err == nil {
		t.Errorf("a bad interval reads as %v", iv)
	}
}

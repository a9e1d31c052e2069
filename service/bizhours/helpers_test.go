package bizhours

import (
	"testing"
	"time"
)

// loadZone loads an IANA time zone or fails the test.
func loadZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("time.LoadLocation(%q): %v", name, err)
	}
	return loc
}

// ivs parses intervals written as ParseInterval reads them.
func ivs(t testing.TB, ss ...string) []Interval {
	t.Helper()
	out := make([]Interval, len(ss))
	for i, s := range ss {
		iv, err := ParseInterval(s)
		if err != nil {
			t.Fatalf("ParseInterval(%q): %v", s, err)
		}
		out[i] = iv
	}
	return out
}

// date parses a date written YYYY-MM-DD.
func date(t testing.TB, s string) Date {
	t.Helper()
	d, err := ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// dates parses dates written YYYY-MM-DD.
func dates(t testing.TB, ss ...string) []Date {
	t.Helper()
	out := make([]Date, len(ss))
	for i, s := range ss {
		out[i] = date(t, s)
	}
	return out
}

// every returns a Week with the same intervals on each of the days.
func every(intervals []Interval, days ...time.Weekday) Week {
	var w Week
	if len(days) == 0 {
		days = []time.Weekday{time.Sunday, time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday}
	}
	for _, d := range days {
		w[d] = intervals
	}
	return w
}

// compile compiles the calendar or fails the test.
func compile(t testing.TB, c Calendar) *Schedule {
	t.Helper()
	s, err := c.Compile()
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return s
}

// instantLayouts are the ways the tests write instants: a wall time in the
// calendar's zone, with an offset where the wall time is ambiguous.
var instantLayouts = []string{
	"2006-01-02 15:04 -07:00",
	"2006-01-02 15:04:05.999999999 -07:00",
	"2006-01-02 15:04",
	"2006-01-02 15:04:05.999999999",
}

// instantIn parses an instant written in one of instantLayouts, in loc
// when it has no offset.
func instantIn(t testing.TB, loc *time.Location, s string) time.Time {
	t.Helper()
	for _, layout := range instantLayouts {
		if v, err := time.ParseInLocation(layout, s, loc); err == nil {
			return v
		}
	}
	t.Fatalf("cannot parse instant %q", s)
	return time.Time{}
}

package bizhours

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/crmkit/crm/storage"
)

// fieldsOf returns the fields a validation error names, failing the test
// when err is not one.
func fieldsOf(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var v *storage.ValidationError
	if !errors.Is(err, storage.ErrInvalid) || !errors.As(err, &v) {
		t.Fatalf("error %v is not a *storage.ValidationError matching ErrInvalid", err)
	}
	var out []string
	for _, f := range v.Fields {
		out = append(out, f.Field)
	}
	return out
}

func TestValidate(t *testing.T) {
	t.Parallel()
	paris := loadZone(t, "Europe/Paris")
	withWeek := func(set func(w *Week)) Calendar {
		c := Calendar{Location: paris}
		set(&c.Week)
		return c
	}
	cases := []struct {
		name string
		cal  Calendar
		want []string // the fields named; none for a valid calendar
	}{
		{"empty but zoned", Calendar{Location: paris}, nil},
		{"UTC", Calendar{Location: time.UTC}, nil},
		{"no location", Calendar{}, []string{"location"}},
		{"time.Local", Calendar{Location: time.Local}, []string{"location"}},
		{"office", withWeek(func(w *Week) { *w = MondayToFriday(ivs(t, "09:00-12:00", "13:00-17:00")...) }), nil},
		{"touching", withWeek(func(w *Week) { w[time.Monday] = ivs(t, "12:00-17:00", "09:00-12:00") }), nil},
		{"whole day", withWeek(func(w *Week) { w[time.Monday] = ivs(t, "00:00-24:00") }), nil},
		{"to midnight written 00:00", withWeek(func(w *Week) { w[time.Monday] = ivs(t, "22:00-00:00") }), nil},
		{"overnight then a shift at its end", withWeek(func(w *Week) {
			w[time.Monday] = ivs(t, "22:00-06:00")
			w[time.Tuesday] = ivs(t, "06:00-09:00")
		}), nil},
		{"start at 24:00", withWeek(func(w *Week) { w[time.Monday] = []Interval{{Midnight, Midnight}} }), []string{"week.monday[0].start", "week.monday[0]"}},
		{"end past 24:00", withWeek(func(w *Week) { w[time.Monday] = []Interval{{At(9, 0), Midnight + 1}} }), []string{"week.monday[0].end"}},
		{"negative start", withWeek(func(w *Week) { w[time.Friday] = []Interval{{-1, At(9, 0)}} }), []string{"week.friday[0].start"}},
		{"zero length", withWeek(func(w *Week) { w[time.Monday] = ivs(t, "09:00-09:00") }), []string{"week.monday[0]"}},
		{"overlap", withWeek(func(w *Week) { w[time.Wednesday] = ivs(t, "11:00-13:00", "09:00-12:00") }), []string{"week.wednesday[0]"}},
		{"overnight into the next day's shift", withWeek(func(w *Week) {
			w[time.Monday] = ivs(t, "22:00-06:00")
			w[time.Tuesday] = ivs(t, "09:00-17:00", "05:00-08:00")
		}), []string{"week.tuesday[1]"}},
		{"Saturday night into Sunday", withWeek(func(w *Week) {
			w[time.Saturday] = ivs(t, "20:00-02:00")
			w[time.Sunday] = ivs(t, "01:00-03:00")
		}), []string{"week.sunday[0]"}},
		{"overnight over a later start of its day", withWeek(func(w *Week) { w[time.Monday] = ivs(t, "20:00-02:00", "23:00-23:30") }), []string{"week.monday[1]"}},
		{"holidays", Calendar{Location: paris, Holidays: dates(t, "2028-02-29", "2026-12-25", "2026-12-25")}, nil},
		{"bad holidays", Calendar{Location: paris, Holidays: []Date{{2026, 12, 25}, {2100, 2, 29}, {2026, 2, 30}, {0, 1, 1}, {2026, 13, 1}}},
			[]string{"holidays[1]", "holidays[2]", "holidays[3]", "holidays[4]"}},
		{"override", Calendar{Location: paris, Overrides: []Override{{Date: date(t, "2026-12-24"), Intervals: ivs(t, "09:00-12:00")}, {Date: date(t, "2026-12-31")}}}, nil},
		{"override twice", Calendar{Location: paris, Overrides: []Override{{Date: date(t, "2026-12-24")}, {Date: date(t, "2026-12-31")}, {Date: date(t, "2026-12-24")}}},
			[]string{"overrides[2].date"}},
		{"override of no date", Calendar{Location: paris, Overrides: []Override{{Date: Date{2026, 2, 29}}}}, []string{"overrides[0].date"}},
		{"override's interval", Calendar{Location: paris, Overrides: []Override{{Date: date(t, "2026-12-24"), Intervals: []Interval{{At(9, 0), At(25, 0)}, {At(10, 0), At(10, 0)}}}}},
			[]string{"overrides[0].intervals[0].end", "overrides[0].intervals[1]"}},
		{"override overlapping the night before", Calendar{
			Location:  paris,
			Week:      every(ivs(t, "22:00-06:00"), time.Monday),
			Overrides: []Override{{Date: date(t, "2026-03-03"), Intervals: ivs(t, "05:00-07:00")}}, // a Tuesday
		}, []string{"overrides[0].intervals[0]"}},
		{"override after a holiday's night", Calendar{
			Location:  paris,
			Week:      every(ivs(t, "22:00-06:00"), time.Monday),
			Holidays:  dates(t, "2026-03-02"), // Monday's night shift does not start
			Overrides: []Override{{Date: date(t, "2026-03-03"), Intervals: ivs(t, "05:00-07:00")}},
		}, nil},
		{"override's night into the next day", Calendar{
			Location:  paris,
			Week:      MondayToFriday(ivs(t, "09:00-17:00")...),
			Overrides: []Override{{Date: date(t, "2026-03-02"), Intervals: ivs(t, "23:00-10:00")}}, // Monday into Tuesday's 09:00
		}, []string{"overrides[0].intervals[0]"}},
		{"override's night into another override", Calendar{
			Location: paris,
			Overrides: []Override{
				{Date: date(t, "2026-03-02"), Intervals: ivs(t, "23:00-10:00")},
				{Date: date(t, "2026-03-03"), Intervals: ivs(t, "09:00-11:00")},
			},
		}, []string{"overrides[1].intervals[0]"}},
		{"every fault at once", Calendar{
			Week:     every(ivs(t, "09:00-09:00"), time.Sunday),
			Holidays: []Date{{}},
		}, []string{"location", "week.sunday[0]", "holidays[0]"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.cal.Validate()
			if diff := cmp.Diff(tc.want, fieldsOf(t, err)); diff != "" {
				t.Errorf("Validate() = %v; fields (-want +got):\n%s", err, diff)
			}
			s, cerr := tc.cal.Compile()
			if (cerr == nil) != (err == nil) || (s == nil) == (cerr == nil) {
				t.Errorf("Compile() = %v, %v; Validate() = %v", s, cerr, err)
			}
		})
	}
}

// TestCompileCopies checks that a Schedule does not change with its
// Calendar.
func TestCompileCopies(t *testing.T) {
	t.Parallel()
	c := Calendar{Location: time.UTC, Week: MondayToFriday(ivs(t, "09:00-17:00")...), Holidays: dates(t, "2026-03-03")}
	s := compile(t, c)
	c.Week[time.Monday][0].End = At(10, 0)
	c.Holidays[0] = date(t, "2026-03-04")
	mon := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	if got := s.Between(mon, mon.AddDate(0, 0, 3)); got != 16*time.Hour {
		t.Errorf("after changing the Calendar, Between = %v; want 16h (Monday and Wednesday)", got)
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	clocks := []struct {
		in   string
		want Clock
		str  string // want.String(); "" when in is refused
	}{
		{"09:00", At(9, 0), "09:00"},
		{"9:30", At(9, 30), "09:30"},
		{"00:00", 0, "00:00"},
		{"24:00", Midnight, "24:00"},
		{"23:59:59", Midnight - 1, "23:59:59"},
		{"24:01", 0, ""},
		{"12:60", 0, ""},
		{"12", 0, ""},
		{"12:5", 0, ""},
		{"-1:00", 0, ""},
		{"ab:cd", 0, ""},
	}
	for _, tc := range clocks {
		got, err := ParseClock(tc.in)
		if tc.str == "" {
			if !errors.Is(err, storage.ErrInvalid) || fieldsOf(t, err)[0] != "clock" {
				t.Errorf("ParseClock(%q) = %v, %v; want ErrInvalid naming clock", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want || got.String() != tc.str {
			t.Errorf("ParseClock(%q) = %v (%d), %v; want %s", tc.in, got, got, err, tc.str)
		}
	}
	if iv, err := ParseInterval("22:00 - 06:00"); err != nil || iv != (Interval{At(22, 0), At(6, 0)}) || !iv.Overnight() || iv.String() != "22:00-06:00" {
		t.Errorf("ParseInterval(22:00 - 06:00) = %v, %v", iv, err)
	}
	for _, s := range []string{"09:00", "09:00-25:00", "x-17:00"} {
		if _, err := ParseInterval(s); !errors.Is(err, storage.ErrInvalid) || fieldsOf(t, err)[0] != "interval" {
			t.Errorf("ParseInterval(%q) = %v; want ErrInvalid naming interval", s, err)
		}
	}
	if d, err := ParseDate("2028-02-29"); err != nil || d != (Date{2028, time.February, 29}) || d.String() != "2028-02-29" {
		t.Errorf("ParseDate(2028-02-29) = %v, %v", d, err)
	}
	for _, s := range []string{"2100-02-29", "2026-13-01", "26-01-01", ""} {
		if _, err := ParseDate(s); !errors.Is(err, storage.ErrInvalid) || fieldsOf(t, err)[0] != "date" {
			t.Errorf("ParseDate(%q) = %v; want ErrInvalid naming date", s, err)
		}
	}
}

func TestDate(t *testing.T) {
	t.Parallel()
	// Every day from 1599 to 2401 against the time package.
	day0 := time.Date(1599, 1, 1, 12, 0, 0, 0, time.UTC)
	for i := 0; ; i++ {
		tt := day0.AddDate(0, 0, i)
		if tt.Year() > 2401 {
			break
		}
		d := DateOf(tt)
		n := d.days()
		if want := floorDiv(tt.Unix(), day); n != want {
			t.Fatalf("%v.days() = %d; want %d", d, n, want)
		}
		if back := dateOfDays(n); back != d {
			t.Fatalf("dateOfDays(%d) = %v; want %v", n, back, d)
		}
		if d.Weekday() != tt.Weekday() || !d.Valid() {
			t.Fatalf("%v: Weekday %v, Valid %v; want %v, true", d, d.Weekday(), d.Valid(), tt.Weekday())
		}
	}
	if got := (Date{2028, 2, 28}).AddDays(1); got != (Date{2028, 2, 29}) {
		t.Errorf("2028-02-28 + 1 = %v", got)
	}
	if got := (Date{2100, 2, 28}).AddDays(1); got != (Date{2100, 3, 1}) {
		t.Errorf("2100-02-28 + 1 = %v", got)
	}
	if (Date{2100, 2, 29}).Valid() || (Date{1900, 2, 29}).Valid() || !(Date{2000, 2, 29}).Valid() {
		t.Error("Valid: wrong leap years")
	}
	if a, b := (Date{2026, 12, 31}), (Date{2027, 1, 1}); a.Compare(b) != -1 || b.Compare(a) != 1 || a.Compare(a) != 0 {
		t.Error("Compare: wrong order")
	}
}

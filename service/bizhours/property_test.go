package bizhours

import (
	"errors"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"
)

// propertyZones are the zones random calendars are read in: changes at
// 02:00 both ways of UTC, at midnight (Santiago), by half an hour (Lord
// Howe), at quarter hours (Chatham), and none.
var propertyZones = []string{
	"UTC", "Europe/Paris", "America/New_York", "America/Santiago", "Australia/Lord_Howe",
	"Pacific/Chatham", "America/St_Johns", "Asia/Kolkata", "Africa/Casablanca",
}

// randomCalendar returns a valid calendar with random intervals, holidays
// and overrides in 2025 to 2027.
func randomCalendar(t *testing.T, r *rand.Rand) Calendar {
	t.Helper()
	c := Calendar{Location: loadZone(t, propertyZones[r.IntN(len(propertyZones))])}
	randomInterval := func() Interval {
		start := Clock(r.IntN(96) * 900) // quarter hours
		if r.IntN(8) == 0 {
			start = Clock(r.IntN(86400)) // any second
		}
		length := Clock(900 + r.IntN(16*4)*900)
		if r.IntN(10) == 0 {
			length = Clock(1 + r.IntN(3600))
		}
		end := (start + length) % Midnight
		if end == 0 && r.IntN(2) == 0 {
			end = Midnight
		}
		return Interval{start, end}
	}
	// add keeps an interval when the calendar stays valid with it.
	add := func(list *[]Interval) {
		*list = append(*list, randomInterval())
		if c.Validate() != nil {
			*list = (*list)[:len(*list)-1]
		}
	}
	if r.IntN(10) != 0 { // one in ten works only on overrides
		for d := range c.Week {
			for range r.IntN(4) {
				add(&c.Week[d])
			}
		}
	}
	randomDate := func() Date {
		return dateOfDays(Date{2025, time.January, 1}.days() + int64(r.IntN(3*365)))
	}
	for range r.IntN(16) {
		c.Holidays = append(c.Holidays, randomDate())
	}
	for range r.IntN(6) {
		c.Overrides = append(c.Overrides, Override{Date: randomDate()})
		if c.Validate() != nil {
			c.Overrides = c.Overrides[:len(c.Overrides)-1]
			continue
		}
		o := &c.Overrides[len(c.Overrides)-1]
		for range r.IntN(3) {
			add(&o.Intervals)
		}
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("random calendar: %v", err)
	}
	return c
}

// refSpans lists the working intervals as instants (Unix seconds) of the
// days from..to (local days after 1970-01-01), read from the Calendar
// itself, each wall time through instant: the reference the compiled
// Schedule, its fast path and its skipping of weeks are checked against.
func refSpans(c *Calendar, from, to int64) [][2]int64 {
	var out [][2]int64
	for n := from; n <= to; n++ {
		d := dateOfDays(n)
		list := c.Week[d.Weekday()]
		if slices.Contains(c.Holidays, d) {
			list = nil
		}
		for _, o := range c.Overrides {
			if o.Date == d {
				list = o.Intervals
			}
		}
		for _, iv := range list {
			sp := iv.span()
			a, b := instant(c.Location, n*day+sp.start), instant(c.Location, n*day+sp.end)
			if b > a {
				out = append(out, [2]int64{a, b})
			}
		}
	}
	return out
}

// refBetween is Between by refSpans.
func refBetween(c *Calendar, a, b time.Time) time.Duration {
	if !b.After(a) {
		return 0
	}
	from := floorDiv(a.Unix(), day) - 3
	to := floorDiv(b.Unix(), day) + 3
	var total time.Duration
	for _, sp := range refSpans(c, from, to) {
		x, y := time.Unix(sp[0], 0), time.Unix(sp[1], 0)
		if x.Before(a) {
			x = a
		}
		if y.After(b) {
			y = b
		}
		if y.After(x) {
			total += y.Sub(x)
		}
	}
	return total
}

// TestProperties checks, for random calendars, instants and durations:
// Between(t, Add(t, d)) == d; Add is monotonic in d; Next(t) >= t and
// Between(t, Next(t)) == 0; Between adds up over a split and agrees with
// the reference.
func TestProperties(t *testing.T) {
	t.Parallel()
	const calendars, perCalendar = 300, 40
	seed := uint64(time.Now().UnixNano())
	if v, err := strconv.ParseUint(os.Getenv("BIZHOURS_SEED"), 10, 64); err == nil {
		seed = v // to replay a failure
	}
	t.Logf("seed %d (BIZHOURS_SEED replays it)", seed)
	r := rand.New(rand.NewPCG(seed, 7))
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	far := time.Date(2036, 1, 1, 0, 0, 0, 0, time.UTC) // zones' POSIX TZ rules, after their last transition listed
	randomInstant := func() time.Time {
		if r.IntN(5) == 0 {
			return far.Add(time.Duration(r.Int64N(int64(25 * 365 * 24 * time.Hour))))
		}
		return base.Add(time.Duration(r.Int64N(int64(3 * 365 * 24 * time.Hour))))
	}
	randomDuration := func() time.Duration {
		switch r.IntN(5) {
		case 0:
			return 0
		case 1:
			return time.Duration(r.Int64N(int64(10 * time.Hour)))
		case 2:
			return time.Duration(r.Int64N(int64(14 * 24 * time.Hour)))
		case 3:
			return time.Duration(r.IntN(100)) * 15 * time.Minute
		}
		return time.Duration(r.Int64N(int64(2 * 365 * 24 * time.Hour)))
	}
	checks := 0
	for ci := range calendars {
		c := randomCalendar(t, r)
		s := compile(t, c)
		for range perCalendar {
			checks++
			at := randomInstant()
			if r.IntN(4) == 0 {
				at = at.Truncate(15 * time.Minute) // on boundaries, often
			}
			d := randomDuration()
			got, err := s.Add(at, d)
			if errors.Is(err, ErrNoWorkingTime) {
				if left := s.Between(at, at.AddDate(300, 0, 0)); left >= d && (d > 0 || left > 0) {
					t.Fatalf("calendar %d %+v: Add(%v, %v): ErrNoWorkingTime, but %v is left", ci, c, at, d, left)
				}
				continue
			}
			if err != nil {
				t.Fatalf("Add(%v, %v): %v", at, d, err)
			}
			if b := s.Between(at, got); b != d {
				t.Fatalf("calendar %d %+v: Between(%v, Add(%v, %v) = %v) = %v", ci, c, at, at, d, got, b)
			}
			if got.Sub(at) < 60*24*time.Hour {
				if b := refBetween(&c, at, got); b != d {
					t.Fatalf("calendar %d %+v: reference Between(%v, Add(%v, %v) = %v) = %v", ci, c, at, at, d, got, b)
				}
			}
			d2 := d + time.Duration(r.Int64N(int64(48*time.Hour)))
			if got2, err := s.Add(at, d2); err == nil && got2.Before(got) {
				t.Fatalf("calendar %d %+v: Add(%v, %v) = %v is before Add(%v, %v) = %v", ci, c, at, d2, got2, at, d, got)
			}
			next, err := s.Next(at)
			if err != nil {
				t.Fatalf("Next(%v): %v after Add worked", at, err)
			}
			if next.Before(at) || s.Between(at, next) != 0 || !s.Working(next) {
				t.Fatalf("calendar %d %+v: Next(%v) = %v, Between = %v, Working = %v", ci, c, at, next, s.Between(at, next), s.Working(next))
			}
			if next.After(at) && s.Working(next.Add(-time.Nanosecond)) {
				t.Fatalf("calendar %d %+v: Next(%v) = %v, but the instant before works", ci, c, at, next)
			}
			// Between over random spans, split in two.
			a := randomInstant()
			b := a.Add(time.Duration(r.Int64N(int64(50 * 24 * time.Hour))))
			m := a.Add(time.Duration(r.Int64N(int64(b.Sub(a)) + 1)))
			whole := s.Between(a, b)
			if ref := refBetween(&c, a, b); whole != ref {
				t.Fatalf("calendar %d %+v: Between(%v, %v) = %v; reference %v", ci, c, a, b, whole, ref)
			}
			if sum := s.Between(a, m) + s.Between(m, b); sum != whole {
				t.Fatalf("calendar %d %+v: Between(%v, %v) = %v, split at %v: %v", ci, c, a, b, whole, m, sum)
			}
		}
	}
	t.Logf("%d calendars, %d checks", calendars, checks)
}

// TestInstant checks the rule of wall times against time.Date where a wall
// time occurs once, and the gap and the overlap by hand.
func TestInstant(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	for _, name := range propertyZones {
		loc := loadZone(t, name)
		for range 2000 {
			l := Date{2020, time.January, 1}.days()*day + r.Int64N(10*365*day)
			d := dateOfDays(floorDiv(l, day))
			sec := int(floorMod(l, day))
			want := time.Date(d.Year, d.Month, d.Day, 0, 0, sec, 0, loc)
			y, m, dd := want.Date()
			h, mi, s := want.Clock()
			once := y == d.Year && m == d.Month && dd == d.Day && h*3600+mi*60+s == sec &&
				want.Add(-time.Hour).Add(time.Hour).Equal(want)
			// A wall time occurs twice when an earlier instant shows it too.
			for _, back := range []time.Duration{30 * time.Minute, time.Hour, 2 * time.Hour} {
				if e := want.Add(-back); e.Format(time.DateTime) == want.Format(time.DateTime) {
					once = false
				}
			}
			if once {
				if got := instant(loc, l); got != want.Unix() {
					t.Fatalf("%s: instant(%v %v) = %v; time.Date %v", name, d, Clock(sec), time.Unix(got, 0).In(loc), want)
				}
			}
		}
	}
	paris := loadZone(t, "Europe/Paris")
	ny := loadZone(t, "America/New_York")
	cases := []struct {
		loc  *time.Location
		date string
		at   Clock
		want string // RFC 3339
	}{
		{paris, "2026-03-29", At(2, 30), "2026-03-29T03:00:00+02:00"}, // skipped: the change
		{paris, "2026-03-29", At(2, 0), "2026-03-29T03:00:00+02:00"},
		{paris, "2026-03-29", At(3, 0), "2026-03-29T03:00:00+02:00"},
		{paris, "2026-10-25", At(2, 30), "2026-10-25T02:30:00+02:00"}, // repeated: the first
		{paris, "2026-10-25", At(3, 0), "2026-10-25T03:00:00+01:00"},
		{ny, "2026-03-08", At(2, 30), "2026-03-08T03:00:00-04:00"},
		{ny, "2026-11-01", At(1, 30), "2026-11-01T01:30:00-04:00"},
		{ny, "2026-11-01", At(2, 0), "2026-11-01T02:00:00-05:00"},
	}
	for _, tc := range cases {
		want, _ := time.Parse(time.RFC3339, tc.want)
		l := date(t, tc.date).days()*day + int64(tc.at)
		if got := instant(tc.loc, l); got != want.Unix() {
			t.Errorf("instant(%s %s, %v) = %v; want %v", tc.loc, tc.date, tc.at, time.Unix(got, 0).In(tc.loc), tc.want)
		}
	}
}

package bizhours

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crmkit/crm/storage"
)

// Calendar describes when a team works: a time zone, the working intervals
// of each weekday, holidays and date overrides. It is plain data; Compile
// checks it and turns it into a Schedule, which computes with it.
type Calendar struct {
	// Location is the time zone that the intervals' wall-clock times and
	// the dates are read in: an IANA zone such as Europe/Paris, from
	// time.LoadLocation (time.UTC and a time.FixedZone work too).
	// Required: nil is refused, and so is time.Local, whose rules depend
	// on the machine that runs the program.
	Location *time.Location
	// Week holds the working intervals of each day of the week, indexed by
	// time.Weekday (Week[time.Monday]), in any order. A day may have
	// several (a split shift), none (a closed day) or one that runs past
	// midnight (an overnight shift, which belongs to the day it starts
	// on). A day's intervals may touch but not overlap, nor overlap the
	// part of the previous day's overnight interval that runs into it.
	Week Week
	// Holidays are dates on which the day's own intervals do not start;
	// an overnight interval that starts the day before still runs into the
	// holiday to its end. An Override of the same date wins over a holiday.
	// A date may be listed more than once.
	Holidays []Date
	// Overrides give dates their own intervals in place of their
	// weekday's: special hours, or a closed day when Intervals is empty.
	// At most one override per date.
	Overrides []Override
}

// Week holds working intervals per day of the week, indexed by
// time.Weekday: Week[time.Sunday] is Sunday's.
type Week [7][]Interval

// MondayToFriday returns a Week in which Monday to Friday each have the
// intervals, and Saturday and Sunday none.
func MondayToFriday(intervals ...Interval) Week {
	var w Week
	for d := time.Monday; d <= time.Friday; d++ {
		w[d] = slices.Clone(intervals)
	}
	return w
}

// Override gives one date its own working intervals.
type Override struct {
	// Date is the day, in the calendar's Location.
	Date Date
	// Intervals replace the weekday's intervals on Date; none closes the
	// day. The same rules as a Week's day apply, including overnight
	// intervals, which run into the next date.
	Intervals []Interval
}

// Validate checks the calendar. It returns nil, or a *storage.ValidationError
// (matching storage.ErrInvalid) that names each bad field:
//
//   - "location": nil or time.Local;
//   - "week.monday[1].start", "week.monday[1].end": a clock out of range (a
//     start from 00:00 to 23:59:59, an end from 00:00 to 24:00);
//   - "week.monday[1]": an interval of zero length, or one that overlaps
//     another of the day or the overnight interval of the day before;
//   - "holidays[2]": not a date from MinYear to MaxYear;
//   - "overrides[0].date": not a date, or a date overridden twice;
//   - "overrides[0].intervals[1]" and its ".start" and ".end": as for a
//     week's day, where the day before is the date before the override's
//     (its own override, a holiday or its weekday), and also an overnight
//     interval that runs into an interval of the next date.
func (c *Calendar) Validate() error {
	v := &storage.ValidationError{}
	switch c.Location {
	case nil:
		v.Add("location", "is required: an IANA time zone such as Europe/Paris")
	case time.Local:
		v.Add("location", "is time.Local, which depends on the machine: name an IANA time zone such as Europe/Paris")
	}
	for d := time.Sunday; d <= time.Saturday; d++ {
		prefix := "week." + dayName(d)
		if checkDay(v, prefix, c.Week[d]) {
			prev := (d + 6) % 7
			checkSpill(v, prefix, c.Week[d], c.Week[prev], "the overnight interval of "+prev.String())
		}
	}
	for i, h := range c.Holidays {
		if !h.Valid() {
			v.Add(field("holidays", i), "%s is not a date from %04d-01-01 to %04d-12-31", h, MinYear, MaxYear)
		}
	}
	first := make(map[Date]int, len(c.Overrides))
	for i, o := range c.Overrides {
		if _, ok := first[o.Date]; !ok && o.Date.Valid() {
			first[o.Date] = i
		}
	}
	for i, o := range c.Overrides {
		name := field("overrides", i)
		valid := o.Date.Valid()
		if !valid {
			v.Add(name+".date", "%s is not a date from %04d-01-01 to %04d-12-31", o.Date, MinYear, MaxYear)
		} else if j := first[o.Date]; j != i {
			v.Add(name+".date", "%s is overridden twice (also by overrides[%d])", o.Date, j)
		}
		prefix := name + ".intervals"
		if !checkDay(v, prefix, o.Intervals) || !valid {
			continue
		}
		prev := o.Date.AddDays(-1)
		checkSpill(v, prefix, o.Intervals, c.dayIntervals(prev, first), "the overnight interval of "+prev.String())
		next := o.Date.AddDays(1)
		if _, ok := first[next]; ok {
			continue // that override checks this one's overnight interval
		}
		for k, iv := range o.Intervals {
			if !iv.Overnight() {
				continue
			}
			for _, n := range c.dayIntervals(next, first) {
				if validClocks(n) && n.Start < iv.End {
					v.Add(field(prefix, k), "%s overlaps %s's interval %s", iv, next, n)
				}
			}
		}
	}
	return v.Err()
}

// Compile checks the calendar with Validate and returns the Schedule that
// computes with it, or Validate's error. The Schedule keeps its own copy:
// changing the Calendar afterwards does not change it.
func (c *Calendar) Compile() (*Schedule, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return newSchedule(c), nil
}

// checkDay checks one day's intervals, named prefix[i]: their clocks, their
// length and their overlaps. It reports whether every clock is in range and
// every interval has a length, so that the overlaps with the day before are
// worth checking.
func checkDay(v *storage.ValidationError, prefix string, ivs []Interval) bool {
	ok := true
	for i, iv := range ivs {
		name := field(prefix, i)
		if iv.Start < 0 || iv.Start >= Midnight {
			v.Add(name+".start", "%s is not a start time from 00:00 to 23:59:59", iv.Start)
			ok = false
		}
		if iv.End < 0 || iv.End > Midnight {
			v.Add(name+".end", "%s is not an end time from 00:00 to 24:00", iv.End)
			ok = false
		}
		if iv.Start == iv.End {
			v.Add(name, "%s has zero length", iv)
			ok = false
		}
	}
	if !ok {
		return false
	}
	order := make([]int, len(ivs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return int(ivs[a].Start - ivs[b].Start) })
	for k := 1; k < len(order); k++ {
		a, b := ivs[order[k-1]], ivs[order[k]]
		if a.span().end > b.span().start {
			v.Add(field(prefix, order[k]), "%s overlaps %s", b, a)
		}
	}
	return true
}

// checkSpill reports the intervals of ivs, named prefix[i], that start
// before an overnight interval of prev, the day before, has ended; what
// names that interval in the reason.
func checkSpill(v *storage.ValidationError, prefix string, ivs, prev []Interval, what string) {
	for _, p := range prev {
		if !p.Overnight() || !validClocks(p) {
			continue
		}
		for k, iv := range ivs {
			if iv.Start < p.End {
				v.Add(field(prefix, k), "%s overlaps %s, %s", iv, what, p)
			}
		}
	}
}

func validClocks(iv Interval) bool {
	return iv.Start >= 0 && iv.Start < Midnight && iv.End >= 0 && iv.End <= Midnight && iv.Start != iv.End
}

// dayIntervals returns the intervals that start on d: its override's (first
// maps the overridden dates to their overrides), none on a holiday, else
// its weekday's.
func (c *Calendar) dayIntervals(d Date, first map[Date]int) []Interval {
	if i, ok := first[d]; ok {
		return c.Overrides[i].Intervals
	}
	if slices.Contains(c.Holidays, d) {
		return nil
	}
	return c.Week[d.Weekday()]
}

func dayName(d time.Weekday) string { return strings.ToLower(d.String()) }

func field(prefix string, i int) string { return prefix + "[" + strconv.Itoa(i) + "]" }

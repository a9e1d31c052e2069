package bizhours

import (
	"cmp"
	"errors"
	"math"
	"slices"
	"time"

	"github.com/crmkit/crm/storage"
)

// ErrNoWorkingTime is returned by Add and Next when the schedule has no
// more working time after the instant: a calendar with no interval at all,
// or one whose only intervals are overrides of dates already past. Add
// also returns it when the working time left is less than the duration.
var ErrNoWorkingTime = errors.New("bizhours: no working time after the instant")

const day = 86400 // seconds

// Schedule is a compiled Calendar, made by Calendar.Compile: it computes
// business time. It is immutable and safe for concurrent use; its methods
// do not allocate. The zero Schedule never works.
//
// An interval's Start and End are wall-clock times on its date in the
// Location (the next date for an End of an overnight interval, or 24:00),
// and become instants by this rule: a wall time that occurs once is that
// instant; one that occurs twice (in the hour a fall-back change repeats)
// is its first occurrence, as RFC 5545 reads it; one that does not occur
// (in the hour a spring-forward change skips) is the instant of the change.
// An interval's length is the real time between its two instants. So in
// Europe/Paris, 01:00–04:00 on 2026-03-29 (02:00 becomes 03:00) is 2 hours,
// and on 2026-10-25 (03:00 becomes 02:00) it is 4 hours, the repeated hour
// counted twice; 02:30–04:00 on 2026-03-29 is 03:00–04:00, 1 hour. An
// interval that lies wholly in a skipped hour is empty that day. The rule is
// time.Date's wherever a wall time occurs once. Where it does not, time.Date
// leaves the choice unspecified, and in practice it differs between zones
// east and west of UTC (it moves a skipped 02:30 on to 03:30 in Paris but
// back to 01:30 in New York, and takes the second of two 02:30s in Paris
// but the first of two 01:30s in New York); it would also let touching
// intervals overlap.
type Schedule struct {
	loc  *time.Location
	week [7][]span // by time.Weekday
	// weekTotal is the working time of the weekly pattern in nanoseconds,
	// read on the wall clock.
	weekTotal int64
	// exceptions are the holidays and overrides, by day.
	exceptions []exception
	// minStart and maxEnd bound every span's start and end (seconds after
	// the midnight of the span's day): the wall times a day's spans cover.
	minStart, maxEnd int64
}

// exception is the spans that start on one day (days after 1970-01-01),
// in place of its weekday's: none for a holiday.
type exception struct {
	day   int64
	spans []span
}

func newSchedule(c *Calendar) *Schedule {
	s := &Schedule{loc: c.Location, minStart: day, maxEnd: 0}
	for d := range c.Week {
		s.week[d] = s.spans(c.Week[d])
		for _, sp := range s.week[d] {
			s.weekTotal += (sp.end - sp.start) * int64(time.Second)
		}
	}
	byDay := map[int64][]span{}
	for _, h := range c.Holidays {
		byDay[h.days()] = nil
	}
	for _, o := range c.Overrides {
		byDay[o.Date.days()] = s.spans(o.Intervals)
	}
	for n, spans := range byDay {
		s.exceptions = append(s.exceptions, exception{n, spans})
	}
	slices.SortFunc(s.exceptions, func(a, b exception) int { return cmp.Compare(a.day, b.day) })
	if s.maxEnd == 0 {
		s.minStart = 0 // no spans at all
	}
	return s
}

// spans returns the intervals as spans in order of start, keeping minStart
// and maxEnd.
func (s *Schedule) spans(ivs []Interval) []span {
	if len(ivs) == 0 {
		return nil
	}
	out := make([]span, len(ivs))
	for i, iv := range ivs {
		out[i] = iv.span()
		s.minStart = min(s.minStart, out[i].start)
		s.maxEnd = max(s.maxEnd, out[i].end)
	}
	slices.SortFunc(out, func(a, b span) int { return cmp.Compare(a.start, b.start) })
	return out
}

// Location returns the time zone the schedule reads its calendar in; the
// instants its methods return are in it.
func (s *Schedule) Location() *time.Location { return s.loc }

// Add returns the instant at which d of working time has passed since t:
// if t is outside working time, the count starts at the next working
// instant, so Add(t, 0) is Next(t). When d ends exactly at the end of an
// interval, Add returns that end (not the start of the next interval). The
// result is in the schedule's Location. A negative d is a
// *storage.ValidationError for the field "d"; ErrNoWorkingTime says that
// the schedule does not have d of working time left after t.
func (s *Schedule) Add(t time.Time, d time.Duration) (time.Time, error) {
	if d < 0 {
		return time.Time{}, storage.Invalid("d", "%v is negative", d)
	}
	if s.loc == nil {
		return time.Time{}, ErrNoWorkingTime // the zero Schedule
	}
	sec, ns := t.Unix(), int64(t.Nanosecond())
	from := ceilSec(sec, ns)
	rem := int64(d)
	c := s.cursorAt(sec)
	for {
		if s.weekTotal > 0 && rem > s.weekTotal {
			// Leave some of rem to the loop, which finds the instant.
			rem -= c.skipWeeks((rem-1)/s.weekTotal, from, math.MaxInt64) * s.weekTotal
		}
		if spans := c.spans(); len(spans) > 0 {
			fast := c.fast()
			for _, sp := range spans {
				a, b := c.bounds(sp, fast)
				if b <= sec || b <= a {
					continue // over before t, or empty in a change of offset
				}
				ssec, sns := a, int64(0)
				if a <= sec {
					ssec, sns = sec, ns
				}
				if rem == 0 {
					return time.Unix(ssec, sns).In(s.loc), nil
				}
				avail := (b-ssec)*int64(time.Second) - sns
				if rem <= avail {
					return time.Unix(ssec, sns+rem).In(s.loc), nil
				}
				rem -= avail
			}
		}
		if !c.advance() {
			return time.Time{}, ErrNoWorkingTime
		}
	}
}

// Next returns the first working instant at or after t: t itself when t is
// in working time. The result is in the schedule's Location; the error is
// ErrNoWorkingTime when the schedule never works after t.
func (s *Schedule) Next(t time.Time) (time.Time, error) { return s.Add(t, 0) }

// Working reports whether t is in working time: in an interval, whose start
// is included and end excluded.
func (s *Schedule) Working(t time.Time) bool {
	n, err := s.Next(t)
	return err == nil && n.Equal(t)
}

// Between returns the working time in [a, b): 0 when b is not after a. It
// saturates at the largest time.Duration (about 292 years).
func (s *Schedule) Between(a, b time.Time) time.Duration {
	if !b.After(a) || s.loc == nil {
		return 0
	}
	asec, ans := a.Unix(), int64(a.Nanosecond())
	bsec, bns := b.Unix(), int64(b.Nanosecond())
	from := ceilSec(asec, ans)
	// Spans of the days after last start after b. b's wall time is within
	// a day of b.Unix()+86400 whatever the offset; a day more covers a
	// wall clock put back by up to a day.
	last := floorDiv(bsec+2*day-s.minStart, day)
	c := s.cursorAt(asec)
	var total int64
	for c.day <= last {
		if s.weekTotal > 0 {
			if k := c.skipWeeks(math.MaxInt64, from, bsec); k > 0 {
				total = addSat(total, mulSat(k, s.weekTotal))
				continue
			}
		}
		if spans := c.spans(); len(spans) > 0 {
			fast := c.fast()
			for _, sp := range spans {
				x, y := c.bounds(sp, fast)
				if y <= asec || y <= x {
					continue
				}
				if x > bsec || (x == bsec && bns == 0) {
					return time.Duration(total) // this span and all after start at or after b
				}
				fsec, fns := x, int64(0)
				if x <= asec {
					fsec, fns = asec, ans
				}
				tsec, tns := y, int64(0)
				if y > bsec { // y is after b
					tsec, tns = bsec, bns
				}
				total = addSat(total, (tsec-fsec)*int64(time.Second)+tns-fns)
			}
		}
		if !c.advance() {
			break
		}
	}
	return time.Duration(total)
}

// ceilSec returns the first whole second at or after sec+ns.
func ceilSec(sec, ns int64) int64 {
	if ns > 0 {
		return sec + 1
	}
	return sec
}

func addSat(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

func mulSat(a, b int64) int64 {
	if a != 0 && b > math.MaxInt64/a {
		return math.MaxInt64
	}
	return a * b
}

// cursor walks the days of a schedule forward, from an instant on.
type cursor struct {
	s   *Schedule
	day int64 // days after 1970-01-01 on the wall clock
	xi  int   // the first exception on or after day
	z   zone  // the last zone looked up
}

// cursorAt returns a cursor on the first day whose spans may end after the
// instant u (Unix seconds).
func (s *Schedule) cursorAt(u int64) cursor {
	z := zoneAt(s.loc, u)
	// u's wall time is u+off; a span of day n ends by the wall time
	// n*day+maxEnd, and one more day covers a wall clock put back by up to
	// a day.
	first := floorDiv(u+z.off-day-s.maxEnd, day) + 1
	c := cursor{s: s, day: first, z: z}
	ex := s.exceptions
	lo, hi := 0, len(ex)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if ex[m].day < first {
			lo = m + 1
		} else {
			hi = m
		}
	}
	c.xi = lo
	return c
}

// spans returns the spans that start on the cursor's day.
func (c *cursor) spans() []span {
	ex := c.s.exceptions
	for c.xi < len(ex) && ex[c.xi].day < c.day {
		c.xi++
	}
	if c.xi < len(ex) && ex[c.xi].day == c.day {
		return ex[c.xi].spans
	}
	return c.s.week[weekdayOf(c.day)]
}

// fast reports whether every span of the cursor's day reads with one
// offset, c.z's, looking the zone up again when the day is past the last.
func (c *cursor) fast() bool {
	a, b := c.day*day+c.s.minStart, c.day*day+c.s.maxEnd
	if c.z.covers(a, b) {
		return true
	}
	c.z = zoneAt(c.s.loc, a-c.z.off)
	return c.z.covers(a, b)
}

// bounds returns the instants (Unix seconds) of a span of the cursor's day,
// read with c.z's offset when fast.
func (c *cursor) bounds(sp span, fast bool) (int64, int64) {
	base := c.day * day
	if fast {
		return base + sp.start - c.z.off, base + sp.end - c.z.off
	}
	a, b := instant(c.s.loc, base+sp.start), instant(c.s.loc, base+sp.end)
	return a, max(a, b)
}

// advance moves the cursor to the next day that may have spans, and
// reports false when there is none.
func (c *cursor) advance() bool {
	c.day++
	if c.s.weekTotal > 0 {
		return true
	}
	// Only the overrides have spans: go to the next one.
	ex := c.s.exceptions
	for c.xi < len(ex) && ex[c.xi].day < c.day {
		c.xi++
	}
	if c.xi == len(ex) {
		return false
	}
	c.day = ex[c.xi].day
	return true
}

// skipWeeks moves the cursor on by as many whole weeks as it can, at most
// limit, over days that hold only the weekly pattern read with one offset,
// and whose spans start at or after the instant from and end at or before
// the instant to (Unix seconds). It returns the number of weeks skipped, in
// which the working time is weekTotal each.
func (c *cursor) skipWeeks(limit, from, to int64) int64 {
	s := c.s
	base := c.day * day
	if limit <= 0 || !c.fast() {
		return 0
	}
	off := c.z.off
	if base+s.minStart-off < from {
		return 0
	}
	k := limit
	ex := s.exceptions
	for c.xi < len(ex) && ex[c.xi].day < c.day {
		c.xi++
	}
	if c.xi < len(ex) {
		k = min(k, (ex[c.xi].day-c.day)/7)
	}
	// The last day skipped, c.day+7k-1, must read with off to its end, and
	// end by to.
	if c.z.hi != math.MaxInt64 {
		k = min(k, (floorDiv(c.z.hi-1-s.maxEnd, day)-c.day+1)/7)
	}
	if to != math.MaxInt64 {
		k = min(k, (floorDiv(to+off-s.maxEnd, day)-c.day+1)/7)
	}
	if k <= 0 {
		return 0
	}
	c.day += 7 * k
	return k
}

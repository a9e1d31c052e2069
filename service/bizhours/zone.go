package bizhours

import (
	"math"
	"time"
)

// Wall-clock times become instants by one rule, RFC 5545's for the overlap
// and the usual one of shop hours for the gap, and monotonic, so that the
// intervals of consecutive days never overlap once they are instants:
//
//   - a wall time that occurs once is that instant;
//   - a wall time that occurs twice, in the hour a fall-back change repeats,
//     is its first occurrence (before the change);
//   - a wall time that does not occur, in the hour a spring-forward change
//     skips, is the instant of the change, the first instant after the gap.
//
// The local timeline is counted in "local seconds": the seconds from
// 1970-01-01 00:00 on the wall clock, as if the zone were UTC.

// zone is a stretch of time in which the location keeps one UTC offset,
// with the wall times that the rule reads as an instant of that stretch.
type zone struct {
	off int64 // seconds east of UTC
	// lo and hi bound the local seconds [lo, hi) that read as local-off:
	// those after the wall times the previous stretch may have shown, and
	// before the end of this one.
	lo, hi int64
}

// nowhere is a zone that covers no wall time, for a stretch whose bounds
// the time package reports wrongly: its days take the slow path.
func nowhere(off int64) zone { return zone{off: off, lo: math.MaxInt64, hi: math.MinInt64} }

// zoneAt returns the zone in effect at the instant u (Unix seconds).
//
// It trusts time.Time.ZoneBounds only as far as it can check it: the
// bounds must hold u and show u's offset, else (as golang/go#81583 reports
// for the last day of leap years under a zone's POSIX TZ rule) the zone
// covers nothing and the wall times around u are read one by one.
func zoneAt(loc *time.Location, u int64) zone {
	t := time.Unix(u, 0).In(loc)
	_, o := t.Zone()
	off := int64(o)
	z := zone{off: off, lo: math.MinInt64, hi: math.MaxInt64}
	start, end := t.ZoneBounds()
	if !start.IsZero() {
		st := start.Unix()
		_, so := start.Zone()
		_, prev := start.Add(-time.Second).Zone()
		if st > u || int64(so) != off {
			return nowhere(off)
		}
		if int64(prev) == off {
			// A bound where only the zone's name or rule changes: the
			// wall times a real change before it repeats may reach past
			// it, by less than a day and two hours.
			z.lo = st + off + 26*3600
		} else {
			z.lo = st + max(off, int64(prev))
		}
	}
	if !end.IsZero() {
		en := end.Unix()
		if en <= u || offsetAt(loc, en-1) != off {
			return nowhere(off)
		}
		z.hi = en + off
	}
	return z
}

// covers reports whether the wall times from local seconds a to b
// (inclusive) all read with z's offset.
func (z zone) covers(a, b int64) bool { return z.lo <= a && b < z.hi }

// offsetAt returns the UTC offset of loc at the instant u, in seconds.
func offsetAt(loc *time.Location, u int64) int64 {
	_, off := time.Unix(u, 0).In(loc).Zone()
	return int64(off)
}

// instant returns the instant (Unix seconds) of the wall time at local
// seconds l, by the rule above, from the offsets around it alone: the slow
// path, for the days near a change of offset. It assumes, as every zone's
// rules allow, no two changes of offset within 60 hours.
func instant(loc *time.Location, l int64) int64 {
	// Every instant whose wall clock reads l is within 30 hours of l.
	const reach = 30 * 3600
	before, after := offsetAt(loc, l-reach), offsetAt(loc, l+reach)
	if before == after {
		return l - before
	}
	// One change, at an instant c, from before to after: l read with the
	// offset before is valid if it falls before c, with the offset after
	// if it falls at or after c.
	u1, u2 := l-before, l-after
	ok1, ok2 := offsetAt(loc, u1) == before, offsetAt(loc, u2) == after
	switch {
	case ok1 && ok2:
		return min(u1, u2) // the first occurrence
	case ok1:
		return u1
	case ok2:
		return u2
	}
	// A gap: c is in (u2, u1]; find it to the second.
	lo, hi := u2, u1
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if offsetAt(loc, mid) == after {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
}

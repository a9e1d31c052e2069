package bizhours

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/crmkit/crm/storage"
)

// Clock is a wall-clock time of day, in seconds after midnight: 0 is 00:00
// and 86400 (Midnight) is 24:00, which only an interval's End may be.
type Clock int32

// Midnight is 24:00, the end of a day, for an interval that works until
// midnight.
const Midnight Clock = 24 * 3600

// At returns the clock time hour:minute. It does not check its arguments:
// Calendar.Validate refuses a clock out of range.
func At(hour, minute int) Clock { return Clock(hour*3600 + minute*60) }

// ParseClock reads a clock time written HH:MM or HH:MM:SS, from 00:00 to
// 24:00 ("9:30" is accepted too). It returns a *storage.ValidationError for
// the field "clock" when s is not such a time.
func ParseClock(s string) (Clock, error) {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, storage.Invalid("clock", "%q is not a time written HH:MM", s)
	}
	var v [3]int
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || len(p) > 2 || (i > 0 && len(p) != 2) {
			return 0, storage.Invalid("clock", "%q is not a time written HH:MM", s)
		}
		v[i] = n
	}
	c := Clock(v[0]*3600 + v[1]*60 + v[2])
	if v[1] > 59 || v[2] > 59 || c > Midnight {
		return 0, storage.Invalid("clock", "%q is not a time from 00:00 to 24:00", s)
	}
	return c, nil
}

// String writes the clock as HH:MM, or HH:MM:SS when it has seconds; 24:00
// for Midnight.
func (c Clock) String() string {
	if c < 0 || c > Midnight {
		return fmt.Sprintf("Clock(%d)", int32(c))
	}
	h, m, s := c/3600, c/60%60, c%60
	if s != 0 {
		return fmt.Sprintf("%02d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%02d:%02d", h, m)
}

// Interval is a stretch of working time on one day, from Start (included)
// to End (excluded), both wall-clock times. An End before Start means the
// interval runs past midnight into the next day: 22:00–06:00 is an
// overnight shift, and it belongs to the day it starts on (a holiday or an
// override of that day removes it; one of the next day does not). An End of
// 24:00 (Midnight) works to the end of the day. Start and End must differ.
type Interval struct {
	Start Clock // from 00:00 to 23:59:59
	End   Clock // from 00:00 to 24:00, not Start
}

// ParseInterval reads an interval written START-END, such as "09:00-17:00"
// or "22:00-06:00" (overnight). It returns a *storage.ValidationError for
// the field "interval" when s is not such an interval.
func ParseInterval(s string) (Interval, error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return Interval{}, storage.Invalid("interval", "%q is not an interval written HH:MM-HH:MM", s)
	}
	start, err := ParseClock(strings.TrimSpace(a))
	if err != nil {
		return Interval{}, storage.Invalid("interval", "%q is not an interval written HH:MM-HH:MM", s)
	}
	end, err := ParseClock(strings.TrimSpace(b))
	if err != nil {
		return Interval{}, storage.Invalid("interval", "%q is not an interval written HH:MM-HH:MM", s)
	}
	return Interval{start, end}, nil
}

// Overnight reports whether the interval runs past midnight into the next
// day: its End is before its Start (22:00–06:00, or 22:00–00:00, which
// ends at the next midnight like 22:00–24:00).
func (iv Interval) Overnight() bool { return iv.End < iv.Start }

// String writes the interval as START-END.
func (iv Interval) String() string { return iv.Start.String() + "-" + iv.End.String() }

// span is an interval of one day in seconds after that day's midnight on
// the wall clock; end passes 86400 for an overnight interval.
type span struct{ start, end int64 }

func (iv Interval) span() span {
	end := int64(iv.End)
	if iv.Overnight() {
		end += 86400
	}
	return span{int64(iv.Start), end}
}

// MarshalText writes iv as "09:00-17:00", the form JSON and stored
// calendars use.
func (iv Interval) MarshalText() ([]byte, error) { return []byte(iv.String()), nil }

// UnmarshalText reads the form MarshalText writes.
func (iv *Interval) UnmarshalText(b []byte) error {
	v, err := ParseInterval(string(b))
	if err != nil {
		return err
	}
	*iv = v
	return nil
}

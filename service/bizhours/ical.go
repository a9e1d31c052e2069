package bizhours

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/emersion/go-ical"

	"github.com/crmkit/crm/storage"
)

// maxEventDays bounds the dates one all-day event may cover.
const maxEventDays = 3660

// ParseICal reads an iCalendar stream (RFC 5545: one or more VCALENDARs,
// such as a holiday feed exported from a calendar application) and returns
// the dates its all-day events cover, in order and each once, for a
// Calendar's Holidays.
//
// An all-day event is a VEVENT whose DTSTART is a DATE
// (DTSTART;VALUE=DATE:20261225, or eight digits with no VALUE, as some
// feeds write it). It covers DTSTART's date and each date up to its DTEND,
// exclusive, or for its DURATION (P3D); with neither, the one day. Events
// with a DTSTART that is a DATE-TIME (a meeting) are ignored, and so are
// cancelled ones (STATUS:CANCELLED). Recurring all-day events (RRULE or
// RDATE) are refused rather than read as their first date only; so is an
// event longer than ten years.
//
// The error is a *storage.ValidationError (matching storage.ErrInvalid) for
// a stream that is not iCalendar, with the field "ical", or for a bad event,
// with a field such as "VEVENT[3].DTEND" (events counted from 0 in the
// order of the stream); an error reading r is returned wrapped.
func ParseICal(r io.Reader) ([]Date, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("bizhours: reading iCalendar: %w", err)
	}
	// The decoder reports the end of the stream inside a component as it
	// does after the last one: counting the calendars begun tells them
	// apart.
	begun := 0
	for line := range bytes.Lines(data) {
		if bytes.EqualFold(bytes.TrimSpace(line), []byte("BEGIN:VCALENDAR")) {
			begun++
		}
	}
	dec := ical.NewDecoder(bytes.NewReader(data))
	var dates []Date
	calendars, events := 0, 0
	for {
		c, err := dec.Decode()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, storage.Invalid("ical", "is not iCalendar: %v", err)
		}
		calendars++
		for _, ev := range c.Events() {
			ds, err := eventDates(ev, field("VEVENT", events))
			if err != nil {
				return nil, err
			}
			events++
			dates = append(dates, ds...)
		}
	}
	switch {
	case calendars == 0:
		return nil, storage.Invalid("ical", "holds no VCALENDAR")
	case calendars < begun:
		return nil, storage.Invalid("ical", "is cut short: a VCALENDAR has no END")
	}
	return sortDates(dates), nil
}

// eventDates returns the dates an all-day event covers, none for a timed or
// cancelled event.
func eventDates(ev ical.Event, name string) ([]Date, error) {
	start := ev.Props.Get(ical.PropDateTimeStart)
	if start == nil {
		return nil, storage.Invalid(name+".DTSTART", "is missing")
	}
	if !isDate(start) {
		return nil, nil // a timed event
	}
	if st, err := ev.Status(); err == nil && st == ical.EventCancelled {
		return nil, nil
	}
	for _, p := range []string{ical.PropRecurrenceRule, ical.PropRecurrenceDates} {
		if ev.Props.Get(p) != nil {
			return nil, storage.Invalid(name+"."+p, "recurring events are not supported: list each date")
		}
	}
	first, err := time.Parse(icalDate, start.Value)
	if err != nil {
		return nil, storage.Invalid(name+".DTSTART", "%q is not a date", start.Value)
	}
	end := first.AddDate(0, 0, 1)
	if p := ev.Props.Get(ical.PropDateTimeEnd); p != nil {
		if end, err = time.Parse(icalDate, p.Value); err != nil || !isDate(p) {
			return nil, storage.Invalid(name+".DTEND", "%q is not a date", p.Value)
		}
	} else if p := ev.Props.Get(ical.PropDuration); p != nil {
		d, err := p.Duration()
		if err != nil || d%(24*time.Hour) != 0 {
			return nil, storage.Invalid(name+".DURATION", "%q is not a number of days", p.Value)
		}
		end = first.Add(d)
	}
	days := int(end.Sub(first) / (24 * time.Hour))
	switch {
	case days < 1:
		days = 1 // an empty or backwards event: its first day
	case days > maxEventDays:
		return nil, storage.Invalid(name+".DTEND", "the event lasts %d days, more than ten years", days)
	}
	d := DateOf(first)
	dates := make([]Date, days)
	for i := range dates {
		dates[i] = d.AddDays(i)
	}
	return dates, nil
}

// icalDate is the layout of an iCalendar DATE.
const icalDate = "20060102"

// isDate reports whether a property holds a DATE: it says VALUE=DATE, or
// it says no VALUE and its value has the length of a date (as feeds that
// forget VALUE=DATE write it).
func isDate(p *ical.Prop) bool {
	switch v := p.Params.Get(ical.ParamValue); {
	case strings.EqualFold(v, string(ical.ValueDate)):
		return true
	case v == "":
		return len(p.Value) == len(icalDate)
	}
	return false
}

package bizhours

import (
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/crmkit/crm/storage"
)

func TestParseICal(t *testing.T) {
	t.Parallel()
	f, err := os.Open("testdata/holidays.ics")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := ParseICal(f)
	if err != nil {
		t.Fatal(err)
	}
	want := dates(t,
		"2026-01-01",               // DTEND the next day
		"2026-05-01",               // no DTEND: one day
		"2026-07-13", "2026-07-14", // DURATION:P2D
		"2026-11-11", // DTSTART without VALUE=DATE, but a date
		// 24 to 31 December: DTEND 2027-01-01 is excluded.
		"2026-12-24", "2026-12-25", "2026-12-26", "2026-12-27", "2026-12-28", "2026-12-29", "2026-12-30", "2026-12-31",
	) // the timed kick-off and the cancelled Assomption are left out
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseICal (-want +got):\n%s", diff)
	}
}

// ics wraps events in a calendar.
func ics(events ...string) string {
	var b strings.Builder
	b.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n")
	for _, e := range events {
		b.WriteString("BEGIN:VEVENT\r\nUID:x\r\nDTSTAMP:20260101T000000Z\r\n" + e + "END:VEVENT\r\n")
	}
	b.WriteString("END:VCALENDAR\r\n")
	return b.String()
}

func TestParseICalStreams(t *testing.T) {
	t.Parallel()
	two := ics("DTSTART;VALUE=DATE:20261225\r\n") + ics("DTSTART;VALUE=DATE:20260101\r\n", "DTSTART;VALUE=DATE:20261225\r\n")
	got, err := ParseICal(strings.NewReader(two))
	if diff := cmp.Diff(dates(t, "2026-01-01", "2026-12-25"), got); err != nil || diff != "" {
		t.Errorf("two calendars: %v (-want +got):\n%s", err, diff)
	}
	got, err = ParseICal(strings.NewReader(ics("DTSTART:20260310T100000Z\r\nDTEND:20260310T110000Z\r\n")))
	if err != nil || len(got) != 0 {
		t.Errorf("only a timed event: %v, %v; want no dates", got, err)
	}
}

func TestParseICalErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, in, field string
	}{
		{"not iCalendar", "hello\r\n", "ical"},
		{"empty", "", "ical"},
		{"cut short", strings.TrimSuffix(ics("DTSTART;VALUE=DATE:20261225\r\n"), "END:VCALENDAR\r\n"), "ical"},
		{"recurring", ics("DTSTART;VALUE=DATE:20261225\r\n", "DTSTART;VALUE=DATE:20261225\r\nRRULE:FREQ=YEARLY\r\n"), "VEVENT[1].RRULE"},
		{"no DTSTART", ics("SUMMARY:x\r\n"), "VEVENT[0].DTSTART"},
		{"bad date", ics("DTSTART;VALUE=DATE:20261325\r\n"), "VEVENT[0].DTSTART"},
		{"timed DTEND", ics("DTSTART;VALUE=DATE:20261225\r\nDTEND:20261226T000000Z\r\n"), "VEVENT[0].DTEND"},
		{"hours", ics("DTSTART;VALUE=DATE:20261225\r\nDURATION:PT5H\r\n"), "VEVENT[0].DURATION"},
		{"too long", ics("DTSTART;VALUE=DATE:20260101\r\nDTEND;VALUE=DATE:20990101\r\n"), "VEVENT[0].DTEND"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseICal(strings.NewReader(tc.in))
			if fields := fieldsOf(t, err); len(fields) != 1 || fields[0] != tc.field {
				t.Errorf("ParseICal = %v, %v; want ErrInvalid naming %s", got, err, tc.field)
			}
		})
	}
	// A failed read is the reader's error, not bad input.
	boom := errors.New("connection reset")
	_, err := ParseICal(io.MultiReader(strings.NewReader("BEGIN:VCALENDAR\r\n"), &failing{boom}))
	if !errors.Is(err, boom) || errors.Is(err, storage.ErrInvalid) {
		t.Errorf("ParseICal of a failing reader = %v; want it to wrap %v", err, boom)
	}
}

type failing struct{ err error }

func (f *failing) Read([]byte) (int, error) { return 0, f.err }

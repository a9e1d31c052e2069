package bizhours

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rickar/cal/v2"
	"github.com/rickar/cal/v2/fr"
	"github.com/rickar/cal/v2/us"
)

func TestHolidaysFrom(t *testing.T) {
	t.Parallel()
	got, err := HolidaysFrom(fr.Holidays, 2026, 2026)
	if err != nil {
		t.Fatal(err)
	}
	// Easter is on 5 April 2026: Easter Monday the 6th, Ascension 39
	// days after Easter (14 May), Whit Monday 50 days after (25 May).
	want := dates(t, "2026-01-01", "2026-04-06", "2026-05-01", "2026-05-08", "2026-05-14", "2026-05-25",
		"2026-07-14", "2026-08-15", "2026-11-01", "2026-11-11", "2026-12-25")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("France 2026 (-want +got):\n%s", diff)
	}

	got, err = HolidaysFrom(us.Holidays, 2026, 2026)
	if err != nil {
		t.Fatal(err)
	}
	want = dates(t,
		"2026-01-01", "2026-01-19", "2026-02-16", "2026-05-25", "2026-06-19",
		"2026-07-03", // Independence Day is a Saturday: observed on Friday
		"2026-09-07", "2026-10-12", "2026-11-11", "2026-11-26", "2026-12-25")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("United States 2026 (-want +got):\n%s", diff)
	}

	// New Year's Day 2028 is a Saturday, observed on Friday 31 December
	// 2027; the holidays of 2026 to 2028 come in order, each once.
	got, err = HolidaysFrom(append(us.Holidays, us.NewYear), 2026, 2028)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 33 || got[21] != date(t, "2027-12-24") || got[22] != date(t, "2027-12-31") || got[23] != date(t, "2028-01-17") {
		t.Errorf("United States 2026-2028: %d dates %v", len(got), got)
	}

	// They agree with cal.BusinessCalendar's working days.
	bc := cal.NewBusinessCalendar()
	bc.AddHoliday(us.Holidays...)
	got, _ = HolidaysFrom(bc.Holidays, 2026, 2026)
	s := compile(t, Calendar{Location: time.UTC, Week: MondayToFriday(ivs(t, "09:00-17:00")...), Holidays: got})
	for d := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC); d.Year() == 2026; d = d.AddDate(0, 0, 1) {
		if works := s.Working(d); works != bc.IsWorkday(d) {
			t.Errorf("%v: Working %v, IsWorkday %v", d.Format(time.DateOnly), works, bc.IsWorkday(d))
		}
	}

	for _, years := range [][2]int{{2027, 2026}, {0, 2026}, {2026, 10000}} {
		if _, err := HolidaysFrom(fr.Holidays, years[0], years[1]); len(fieldsOf(t, err)) == 0 {
			t.Errorf("HolidaysFrom(%d, %d): no error", years[0], years[1])
		}
	}
}

package bizhours_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/rickar/cal/v2/fr"

	"github.com/crmkit/crm/service/bizhours"
)

// A support desk in Paris works 09:00-12:30 and 13:30-18:00 on weekdays,
// is closed on France's public holidays and closes at noon on Christmas
// Eve. A ticket opened on Wednesday 13 May 2026 at 17:00 with an 8-hour
// resolution target is due on Friday at 17:00: one hour on Wednesday,
// none on Ascension Thursday, seven on Friday.
func Example() {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		panic(err)
	}
	holidays, err := bizhours.HolidaysFrom(fr.Holidays, 2026, 2026)
	if err != nil {
		panic(err)
	}
	desk := bizhours.Calendar{
		Location: paris,
		Week: bizhours.MondayToFriday(
			bizhours.Interval{Start: bizhours.At(9, 0), End: bizhours.At(12, 30)},
			bizhours.Interval{Start: bizhours.At(13, 30), End: bizhours.At(18, 0)},
		),
		Holidays: holidays,
		Overrides: []bizhours.Override{{
			Date:      bizhours.Date{Year: 2026, Month: time.December, Day: 24},
			Intervals: []bizhours.Interval{{Start: bizhours.At(9, 0), End: bizhours.At(12, 0)}},
		}},
	}
	s, err := desk.Compile()
	if err != nil {
		panic(err)
	}

	opened := time.Date(2026, time.May, 13, 17, 0, 0, 0, paris)
	due, err := s.Add(opened, 8*time.Hour)
	if err != nil {
		panic(err)
	}
	fmt.Println("due:", due.Format("Mon 2 Jan 2006 15:04 MST"))
	fmt.Println("working time:", s.Between(opened, due))

	next, err := s.Next(time.Date(2026, time.May, 14, 10, 0, 0, 0, paris))
	if err != nil {
		panic(err)
	}
	fmt.Println("next on Ascension:", next.Format("Mon 2 Jan 15:04"))
	// Output:
	// due: Fri 15 May 2026 17:00 CEST
	// working time: 8h0m0s
	// next on Ascension: Fri 15 May 09:00
}

// ParseICal reads the closures of an iCalendar feed; timed events, such
// as meetings, are not closures.
func ExampleParseICal() {
	feed := strings.Join([]string{
		"BEGIN:VCALENDAR",
		"VERSION:2.0",
		"PRODID:-//Example//Closures//EN",
		"BEGIN:VEVENT",
		"UID:1",
		"DTSTAMP:20260101T000000Z",
		"DTSTART;VALUE=DATE:20260814",
		"DTEND;VALUE=DATE:20260816",
		"SUMMARY:Summer closure",
		"END:VEVENT",
		"BEGIN:VEVENT",
		"UID:2",
		"DTSTAMP:20260101T000000Z",
		"DTSTART:20260814T100000Z",
		"SUMMARY:Team meeting",
		"END:VEVENT",
		"END:VCALENDAR",
	}, "\r\n") + "\r\n"
	dates, err := bizhours.ParseICal(strings.NewReader(feed))
	if err != nil {
		panic(err)
	}
	fmt.Println(dates)
	// Output: [2026-08-14 2026-08-15]
}

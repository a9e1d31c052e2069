package bizhours

import (
	"slices"

	"github.com/rickar/cal/v2"

	"github.com/crmkit/crm/storage"
)

// HolidaysFrom returns the dates on which the holidays are observed in the
// years from to to (inclusive), in order and each once, for a Calendar's
// Holidays. holidays is a list of github.com/rickar/cal/v2, such as
// fr.Holidays or us.Holidays, or a cal.BusinessCalendar's Holidays.
//
// The dates are the observed ones, the days off, as cal.BusinessCalendar's
// IsWorkday counts them: in the United States, Independence Day 2026 (a
// Saturday) is observed on Friday 2026-07-03. An observed date may fall in
// the year before: New Year's Day 2028, a Saturday, is observed on
// 2027-12-31. A holiday not observed in a year (outside its StartYear and
// EndYear, or in its Except) gives no date that year.
//
// The years must be from MinYear to MaxYear, from no later than to, else
// the error is a *storage.ValidationError for the field "from" or "to".
func HolidaysFrom(holidays []*cal.Holiday, from, to int) ([]Date, error) {
	v := &storage.ValidationError{}
	if from < MinYear || from > MaxYear {
		v.Add("from", "%d is not a year from %d to %d", from, MinYear, MaxYear)
	}
	if to < MinYear || to > MaxYear {
		v.Add("to", "%d is not a year from %d to %d", to, MinYear, MaxYear)
	} else if to < from {
		v.Add("to", "%d is before from, %d", to, from)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	var dates []Date
	for y := from; y <= to; y++ {
		for _, h := range holidays {
			if h == nil {
				continue
			}
			if _, observed := h.Calc(y); !observed.IsZero() {
				dates = append(dates, DateOf(observed))
			}
		}
	}
	return sortDates(dates), nil
}

// sortDates sorts the dates and removes repeats.
func sortDates(dates []Date) []Date {
	slices.SortFunc(dates, Date.Compare)
	return slices.Compact(dates)
}

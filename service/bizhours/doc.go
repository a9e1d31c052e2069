// Package bizhours computes business time: when a customer-service target
// of "8 working hours" falls due, how much working time passed between two
// instants, when a team next works. It is pure computation, with no store
// and no network.
//
// # Calendars
//
// A Calendar is plain data: a time zone (an IANA Location such as
// Europe/Paris), the working Intervals of each weekday, Holidays and
// Overrides. A day may have several intervals (a split shift, 09:00-12:00
// and 13:00-17:00) and an interval may run past midnight (22:00-06:00), in
// which case it belongs to the day it starts on: a holiday or an override of
// that day removes it, while one of the next day does not, so a night shift
// that starts the evening before a holiday still runs into the holiday's
// morning. An End of 24:00 (Midnight) works to the end of the day. A Holiday
// is a Date whose own intervals do not start; an Override gives a Date its
// own intervals in place of its weekday's, or none to close it, and wins
// over a holiday of the same date. Dates are civil dates (Date) read in the
// calendar's zone.
//
// Calendar.Validate names every bad field in a *storage.ValidationError;
// Calendar.Compile validates and returns a Schedule, which is immutable and
// safe for concurrent use and whose methods do not allocate:
//
//   - Schedule.Add(t, d) is the instant at which d of working time has
//     passed since t, counting from the next working instant when t is
//     outside working time;
//   - Schedule.Between(a, b) is the working time in [a, b);
//   - Schedule.Next(t) is the first working instant at or after t, and
//     Schedule.Working(t) says whether t is one.
//
// A schedule with no working time left (no intervals at all, or only
// overrides of past dates) makes Add and Next return ErrNoWorkingTime
// rather than search forever.
//
// # Wall clocks and changes of offset
//
// An interval's Start and End are wall-clock times on its date (the next
// date for the End of an overnight interval), and an interval lasts the real
// time between the two instants they name. A wall time that occurs once is
// that instant; one that occurs twice, in the hour a fall-back change
// repeats, is its first occurrence; one that does not occur, in the hour a
// spring-forward change skips, is the instant of the change. In
// Europe/Paris, 01:00-04:00 is 2 hours on 2026-03-29 and 4 hours on
// 2026-10-25; the night shift 22:00-06:00 in America/New_York is 7 hours on
// the night into 2026-03-08 and 9 hours on the night into 2026-11-01. The
// rule gives time.Date's instant wherever a wall time occurs once; unlike
// time.Date, whose choice in a gap or an overlap is unspecified, it never
// lets consecutive intervals overlap once they are instants.
//
// # Holidays from elsewhere
//
// HolidaysFrom lists the observed dates of github.com/rickar/cal/v2's
// holiday definitions (fr.Holidays, us.Holidays, …) over a range of years;
// ParseICal reads the all-day events of an iCalendar feed.
//
// # Cost
//
// Compile sorts each day's intervals and the holidays and overrides once.
// Add and Between then walk the days from t, in O(1) per day, and skip
// whole weeks at once between holidays, overrides and changes of offset,
// so that a year of working time costs about as much as a few weeks.
package bizhours

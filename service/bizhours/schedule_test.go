package bizhours

import (
	"errors"
	"testing"
	"time"

	"github.com/crmkit/crm/storage"
)

// tableCalendars are the calendars of the table test, by name.
func tableCalendars(t *testing.T) map[string]*Schedule {
	t.Helper()
	paris := loadZone(t, "Europe/Paris")
	ny := loadZone(t, "America/New_York")
	weekdays := []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}
	split := every(ivs(t, "13:00-17:00", "09:00-12:00"), weekdays...) // out of order on purpose
	split[time.Saturday] = ivs(t, "10:00-13:00")
	var weekend Week
	weekend[time.Friday] = ivs(t, "20:00-02:00")
	weekend[time.Sunday] = ivs(t, "22:00-06:00")
	weekend[time.Monday] = ivs(t, "09:00-12:00")
	return map[string]*Schedule{
		// Monday to Friday 09:00-17:00 in Paris, with holidays on
		// Friday 1 May, Thursday 14 May and Friday 25 December 2026,
		// three hours on Thursday 24 December, closed on Thursday 31
		// December, and open 10:00-14:00 on Saturday 6 June.
		"office": compile(t, Calendar{
			Location: paris,
			Week:     MondayToFriday(ivs(t, "09:00-17:00")...),
			Holidays: dates(t, "2026-05-01", "2026-05-14", "2026-12-25"),
			Overrides: []Override{
				{Date: date(t, "2026-12-24"), Intervals: ivs(t, "09:00-12:00")},
				{Date: date(t, "2026-12-31")},
				{Date: date(t, "2026-06-06"), Intervals: ivs(t, "10:00-14:00")},
			},
		}),
		// A split shift: 09:00-12:00 and 13:00-17:00 on weekdays,
		// 10:00-13:00 on Saturday.
		"split": compile(t, Calendar{Location: paris, Week: split}),
		// Night shifts Monday to Friday 22:00-06:00 in New York; the
		// Friday 3 July 2026 shift is off.
		"night": compile(t, Calendar{
			Location: ny,
			Week:     every(ivs(t, "22:00-06:00"), weekdays...),
			Holidays: dates(t, "2026-07-03"),
		}),
		// Night shifts every day in New York, through both changes.
		"nightly": compile(t, Calendar{Location: ny, Week: every(ivs(t, "22:00-06:00"))}),
		// 01:00-04:00 every day in Paris: around both changes.
		"early": compile(t, Calendar{Location: paris, Week: every(ivs(t, "01:00-04:00"))}),
		// 02:30-04:00 every day in Paris: starts in the skipped hour and
		// in the repeated one.
		"gap": compile(t, Calendar{Location: paris, Week: every(ivs(t, "02:30-04:00"))}),
		// 02:15-02:45 every day in Paris: wholly in the skipped hour.
		"ingap": compile(t, Calendar{Location: paris, Week: every(ivs(t, "02:15-02:45"))}),
		// 01:30-03:00 every day in New York (its changes are at 02:00).
		"nyearly": compile(t, Calendar{Location: ny, Week: every(ivs(t, "01:30-03:00"))}),
		// Overnight shifts across the weekend in Paris: Friday
		// 20:00-02:00, Sunday 22:00-06:00, then Monday 09:00-12:00;
		// holidays on Friday 1 May and Monday 25 May 2026.
		"weekend": compile(t, Calendar{
			Location: paris,
			Week:     weekend,
			Holidays: dates(t, "2026-05-01", "2026-05-25"),
		}),
		// No working time at all.
		"empty": compile(t, Calendar{Location: paris}),
		// Works only on 24 December 2026, 10:00-12:00 UTC.
		"once": compile(t, Calendar{
			Location:  time.UTC,
			Overrides: []Override{{Date: date(t, "2026-12-24"), Intervals: ivs(t, "10:00-12:00")}},
		}),
		// Monday to Friday 09:00-17:00 UTC.
		"utc": compile(t, Calendar{Location: time.UTC, Week: MondayToFriday(ivs(t, "09:00-17:00")...)}),
	}
}

// TestTable checks Add, Next and Between on hand-computed cases. Instants
// are wall times in the calendar's zone, with the offset where the wall time
// is ambiguous or where the case is about the offset.
func TestTable(t *testing.T) {
	t.Parallel()
	cals := tableCalendars(t)
	type addCase struct {
		cal, t string
		d      time.Duration
		want   string // "" for ErrNoWorkingTime
	}
	adds := []addCase{
		// office: Monday to Friday 09:00-17:00, Paris.
		{"office", "2026-03-02 10:00", time.Hour, "2026-03-02 11:00"},             // inside an interval
		{"office", "2026-03-02 16:30", time.Hour, "2026-03-03 09:30"},             // half today, half tomorrow
		{"office", "2026-03-06 16:00", 2 * time.Hour, "2026-03-09 10:00"},         // Friday over the weekend
		{"office", "2026-03-07 12:00", 30 * time.Minute, "2026-03-09 09:30"},      // Saturday: starts on Monday
		{"office", "2026-03-02 09:00", 8 * time.Hour, "2026-03-02 17:00"},         // ends at an interval's end
		{"office", "2026-03-02 17:00", 0, "2026-03-03 09:00"},                     // at the end: Next
		{"office", "2026-03-02 09:00", 0, "2026-03-02 09:00"},                     // at the start: itself
		{"office", "2026-03-02 08:00", 40 * time.Hour, "2026-03-06 17:00"},        // a working week
		{"office", "2026-04-30 16:00", 2 * time.Hour, "2026-05-04 10:00"},         // over the 1 May holiday
		{"office", "2026-12-23 16:00", 5 * time.Hour, "2026-12-28 10:00"},         // 1h + 3h on 24 Dec, Christmas off
		{"office", "2026-12-30 17:00", time.Hour, "2027-01-01 10:00"},             // 31 Dec closed (1 Jan is not a holiday here)
		{"office", "2026-06-05 16:00", 3 * time.Hour, "2026-06-06 12:00"},         // 1h Friday, then the special Saturday
		{"office", "2026-01-05 09:00", 400 * time.Hour, "2026-03-13 17:00"},       // ten whole weeks, no holiday
		{"office", "2026-03-23 09:00", 200 * time.Hour, "2026-04-24 17:00"},       // five weeks over the change of 29 March
		{"office", "2026-04-27 09:00", 80 * time.Hour, "2026-05-11 17:00"},        // ten days, 1 May skipped
		{"office", "2026-03-02 16:59:59.5", time.Second, "2026-03-03 09:00:00.5"}, // half a second on each side of the night
		{"office", "2026-03-02 08:00 +00:00", time.Hour, "2026-03-02 10:00"},      // t in UTC: 09:00 in Paris
		{"office", "2026-05-13 16:00", 2 * time.Hour, "2026-05-15 10:00"},         // over Ascension, 14 May
		// split: 09:00-12:00 and 13:00-17:00 weekdays, Saturday 10:00-13:00.
		{"split", "2026-03-02 11:30", time.Hour, "2026-03-02 13:30"},
		{"split", "2026-03-02 12:30", 0, "2026-03-02 13:00"},             // lunch: Next
		{"split", "2026-03-02 12:00", 3 * time.Hour, "2026-03-02 16:00"}, // 12:00 is the end, not work
		{"split", "2026-03-06 16:00", 3 * time.Hour, "2026-03-07 12:00"}, // Friday's last hour, then Saturday
		{"split", "2026-03-07 12:30", time.Hour, "2026-03-09 09:30"},     // Saturday's last half hour, then Monday
		{"split", "2026-03-02 09:00", 3 * time.Hour, "2026-03-02 12:00"}, // the morning's end, not 13:00
		// night: Monday to Friday 22:00-06:00, New York; 3 July off.
		{"night", "2026-06-01 23:00", 2 * time.Hour, "2026-06-02 01:00"}, // across midnight
		{"night", "2026-06-02 05:00", 2 * time.Hour, "2026-06-02 23:00"}, // Monday's shift ends, Tuesday's starts
		{"night", "2026-06-06 05:00", 2 * time.Hour, "2026-06-08 23:00"}, // Friday's shift into Saturday, then Monday night
		{"night", "2026-07-02 23:00", 8 * time.Hour, "2026-07-06 23:00"}, // Thursday's shift runs into the holiday (7h); Friday's does not start
		// nightly: every day 22:00-06:00, New York.
		{"nightly", "2026-03-07 22:00", 7 * time.Hour, "2026-03-08 06:00"},        // the short night is 7 real hours
		{"nightly", "2026-03-07 23:00", 3 * time.Hour, "2026-03-08 03:00 -04:00"}, // 04:00Z+3h = 07:00Z
		{"nightly", "2026-10-31 23:00", 2 * time.Hour, "2026-11-01 01:00 -04:00"}, // first 01:00
		{"nightly", "2026-10-31 23:00", 3 * time.Hour, "2026-11-01 01:00 -05:00"}, // second 01:00
		{"nightly", "2026-10-31 22:00", 9 * time.Hour, "2026-11-01 06:00 -05:00"}, // the long night is 9 real hours
		// early: every day 01:00-04:00, Paris.
		{"early", "2026-03-29 01:00", 90 * time.Minute, "2026-03-29 03:30 +02:00"},     // 00:00Z+1h30 = 01:30Z
		{"early", "2026-10-25 01:00 +02:00", 3 * time.Hour, "2026-10-25 03:00 +01:00"}, // 23:00Z+3h = 02:00Z
		{"early", "2026-03-29 01:00", 2 * time.Hour, "2026-03-29 04:00 +02:00"},        // the whole short day
		{"early", "2026-03-29 01:00", 3 * time.Hour, "2026-03-30 02:00 +02:00"},        // 2h, then 1h on Monday
		// gap: every day 02:30-04:00, Paris.
		{"gap", "2026-10-25 00:00", time.Hour, "2026-10-25 02:30 +01:00"}, // from the first 02:30 (00:30Z) to the second (01:30Z)
		// nyearly: every day 01:30-03:00, New York.
		{"nyearly", "2026-11-01 01:45 -05:00", 30 * time.Minute, "2026-11-01 02:15 -05:00"}, // in the repeated hour
		{"nyearly", "2026-03-08 01:45 -05:00", 30 * time.Minute, "2026-03-09 01:45 -04:00"}, // 15 min to 03:00 EDT, 15 on Monday
		// weekend: Friday 20:00-02:00, Sunday 22:00-06:00, Monday 09:00-12:00.
		{"weekend", "2026-03-06 21:00", 3 * time.Hour, "2026-03-07 00:00"},  // into Saturday
		{"weekend", "2026-03-07 01:00", 2 * time.Hour, "2026-03-08 23:00"},  // Friday's shift ends at 02:00 Saturday
		{"weekend", "2026-03-08 23:00", 10 * time.Hour, "2026-03-09 12:00"}, // 7h to 06:00, 3h in the morning
		{"weekend", "2026-05-24 22:00", 9 * time.Hour, "2026-05-29 21:00"},  // into the Monday holiday to 06:00, whose morning is off
		// empty and once: no working time, then none left.
		{"empty", "2026-03-02 10:00", time.Hour, ""},
		{"empty", "2026-03-02 10:00", 0, ""},
		{"once", "2026-01-01 00:00", 0, "2026-12-24 10:00"},
		{"once", "2026-12-24 11:00", time.Hour, "2026-12-24 12:00"},
		{"once", "2026-12-24 11:00", 2 * time.Hour, ""}, // one hour left
		{"once", "2026-12-24 12:00", 0, ""},
		// utc: leap days.
		{"utc", "2028-02-28 16:00", 2 * time.Hour, "2028-02-29 10:00"}, // 2028 is a leap year
		{"utc", "2100-02-26 16:00", 2 * time.Hour, "2100-03-01 10:00"}, // 2100 is not: Saturday 27, Sunday 28, Monday 1 March
	}
	for _, tc := range adds {
		s := cals[tc.cal]
		from := instantIn(t, s.Location(), tc.t)
		got, err := s.Add(from, tc.d)
		if tc.want == "" {
			if !errors.Is(err, ErrNoWorkingTime) {
				t.Errorf("%s: Add(%s, %v) = %v, %v; want ErrNoWorkingTime", tc.cal, tc.t, tc.d, got, err)
			}
			continue
		}
		want := instantIn(t, s.Location(), tc.want)
		if err != nil || !got.Equal(want) {
			t.Errorf("%s: Add(%s, %v) = %v, %v; want %v", tc.cal, tc.t, tc.d, got, err, want)
		}
	}

	type nextCase struct{ cal, t, want string }
	nexts := []nextCase{
		{"office", "2026-03-06 17:00", "2026-03-09 09:00"},              // Friday's end
		{"office", "2026-12-31 10:00", "2027-01-01 09:00"},              // the closed day
		{"office", "2026-12-24 12:00", "2026-12-28 09:00"},              // after the short day, over Christmas
		{"office", "2026-03-02 16:59:59", "2026-03-02 16:59:59"},        // inside: itself
		{"night", "2026-06-07 12:00", "2026-06-08 22:00"},               // Sunday: Monday night
		{"night", "2026-06-01 03:00", "2026-06-01 22:00"},               // early Monday belongs to Sunday night, off
		{"night", "2026-06-02 03:00", "2026-06-02 03:00"},               // early Tuesday is Monday's shift
		{"night", "2026-07-03 03:00", "2026-07-03 03:00"},               // Thursday's shift in the holiday's morning
		{"early", "2026-10-25 02:30 +01:00", "2026-10-25 02:30 +01:00"}, // the second 02:30 is inside 01:00 CEST-04:00 CET
		{"gap", "2026-03-29 00:00", "2026-03-29 03:00 +02:00"},          // 02:30 does not occur: the instant of the change
		{"ingap", "2026-03-29 00:00", "2026-03-30 02:15"},               // empty on the day of the change
		{"weekend", "2026-05-02 01:00", "2026-05-03 22:00"},             // the holiday's Friday shift did not start
	}
	for _, tc := range nexts {
		s := cals[tc.cal]
		from := instantIn(t, s.Location(), tc.t)
		want := instantIn(t, s.Location(), tc.want)
		got, err := s.Next(from)
		if err != nil || !got.Equal(want) {
			t.Errorf("%s: Next(%s) = %v, %v; want %v", tc.cal, tc.t, got, err, want)
		}
		if w := s.Working(from); w != from.Equal(want) {
			t.Errorf("%s: Working(%s) = %v", tc.cal, tc.t, w)
		}
	}

	type betweenCase struct {
		cal, a, b string
		want      time.Duration
	}
	betweens := []betweenCase{
		{"office", "2026-03-02 10:00", "2026-03-02 10:00", 0},
		{"office", "2026-03-03 10:00", "2026-03-02 10:00", 0}, // b before a
		{"office", "2026-03-02 00:00", "2026-03-09 00:00", 40 * time.Hour},
		{"office", "2026-12-24 00:00", "2027-01-01 00:00", 27 * time.Hour}, // 3h, Christmas off, 3 x 8h, 31st closed
		// 2026 has 261 weekdays; 4 are off (1 May, 14 May, 25 Dec, 31 Dec),
		// 24 Dec has 5h less, Saturday 6 June 4h more: 257*8-5+4.
		{"office", "2026-01-01 00:00", "2027-01-01 00:00", 2055 * time.Hour},
		{"office", "2026-03-02 16:30", "2026-03-03 09:30", time.Hour},
		{"office", "2026-03-02 08:59:59.25", "2026-03-02 09:00:00.75", 750 * time.Millisecond},
		{"split", "2026-03-02 08:00", "2026-03-02 18:00", 7 * time.Hour},
		{"split", "2026-03-02 11:00", "2026-03-02 14:00", 2 * time.Hour},
		{"split", "2026-03-06 00:00", "2026-03-09 00:00", 10 * time.Hour}, // Friday 7h, Saturday 3h
		{"split", "2026-03-02 00:00", "2026-03-09 00:00", 38 * time.Hour},
		// Wednesday's shift from midnight (6h), Thursday's (8h), none on
		// the holiday, Monday's to midnight (2h).
		{"night", "2026-07-02 00:00", "2026-07-07 00:00", 16 * time.Hour},
		{"night", "2026-06-05 22:00", "2026-06-06 06:00", 8 * time.Hour},
		{"nightly", "2026-03-07 22:00", "2026-03-08 06:00", 7 * time.Hour},
		{"nightly", "2026-10-31 22:00", "2026-11-01 06:00", 9 * time.Hour},
		// Sunday 8 March: Saturday's shift from 00:00 EST (05:00Z) to
		// 06:00 EDT (10:00Z), 5h, then 22:00-24:00.
		{"nightly", "2026-03-08 00:00", "2026-03-09 00:00", 7 * time.Hour},
		{"early", "2026-03-29 00:00", "2026-03-30 00:00", 2 * time.Hour},
		{"early", "2026-10-25 00:00", "2026-10-26 00:00", 4 * time.Hour},
		{"early", "2026-03-28 00:00", "2026-03-31 00:00", 8 * time.Hour},       // 3 + 2 + 3
		{"gap", "2026-03-29 00:00", "2026-03-30 00:00", time.Hour},             // 03:00-04:00 CEST
		{"gap", "2026-10-25 00:00", "2026-10-26 00:00", 150 * time.Minute},     // 00:30Z-03:00Z
		{"ingap", "2026-03-28 00:00", "2026-03-31 00:00", time.Hour},           // 30 min, none, 30 min
		{"nyearly", "2026-03-08 00:00", "2026-03-09 00:00", 30 * time.Minute},  // 06:30Z-07:00Z
		{"nyearly", "2026-11-01 00:00", "2026-11-02 00:00", 150 * time.Minute}, // 05:30Z-08:00Z
		{"weekend", "2026-04-30 00:00", "2026-05-04 00:00", 2 * time.Hour},     // the holiday's Friday shift off; Sunday to midnight
		{"weekend", "2026-03-09 00:00", "2026-03-16 00:00", 17 * time.Hour},    // 6 + 3 + 6 + 2
		{"weekend", "2026-03-28 00:00", "2026-03-30 00:00", 4 * time.Hour},     // Friday's 2h after midnight, Sunday 22:00-24:00 CEST
		{"once", "2020-01-01 00:00", "2030-01-01 00:00", 2 * time.Hour},
		{"empty", "2020-01-01 00:00", "2030-01-01 00:00", 0},
		{"utc", "2028-02-28 00:00", "2028-03-01 00:00", 16 * time.Hour},
		{"utc", "2100-02-26 00:00", "2100-03-02 00:00", 16 * time.Hour}, // Friday and Monday
	}
	for _, tc := range betweens {
		s := cals[tc.cal]
		a, b := instantIn(t, s.Location(), tc.a), instantIn(t, s.Location(), tc.b)
		if got := s.Between(a, b); got != tc.want {
			t.Errorf("%s: Between(%s, %s) = %v; want %v", tc.cal, tc.a, tc.b, got, tc.want)
		}
	}
	if n := len(adds) + len(nexts) + len(betweens); n < 60 {
		t.Errorf("%d cases; want at least 60", n)
	}
}

func TestAddNegative(t *testing.T) {
	t.Parallel()
	s := tableCalendars(t)["office"]
	_, err := s.Add(time.Now(), -time.Second)
	var v *storage.ValidationError
	if !errors.Is(err, storage.ErrInvalid) || !errors.As(err, &v) || v.Fields[0].Field != "d" {
		t.Fatalf("Add(-1s) = %v; want ErrInvalid naming d", err)
	}
}

func TestResultLocation(t *testing.T) {
	t.Parallel()
	s := tableCalendars(t)["office"]
	got, err := s.Add(time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC), time.Hour)
	if err != nil || got.Location() != s.Location() {
		t.Fatalf("Add = %v, %v; want a time in %v", got, err, s.Location())
	}
}

func TestAllocations(t *testing.T) {
	s := tableCalendars(t)["office"]
	from := time.Date(2026, 4, 29, 15, 0, 0, 0, s.Location())
	allocs := testing.AllocsPerRun(100, func() {
		end, _ := s.Add(from, 30*time.Hour)
		_ = s.Between(from, end)
		_, _ = s.Next(end)
	})
	if allocs != 0 {
		t.Errorf("Add, Between and Next allocate %v times; want 0", allocs)
	}
}

// TestZoneBoundsBug checks the last days of leap years under zones' POSIX
// TZ rules, where time.Time.ZoneBounds reports an end before the instant
// (golang/go#81583).
func TestZoneBoundsBug(t *testing.T) {
	t.Parallel()
	cases := []struct {
		zone, iv, a, b string
		want           time.Duration
	}{
		{"Europe/Paris", "09:00-17:00", "2040-12-30 00:00", "2041-01-02 00:00", 24 * time.Hour},
		{"Europe/Warsaw", "09:00-17:00", "2040-12-30 00:00", "2041-01-02 00:00", 24 * time.Hour},
		// 6h of the night of the 29th, two whole nights, 2h of the last.
		{"Australia/Lord_Howe", "22:00-06:00", "2052-12-30 00:00", "2053-01-02 00:00", 24 * time.Hour},
	}
	for _, tc := range cases {
		loc := loadZone(t, tc.zone)
		s := compile(t, Calendar{Location: loc, Week: every(ivs(t, tc.iv))})
		a, b := instantIn(t, loc, tc.a), instantIn(t, loc, tc.b)
		if got := s.Between(a, b); got != tc.want {
			t.Errorf("%s: Between(%s, %s) = %v; want %v", tc.zone, tc.a, tc.b, got, tc.want)
		}
		if got, err := s.Add(a, tc.want); err != nil || !got.Equal(b) && s.Between(got, b) != 0 {
			t.Errorf("%s: Add(%s, %v) = %v, %v; want the last working instant before %s", tc.zone, tc.a, tc.want, got, err, tc.b)
		}
	}
}

// TestExtremes checks instants far from today and durations near the
// largest time.Duration.
func TestExtremes(t *testing.T) {
	t.Parallel()
	paris := loadZone(t, "Europe/Paris")
	always := compile(t, Calendar{Location: time.UTC, Week: every(ivs(t, "00:00-24:00"))})
	from := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	const most = time.Duration(1<<63 - 1)
	// Working all the time in UTC, working time is real time.
	if got, err := always.Add(from, most); err != nil || !got.Equal(from.Add(most)) {
		t.Errorf("always: Add(%v, max) = %v, %v; want %v", from, got, err, from.Add(most))
	}
	if got := always.Between(from, from.Add(most)); got != most {
		t.Errorf("always: Between over the largest Duration = %v", got)
	}
	if got := always.Between(time.Time{}, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)); got != most {
		t.Errorf("always: Between(year 1, year 9999) = %v; want it saturated", got)
	}
	office := tableCalendars(t)["office"]
	// Monday 1 January of year 1, proleptic Gregorian, when Paris kept its
	// local mean time: 09:00 to 17:00 on its wall clock.
	year1 := time.Date(1, 1, 1, 0, 0, 0, 0, paris)
	if got, err := office.Add(year1, 8*time.Hour); err != nil || !got.Equal(time.Date(1, 1, 1, 17, 0, 0, 0, paris)) {
		t.Errorf("office: Add(year 1, 8h) = %v, %v", got, err)
	}
	// Any seven days in a row hold five weekdays, in the year 3000 too.
	y3000 := time.Date(3000, 6, 1, 0, 0, 0, 0, paris)
	if got := office.Between(y3000, y3000.AddDate(0, 0, 7)); got != 40*time.Hour {
		t.Errorf("office: a week of 3000 = %v; want 40h", got)
	}
	var zero Schedule
	if _, err := zero.Add(from, time.Hour); !errors.Is(err, ErrNoWorkingTime) || zero.Between(from, from.Add(time.Hour)) != 0 || zero.Working(from) {
		t.Errorf("the zero Schedule works: %v", err)
	}
}

// TestConcurrent runs one Schedule from several goroutines (run it with
// -race).
func TestConcurrent(t *testing.T) {
	t.Parallel()
	s := tableCalendars(t)["office"]
	from := time.Date(2026, 4, 20, 9, 30, 0, 0, s.Location())
	want, err := s.Add(from, 100*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan time.Time)
	for range 4 {
		go func() {
			var got time.Time
			for range 1000 {
				got, _ = s.Add(from, 100*time.Hour)
				_ = s.Between(from, got)
			}
			done <- got
		}()
	}
	for range 4 {
		if got := <-done; !got.Equal(want) {
			t.Errorf("concurrent Add = %v; want %v", got, want)
		}
	}
}

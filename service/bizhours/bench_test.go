package bizhours

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/rickar/cal/v2/fr"
)

var sinkTime time.Time

// benchSchedule is Monday to Friday 09:00-17:00 in Paris with the twelve
// closed days of 2026 (France's eleven holidays and 24 December), and
// random instants of 2026 with durations from 30 minutes to 3 days (72
// hours of working time).
func benchSchedule(b *testing.B) (*Schedule, []time.Time, []time.Duration) {
	b.Helper()
	paris := loadZone(b, "Europe/Paris")
	holidays, err := HolidaysFrom(fr.Holidays, 2026, 2026)
	if err != nil {
		b.Fatal(err)
	}
	s := compile(b, Calendar{
		Location: paris,
		Week:     MondayToFriday(ivs(b, "09:00-17:00")...),
		Holidays: append(holidays, date(b, "2026-12-24")),
	})
	r := rand.New(rand.NewPCG(1, 2))
	const n = 4096
	ts, ds := make([]time.Time, n), make([]time.Duration, n)
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, paris)
	for i := range ts {
		ts[i] = from.Add(time.Duration(r.Int64N(int64(365 * 24 * time.Hour))))
		ds[i] = 30*time.Minute + time.Duration(r.Int64N(int64(72*time.Hour-30*time.Minute)))
	}
	return s, ts, ds
}

// BenchmarkAdd measures Add for durations from 30 minutes to 3 days.
func BenchmarkAdd(b *testing.B) {
	s, ts, ds := benchSchedule(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := i % len(ts)
		sinkTime, _ = s.Add(ts[j], ds[j])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "adds/s")
}

// BenchmarkAddYear measures Add for a year of working time (about 2000
// hours), which skips whole weeks.
func BenchmarkAddYear(b *testing.B) {
	s, ts, _ := benchSchedule(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sinkTime, _ = s.Add(ts[i%len(ts)], 2000*time.Hour)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "adds/s")
}

// BenchmarkBetween measures Between over the same spans as BenchmarkAdd.
func BenchmarkBetween(b *testing.B) {
	s, ts, ds := benchSchedule(b)
	ends := make([]time.Time, len(ts))
	for i := range ts {
		ends[i] = ts[i].Add(2 * ds[i])
	}
	b.ReportAllocs()
	b.ResetTimer()
	var total time.Duration
	for i := 0; i < b.N; i++ {
		j := i % len(ts)
		total += s.Between(ts[j], ends[j])
	}
	_ = total
}

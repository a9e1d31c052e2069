package testdb

import (
	"slices"
	"testing"
	"time"
)

// Interleave times crm and raw in turn in each iteration of b (their order
// alternating, so that the machine's drift falls on both) and reports their
// medians in unit ("ms" or "µs") and their ratio: the shape of every
// benchmark that puts the CRM beside hand-written SQL.
func Interleave(b *testing.B, unit string, crm, raw func() error) {
	b.Helper()
	scale := map[string]time.Duration{"ms": time.Millisecond, "µs": time.Microsecond}[unit]
	var crmT, rawT []time.Duration
	run := func(fn func() error, into *[]time.Duration) {
		t0 := time.Now()
		if err := fn(); err != nil {
			b.Fatal(err)
		}
		*into = append(*into, time.Since(t0))
	}
	i := 0
	for b.Loop() {
		if i%2 == 0 {
			run(crm, &crmT)
			run(raw, &rawT)
		} else {
			run(raw, &rawT)
			run(crm, &crmT)
		}
		i++
	}
	med := func(d []time.Duration) float64 {
		d = slices.Clone(d)
		slices.Sort(d)
		return float64(d[len(d)/2]) / float64(scale)
	}
	b.ReportMetric(med(crmT), "crm-"+unit)
	b.ReportMetric(med(rawT), "raw-"+unit)
	b.ReportMetric(med(crmT)/med(rawT), "crm/raw")
	b.ReportMetric(0, "ns/op")
}

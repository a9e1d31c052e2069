package bunstore_test

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
)

// interleavedN numbers the contacts benchInterleaved creates, across the
// runs of a benchmark (-count), so that their emails stay unique.
var interleavedN atomic.Int64

// variant is one way of running the CRM's calls in benchInterleaved.
type variant struct {
	name string
	svc  *contacts.Service
	ctx  context.Context
}

// benchInterleaved times, in every iteration and in turn, a create, a get
// and a list page of the raw SQL baseline and of each variant, so that a
// swing of the machine's speed hits them all alike; it reports the median
// of each (µs) and each variant's ratio to raw.
func benchInterleaved(b *testing.B, raw *rawContacts, vs []variant, input func(i int) contacts.NewContact, ids []string, listQ storage.ListQuery) {
	ctx := vs[0].ctx
	ops := []string{"create", "get", "list"}
	times := map[string][]time.Duration{}
	timed := func(key string, fn func() error) {
		start := time.Now()
		if err := fn(); err != nil {
			b.Fatalf("%s: %v", key, err)
		}
		times[key] = append(times[key], time.Since(start))
	}
	i := 0
	for b.Loop() {
		id := ids[(i*7)%len(ids)]
		i++
		timed("create/raw", func() error { return raw.create(ctx, input(1<<20+int(interleavedN.Add(1)))) })
		timed("get/raw", func() error { _, err := raw.get(ctx, id); return err })
		timed("list/raw", func() error { _, err := raw.list(ctx, string(contacts.LifecycleCustomer)); return err })
		for _, v := range vs {
			timed("create/"+v.name, func() error {
				_, err := v.svc.Contacts.Create(v.ctx, input(1<<20+int(interleavedN.Add(1))))
				return err
			})
			timed("get/"+v.name, func() error { _, err := v.svc.Contacts.Get(v.ctx, id); return err })
			timed("list/"+v.name, func() error { _, err := v.svc.Contacts.List(v.ctx, listQ); return err })
		}
	}
	med := func(key string) float64 {
		d := slices.Clone(times[key])
		slices.Sort(d)
		return float64(d[len(d)/2]) / float64(time.Microsecond)
	}
	for _, op := range ops {
		r := med(op + "/raw")
		b.ReportMetric(r, op+"-raw-µs")
		for _, v := range vs {
			c := med(op + "/" + v.name)
			b.ReportMetric(c, op+"-"+v.name+"-µs")
			b.ReportMetric(c/r, op+"-"+v.name+"/raw")
		}
	}
	b.ReportMetric(0, "ns/op")
}

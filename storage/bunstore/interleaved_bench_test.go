package bunstore_test

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/internal/testdb"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/bunstore"
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
	// Each iteration runs raw and every variant once per operation, in an
	// order that rotates, so that none always runs first (cold) or last
	// (after the others warmed the same row).
	type runner struct {
		name              string
		create, get, list func(id string) error
	}
	runners := []runner{{"raw",
		func(string) error { return raw.create(ctx, input(1<<20+int(interleavedN.Add(1)))) },
		func(id string) error { _, err := raw.get(ctx, id); return err },
		func(string) error { _, err := raw.list(ctx, string(contacts.LifecycleCustomer)); return err }}}
	for _, v := range vs {
		runners = append(runners, runner{v.name,
			func(string) error {
				_, err := v.svc.Contacts.Create(v.ctx, input(1<<20+int(interleavedN.Add(1))))
				return err
			},
			func(id string) error { _, err := v.svc.Contacts.Get(v.ctx, id); return err },
			func(string) error { _, err := v.svc.Contacts.List(v.ctx, listQ); return err }})
	}
	i := 0
	for b.Loop() {
		id := ids[(i*7)%len(ids)]
		for k := range runners {
			r := runners[(i+k)%len(runners)]
			timed("create/"+r.name, func() error { return r.create(id) })
			timed("get/"+r.name, func() error { return r.get(id) })
			timed("list/"+r.name, func() error { return r.list(id) })
		}
		i++
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

// noHook is a bun.QueryHook that does nothing: what a hook costs the
// store, beside what the hook itself does.
type noHook struct{}

func (noHook) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context { return ctx }
func (noHook) AfterQuery(context.Context, *bun.QueryEvent)                        {}

// hookedStore returns a second store on the databases of s whose
// statements go through a hook that does nothing. The benchmark runs one
// call at a time, so the two stores never write at once.
func hookedStore(b *testing.B, s *bunstore.Store) *bunstore.Store {
	b.Helper()
	opts := bunstore.Options{QueryHooks: []bun.QueryHook{noHook{}}}
	if s.ReadDB() != s.DB() {
		opts.ReadDB = s.ReadDB()
	}
	h, err := bunstore.New(s.DB(), opts)
	if err != nil {
		b.Fatal(err)
	}
	if err := h.Register(b.Context(), s.Modules()...); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { h.Close() })
	return h
}

// onBoth runs fn as a sub-benchmark on a new SQLite file and on a new
// Postgres schema, with a context in workspace "bench".
func onBoth(b *testing.B, fn func(b *testing.B, store *bunstore.Store, ctx context.Context)) {
	for _, db := range []string{"sqlite", "postgres"} {
		b.Run(db, func(b *testing.B) {
			var store *bunstore.Store
			if db == "sqlite" {
				store = testdb.SQLite(b)
			} else {
				store = testdb.Postgres(b)
			}
			fn(b, store, storage.WithWorkspace(b.Context(), "bench"))
		})
	}
}

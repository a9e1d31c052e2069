package storagetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
)

var errAbort = errors.New("abort")

func testRollback(t *testing.T, h Harness) {
	e := newEnv(t, h)
	err := e.store.RunInTx(e.ctx, func(ctx context.Context) error {
		_, err := e.svc.Fields.Define(ctx, contacts.NewFieldDef{Object: contacts.ObjectContact, Name: "tier", Type: contacts.FieldText})
		must(t, "define", err)
		a := e.account(ctx, contacts.NewAccount{Name: "Ghost Inc", Domain: "ghost.example"})
		c := e.contact(ctx, contacts.NewContact{FirstName: "Casper", Email: "casper@ghost.example", AccountID: a.ID, Custom: map[string]any{"tier": "x"}})
		_, err = e.svc.Activities.Log(ctx, contacts.NewActivity{Kind: contacts.KindCall, Subject: "Boo", ContactIDs: []string{c.ID}})
		must(t, "log", err)
		_, err = e.svc.Contacts.Update(ctx, c.ID, contacts.UpdateContact{JobTitle: ptr("Haunter")})
		must(t, "update", err)
		// Inside the transaction its own writes are visible.
		if n := count(t, ctx, storage.TableOf[*contacts.Contact](e.store)); n != 1 {
			t.Errorf("inside the transaction: %d contacts", n)
		}
		return errAbort
	})
	if !errors.Is(err, errAbort) {
		t.Fatalf("RunInTx returned %v, want fn's error", err)
	}
	if n := e.counts(e.ctx); n != (counts{}) {
		t.Fatalf("rolled-back transaction left %+v", n)
	}
	if hits, err := e.svc.Search(e.ctx, "casper", 0); err != nil || len(hits) != 0 {
		t.Fatalf("rolled-back transaction left search hits %v (%v)", hits, err)
	}
	// A service call that fails half way (the second contact collides)
	// inside a transaction rolls back the first one too.
	e.contact(e.ctx, contacts.NewContact{FirstName: "Taken", Email: "taken@example.com"})
	before := e.counts(e.ctx)
	err = e.store.RunInTx(e.ctx, func(ctx context.Context) error {
		e.contact(ctx, contacts.NewContact{FirstName: "Fresh", Email: "fresh@example.com"})
		_, err := e.svc.Contacts.Create(ctx, contacts.NewContact{FirstName: "Dup", Email: "taken@example.com"})
		return err
	})
	wantErr(t, "transaction with a conflict", err, storage.ErrConflict)
	if after := e.counts(e.ctx); after != before {
		t.Fatalf("failed transaction wrote: before %+v, after %+v", before, after)
	}
	// A panic rolls back too, and the store stays usable.
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("the panic did not propagate")
			}
		}()
		_ = e.store.RunInTx(e.ctx, func(ctx context.Context) error {
			e.contact(ctx, contacts.NewContact{FirstName: "Panic"})
			panic("boom")
		})
	}()
	if after := e.counts(e.ctx); after != before {
		t.Fatalf("panicking transaction wrote: before %+v, after %+v", before, after)
	}
	e.contact(e.ctx, contacts.NewContact{FirstName: "After the panic"})
}

func testNestedTx(t *testing.T, h Harness) {
	e := newEnv(t, h)
	if storage.InTx(e.ctx, e.store) {
		t.Error("InTx outside a transaction")
	}
	var id string
	err := e.store.RunInTx(e.ctx, func(ctx context.Context) error {
		return e.store.RunInTx(ctx, func(ctx context.Context) error {
			if !storage.InTx(ctx, e.store) {
				t.Error("not InTx in a nested transaction")
			}
			id = e.contact(ctx, contacts.NewContact{FirstName: "Inner"}).ID
			return nil
		})
	})
	must(t, "nested commit", err)
	_, err = e.svc.Contacts.Get(e.ctx, id)
	must(t, "get after nested commit", err)

	// An inner failure the outer function returns rolls back everything.
	err = e.store.RunInTx(e.ctx, func(ctx context.Context) error {
		e.contact(ctx, contacts.NewContact{FirstName: "Outer"})
		return e.store.RunInTx(ctx, func(ctx context.Context) error {
			e.contact(ctx, contacts.NewContact{FirstName: "Inner 2"})
			return errAbort
		})
	})
	wantErr(t, "nested rollback", err, errAbort)
	if n := e.counts(e.ctx); n.Contacts != 1 || n.Events != 1 {
		t.Fatalf("after nested rollback: %+v, want the one committed contact", n)
	}
}

// testConcurrentUpdates runs 50 goroutines that each add their own tag to one
// contact by read-modify-write with the version read. Each write succeeds or
// is ErrStale (and is retried); no tag may be lost.
func testConcurrentUpdates(t *testing.T, h Harness) {
	e := newEnv(t, h)
	c := e.contact(e.ctx, contacts.NewContact{FirstName: "Counter"})
	const workers = 50
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		stales int
	)
	errs := make(chan error, workers)
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tag := fmt.Sprintf("w%02d", i)
			for attempt := 0; ; attempt++ {
				if attempt > 10000 {
					errs <- fmt.Errorf("%s: gave up", tag)
					return
				}
				cur, err := e.svc.Contacts.Get(e.ctx, c.ID)
				if err != nil {
					errs <- err
					return
				}
				tags := append(slices.Clone(cur.Tags), tag)
				_, err = e.svc.Contacts.Update(e.ctx, c.ID, contacts.UpdateContact{Version: cur.Version, Tags: &tags})
				if errors.Is(err, storage.ErrStale) {
					mu.Lock()
					stales++
					mu.Unlock()
					continue
				}
				if err != nil {
					errs <- fmt.Errorf("%s: %w", tag, err)
				}
				return
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if h.IsBusy(err) {
			t.Errorf("busy error reached the caller: %v", err)
		}
		t.Errorf("update: %v", err)
	}
	got, err := e.svc.Contacts.Get(e.ctx, c.ID)
	must(t, "get", err)
	if len(got.Tags) != workers || got.Version != workers+1 {
		t.Fatalf("after %d updates: %d tags, version %d; lost updates (%d stale retries)", workers, len(got.Tags), got.Version, stales)
	}
	hist := 0
	for _, ev := range e.events(e.ctx) {
		if ev.Subject.ID == c.ID && ev.Type == "contact.updated" {
			hist++
		}
	}
	if hist != workers {
		t.Fatalf("%d update events, want %d", hist, workers)
	}
	t.Logf("%d updates, %d stale retries", workers, stales)
}

// testConcurrentAddTags adds 80 tags to one contact from 80 goroutines at
// once, with AddTags, which names no version: every tag is kept, and no
// caller sees ErrStale (the store reads the record again and reapplies).
func testConcurrentAddTags(t *testing.T, h Harness) {
	e := newEnv(t, h)
	c := e.contact(e.ctx, contacts.NewContact{FirstName: "Tagged"})
	const workers = 80
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.svc.Contacts.AddTags(e.ctx, c.ID, fmt.Sprintf("t%02d", i)); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("AddTags: %v", err)
	}
	got, err := e.svc.Contacts.Get(e.ctx, c.ID)
	must(t, "get", err)
	if len(got.Tags) != workers {
		t.Fatalf("after %d concurrent AddTags: %d tags", workers, len(got.Tags))
	}
}

// testConcurrentWriters runs 32 goroutines × 200 writes (creates and
// updates): none may fail, and none may see "database is busy".
func testConcurrentWriters(t *testing.T, h Harness) {
	e := newEnv(t, h)
	const workers, writes = 32, 200
	var wg sync.WaitGroup
	errs := make(chan error, workers*writes)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var last *contacts.Contact
			for i := range writes {
				var err error
				if last == nil || i%2 == 0 {
					last, err = e.svc.Contacts.Create(e.ctx, contacts.NewContact{
						FirstName: fmt.Sprintf("W%d", w), LastName: name(i), Email: fmt.Sprintf("w%d.%d@example.com", w, i),
					})
				} else {
					last, err = e.svc.Contacts.Update(e.ctx, last.ID, contacts.UpdateContact{Version: last.Version, JobTitle: ptr(name(i))})
				}
				if err != nil {
					errs <- err
					if last == nil {
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	busy, failed := 0, 0
	for err := range errs {
		if h.IsBusy(err) {
			busy++
		}
		if failed++; failed <= 5 {
			t.Errorf("write: %v", err)
		}
	}
	if busy > 0 || failed > 0 {
		t.Fatalf("%d writes failed, %d of them busy", failed, busy)
	}
	if n := e.counts(e.ctx); n.Contacts != workers*writes/2 || n.Events != workers*writes {
		t.Fatalf("after %d writes: %+v", workers*writes, n)
	}
}

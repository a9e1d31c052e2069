package ctxmemo_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/internal/ctxmemo"
)

// TestGetPut checks that Get computes a value once per principal
// context, that Put gives it one Get returns without computing, that
// a value kept stays, and that without a principal neither keeps anything.
func TestGetPut(t *testing.T) {
	ctx := context.Background()
	p := &storage.Principal{MemberID: "m"}
	calls := 0
	compute := func() (string, error) { calls++; return fmt.Sprint("computed ", calls), nil }

	pctx := storage.WithPrincipal(ctx, p)
	for range 2 {
		if v, err := ctxmemo.Get(pctx, "k", compute); err != nil || v != "computed 1" {
			t.Errorf("Get = %q, %v; want the first computed value", v, err)
		}
	}
	ctxmemo.Put(pctx, "k", "remembered")
	if v, _ := ctxmemo.Get(pctx, "k", compute); v != "computed 1" {
		t.Errorf("Get after Put of a kept key = %q, want the value kept first", v)
	}

	pctx = storage.WithPrincipal(ctx, p)
	ctxmemo.Put(pctx, "k", "remembered")
	if v, _ := ctxmemo.Get(pctx, "k", compute); v != "remembered" || calls != 1 {
		t.Errorf("Get after Put = %q with %d computations, want the value remembered and 1", v, calls)
	}

	if _, err := ctxmemo.Get(pctx, "failing", func() (string, error) { return "", errors.New("no") }); err == nil {
		t.Error("Get lost fn's error")
	}
	if v, _ := ctxmemo.Get(pctx, "failing", compute); v != "computed 2" {
		t.Errorf("Get after an error = %q, want a new computation", v)
	}

	ctxmemo.Put(ctx, "k", "remembered")
	if v, _ := ctxmemo.Get(ctx, "k", compute); v != "computed 3" {
		t.Errorf("Get without a principal = %q, want a new computation", v)
	}
}

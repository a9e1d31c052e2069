// Package ctxmemo keeps values with a context: what a store looked up for
// the principal a context acts as (storage.WithPrincipal makes a memo
// beside the principal), so that the lookup happens once per principal
// context instead of in every statement.
package ctxmemo

import (
	"context"
	"sync"
)

type key struct{}

// memo is the values kept with one context.
type memo struct {
	mu sync.Mutex
	m  map[any]any
}

// With returns ctx with a new, empty memo: the values Get and Put keep
// with the contexts made from it.
func With(ctx context.Context) context.Context {
	return context.WithValue(ctx, key{}, &memo{})
}

// Get returns the value kept under k in ctx's memo, computing it with fn
// when there is none yet. An error of fn is returned and nothing is kept.
// Concurrent first calls may each run fn; one result is kept. Without a
// memo in ctx, Get just calls fn.
func Get[T any](ctx context.Context, k any, fn func() (T, error)) (T, error) {
	m, _ := ctx.Value(key{}).(*memo)
	if m == nil {
		return fn()
	}
	m.mu.Lock()
	got, ok := m.m[k]
	m.mu.Unlock()
	if ok {
		return got.(T), nil
	}
	out, err := fn()
	if err != nil {
		return out, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if got, ok := m.m[k]; ok {
		return got.(T), nil
	}
	if m.m == nil {
		m.m = map[any]any{}
	}
	m.m[k] = out
	return out, nil
}

// Put keeps v under k in ctx's memo, for Get to return instead of
// computing it, unless a value is kept there already. Without a memo in
// ctx it does nothing.
func Put(ctx context.Context, k, v any) {
	m, _ := ctx.Value(key{}).(*memo)
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.m[k]; ok {
		return
	}
	if m.m == nil {
		m.m = map[any]any{}
	}
	m.m[k] = v
}

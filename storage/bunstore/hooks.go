package bunstore

import (
	"context"
	"database/sql"
	"reflect"
	"time"
	"unsafe"

	"github.com/uptrace/bun"
)

// Query hooks. The store runs its statements as prepared statements with
// bind values on database/sql, not through bun's query builder, which
// formats the values into the SQL text (losing the statement cache on
// SQLite and pgx's on Postgres). So that a host's bun.QueryHook (bunotel,
// bundebug, its own logging) still sees every statement the CRM runs, the
// store calls the hooks itself around each one, in bun's order: every
// BeforeQuery in turn, the statement, every AfterQuery in reverse. The
// event holds the statement with its placeholders as Query and
// QueryTemplate, and the bind values as QueryArgs. The hooks are those of
// the *bun.DB given to New (and of Options.ReadDB for reads), then
// Options.QueryHooks. Without hooks a statement pays one length check.

// dbHooks returns the query hooks of db. bun keeps them unexported and has
// no accessor, so they are read from its field; TestQueryHooks fails if a
// bun release renames it.
func dbHooks(db *bun.DB) []bun.QueryHook {
	if db == nil {
		return nil
	}
	f := reflect.ValueOf(db).Elem().FieldByName("queryHooks")
	if !f.IsValid() || f.Type() != reflect.TypeFor[[]bun.QueryHook]() {
		return nil
	}
	return *(*[]bun.QueryHook)(unsafe.Pointer(f.UnsafeAddr()))
}

// hookSet is the hooks of one of the store's databases.
type hookSet struct {
	db    *bun.DB
	hooks []bun.QueryHook
}

// newHookSet returns the hooks of db followed by extra.
func newHookSet(db *bun.DB, extra []bun.QueryHook) hookSet {
	own := dbHooks(db)
	return hookSet{db: db, hooks: append(own[:len(own):len(own)], extra...)}
}

// before runs the hooks' BeforeQuery for q and returns the event, or nil
// without hooks.
func (h *hookSet) before(ctx context.Context, q string, args []any) (context.Context, *bun.QueryEvent) {
	if len(h.hooks) == 0 {
		return ctx, nil
	}
	ev := &bun.QueryEvent{DB: h.db, Query: q, QueryTemplate: q, QueryArgs: args, StartTime: time.Now()}
	for _, hk := range h.hooks {
		ctx = hk.BeforeQuery(ctx, ev)
	}
	return ctx, ev
}

// after runs the hooks' AfterQuery, newest first, with the statement's
// result and error.
func (h *hookSet) after(ctx context.Context, ev *bun.QueryEvent, res sql.Result, err error) {
	if ev == nil {
		return
	}
	ev.Result, ev.Err = res, err
	for i := len(h.hooks) - 1; i >= 0; i-- {
		h.hooks[i].AfterQuery(ctx, ev)
	}
}

// exec runs q on r, a connection or transaction of h's database, between
// the hooks.
func (h *hookSet) exec(ctx context.Context, r runner, q string, args ...any) (sql.Result, error) {
	ctx, ev := h.before(ctx, q, args)
	res, err := r.ExecContext(ctx, q, args...)
	h.after(ctx, ev, res, err)
	return res, err
}

// query runs q on r between the hooks.
func (h *hookSet) query(ctx context.Context, r runner, q string, args ...any) (*sql.Rows, error) {
	ctx, ev := h.before(ctx, q, args)
	rows, err := r.QueryContext(ctx, q, args...)
	h.after(ctx, ev, nil, err)
	return rows, err
}

package bunstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/crmkit/crm/storage"
)

// runner is what a transaction runs statements on: a *sql.Tx.
type runner interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// txState is the transaction a context carries for one Store.
type txState struct {
	run runner
	tx  *sql.Tx // set when the transaction is the store's own
	w   *writer // set when the statements of w may be used in it (SQLite)
	ws  string  // the workspace named in crm.workspace (row-level security)
	sp  int     // savepoints open (RunInSavepoint)
	// fed is set once the transaction has made itself known to the change
	// feed's readers and holds its clock value (insertEvents, Postgres).
	fed bool
	// wrote is set by the first write in the transaction: from then on what
	// it reads may yet be rolled back, so what is read for a principal's
	// scopes is kept in sets, which ends with the transaction, and not with
	// the principal context (see scopeSets).
	wrote atomic.Bool
	mu    sync.Mutex
	sets  map[txSetsKey]*scopeSets
	// moved are the workspaces whose scope versions move on at commit
	// (see scopesChanged).
	moved map[string]bool
}

type txSetsKey struct {
	p  *storage.Principal
	ws string
}

type txKey struct{ s *Store }

func txFrom(ctx context.Context, s *Store) *txState {
	st, _ := ctx.Value(txKey{s}).(*txState)
	return st
}

// writer is SQLite's single writer. The write pool holds one connection,
// and the writer's token lets one of the process's transactions at a time
// hold it, so writers queue in Go instead of meeting SQLITE_BUSY. A host
// application's own transaction on the same pool simply waits for the
// connection.
//
// Statements are prepared on the pool, once: with its single connection,
// each is prepared once and reused by every transaction. A statement cannot
// be prepared on the pool while a transaction holds its only connection, so
// a query met for the first time runs unprepared and is queued; the
// transaction that met it prepares the queue after it commits, while it
// still holds the token.
type writer struct {
	db      *sql.DB
	sem     chan struct{} // a token: held for a whole transaction
	mu      sync.Mutex    // guards stmts and pending
	stmts   map[string]*sql.Stmt
	pending map[string]struct{}
}

func newWriter(db *sql.DB) *writer {
	return &writer{db: db, sem: make(chan struct{}, 1)}
}

// acquire waits for the writer's token, or for ctx's end.
func (w *writer) acquire(ctx context.Context) error {
	select {
	case w.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// release gives the token back.
func (w *writer) release() { <-w.sem }

// stmt returns the statement q prepared on the write pool, or nil when it
// is not prepared yet (it is then queued for prepareQueued) or the cache is
// full.
func (w *writer) stmt(q string) *sql.Stmt {
	w.mu.Lock()
	defer w.mu.Unlock()
	if st, ok := w.stmts[q]; ok {
		return st
	}
	if len(w.stmts)+len(w.pending) < maxCachedStmts {
		if w.pending == nil {
			w.pending = map[string]struct{}{}
		}
		w.pending[q] = struct{}{}
	}
	return nil
}

// prepareQueued prepares the queued statements. The caller holds the token
// and no transaction, so the pool's connection is free. A statement that
// fails to prepare is dropped: its query keeps running unprepared.
func (w *writer) prepareQueued(ctx context.Context) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for q := range w.pending {
		delete(w.pending, q)
		st, err := w.db.PrepareContext(ctx, q)
		if err != nil {
			continue
		}
		if w.stmts == nil {
			w.stmts = map[string]*sql.Stmt{}
		}
		w.stmts[q] = st
	}
}

func (w *writer) queued() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.pending) > 0
}

func (w *writer) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, st := range w.stmts {
		st.Close()
	}
	w.stmts, w.pending = nil, nil
}

// WithTx returns a context whose store calls run in the host application's
// transaction tx (for bun, pass bunTx.Tx), so that an ERP write and the CRM
// writes it causes commit or roll back together. The host commits or rolls
// back; tx must be on the same database as the Store.
func (s *Store) WithTx(ctx context.Context, tx *sql.Tx) context.Context {
	return context.WithValue(ctx, txKey{s}, &txState{run: tx})
}

// RunInTx runs fn in a transaction, committed when fn returns nil and
// rolled back when it returns an error or panics. A context that already
// carries a transaction of this Store (from RunInTx or WithTx) joins it: fn
// runs in it, and the outermost caller commits. On SQLite the transaction
// holds the single writer (BEGIN IMMEDIATE), so transactions of the process
// run one at a time.
func (s *Store) RunInTx(ctx context.Context, fn func(ctx context.Context) error) (err error) {
	if txFrom(ctx, s) != nil {
		return fn(ctx)
	}
	if s.w != nil {
		if err := s.w.acquire(ctx); err != nil {
			return fmt.Errorf("bunstore: begin: %w", err)
		}
		defer func() {
			if err == nil && s.w.queued() {
				s.w.prepareQueued(ctx)
			}
			s.w.release()
		}()
	}
	tx, err := s.db.DB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("bunstore: begin: %w", s.d.translate(err, ""))
	}
	st := &txState{run: tx, tx: tx, w: s.w}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
		if err == nil {
			err = s.moveScopeVersions(ctx, st)
		}
		if err != nil {
			_ = tx.Rollback()
			return
		}
		if cerr := tx.Commit(); cerr != nil {
			err = fmt.Errorf("bunstore: commit: %w", s.d.translate(cerr, ""))
		}
	}()
	return fn(context.WithValue(ctx, txKey{s}, st))
}

// RunInSavepoint implements storage.Savepointer. Inside the context's
// transaction it runs fn under a SAVEPOINT, rolled back to when fn returns
// an error, so that the transaction goes on without fn's writes (on
// Postgres a failed statement would otherwise doom the whole transaction);
// outside a transaction it is RunInTx.
func (s *Store) RunInSavepoint(ctx context.Context, fn func(ctx context.Context) error) error {
	tx := txFrom(ctx, s)
	if tx == nil {
		return s.RunInTx(ctx, fn)
	}
	tx.sp++
	defer func() { tx.sp-- }()
	name := fmt.Sprintf("crm_sp%d", tx.sp)
	if _, err := s.whooks.exec(ctx, tx.run, "SAVEPOINT "+name); err != nil {
		return fmt.Errorf("bunstore: savepoint: %w", s.d.translate(err, ""))
	}
	ws, fed := tx.ws, tx.fed
	err := fn(ctx)
	if err != nil {
		if _, rerr := s.whooks.exec(ctx, tx.run, "ROLLBACK TO SAVEPOINT "+name); rerr != nil {
			return errors.Join(err, fmt.Errorf("bunstore: roll back to savepoint: %w", s.d.translate(rerr, "")))
		}
		// The rollback undid a crm.workspace set inside the savepoint, the
		// feed clock's locks and value taken in it, and maybe writes that
		// scope sets read since (see scopeSets).
		tx.ws, tx.fed = ws, fed
		tx.mu.Lock()
		tx.sets = nil
		tx.mu.Unlock()
	}
	if _, rerr := s.whooks.exec(ctx, tx.run, "RELEASE SAVEPOINT "+name); rerr != nil {
		return errors.Join(err, fmt.Errorf("bunstore: release savepoint: %w", s.d.translate(rerr, "")))
	}
	return err
}

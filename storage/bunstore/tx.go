package bunstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"sync/atomic"
	"time"

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
	// prep is the transaction the statements of w are bound to: tx, or a
	// host's transaction found to be on the write pool (WithTx).
	prep *sql.Tx
	ws   string // the workspace named in crm.workspace (row-level security)
	sp   int    // savepoints open (RunInSavepoint)
	// host is set for a transaction the host's own code runs in (WithTx,
	// RunInHostTx): each store call made in it runs under a savepoint of its
	// own, so that a call that fails leaves the transaction usable. calls
	// counts the store calls running in it: only the outermost takes the
	// savepoint, the calls it makes join plainly.
	host  bool
	calls int
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

// InTx implements storage.TxReporter.
func (s *Store) InTx(ctx context.Context) bool { return txFrom(ctx, s) != nil }

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
	wait    time.Duration // how long the token's holder waits for the connection
	sem     chan struct{} // a token: held for a whole transaction
	mu      sync.Mutex    // guards stmts and pending
	stmts   map[string]*sql.Stmt
	pending map[string]struct{}
}

func newWriter(db *sql.DB, wait time.Duration) *writer {
	return &writer{db: db, wait: wait, sem: make(chan struct{}, 1)}
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

// conn returns the write pool's connection for the token's holder. It is
// free unless something outside the store holds it (a transaction the host
// began on the pool, a read whose rows are still open), so the wait is
// bounded by the writer's timeout, and a wait that runs out names the
// likely cause instead of hanging.
func (w *writer) conn(ctx context.Context) (*sql.Conn, error) {
	wctx, cancel := context.WithTimeout(ctx, w.wait)
	defer cancel()
	conn, err := w.db.Conn(wctx)
	if err == nil {
		return conn, nil
	}
	if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
		return nil, fmt.Errorf("bunstore: begin: SQLite's write connection stayed busy for %v: "+
			"a transaction the host opened on the store's pool is likely holding it (make the CRM calls "+
			"in that transaction, with WithTx, or commit it first): %w", w.wait, err)
	}
	return nil, fmt.Errorf("bunstore: begin: %w", err)
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

// anyStmt returns one of the prepared statements, or nil.
func (w *writer) anyStmt() *sql.Stmt {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, st := range w.stmts {
		return st
	}
	return nil
}

// prepareQueued prepares the queued statements. The caller holds the token
// and no transaction, so the pool's connection is free, unless a host's
// transaction took it since: the wait for it is bounded as conn's. A
// statement that fails to prepare is dropped: its query keeps running
// unprepared.
func (w *writer) prepareQueued(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, w.wait)
	defer cancel()
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
//
// Each store call made with the context runs under a savepoint of its own:
// a call that fails (an ErrConflict for a taken email, a validation error)
// has written nothing and leaves tx usable on both adapters, where on
// Postgres a failed statement would otherwise abort the whole transaction
// (SQLSTATE 25P02). On SQLite, tx should begin immediately
// (_txlock=immediate, as sqlite.DSN sets), or a write it makes after a
// read may meet SQLITE_BUSY.
func (s *Store) WithTx(ctx context.Context, tx *sql.Tx) context.Context {
	st := &txState{run: tx, host: true}
	// On SQLite a transaction of the write pool may use its prepared
	// statements; binding one to a transaction of another pool fails at
	// once (Close returns the error), without a round trip.
	if s.w != nil {
		if probe := s.w.anyStmt(); probe != nil && tx.StmtContext(ctx, probe).Close() == nil {
			st.w, st.prep = s.w, tx
		}
	}
	return context.WithValue(ctx, txKey{s}, st)
}

// Tx returns the database transaction the context carries for the store
// (RunInTx, RunInHostTx, WithTx), or nil outside one: for a host that
// writes its own rows in the transaction of its CRM calls. With bun, run a
// query in it with Conn: db.NewInsert().Conn(store.Tx(ctx)).Model(&row).
// Under row-level security the transaction names the workspace of the
// last CRM call made in it.
func (s *Store) Tx(ctx context.Context) *sql.Tx {
	st := txFrom(ctx, s)
	if st == nil {
		return nil
	}
	tx, _ := st.run.(*sql.Tx) // the store's own, or the host's
	return tx
}

// RunInTx runs fn in a transaction, committed when fn returns nil and
// rolled back when it returns an error or panics. A context that already
// carries a transaction of this Store (from RunInTx or WithTx) joins it: fn
// runs in it, and the outermost caller commits; in a host's transaction
// (WithTx, RunInHostTx) fn runs under a savepoint, undone alone when fn
// fails. On SQLite the transaction holds the single writer (BEGIN
// IMMEDIATE), so transactions of the process run one at a time.
func (s *Store) RunInTx(ctx context.Context, fn func(ctx context.Context) error) error {
	if st := txFrom(ctx, s); st != nil {
		if st.host && st.calls == 0 {
			st.calls++
			defer func() { st.calls-- }()
			return s.RunInSavepoint(ctx, fn)
		}
		return fn(ctx)
	}
	return s.begin(ctx, false, fn)
}

// RunInHostTx implements storage.HostTransactor: it is RunInTx for a
// transaction the host's own code runs in, such as the function given to
// crm.CRM.RunInTx. Each store call fn makes runs under a savepoint, so
// that one that fails has written nothing and fn may go on (commit what
// the other calls wrote, or try another way); fn's error still rolls the
// whole transaction back. A context that already carries a transaction
// joins it.
func (s *Store) RunInHostTx(ctx context.Context, fn func(ctx context.Context) error) error {
	if txFrom(ctx, s) != nil {
		return fn(ctx)
	}
	return s.begin(ctx, true, fn)
}

// begin runs fn in a new transaction; host says the host's code runs in
// it (see txState.host).
func (s *Store) begin(ctx context.Context, host bool, fn func(ctx context.Context) error) (err error) {
	var conn *sql.Conn
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
		if conn, err = s.w.conn(ctx); err != nil {
			return err
		}
		defer conn.Close()
	}
	var tx *sql.Tx
	if conn != nil {
		tx, err = conn.BeginTx(ctx, nil)
	} else {
		tx, err = s.db.DB.BeginTx(ctx, nil)
	}
	if err != nil {
		return fmt.Errorf("bunstore: begin: %w", s.d.translate(err, ""))
	}
	st := &txState{run: tx, tx: tx, prep: tx, w: s.w, host: host}
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
	if err := s.txExec(ctx, tx, "SAVEPOINT "+name); err != nil {
		return fmt.Errorf("bunstore: savepoint: %w", s.d.translate(err, ""))
	}
	ws, fed := tx.ws, tx.fed
	err := fn(ctx)
	if err != nil {
		if rerr := s.txExec(ctx, tx, "ROLLBACK TO SAVEPOINT "+name); rerr != nil {
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
	if rerr := s.txExec(ctx, tx, "RELEASE SAVEPOINT "+name); rerr != nil {
		return errors.Join(err, fmt.Errorf("bunstore: release savepoint: %w", s.d.translate(rerr, "")))
	}
	return err
}

// txExec runs q, a statement of the transaction's own (a savepoint), in
// tx between the write hooks, prepared where it can be: unlike exec it
// needs no workspace and marks no write.
func (s *Store) txExec(ctx context.Context, tx *txState, q string) error {
	var r runner = tx.run
	if st := tx.stmt(ctx, q); st != nil {
		r = stmtRunner{st}
	}
	_, err := s.whooks.exec(ctx, r, q)
	return err
}

// stmtRunner runs a prepared statement as a runner (its query argument is
// the statement's own).
type stmtRunner struct{ st *sql.Stmt }

func (r stmtRunner) ExecContext(ctx context.Context, _ string, args ...any) (sql.Result, error) {
	return r.st.ExecContext(ctx, args...)
}

func (r stmtRunner) QueryContext(ctx context.Context, _ string, args ...any) (*sql.Rows, error) {
	return r.st.QueryContext(ctx, args...)
}

// Lock implements storage.Locker. On Postgres it takes a transaction-level
// advisory lock on a 64-bit hash of the workspace and name
// (pg_advisory_xact_lock), released when the transaction ends (or a
// savepoint taken before it is rolled back to). On SQLite the transaction
// already holds the database's single writer, which excludes every other
// writer, so there is nothing to take; a host's transaction on SQLite is
// expected to begin immediately (see WithTx).
func (s *Store) Lock(ctx context.Context, name string) error {
	tx := txFrom(ctx, s)
	if tx == nil {
		return errors.New("bunstore: Lock outside a transaction")
	}
	if s.w != nil {
		return nil
	}
	h := fnv.New64a()
	h.Write([]byte(storage.WorkspaceFrom(ctx)))
	h.Write([]byte{0})
	h.Write([]byte(name))
	if _, err := s.whooks.exec(ctx, tx.run, "SELECT pg_advisory_xact_lock($1)", int64(h.Sum64())); err != nil {
		return fmt.Errorf("bunstore: lock %q: %w", name, s.d.translate(err, ""))
	}
	return nil
}

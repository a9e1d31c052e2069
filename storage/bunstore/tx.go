package bunstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
)

// runner is what a transaction runs statements on: a *sql.Tx, or the
// dedicated SQLite writer connection inside BEGIN … COMMIT.
type runner interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// txState is the transaction a context carries for one Store.
type txState struct {
	run runner
	w   *writer // set when run is the SQLite writer connection
}

type txKey struct{ s *Store }

func txFrom(ctx context.Context, s *Store) *txState {
	st, _ := ctx.Value(txKey{s}).(*txState)
	return st
}

// writer is SQLite's single writer: one connection kept out of the pool,
// used by one transaction at a time, with its prepared statements. Writers
// of the process queue for it instead of meeting SQLITE_BUSY.
type writer struct {
	db    *sql.DB
	sem   chan struct{} // a token: held for a whole transaction
	conn  *sql.Conn
	mu    sync.Mutex // guards stmts
	stmts map[string]*sql.Stmt
}

func newWriter(db *sql.DB) *writer {
	return &writer{db: db, sem: make(chan struct{}, 1)}
}

// acquire waits for the writer (or ctx's end) and returns its connection.
func (w *writer) acquire(ctx context.Context) (*sql.Conn, error) {
	select {
	case w.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if w.conn == nil {
		c, err := w.db.Conn(ctx)
		if err != nil {
			<-w.sem
			return nil, err
		}
		w.conn = c
	}
	return w.conn, nil
}

// release gives the writer back; with broken set, the connection is dropped
// (and a new one taken next time), since its state is unknown.
func (w *writer) release(broken bool) {
	if broken && w.conn != nil {
		w.closeStmts()
		_ = w.conn.Raw(func(any) error { return sql.ErrConnDone }) // evicts the connection from the pool
		_ = w.conn.Close()
		w.conn = nil
	}
	<-w.sem
}

// stmt returns the statement q prepared on the writer connection, preparing
// it the first time. The caller holds the writer.
func (w *writer) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if st, ok := w.stmts[q]; ok {
		return st, nil
	}
	if len(w.stmts) >= maxCachedStmts {
		return nil, nil
	}
	st, err := w.conn.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if w.stmts == nil {
		w.stmts = map[string]*sql.Stmt{}
	}
	w.stmts[q] = st
	return st, nil
}

func (w *writer) closeStmts() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, st := range w.stmts {
		st.Close()
	}
	w.stmts = nil
}

func (w *writer) close() {
	w.sem <- struct{}{}
	w.closeStmts()
	if w.conn != nil {
		w.conn.Close()
		w.conn = nil
	}
	<-w.sem
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
// runs on the single writer connection (BEGIN IMMEDIATE), so transactions
// of the process run one at a time.
func (s *Store) RunInTx(ctx context.Context, fn func(ctx context.Context) error) (err error) {
	if txFrom(ctx, s) != nil {
		return fn(ctx)
	}
	if s.w != nil {
		return s.runWriter(ctx, fn)
	}
	tx, err := s.db.DB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("bunstore: begin: %w", s.d.translate(err, ""))
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
		if err != nil {
			_ = tx.Rollback()
			return
		}
		if cerr := tx.Commit(); cerr != nil {
			err = fmt.Errorf("bunstore: commit: %w", s.d.translate(cerr, ""))
		}
	}()
	return fn(context.WithValue(ctx, txKey{s}, &txState{run: tx}))
}

func (s *Store) runWriter(ctx context.Context, fn func(ctx context.Context) error) (err error) {
	conn, err := s.w.acquire(ctx)
	if err != nil {
		return fmt.Errorf("bunstore: begin: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		s.w.release(errors.Is(err, sql.ErrConnDone))
		return fmt.Errorf("bunstore: begin: %w", s.d.translate(err, ""))
	}
	bg := context.WithoutCancel(ctx)
	defer func() {
		p := recover()
		if p != nil || err != nil {
			_, rerr := conn.ExecContext(bg, "ROLLBACK")
			s.w.release(rerr != nil)
			if p != nil {
				panic(p)
			}
			return
		}
		if _, cerr := conn.ExecContext(bg, "COMMIT"); cerr != nil {
			err = fmt.Errorf("bunstore: commit: %w", s.d.translate(cerr, ""))
			_, rerr := conn.ExecContext(bg, "ROLLBACK")
			s.w.release(rerr != nil)
			return
		}
		s.w.release(false)
	}()
	return fn(context.WithValue(ctx, txKey{s}, &txState{run: conn, w: s.w}))
}

package bunstore

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// The change feed on Postgres. Events are read in (tx_id, seq) order, and
// a reader must never pass a transaction that is still to commit events:
// they would land behind its cursor. Reading only below the oldest
// transaction running on the server (pg_snapshot_xmin) kept that promise
// but made every reader wait for any transaction, in any database: a
// host's report query or an idle connection in a transaction froze all
// automation. So a transaction that writes events first makes itself
// known and takes the tx_id of its events from the feed clock
// (crm_feed_enter), and a reader waits only for the transactions so known
// (crm_feed_horizon); the migration 0006_feed_clock.sql has the protocol.

// enterEventsSQL is the insert of the first n events of a transaction on
// Postgres: it enters the feed in the same statement, so that a write pays
// no extra round trip for it. The values are those of eventHead, cast, as
// a VALUES list in FROM has no column types to take them from.
func (s *Store) enterEventsSQL(n int) string {
	k := rowsKey{"enter events", n}
	if q, ok := s.rowsCache.Load(k); ok {
		return q.(string)
	}
	row := "(?::text, ?::text, ?::text, ?::text, ?::text, ?::text, ?::timestamptz, ?::jsonb, ?::integer)"
	var b strings.Builder
	b.WriteString("WITH f AS (SELECT crm_feed_enter() AS tx) " + eventHead[:len(eventHead)-1] + ", tx_id) SELECT v.*, f.tx FROM f, (VALUES ")
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	b.WriteString(") AS v")
	q := s.d.rebind(b.String())
	if s.rowsCount.Add(1) <= maxRowsSQL {
		s.rowsCache.Store(k, q)
	}
	return q
}

// insertEvents writes the events vals (eventWidth values each), entering
// the feed with the first statement of a transaction on Postgres.
func (s *Store) insertEvents(ctx context.Context, vals []any) error {
	tx := txFrom(ctx, s)
	if len(vals) == 0 || !s.d.feedClock() || tx == nil || tx.fed {
		return s.insertRows(ctx, eventHead, "", eventWidth, vals)
	}
	n := min(len(vals)/eventWidth, s.d.maxParams()/eventWidth)
	if _, err := s.exec(ctx, s.enterEventsSQL(n), vals[:n*eventWidth]...); err != nil {
		return err
	}
	tx.fed = true
	return s.insertRows(ctx, eventHead, "", eventWidth, vals[n*eventWidth:])
}

// feedPendingWaits bounds how many times feedHorizon asks again while a
// writer is between taking its clock value and showing it (microseconds
// inside one function call); then it reads nothing new this time.
const feedPendingWaits = 50

// feedHorizon returns the tx_id below which every event writer has ended:
// the events below it that a later statement reads are all there will be.
func (s *Store) feedHorizon(ctx context.Context) (int64, error) {
	for range feedPendingWaits {
		var h int64
		var pending bool
		rows, err := s.query(ctx, "SELECT horizon, pending FROM crm_feed_horizon()")
		if err != nil {
			return 0, s.d.translate(err, "event")
		}
		ok := rows.Next()
		if ok {
			err = rows.Scan(&h, &pending)
		}
		rows.Close()
		if err == nil {
			err = rows.Err()
		}
		if err != nil {
			return 0, s.d.translate(err, "event")
		}
		if !ok {
			return 0, fmt.Errorf("bunstore: crm_feed_horizon returned no row")
		}
		if !pending {
			return h, nil
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(100 * time.Microsecond):
		}
	}
	return 0, nil // nothing is read this time
}

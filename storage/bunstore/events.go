package bunstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/internal/cursor"
)

const eventCols = "seq, tx_id, id, workspace_id, type, subject_type, subject_id, actor, occurred_at, changes, depth"

// scanEvent reads one row of eventCols.
func scanEvent(rows interface{ Scan(...any) error }, txID *int64) (storage.Event, error) {
	var e storage.Event
	var at any
	var changes sql.NullString
	if err := rows.Scan(eventDest(&e, txID, &at, &changes)...); err != nil {
		return e, err
	}
	return e, finishEvent(&e, at, changes)
}

// eventDest returns the scan destinations of eventCols.
func eventDest(e *storage.Event, txID *int64, at *any, changes *sql.NullString) []any {
	return []any{&e.Seq, txID, &e.ID, &e.WorkspaceID, &e.Type, &e.Subject.Type, &e.Subject.ID,
		&e.Actor, at, changes, &e.Depth}
}

// finishEvent decodes the time and the changes scanned into e.
func finishEvent(e *storage.Event, at any, changes sql.NullString) error {
	t, err := parseTime(at)
	if err != nil {
		return err
	}
	e.OccurredAt = t
	if changes.Valid && changes.String != "" {
		if err := json.Unmarshal([]byte(changes.String), &e.Changes); err != nil {
			return fmt.Errorf("bunstore: event %s: %w", e.ID, err)
		}
	}
	return nil
}

// ChangeFeed implements storage.EventLog. The cursor holds the position
// (transaction, sequence) of the last event read. On Postgres only events of
// transactions older than every running one are returned, so an event that
// commits late never lands behind a stored cursor.
func (s *Store) ChangeFeed(ctx context.Context, cursor string, limit int) (storage.Feed, error) {
	return reading(ctx, s, func(ctx context.Context) (storage.Feed, error) { return s.changeFeed(ctx, cursor, limit) })
}

func (s *Store) changeFeed(ctx context.Context, cursor string, limit int) (storage.Feed, error) {
	return s.feed(ctx, storage.WorkspaceFrom(ctx), cursor, limit, true)
}

// ChangeFeedOf implements storage.EventLog: the feed's statement with the
// filter's types as conditions.
func (s *Store) ChangeFeedOf(ctx context.Context, cursor string, limit int, f storage.FeedFilter) (storage.Feed, error) {
	ws := storage.WorkspaceFrom(ctx)
	if f.AllWorkspaces {
		if s.rls {
			return storage.Feed{}, storage.Invalid("all_workspaces", "a store under row-level security reads one workspace's feed at a time")
		}
		if p, err := s.principal(ctx); err != nil {
			return storage.Feed{}, err
		} else if p != nil {
			return storage.Feed{}, fmt.Errorf("%w: only the system reads every workspace's feed", storage.ErrForbidden)
		}
		ws = ""
	}
	return reading(ctx, s, func(ctx context.Context) (storage.Feed, error) {
		return s.feedOf(ctx, ws, cursor, limit, true, f)
	})
}

// feed reads events after cursor: of workspace ws, or of all with ws "";
// with scoped, only those the principal may read, masked by its field
// rules.
func (s *Store) feed(ctx context.Context, ws, after string, limit int, scoped bool) (storage.Feed, error) {
	return s.feedOf(ctx, ws, after, limit, scoped, storage.FeedFilter{})
}

// feedOf is feed of the events f keeps.
func (s *Store) feedOf(ctx context.Context, ws, after string, limit int, scoped bool, f storage.FeedFilter) (storage.Feed, error) {
	feed := storage.Feed{Cursor: after}
	var txID, seq int64
	limit = storage.PageQuery{Limit: limit}.PageSize()
	fp := "feed"
	if ws == "" && scoped {
		fp = "feed-all" // a cursor of all workspaces serves no one workspace's feed
	}
	if after != "" {
		keys, err := cursor.Decode(after, fp, 2)
		if err != nil {
			return feed, err
		}
		if json.Unmarshal(keys[0], &txID) != nil || json.Unmarshal(keys[1], &seq) != nil {
			return feed, storage.Invalid("cursor", "is malformed")
		}
	}
	// A reader that keeps some events only (a filter, a read scope) gets,
	// with a short page, a cursor past the last event of the feed it could
	// see (the marker row), so that it never reads the skipped ones again,
	// nor skips one the page could have held. On SQLite the marker is read
	// in the page's statement (one snapshot). On Postgres the events below
	// the horizon are a set no commit changes any more, so a second
	// statement, run only after a short page, reads the same set.
	sparse := scoped || len(f.Types) > 0 || len(f.RecordTypes) > 0
	marker := sparse && !s.d.feedClock()
	var b, m sqlBuilder
	// The start of a range of the (workspace_id, tx_id, seq) index: a row
	// value on Postgres; on SQLite, where every tx_id is 0 and seq is the
	// commit order, the seq alone (SQLite reads a row value there as
	// tx_id > ? only, and the OR form of before from the log's start).
	if !s.d.feedClock() && txID == 0 {
		m.add(" WHERE tx_id = 0 AND seq > ?", seq)
	} else {
		m.add(" WHERE (tx_id, seq) > (?, ?)", txID, seq)
	}
	if ws != "" {
		m.add(" AND workspace_id = ?", ws)
	}
	var h int64
	if s.d.feedClock() {
		var err error
		if h, err = s.feedHorizon(ctx); err != nil {
			return feed, err
		}
		m.add(" AND tx_id < ?", h)
	}
	if marker {
		b.add("SELECT * FROM (")
	}
	b.add("SELECT 0 AS marker, "+eventCols+" FROM crm_events e"+m.sb.String(), m.args...)
	for _, in := range []struct {
		col  string
		vals []string
	}{{"type", f.Types}, {"subject_type", f.RecordTypes}} {
		if len(in.vals) > 0 {
			b.add(" AND "+in.col+" IN ("+placeholders(len(in.vals))+")", anys(in.vals)...)
		}
	}
	var hide func(*storage.Event)
	if scoped {
		if err := s.refsReadable(ctx, "e.subject_type", "e.subject_id", "e.workspace_id", &b); err != nil {
			return feed, err
		}
		var err error
		if hide, err = s.eventMasker(ctx); err != nil {
			return feed, err
		}
	}
	b.add(" ORDER BY tx_id, seq" + limitSQL(limit))
	if marker {
		b.add(") feed_page UNION ALL SELECT * FROM (SELECT 1 AS marker, "+eventCols+" FROM crm_events e"+m.sb.String(), m.args...)
		b.add(" ORDER BY tx_id DESC, seq DESC LIMIT 1) feed_end ORDER BY marker, tx_id, seq")
	}
	rows, err := s.query(ctx, s.d.rebind(b.sb.String()), b.args...)
	if err != nil {
		return feed, s.d.translate(err, "event")
	}
	defer rows.Close()
	moved := false
	for rows.Next() {
		var isMarker int
		var e storage.Event
		var at any
		var changes sql.NullString
		var etx int64
		if err := rows.Scan(append([]any{&isMarker}, eventDest(&e, &etx, &at, &changes)...)...); err != nil {
			return feed, err
		}
		if isMarker == 1 {
			if len(feed.Events) < limit {
				txID, seq, moved = etx, e.Seq, true
			}
			continue
		}
		if err := finishEvent(&e, at, changes); err != nil {
			return feed, err
		}
		if hide != nil {
			hide(&e)
		}
		feed.Events = append(feed.Events, e)
		txID, seq, moved = etx, e.Seq, true
	}
	if err := rows.Err(); err != nil {
		return feed, s.d.translate(err, "event")
	}
	if err := rows.Close(); err != nil {
		return feed, s.d.translate(err, "event")
	}
	if sparse && !marker && len(feed.Events) < limit {
		q := s.d.rebind("SELECT tx_id, seq FROM crm_events e" + m.sb.String() + " ORDER BY tx_id DESC, seq DESC LIMIT 1")
		found, err := s.queryRow(ctx, "event", q, m.args, &txID, &seq)
		if err != nil {
			return feed, err
		}
		moved = moved || found
	}
	if moved {
		feed.Cursor = cursor.Encode(fp, txID, seq)
	}
	return feed, nil
}

// History implements storage.EventLog: the events of one record, newest
// first.
func (s *Store) History(ctx context.Context, subjectID string, pq storage.PageQuery) (storage.Page[storage.Event], error) {
	return reading(ctx, s, func(ctx context.Context) (storage.Page[storage.Event], error) { return s.history(ctx, subjectID, pq) })
}

func (s *Store) history(ctx context.Context, subjectID string, pq storage.PageQuery) (storage.Page[storage.Event], error) {
	var page storage.Page[storage.Event]
	fp := cursor.Fingerprint("history", subjectID)
	var b sqlBuilder
	b.add("SELECT "+eventCols+" FROM crm_events e WHERE workspace_id = ? AND subject_id = ?", storage.WorkspaceFrom(ctx), subjectID)
	if err := s.refsReadable(ctx, "e.subject_type", "e.subject_id", "e.workspace_id", &b); err != nil {
		return page, err
	}
	if pq.Cursor != "" {
		keys, err := cursor.Decode(pq.Cursor, fp, 1)
		if err != nil {
			return page, err
		}
		var seq int64
		if json.Unmarshal(keys[0], &seq) != nil {
			return page, storage.Invalid("cursor", "is malformed")
		}
		b.add(" AND seq < ?", seq)
	}
	limit := pq.PageSize()
	b.add(" ORDER BY seq DESC" + limitSQL(limit+1))
	hide, err := s.eventMasker(ctx)
	if err != nil {
		return page, err
	}
	rows, err := s.query(ctx, s.d.rebind(b.sb.String()), b.args...)
	if err != nil {
		return page, s.d.translate(err, "event")
	}
	defer rows.Close()
	var txID int64
	for rows.Next() {
		e, err := scanEvent(rows, &txID)
		if err != nil {
			return page, err
		}
		if len(page.Items) == limit {
			page.Next = cursor.Encode(fp, page.Items[limit-1].Seq)
			break
		}
		if hide != nil {
			hide(&e)
		}
		page.Items = append(page.Items, e)
	}
	return page, rows.Err()
}

// Event implements storage.EventLog: one event by its ID, if the principal
// may read its subject.
func (s *Store) Event(ctx context.Context, id string) (storage.Event, error) {
	return reading(ctx, s, func(ctx context.Context) (storage.Event, error) {
		var b sqlBuilder
		b.add("SELECT "+eventCols+" FROM crm_events e WHERE workspace_id = ? AND id = ?", storage.WorkspaceFrom(ctx), id)
		if err := s.refsReadable(ctx, "e.subject_type", "e.subject_id", "e.workspace_id", &b); err != nil {
			return storage.Event{}, err
		}
		hide, err := s.eventMasker(ctx)
		if err != nil {
			return storage.Event{}, err
		}
		rows, err := s.query(ctx, s.d.rebind(b.sb.String()), b.args...)
		if err != nil {
			return storage.Event{}, s.d.translate(err, "event")
		}
		defer rows.Close()
		if !rows.Next() {
			if err := rows.Err(); err != nil {
				return storage.Event{}, s.d.translate(err, "event")
			}
			return storage.Event{}, fmt.Errorf("%w: event %s", storage.ErrNotFound, id)
		}
		var txID int64
		e, err := scanEvent(rows, &txID)
		if err != nil {
			return e, err
		}
		if hide != nil {
			hide(&e)
		}
		return e, rows.Close()
	})
}

// LinkedFrom implements storage.LinkIndex.
func (s *Store) LinkedFrom(ctx context.Context, ref storage.Ref, limit int) ([]storage.Ref, error) {
	return reading(ctx, s, func(ctx context.Context) ([]storage.Ref, error) {
		rows, err := s.query(ctx, s.d.rebind("SELECT from_type, from_id FROM crm_links WHERE workspace_id = ? AND to_id = ? AND to_type = ? ORDER BY from_type, from_id LIMIT ?"),
			storage.WorkspaceFrom(ctx), ref.ID, ref.Type, limit)
		if err != nil {
			return nil, s.d.translate(err, "link")
		}
		defer rows.Close()
		var out []storage.Ref
		for rows.Next() {
			var r storage.Ref
			if err := rows.Scan(&r.Type, &r.ID); err != nil {
				return nil, err
			}
			out = append(out, r)
		}
		return out, s.d.translate(rows.Err(), "link")
	})
}

package bunstore

import (
	"context"
	"encoding/json"
	"time"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
)

// Timeline implements contacts.Store: activities linked to ref and the
// change events of ref and of the orders linked to it, merged newest first. Both sources are read with the
// same keyset (time, then ID, descending), so a page costs two indexed
// queries of at most limit+1 rows each.
func (s *Store) Timeline(ctx context.Context, ref storage.Ref, pq storage.PageQuery) (storage.Page[contacts.TimelineEntry], error) {
	return reading(ctx, s, func(ctx context.Context) (storage.Page[contacts.TimelineEntry], error) {
		return s.timeline(ctx, ref, pq)
	})
}

func (s *Store) timeline(ctx context.Context, ref storage.Ref, pq storage.PageQuery) (storage.Page[contacts.TimelineEntry], error) {
	var page storage.Page[contacts.TimelineEntry]
	fp := storage.Fingerprint("timeline", ref)
	limit := pq.PageSize()
	ws := storage.WorkspaceFrom(ctx)
	var after string
	var afterID string
	var afterT time.Time
	if pq.Cursor != "" {
		keys, err := storage.DecodeCursor(pq.Cursor, fp, 2)
		if err != nil {
			return page, err
		}
		if json.Unmarshal(keys[0], &afterT) != nil || json.Unmarshal(keys[1], &afterID) != nil {
			return page, storage.Invalid("cursor", "is malformed")
		}
		after = "(%s < ? OR (%s = ? AND %s < ?))"
	}
	keyset := func(tcol, idcol string, b *sqlBuilder) {
		if after == "" {
			return
		}
		ta := s.d.timeArg(afterT)
		b.add(" AND ("+tcol+" < ? OR ("+tcol+" = ? AND "+idcol+" < ?))", ta, ta, afterID)
	}

	// What the principal may not see of activities and events.
	ac := s.activities.c
	fm, err := s.mask(ctx, ac)
	if err != nil {
		return page, err
	}
	hide, err := s.eventMasker(ctx)
	if err != nil {
		return page, err
	}

	// Activities linked to ref.
	var b sqlBuilder
	b.add("SELECT "+ac.selectCols+" FROM crm_activities t WHERE t.workspace_id = ? AND t.id IN "+
		"(SELECT from_id FROM crm_links WHERE workspace_id = ? AND to_id = ? AND from_type = ?)",
		ws, ws, ref.ID, "activity")
	if err := s.readable(ctx, ac, "t", &b); err != nil {
		return page, err
	}
	keyset("t.occurred_at", "t.id", &b)
	b.add(" ORDER BY t.occurred_at DESC, t.id DESC" + limitSQL(limit+1))
	rows, err := s.query(ctx, s.d.rebind(b.sb.String()), b.args...)
	if err != nil {
		return page, s.d.translate(err, "activity")
	}
	var acts []contacts.TimelineEntry
	sc := ac.newScanner()
	for rows.Next() {
		rv, err := ac.scan(rows, sc)
		if err != nil {
			rows.Close()
			return page, err
		}
		fm.apply(rv)
		a := rv.Interface().(*contacts.Activity)
		acts = append(acts, contacts.TimelineEntry{At: a.OccurredAt, Activity: a})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return page, err
	}

	// Change events of ref itself.
	b = sqlBuilder{}
	// The events of ref, and of the orders linked to it: a contact's and an
	// account's timeline show their purchases.
	b.add("SELECT "+eventCols+" FROM crm_events e WHERE workspace_id = ? AND (subject_id = ? OR (subject_type = 'order' AND subject_id IN "+
		"(SELECT from_id FROM crm_links WHERE workspace_id = ? AND to_id = ? AND from_type = 'order')))", ws, ref.ID, ws, ref.ID)
	if err := s.refsReadable(ctx, "e.subject_type", "e.subject_id", "e.workspace_id", &b); err != nil {
		return page, err
	}
	keyset("occurred_at", "id", &b)
	b.add(" ORDER BY occurred_at DESC, id DESC" + limitSQL(limit+1))
	rows, err = s.query(ctx, s.d.rebind(b.sb.String()), b.args...)
	if err != nil {
		return page, s.d.translate(err, "event")
	}
	var evs []contacts.TimelineEntry
	var txID int64
	for rows.Next() {
		e, err := scanEvent(rows, &txID)
		if err != nil {
			rows.Close()
			return page, err
		}
		if hide != nil {
			hide(&e)
		}
		evs = append(evs, contacts.TimelineEntry{At: e.OccurredAt, Event: &e})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return page, err
	}

	// Merge, newest first; ties by ID, descending.
	for len(page.Items) < limit && (len(acts) > 0 || len(evs) > 0) {
		if len(evs) == 0 || (len(acts) > 0 && entryAfter(acts[0], evs[0])) {
			page.Items = append(page.Items, acts[0])
			acts = acts[1:]
		} else {
			page.Items = append(page.Items, evs[0])
			evs = evs[1:]
		}
	}
	if len(page.Items) == limit && (len(acts) > 0 || len(evs) > 0) {
		last := page.Items[limit-1]
		page.Next = storage.EncodeCursor(fp, last.At, entryID(last))
	}
	return page, nil
}

func entryID(e contacts.TimelineEntry) string {
	if e.Activity != nil {
		return e.Activity.ID
	}
	return e.Event.ID
}

// entryAfter reports whether a comes before b in a newest-first timeline.
func entryAfter(a, b contacts.TimelineEntry) bool {
	if !a.At.Equal(b.At) {
		return a.At.After(b.At)
	}
	return entryID(a) > entryID(b)
}

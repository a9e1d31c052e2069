package bunstore

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/internal/cursor"
)

// Timeline implements storage.Timeliner: the records of the types with a
// TimelineAt that link to ref (activities), and the change events of ref
// and of the records of types with TimelineEvents that link to it
// (orders), merged newest first; a type with a TimelineField is found by
// that field instead of its links (campaign messages). Every source is read with the same keyset
// (time, then ID, descending), so a page costs one indexed query of at
// most limit+1 rows per source.
func (s *Store) Timeline(ctx context.Context, ref storage.Ref, pq storage.PageQuery) (storage.Page[storage.TimelineEntry], error) {
	return reading(ctx, s, func(ctx context.Context) (storage.Page[storage.TimelineEntry], error) {
		return s.timeline(ctx, ref, pq)
	})
}

// entryID is the ID that orders entries of the same time.
func entryID(e storage.TimelineEntry) string {
	if e.Record != nil {
		return e.Record.RecordMeta().ID
	}
	return e.Event.ID
}

func (s *Store) timeline(ctx context.Context, ref storage.Ref, pq storage.PageQuery) (storage.Page[storage.TimelineEntry], error) {
	var page storage.Page[storage.TimelineEntry]
	fp := cursor.Fingerprint("timeline", ref)
	limit := pq.PageSize()
	ws := storage.WorkspaceFrom(ctx)
	var after bool
	var afterID string
	var afterT time.Time
	if pq.Cursor != "" {
		keys, err := cursor.Decode(pq.Cursor, fp, 2)
		if err != nil {
			return page, err
		}
		if json.Unmarshal(keys[0], &afterT) != nil || json.Unmarshal(keys[1], &afterID) != nil {
			return page, storage.Invalid("cursor", "is malformed")
		}
		after = true
	}
	keyset := func(tcol, idcol string, b *sqlBuilder) {
		if !after {
			return
		}
		// A row value, which both planners read as one range of the
		// (…, time, id) index, where the OR form walked it.
		b.add(" AND ("+tcol+", "+idcol+") < (?, ?)", s.d.timeArg(afterT), afterID)
	}

	var all []storage.TimelineEntry
	var eventTypes []string
	var fieldEvents []*table // types with TimelineEvents by TimelineField
	for _, t := range s.reg.Load().types {
		o := t.ty.Options()
		switch {
		case o.TimelineEvents && o.TimelineField != "":
			fieldEvents = append(fieldEvents, t)
		case o.TimelineEvents:
			eventTypes = append(eventTypes, t.rt)
		}
		if o.TimelineAt == "" {
			continue
		}
		// The records of t linked to ref (or naming it in their
		// TimelineField), as the principal may see them.
		c := t.c
		at := c.byName[o.TimelineAt]
		fm, err := s.mask(ctx, c)
		if err != nil {
			return page, err
		}
		// By the field's index, or from the links of ref to the records:
		// CROSS JOIN keeps SQLite from walking every record of the
		// workspace in time order looking for the few linked ones.
		var b sqlBuilder
		if o.TimelineField != "" {
			b.add("SELECT "+c.selectCols+" FROM "+c.table+" t WHERE t.workspace_id = ? AND t."+c.byName[o.TimelineField].name+" = ?", ws, ref.ID)
		} else {
			b.add("SELECT "+c.selectCols+" FROM crm_links l CROSS JOIN "+c.table+" t WHERE l.workspace_id = ? AND l.to_id = ? AND l.from_type = ?"+
				" AND t.workspace_id = l.workspace_id AND t.id = l.from_id", ws, ref.ID, t.rt)
		}
		if err := s.readable(ctx, c, "t", &b); err != nil {
			return page, err
		}
		keyset("t."+at.name, "t.id", &b)
		b.add(" ORDER BY t." + at.name + " DESC, t.id DESC" + limitSQL(limit+1))
		rows, err := s.query(ctx, s.d.rebind(b.sb.String()), b.args...)
		if err != nil {
			return page, s.d.translate(err, t.rt)
		}
		sc := c.newScanner()
		for rows.Next() {
			rv, err := c.scan(rows, sc)
			if err != nil {
				rows.Close()
				return page, err
			}
			fm.apply(rv)
			all = append(all, storage.TimelineEntry{At: at.field(rv).Interface().(time.Time), Record: rv.Interface().(storage.Record)})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return page, s.d.translate(err, t.rt)
		}
	}

	// The change events, as the principal may see them.
	hide, err := s.eventMasker(ctx)
	if err != nil {
		return page, err
	}
	// Two queries, each served by an index in time order, where one with
	// an OR of the two walked the workspace's events: ref's own events,
	// and those of the records of the types whose events show in the
	// timelines of what they link to (a contact's and an account's
	// timelines show their orders).
	queries := []func(b *sqlBuilder){func(b *sqlBuilder) {
		b.add("SELECT "+eventCols+" FROM crm_events e WHERE e.workspace_id = ? AND e.subject_id = ?", ws, ref.ID)
	}}
	if len(eventTypes) > 0 {
		types := anys(eventTypes)
		queries = append(queries, func(b *sqlBuilder) {
			b.add("SELECT "+eventCols+" FROM crm_events e WHERE e.workspace_id = ? AND e.subject_type IN ("+placeholders(len(types))+
				") AND e.subject_id IN (SELECT from_id FROM crm_links WHERE workspace_id = ? AND to_id = ? AND from_type IN ("+
				placeholders(len(types))+")) AND e.subject_id <> ?", append(append(append(append([]any{ws}, types...), ws, ref.ID), types...), ref.ID)...)
		})
	}
	for _, t := range fieldEvents {
		// The events of the records of t that name ref in its
		// TimelineField, through the table's index of that field.
		col := t.c.byName[t.ty.Options().TimelineField].name
		queries = append(queries, func(b *sqlBuilder) {
			b.add("SELECT "+eventCols+" FROM crm_events e WHERE e.workspace_id = ? AND e.subject_type = ? AND e.subject_id IN (SELECT id FROM "+
				t.c.table+" WHERE workspace_id = ? AND "+col+" = ?) AND e.subject_id <> ?", ws, t.rt, ws, ref.ID, ref.ID)
		})
	}
	for _, q := range queries {
		var b sqlBuilder
		q(&b)
		if err := s.refsReadable(ctx, "e.subject_type", "e.subject_id", "e.workspace_id", &b); err != nil {
			return page, err
		}
		keyset("e.occurred_at", "e.id", &b)
		b.add(" ORDER BY e.occurred_at DESC, e.id DESC" + limitSQL(limit+1))
		rows, err := s.query(ctx, s.d.rebind(b.sb.String()), b.args...)
		if err != nil {
			return page, s.d.translate(err, "event")
		}
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
			all = append(all, storage.TimelineEntry{At: e.OccurredAt, Event: &e})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return page, err
		}
	}

	// Merge, newest first; ties by ID, descending. Each source holds at
	// most limit+1 entries after the cursor, so the first limit of all of
	// them are the page.
	slices.SortFunc(all, func(a, b storage.TimelineEntry) int {
		if c := b.At.Compare(a.At); c != 0 {
			return c
		}
		return cmp.Compare(entryID(b), entryID(a))
	})
	if len(all) > limit {
		last := all[limit-1]
		page.Next = cursor.Encode(fp, last.At, entryID(last))
		all = all[:limit]
	}
	page.Items = all
	return page, nil
}

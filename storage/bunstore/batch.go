package bunstore

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/crmkit/crm/storage"
)

// Every write of the generic path, of one record or of many, collects the
// rows it adds besides the record's own (its change event, search document
// and links) in a sideRows, and flush writes them with multi-row
// statements: one write of one record and one write of a thousand take the
// same path, and differ only in how many rows each statement carries.

// sideRows are the change events, search documents and links of the
// records of one write.
type sideRows struct {
	events     []any          // eventCols values per event
	search     [][]any        // searchCols values per document, one per record
	searchAt   map[string]int // record ID → index in search
	unsearch   []string       // records whose document is deleted
	unlink     []string       // records whose links are replaced or dropped
	links      map[string][]any
	linkOrder  []string // records with links, in order
	linkValues int
}

const (
	eventHead  = "INSERT INTO crm_events (id, workspace_id, type, subject_type, subject_id, actor, occurred_at, changes, depth)"
	eventWidth = 9
	linkHead   = "INSERT INTO crm_links (workspace_id, from_type, from_id, to_type, to_id)"
	linkWidth  = 5
	linkTail   = "ON CONFLICT DO NOTHING"
	// searchWidth is the values of one search document: workspace_id,
	// record_type, record_id, title, body.
	searchWidth = 5
)

// event adds the change event of a write of rec: of type o.EventType,
// with the changes the store found and o.Changes, under o.EventID or a
// new ID.
func (sr *sideRows) event(ctx context.Context, d dialect, o storage.WriteOptions, rec storage.Record, changes []storage.Change) error {
	m := rec.RecordMeta()
	changes = append(changes, o.Changes...)
	var ch any
	if len(changes) > 0 {
		b, err := json.Marshal(changes)
		if err != nil {
			return err
		}
		ch = string(b)
	}
	id := o.EventID
	if id == "" {
		id = storage.NewID()
	} else if !storage.ValidID(id) {
		return storage.Invalid("event_id", "%q is not an ID", id)
	}
	sr.events = append(sr.events, id, m.WorkspaceID, o.EventType, rec.RecordType(), m.ID,
		storage.ActorFrom(ctx), d.timeArg(storage.WriteTimeFrom(ctx)), ch, storage.DepthFrom(ctx))
	return nil
}

// index keeps the search document of a storage.Searchable record: stored
// on create, rewritten when its text changed (prev is the record before an
// update, nil on create).
func (sr *sideRows) index(rec, prev storage.Record) {
	r, ok := rec.(storage.Searchable)
	if !ok {
		return
	}
	title, body := r.SearchTitle(), searchBody(r)
	if p, ok := prev.(storage.Searchable); ok && p.SearchTitle() == title && searchBody(p) == body {
		return
	}
	m := rec.RecordMeta()
	doc := []any{m.WorkspaceID, rec.RecordType(), m.ID, title, body}
	if i, ok := sr.searchAt[m.ID]; ok {
		sr.search[i] = doc // a record written twice in one call keeps its last text
		return
	}
	if sr.searchAt == nil {
		sr.searchAt = map[string]int{}
	}
	sr.searchAt[m.ID] = len(sr.search)
	sr.search = append(sr.search, doc)
}

// unindex drops the search document of a deleted record.
func (sr *sideRows) unindex(rec storage.Record) {
	if _, ok := rec.(storage.Searchable); ok {
		sr.unsearch = append(sr.unsearch, rec.RecordMeta().ID)
	}
}

// link keeps the link index of a storage.Linked record: the links of rec
// replace those of prev (nil on create); with drop, rec's links are
// removed.
func (sr *sideRows) link(rec, prev storage.Record, drop bool) {
	l, ok := rec.(storage.Linked)
	if !ok {
		return
	}
	m := rec.RecordMeta()
	var links []storage.Ref
	if !drop {
		links = l.Links()
	}
	if prev != nil && slices.Equal(prev.(storage.Linked).Links(), links) {
		return
	}
	if prev != nil || drop {
		sr.unlink = append(sr.unlink, m.ID)
	}
	if old, ok := sr.links[m.ID]; ok {
		sr.linkValues -= len(old)
		delete(sr.links, m.ID)
		sr.linkOrder = slices.DeleteFunc(sr.linkOrder, func(id string) bool { return id == m.ID })
	}
	if len(links) == 0 {
		return
	}
	vals := make([]any, 0, len(links)*linkWidth)
	for _, to := range links {
		vals = append(vals, m.WorkspaceID, rec.RecordType(), m.ID, to.Type, to.ID)
	}
	if sr.links == nil {
		sr.links = map[string][]any{}
	}
	sr.links[m.ID] = vals
	sr.linkOrder = append(sr.linkOrder, m.ID)
	sr.linkValues += len(vals)
}

// flush writes the collected rows in the context's transaction.
func (s *Store) flush(ctx context.Context, sr *sideRows) error {
	if err := s.insertEvents(ctx, sr.events); err != nil {
		return err
	}
	if err := s.deleteIn(ctx, s.d.deleteSearchIn(), sr.unsearch); err != nil {
		return err
	}
	if len(sr.search) > 0 {
		vals := make([]any, 0, len(sr.search)*searchWidth)
		for _, doc := range sr.search {
			vals = append(vals, doc...)
		}
		head, tail := s.d.upsertSearch()
		if err := s.insertRows(ctx, head, tail, searchWidth, vals); err != nil {
			return err
		}
	}
	if err := s.deleteIn(ctx, "DELETE FROM crm_links WHERE from_id IN", sr.unlink); err != nil {
		return err
	}
	if sr.linkValues > 0 {
		vals := make([]any, 0, sr.linkValues)
		for _, id := range sr.linkOrder {
			vals = append(vals, sr.links[id]...)
		}
		return s.insertRows(ctx, linkHead, linkTail, linkWidth, vals)
	}
	return nil
}

// insertRows runs head VALUES (…), (…) tail for the rows in vals, width
// values each, with as few statements as the dialect's limit of bind
// values allows.
func (s *Store) insertRows(ctx context.Context, head, tail string, width int, vals []any) error {
	per := s.d.maxParams() / width
	for len(vals) > 0 {
		n := min(len(vals)/width, per)
		if _, err := s.exec(ctx, s.rowsSQL(head, tail, width, n), vals[:n*width]...); err != nil {
			return err
		}
		vals = vals[n*width:]
	}
	return nil
}

// deleteIn runs head (…ids…) for ids, in chunks within the bind limit.
func (s *Store) deleteIn(ctx context.Context, head string, ids []string) error {
	per := s.d.maxParams()
	for len(ids) > 0 {
		n := min(len(ids), per)
		if _, err := s.exec(ctx, s.d.rebind(head+" ("+placeholders(n)+")"), anys(ids[:n])...); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}

// rowsKey names one multi-row statement: its head and its row count.
type rowsKey struct {
	head string
	rows int
}

// maxRowsSQL bounds the cache of multi-row statement texts.
const maxRowsSQL = 256

// rowsSQL returns the text of head VALUES with n rows of width bind values,
// then tail, in the dialect's placeholders; built once per shape.
func (s *Store) rowsSQL(head, tail string, width, n int) string {
	k := rowsKey{head, n}
	if q, ok := s.rowsCache.Load(k); ok {
		return q.(string)
	}
	row := "(" + placeholders(width) + ")"
	var b strings.Builder
	b.Grow(len(head) + len(tail) + n*(len(row)+2) + 8)
	b.WriteString(head)
	b.WriteString(" VALUES ")
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	if tail != "" {
		b.WriteString(" ")
		b.WriteString(tail)
	}
	q := s.d.rebind(b.String())
	if s.rowsCount.Add(1) <= maxRowsSQL {
		s.rowsCache.Store(k, q)
	}
	return q
}

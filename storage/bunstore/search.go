package bunstore

import (
	"context"
	"strings"
	"unicode"

	"github.com/crmkit/crm/storage"
)

// words splits text into lower-case words of letters and digits: the
// tokens the search index holds, the same on both dialects (Postgres's
// parser would otherwise keep "ada@example.com" as one token).
func words(text string) []string {
	return strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// maxSearchBody caps the indexed text of one record, in bytes.
const maxSearchBody = 32 << 10

// index keeps the search document of a storage.Searchable record: stored on
// create, rewritten when its text changed.
func (s *Store) index(ctx context.Context, rec, prev storage.Record) error {
	sr, ok := rec.(storage.Searchable)
	if !ok {
		return nil
	}
	title, body := sr.SearchTitle(), strings.Join(words(sr.SearchText()), " ")
	if len(body) > maxSearchBody {
		body = body[:strings.LastIndexByte(body[:maxSearchBody], ' ')+1]
	}
	if p, ok := prev.(storage.Searchable); ok && p.SearchTitle() == title &&
		strings.Join(words(p.SearchText()), " ") == body {
		return nil
	}
	m := rec.RecordMeta()
	_, err := s.exec(ctx, s.d.rebind(s.d.upsertSearch()), m.WorkspaceID, rec.RecordType(), m.ID, title, body)
	return err
}

// Search implements storage.Searcher: every word of the query must match a
// word of the record as a prefix. A principal finds only the records it may
// read.
func (s *Store) Search(ctx context.Context, q storage.SearchQuery) ([]storage.SearchHit, error) {
	ws := words(q.Text)
	if len(ws) == 0 {
		return nil, nil
	}
	if len(ws) > 16 {
		return nil, storage.Invalid("text", "has %d words, more than the limit of 16", len(ws))
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 20
	}
	limit = min(limit, storage.MaxLimit)
	args := []any{s.d.searchQuery(ws), storage.WorkspaceFrom(ctx)}
	for _, t := range q.Types {
		args = append(args, t)
	}
	var cond sqlBuilder
	if err := s.refsReadable(ctx, "d.record_type", "d.record_id", "d.workspace_id", &cond); err != nil {
		return nil, err
	}
	args = append(append(args, cond.args...), limit)
	rows, err := s.query(ctx, s.d.rebind(s.d.search(len(q.Types), cond.sb.String())), args...)
	if err != nil {
		return nil, s.d.translate(err, "search")
	}
	defer rows.Close()
	var hits []storage.SearchHit
	for rows.Next() {
		var h storage.SearchHit
		if err := rows.Scan(&h.Ref.Type, &h.Ref.ID, &h.Title, &h.Rank); err != nil {
			return nil, err
		}
		hits = append(hits, h)
	}
	return hits, rows.Err()
}

package bunstore

import (
	"cmp"
	"context"
	"slices"
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

// searchBody returns the indexed text of r: its words, lower-case, joined
// by spaces, cut at a word boundary to maxSearchBody bytes.
func searchBody(r storage.Searchable) string {
	body := strings.Join(words(r.SearchText()), " ")
	if len(body) > maxSearchBody {
		body = body[:strings.LastIndexByte(body[:maxSearchBody], ' ')+1]
	}
	return body
}

// Search implements storage.Searcher: every word of the query must match a
// word of the record as a prefix (with MatchAny one of them; with
// MatchPhrase all, whole and in a row). A principal finds only the records it may
// read; when its role hides fields of a record type, a hit of that type must
// match the record as the principal sees it, so that a hidden value cannot
// be probed by searching for it, and its title is the title of that record.
func (s *Store) Search(ctx context.Context, q storage.SearchQuery) ([]storage.SearchHit, error) {
	return bounded(ctx, s, func(ctx context.Context) ([]storage.SearchHit, error) { return s.search(ctx, q) })
}

func (s *Store) search(ctx context.Context, q storage.SearchQuery) ([]storage.SearchHit, error) {
	ws := words(q.Text)
	if len(ws) == 0 {
		return nil, nil
	}
	if len(ws) > 16 {
		return nil, storage.Invalid("text", "has %d words, more than the limit of 16", len(ws))
	}
	switch q.Match {
	case storage.MatchAll, storage.MatchAny, storage.MatchPhrase:
	default:
		return nil, storage.Invalid("match", "%q is not \"\" (all words), %q or %q", q.Match, storage.MatchAny, storage.MatchPhrase)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 20
	}
	limit = min(limit, storage.MaxLimit)
	args := []any{s.d.searchQuery(ws, q.Match), storage.WorkspaceFrom(ctx)}
	for _, t := range q.Types {
		args = append(args, t)
	}
	var cond sqlBuilder
	if err := s.refsReadable(ctx, "d.record_type", "d.record_id", "d.workspace_id", &cond); err != nil {
		return nil, err
	}
	args = append(args, cond.args...)
	query := s.d.rebind(s.d.search(len(q.Types), cond.sb.String()))
	masks, err := s.searchMasks(ctx)
	if err != nil {
		return nil, err
	}
	if masks == nil {
		return s.searchPage(ctx, query, args, limit, 0)
	}
	// A role that hides fields: the index's rank counts the hidden words
	// too, so two records alike in all the member sees would rank apart,
	// telling what it may not see. The candidates are read without rank
	// (in ID order, at most MaxLimit), those of types with hidden fields
	// checked against the record as the member sees it, and all ranked
	// here over the text the member may see.
	plain := s.d.rebind(s.d.searchPlain(len(q.Types), cond.sb.String()))
	got, err := s.searchDocs(ctx, plain, args, storage.MaxLimit)
	if err != nil {
		return nil, err
	}
	hits, err := s.verifyHits(ctx, masks, ws, q.Match, got)
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(hits, func(a, b storage.SearchHit) int { return cmp.Compare(a.Rank, b.Rank) })
	if len(hits) > limit {
		hits = hits[:limit]
	}
	return hits, nil
}

// searchDocs runs the unranked search query for up to limit hits, each
// ranked by visibleRank over its document's title and body.
func (s *Store) searchDocs(ctx context.Context, query string, args []any, limit int) ([]docHit, error) {
	rows, err := s.query(ctx, query, append(args[:len(args):len(args)], limit)...)
	if err != nil {
		return nil, s.d.translate(err, "search")
	}
	defer rows.Close()
	var hits []docHit
	for rows.Next() {
		var h docHit
		if err := rows.Scan(&h.Ref.Type, &h.Ref.ID, &h.Title, &h.body); err != nil {
			return nil, err
		}
		hits = append(hits, h)
	}
	return hits, rows.Err()
}

// docHit is a hit with the indexed body of its record.
type docHit struct {
	storage.SearchHit
	body string
}

// visibleRank ranks a record for the query words from its title and text
// alone: more words of the title (ten times), then of the text, that a
// query word begins, rank first (lower is better, as the index's ranks).
func visibleRank(qwords []string, title, text string) float64 {
	count := func(ws []string) int {
		n := 0
		for _, w := range ws {
			if slices.ContainsFunc(qwords, func(q string) bool { return strings.HasPrefix(w, q) }) {
				n++
			}
		}
		return n
	}
	return -float64(10*count(words(title)) + count(words(text)))
}

// searchPage runs the search query for limit hits after offset.
func (s *Store) searchPage(ctx context.Context, query string, args []any, limit, offset int) ([]storage.SearchHit, error) {
	rows, err := s.query(ctx, query, append(args[:len(args):len(args)], limit, offset)...)
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

// searchMasks returns the field masks of the searchable record types whose
// fields the principal of ctx may not all see; nil when there are none.
func (s *Store) searchMasks(ctx context.Context) (map[string]*fieldMask, error) {
	p, err := s.principal(ctx)
	if err != nil || p == nil || len(p.Fields) == 0 {
		return nil, err
	}
	var out map[string]*fieldMask
	for _, c := range s.codecs() {
		rt := c.recType
		if !c.searchable {
			continue
		}
		if m := c.maskOf(p); m.hides() {
			if out == nil {
				out = map[string]*fieldMask{}
			}
			out[rt] = m
		}
	}
	return out, nil
}

// verifyHits keeps the hits whose record, with its hidden fields blanked,
// still matches the query words as match says, and gives
// them that record's title; hits of types without hidden fields pass as
// they are. Each is ranked over what the member sees (visibleRank).
func (s *Store) verifyHits(ctx context.Context, masks map[string]*fieldMask, qwords []string, match storage.SearchMatch, hits []docHit) ([]storage.SearchHit, error) {
	ids := map[string][]string{}
	for _, h := range hits {
		if masks[h.Ref.Type] != nil {
			ids[h.Ref.Type] = append(ids[h.Ref.Type], h.Ref.ID)
		}
	}
	seen := map[storage.Ref]storage.Searchable{}
	for rt, list := range ids {
		m := masks[rt]
		var b sqlBuilder
		b.add("SELECT "+m.c.selectCols+" FROM "+m.c.table+" t WHERE t.workspace_id = ? AND t.id IN ("+placeholders(len(list))+")",
			append([]any{storage.WorkspaceFrom(ctx)}, anys(list)...)...)
		rows, err := s.query(ctx, s.d.rebind(b.sb.String()), b.args...)
		if err != nil {
			return nil, s.d.translate(err, rt)
		}
		sc := m.c.newScanner()
		for rows.Next() {
			rv, err := m.c.scan(rows, sc)
			if err != nil {
				rows.Close()
				return nil, err
			}
			m.apply(rv)
			rec := rv.Interface().(storage.Searchable)
			seen[storage.Ref{Type: rt, ID: rec.RecordMeta().ID}] = rec
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	var out []storage.SearchHit
	for _, d := range hits {
		h := d.SearchHit
		if masks[h.Ref.Type] == nil {
			h.Rank = visibleRank(qwords, h.Title, d.body)
			out = append(out, h)
			continue
		}
		rec := seen[h.Ref]
		if rec == nil || !matches(qwords, words(rec.SearchTitle()+" "+rec.SearchText()), match) {
			continue
		}
		h.Title = rec.SearchTitle()
		h.Rank = visibleRank(qwords, h.Title, rec.SearchText())
		out = append(out, h)
	}
	return out, nil
}

// matches reports whether the query words match the text as the index
// matches them: every word (with MatchAny, one of them) a prefix of a
// word of the text, or with MatchPhrase the words whole and in a row.
func matches(qwords, text []string, match storage.SearchMatch) bool {
	if match == storage.MatchPhrase {
		for i := 0; i+len(qwords) <= len(text); i++ {
			if slices.Equal(text[i:i+len(qwords)], qwords) {
				return true
			}
		}
		return false
	}
	anyWord := match == storage.MatchAny
	for _, q := range qwords {
		found := slices.ContainsFunc(text, func(w string) bool { return strings.HasPrefix(w, q) })
		if found && anyWord {
			return true
		}
		if !found && !anyWord {
			return false
		}
	}
	return !anyWord
}

package service

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/crmkit/crm/storage"
)

// ArticleSearch refines a search of articles.
type ArticleSearch struct {
	// Drafts includes drafts (Search only; a public search never has
	// them).
	Drafts bool
	// CategoryID keeps the articles of one category (not of the categories
	// under it); "" keeps all.
	CategoryID string
	// Limit caps the hits; 0 means 20, at most storage.MaxLimit.
	Limit int
}

// ArticleHit is an article found by a search, best first.
type ArticleHit struct {
	Article *Article
	// Rank orders the hits: lower is better (the full-text index's rank).
	Rank float64
}

// Search finds the articles whose words start with each word of text, best
// first, for the desk: internal and public ones, drafts with opts.Drafts,
// those the principal may read. Text of more than 16 words is ErrInvalid.
func (as *Articles) Search(ctx context.Context, text string, opts ArticleSearch) ([]ArticleHit, error) {
	statuses := []ArticleStatus{ArticleInternal, ArticlePublic}
	if opts.Drafts {
		statuses = append(statuses, ArticleDraft)
	}
	return as.find(ctx, text, storage.MatchAll, statuses, opts.CategoryID, opts.Limit)
}

// PublicSearch is Search for a help center: public articles only, whoever
// asks (it reads as the system, since public articles are everyone's to
// read), so that a draft or an internal article never shows.
// opts.Drafts is ignored.
func (as *Articles) PublicSearch(ctx context.Context, text string, opts ArticleSearch) ([]ArticleHit, error) {
	return as.find(storage.AsSystem(ctx), text, storage.MatchAll, []ArticleStatus{ArticlePublic}, opts.CategoryID, opts.Limit)
}

// PublicArticle returns the public article with slug, for a help center
// (whoever asks); an article that is not public is ErrNotFound.
func (as *Articles) PublicArticle(ctx context.Context, slug string) (*Article, error) {
	a, err := as.BySlug(storage.AsSystem(ctx), slug)
	if err == nil && a.Status != ArticlePublic {
		return nil, fmt.Errorf("%w: article %q", storage.ErrNotFound, slug)
	}
	return a, err
}

// PublicArticles returns a page of the public articles of a category (""
// for all), for a help center (whoever asks), newest published first.
func (as *Articles) PublicArticles(ctx context.Context, categoryID string, q storage.PageQuery) (storage.Page[*Article], error) {
	f := storage.And{storage.Eq("status", ArticlePublic)}
	if categoryID != "" {
		f = append(f, storage.Eq("category_id", categoryID))
	}
	return as.s.t.articles.List(storage.AsSystem(ctx), storage.ListQuery{Filter: f,
		Sort: []storage.Sort{{Field: "published_at", Desc: true}}, PageQuery: q})
}

// Suggest returns the articles that may answer a case, best first, at
// most limit (0 means 5): internal and public articles, those the
// principal may read, with any of the words of the case's subject and
// description (common words left out; the first 16 others), those with
// more of them, and rarer ones, first.
func (as *Articles) Suggest(ctx context.Context, caseID string, limit int) ([]ArticleHit, error) {
	c, err := as.s.t.cases.Get(ctx, caseID)
	if err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = 5
	}
	ws := keywords(c.Subject+" "+c.Description, maxSearchWords)
	if len(ws) == 0 {
		return nil, nil
	}
	return as.find(ctx, strings.Join(ws, " "), storage.MatchAny, []ArticleStatus{ArticleInternal, ArticlePublic}, "", limit)
}

// maxSearchWords is the most words a search takes (storage.SearchQuery).
const maxSearchWords = 16

// find searches the articles of the statuses (and category) for text,
// keeping the index's order. The index knows no status, so find asks it
// for more hits than it needs and keeps those of the statuses, asking for
// more while the index has more and the page is not full.
func (as *Articles) find(ctx context.Context, text string, match storage.SearchMatch, statuses []ArticleStatus, category string, limit int) ([]ArticleHit, error) {
	if limit <= 0 {
		limit = 20
	}
	limit = min(limit, storage.MaxLimit)
	for n := min(2*limit+10, storage.MaxLimit); ; n = min(4*n, storage.MaxLimit) {
		hits, err := as.s.store.Search(ctx, storage.SearchQuery{Text: text, Types: []string{ObjectArticle}, Limit: n, Match: match})
		if err != nil || len(hits) == 0 {
			return nil, err
		}
		ids := make([]string, len(hits))
		for i, h := range hits {
			ids[i] = h.Ref.ID
		}
		f := storage.And{storage.In("id", ids...), storage.In("status", statuses...)}
		if category != "" {
			f = append(f, storage.Eq("category_id", category))
		}
		page, err := as.s.t.articles.List(ctx, storage.ListQuery{Filter: f, PageQuery: storage.PageQuery{Limit: storage.MaxLimit}})
		if err != nil {
			return nil, err
		}
		byID := make(map[string]*Article, len(page.Items))
		for _, a := range page.Items {
			byID[a.ID] = a
		}
		out := make([]ArticleHit, 0, min(limit, len(byID)))
		for _, h := range hits {
			if a := byID[h.Ref.ID]; a != nil && len(out) < limit {
				out = append(out, ArticleHit{Article: a, Rank: h.Rank})
			}
		}
		if len(out) == limit || len(hits) < n || n == storage.MaxLimit {
			return out, nil
		}
	}
}

// keywords returns the words of text worth searching for, at most max:
// lower-case words of letters and digits (as the index splits them),
// each once, in order, without stop words and single letters.
func keywords(text string, max int) []string {
	var out []string
	for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}) {
		if len(out) == max {
			break
		}
		if len([]rune(w)) < 2 || stopWords[w] || slices.Contains(out, w) {
			continue
		}
		out = append(out, w)
	}
	return out
}

// stopWords are words too common in a customer's message to tell one
// article from another: English function words and the courtesies of
// a support request.
var stopWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`
		about above after again against all am an and any are as at be because been before being below between both
		but by can cannot could did do does doing don down during each few for from further had has have having he
		her here hers him his how if in into is it its itself just me more most my no nor not now of off on once only
		or other our ours out over own same she should so some such than that the their theirs them then there these
		they this those through to too under until up very was we were what when where which while who whom why will
		with would you your yours yourself doesn didn isn wasn aren won ve ll re also get got still
		hello hi hey dear thanks thank please regards cheers kind best`) {
		m[w] = true
	}
	return m
}()

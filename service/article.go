package service

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/access"
)

// ArticleStatus is who may see an article: the desk's authors while it is
// a draft, the desk once it is internal, everyone (the help center) once
// it is public.
type ArticleStatus string

// The article statuses.
const (
	ArticleDraft    ArticleStatus = "draft"
	ArticleInternal ArticleStatus = "internal"
	ArticlePublic   ArticleStatus = "public"
)

// Published reports whether the status is internal or public.
func (s ArticleStatus) Published() bool { return s == ArticleInternal || s == ArticlePublic }

// MaxArticleLen bounds an article's body (Markdown), in bytes.
const MaxArticleLen = 200_000

// Article is a knowledge-base article: a Markdown body, stored with its
// sanitised HTML so that reads do not render, in a category, draft,
// internal or public. Each change of its title or body is a new numbered
// version (ArticleVersion). Articles are owned records: the owner is the
// author (the member who created it, unless another is named), and
// members read them as their role's read scope says (a rep its team's
// and its own; give a role read "all" on "article" for a knowledge base
// the whole desk reads).
type Article struct {
	storage.Meta
	Title string `bun:"title,notnull" json:"title"`
	// Slug names the article in URLs ("reset-your-password"), unique in
	// the workspace; made from the title when not given, and kept when
	// the title changes.
	Slug string `bun:"slug,notnull" json:"slug"`
	// Summary is the author's summary, or ""; Excerpt is the summary, or
	// else the beginning of the body's text: what a list of results shows.
	Summary string `bun:"summary,notnull" json:"summary,omitempty"`
	Excerpt string `bun:"excerpt,notnull" json:"excerpt"`
	// Body is the article in Markdown (CommonMark with GitHub's tables,
	// strikethrough and autolinks); HTML is its rendering, sanitised
	// (RenderMarkdown), kept by every write.
	Body       string        `bun:"body,notnull" json:"body"`
	HTML       string        `bun:"html,notnull" json:"html"`
	CategoryID string        `bun:"category_id,notnull" json:"category_id,omitempty"`
	Tags       []string      `bun:"tags" json:"tags,omitempty"`
	Status     ArticleStatus `bun:"status,notnull" json:"status"`
	// OwnerID is the author; TeamID a team that keeps it.
	OwnerID string `bun:"owner_id,notnull" json:"owner_id,omitempty"`
	TeamID  string `bun:"team_id,notnull" json:"team_id,omitempty"`
	// PublishedAt is when the article last left draft (zero while it is a
	// draft).
	PublishedAt time.Time `bun:"published_at,notnull" json:"published_at,omitzero"`
	// Revision is the number of its current version: 1 when created, one
	// more at each change of title or body.
	Revision int64 `bun:"revision,notnull" json:"revision"`
	// HelpfulVotes and UnhelpfulVotes count the votes it has (Vote), kept
	// exact by the store at every vote's write, without an event of the
	// article.
	HelpfulVotes   int64 `bun:"helpful_votes,notnull" crm:"derived" json:"helpful_votes"`
	UnhelpfulVotes int64 `bun:"unhelpful_votes,notnull" crm:"derived" json:"unhelpful_votes"`
}

// RecordType returns "article".
func (*Article) RecordType() string { return ObjectArticle }

// SearchTitle returns the article's title.
func (a *Article) SearchTitle() string { return a.Title }

// SearchText returns the article's title, summary, text and tags.
func (a *Article) SearchText() string {
	return strings.Join(append([]string{a.Title, a.Summary, plainText(a.HTML)}, a.Tags...), " ")
}

// Votes returns how many votes the article has.
func (a *Article) Votes() int64 { return a.HelpfulVotes + a.UnhelpfulVotes }

// Score returns the share of its votes that found the article helpful,
// from 0 to 1; 0 without votes.
func (a *Article) Score() float64 {
	if a.Votes() == 0 {
		return 0
	}
	return float64(a.HelpfulVotes) / float64(a.Votes())
}

// ArticleVersion is one version of an article's title and body, kept
// append-only: Articles writes a new one at each change and never changes
// one. Its CreatedBy is who wrote it; it is written as the principal of
// the article's change (whose role must let it create article versions,
// as the built-in roles' grant of "*" does), and read through the article
// (Articles.Versions).
type ArticleVersion struct {
	storage.Meta
	ArticleID string `bun:"article_id,notnull" json:"article_id"`
	// Number counts the article's versions from 1.
	Number int64  `bun:"number,notnull" json:"number"`
	Title  string `bun:"title,notnull" json:"title"`
	Body   string `bun:"body,notnull" json:"body"`
	// Note says what changed ("restored version 2"), or "".
	Note string `bun:"note,notnull" json:"note,omitempty"`
}

// RecordType returns "article_version".
func (*ArticleVersion) RecordType() string { return ObjectArticleVersion }

// NewArticle is the input of Articles.Create.
type NewArticle struct {
	Title string
	// Slug defaults to one made from the title ("-2", "-3" … added while
	// it is taken).
	Slug, Summary, Body string
	CategoryID          string
	Tags                []string
	// Status defaults to draft. Creating an article published stamps
	// PublishedAt.
	Status ArticleStatus
	// OwnerID defaults to the acting member; TeamID to none.
	OwnerID, TeamID string
	// Note describes the first version.
	Note string
}

// UpdateArticle changes an article; nil fields stay as they are. A change
// of the title or the body makes a new version, described by Note.
type UpdateArticle struct {
	Title, Slug, Summary, Body *string
	CategoryID                 *string
	Tags                       *[]string
	OwnerID, TeamID            *string
	Note                       string
}

// Articles writes and reads knowledge-base articles, their versions and
// their votes, and searches them.
type Articles struct{ s *Service }

// Create writes an article and its first version. A slug given and taken
// is a *storage.ConflictError naming "slug".
func (as *Articles) Create(ctx context.Context, in NewArticle) (*Article, error) {
	a := &Article{Title: in.Title, Slug: in.Slug, Summary: in.Summary, Body: in.Body, CategoryID: in.CategoryID,
		Status: in.Status, OwnerID: in.OwnerID, TeamID: in.TeamID, Revision: 1}
	if a.Status == "" {
		a.Status = ArticleDraft
	}
	err := as.s.store.RunInTx(ctx, func(ctx context.Context) error {
		var v storage.ValidationError
		storage.TrimText(&v, "note", &in.Note, MaxTextLen)
		autoSlug := strings.TrimSpace(a.Slug) == ""
		a.Tags = as.check(&v, a, in.Tags)
		if err := as.checkRefs(ctx, &v, a, true, true); err != nil {
			return err
		}
		if err := v.Err(); err != nil {
			return err
		}
		if err := as.render(a); err != nil {
			return err
		}
		if autoSlug {
			if err := as.freeSlug(ctx, a); err != nil {
				return err
			}
		}
		if a.Status.Published() {
			a.PublishedAt = storage.WriteTimeFrom(ctx)
		}
		if err := as.s.t.articles.Insert(ctx, a); err != nil {
			return err
		}
		return as.s.t.versions.Insert(ctx, &ArticleVersion{ArticleID: a.ID, Number: 1, Title: a.Title, Body: a.Body, Note: in.Note})
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// check validates and normalises a's own fields, adding each bad one to v,
// and returns the normalised tags. An empty slug is made from the title.
func (as *Articles) check(v *storage.ValidationError, a *Article, tags []string) []string {
	storage.TrimText(v, "title", &a.Title, MaxTextLen)
	if a.Title == "" {
		v.Add("title", "is required")
	}
	storage.TrimText(v, "summary", &a.Summary, MaxTextLen*2)
	// The body keeps its leading spaces: in Markdown they may make a code
	// block.
	if a.Body = strings.TrimRightFunc(a.Body, unicode.IsSpace); len(a.Body) > MaxArticleLen {
		v.Add("body", "is longer than %d bytes", MaxArticleLen)
	}
	storage.TrimText(v, "slug", &a.Slug, maxSlugLen)
	if a.Slug == "" {
		a.Slug = slugOf(a.Title)
		if a.Slug == "" && a.Title != "" {
			a.Slug = "article"
		}
	}
	if a.Slug != "" && !validSlug(a.Slug) {
		v.Add("slug", "%q is not a slug (lower-case words of letters and digits joined by dashes)", a.Slug)
	}
	switch a.Status {
	case ArticleDraft, ArticleInternal, ArticlePublic:
	default:
		v.Add("status", "%q is not draft, internal or public", a.Status)
	}
	storage.TrimText(v, "owner_id", &a.OwnerID, MaxTextLen)
	storage.TrimText(v, "team_id", &a.TeamID, MaxTextLen)
	storage.TrimText(v, "category_id", &a.CategoryID, MaxTextLen)
	out, err := contacts.NormalizeTags(tags)
	var bad *storage.ValidationError
	if errors.As(err, &bad) {
		v.Merge("", bad)
	}
	return out
}

// checkRefs adds to v the category, owner and team of a that name no
// record; only those that changed are checked (owner and team when
// people is true).
func (as *Articles) checkRefs(ctx context.Context, v *storage.ValidationError, a *Article, category, people bool) error {
	refs := []struct {
		field, typ, id string
		check          bool
	}{{"category_id", ObjectArticleCategory, a.CategoryID, category},
		{"owner_id", access.ObjectMember, a.OwnerID, people}, {"team_id", access.ObjectTeam, a.TeamID, people}}
	for _, r := range refs {
		if !r.check || r.id == "" {
			continue
		}
		if err := storage.CheckRef(ctx, v, r.field, as.s.store, storage.Ref{Type: r.typ, ID: r.id}); err != nil {
			return err
		}
	}
	return nil
}

// render sets a's HTML and excerpt from its body and summary.
func (as *Articles) render(a *Article) error {
	htm, err := RenderMarkdown(a.Body)
	if err != nil {
		return fmt.Errorf("service: rendering article %q: %w", a.Title, err)
	}
	a.HTML = htm
	a.Excerpt = a.Summary
	if a.Excerpt == "" {
		a.Excerpt = excerptOf(plainText(htm))
	}
	return nil
}

// freeSlug makes a's slug, made from its title, free in the workspace by
// adding "-2", "-3" … to it. Every article counts, those the principal may
// not read too.
func (as *Articles) freeSlug(ctx context.Context, a *Article) error {
	base := a.Slug
	for n := 2; ; n++ {
		taken, err := as.s.t.articles.Count(storage.AsSystem(ctx), storage.And{storage.Eq("slug", a.Slug), storage.Ne("id", a.ID)})
		if err != nil || taken == 0 {
			return err
		}
		if n > 100 {
			return &storage.ConflictError{Field: "slug", Err: fmt.Errorf("%w: slugs %s to %s-100 are taken", storage.ErrConflict, base, base)}
		}
		suffix := fmt.Sprintf("-%d", n)
		a.Slug = strings.TrimRight(storage.CutText(base, maxSlugLen-len(suffix)), "-") + suffix
	}
}

// Get returns the article with id, as the principal may read it.
func (as *Articles) Get(ctx context.Context, id string) (*Article, error) {
	return as.s.t.articles.Get(ctx, id)
}

// BySlug returns the article with slug, or ErrNotFound.
func (as *Articles) BySlug(ctx context.Context, slug string) (*Article, error) {
	page, err := as.s.t.articles.List(ctx, storage.ListQuery{Filter: storage.Eq("slug", slug), PageQuery: storage.PageQuery{Limit: 1}})
	if err != nil {
		return nil, err
	}
	if len(page.Items) == 0 {
		return nil, fmt.Errorf("%w: article %q", storage.ErrNotFound, slug)
	}
	return page.Items[0], nil
}

// List returns a page of articles.
func (as *Articles) List(ctx context.Context, q storage.ListQuery) (storage.Page[*Article], error) {
	return as.s.t.articles.List(ctx, q)
}

// Update changes an article. A change of its title or body writes the next
// version in the same transaction; a change of its body renders it again.
// A slug set to "" is made again from the title. Its status changes
// through SetStatus.
func (as *Articles) Update(ctx context.Context, id string, in UpdateArticle) (*Article, error) {
	var v storage.ValidationError
	storage.TrimText(&v, "note", &in.Note, MaxTextLen)
	if err := v.Err(); err != nil {
		return nil, err
	}
	autoSlug := in.Slug != nil && strings.TrimSpace(*in.Slug) == ""
	var out *Article
	err := as.s.store.RunInTx(ctx, func(ctx context.Context) error {
		var err error
		newVersion := false
		out, err = storage.Modify(ctx, as.s.store, as.s.t.articles, id, 0, func(ctx context.Context, a *Article) error {
			prev := *a
			storage.Set(&a.Title, in.Title)
			storage.Set(&a.Slug, in.Slug)
			storage.Set(&a.Summary, in.Summary)
			storage.Set(&a.Body, in.Body)
			storage.Set(&a.CategoryID, in.CategoryID)
			storage.Set(&a.OwnerID, in.OwnerID)
			storage.Set(&a.TeamID, in.TeamID)
			tags := a.Tags
			storage.Set(&tags, in.Tags)
			var v storage.ValidationError
			a.Tags = as.check(&v, a, tags)
			if err := as.checkRefs(ctx, &v, a, a.CategoryID != prev.CategoryID,
				a.OwnerID != prev.OwnerID || a.TeamID != prev.TeamID); err != nil {
				return err
			}
			if err := v.Err(); err != nil {
				return err
			}
			if autoSlug {
				if err := as.freeSlug(ctx, a); err != nil {
					return err
				}
			}
			if a.Body != prev.Body || a.Summary != prev.Summary {
				if err := as.render(a); err != nil {
					return err
				}
			}
			newVersion = a.Title != prev.Title || a.Body != prev.Body
			if newVersion {
				a.Revision = prev.Revision + 1
			}
			return nil
		})
		if err != nil || !newVersion {
			return err
		}
		return as.s.t.versions.Insert(ctx, &ArticleVersion{ArticleID: out.ID, Number: out.Revision,
			Title: out.Title, Body: out.Body, Note: in.Note})
	})
	return out, err
}

// SetStatus moves an article to status. Leaving draft publishes it
// (event article.published) and stamps PublishedAt; going back to draft
// unpublishes it (article.unpublished) and clears it; internal to public
// and back is article.status_changed. Moving to the current status changes
// nothing.
func (as *Articles) SetStatus(ctx context.Context, id string, status ArticleStatus) (*Article, error) {
	switch status {
	case ArticleDraft, ArticleInternal, ArticlePublic:
	default:
		return nil, storage.Invalid("status", "%q is not draft, internal or public", status)
	}
	var out *Article
	err := as.s.store.RunInTx(ctx, func(ctx context.Context) error {
		prev, err := as.s.t.articles.Get(ctx, id)
		if err != nil {
			return err
		}
		if out = prev; prev.Status == status {
			return nil
		}
		next := *prev
		next.Status = status
		event := ObjectArticle + ".status_changed"
		switch {
		case status.Published() && !prev.Status.Published():
			next.PublishedAt, event = storage.WriteTimeFrom(ctx), ObjectArticle+".published"
		case !status.Published():
			next.PublishedAt, event = time.Time{}, ObjectArticle+".unpublished"
		}
		if err := as.s.t.articles.Update(ctx, prev, &next, storage.WithEventType(event)); err != nil {
			return err
		}
		out = &next
		return nil
	})
	return out, err
}

// Versions returns a page of an article's versions, newest first, to a
// principal that may read the article.
func (as *Articles) Versions(ctx context.Context, articleID string, q storage.PageQuery) (storage.Page[*ArticleVersion], error) {
	if _, err := as.s.t.articles.Get(ctx, articleID); err != nil {
		return storage.Page[*ArticleVersion]{}, err
	}
	return as.s.t.versions.List(storage.AsSystem(ctx), storage.ListQuery{Filter: storage.Eq("article_id", articleID),
		Sort: []storage.Sort{{Field: "number", Desc: true}}, PageQuery: q})
}

// Version returns version number of an article, to a principal that may
// read the article.
func (as *Articles) Version(ctx context.Context, articleID string, number int64) (*ArticleVersion, error) {
	if _, err := as.s.t.articles.Get(ctx, articleID); err != nil {
		return nil, err
	}
	page, err := as.s.t.versions.List(storage.AsSystem(ctx), storage.ListQuery{
		Filter: storage.And{storage.Eq("article_id", articleID), storage.Eq("number", number)}, PageQuery: storage.PageQuery{Limit: 1}})
	if err != nil {
		return nil, err
	}
	if len(page.Items) == 0 {
		return nil, fmt.Errorf("%w: version %d of article %s", storage.ErrNotFound, number, articleID)
	}
	return page.Items[0], nil
}

// Restore brings back the title and body of version number of an article
// as its next version ("restored version 2"), in one transaction. Restoring
// the current version changes nothing.
func (as *Articles) Restore(ctx context.Context, articleID string, number int64) (*Article, error) {
	var out *Article
	err := as.s.store.RunInTx(ctx, func(ctx context.Context) error {
		ver, err := as.Version(ctx, articleID, number)
		if err != nil {
			return err
		}
		out, err = as.Update(ctx, articleID, UpdateArticle{Title: &ver.Title, Body: &ver.Body,
			Note: fmt.Sprintf("restored version %d", number)})
		return err
	})
	return out, err
}

// Delete removes an article with its versions and votes, in one
// transaction, when the principal may delete the article.
func (as *Articles) Delete(ctx context.Context, id string) error {
	return as.s.store.RunInTx(ctx, func(ctx context.Context) error {
		if az, ok := as.s.store.(storage.Authorizer); ok { // before its versions and votes go
			if err := az.Check(ctx, storage.Ref{Type: ObjectArticle, ID: id}, storage.ActionDelete); err != nil {
				return err
			}
		}
		sys := storage.AsSystem(ctx)
		q := storage.ListQuery{Filter: storage.Eq("article_id", id), PageQuery: storage.PageQuery{Limit: storage.MaxLimit}}
		if err := storage.Each(sys, as.s.t.votes, q, func(v *ArticleVote) error { return as.s.t.votes.Delete(sys, v) }); err != nil {
			return err
		}
		if err := storage.Each(sys, as.s.t.versions, q, func(v *ArticleVersion) error { return as.s.t.versions.Delete(sys, v) }); err != nil {
			return err
		}
		return storage.Remove(ctx, as.s.store, as.s.t.articles, id, 0, nil)
	})
}

package service

import (
	"context"
	"fmt"

	"github.com/crmkit/crm/storage"
)

// ArticleCategory is a section of the knowledge base. Categories form a
// tree (ParentID) ordered by Position, then name, among siblings.
type ArticleCategory struct {
	storage.Meta
	Name string `bun:"name,notnull" json:"name"`
	// Slug names the category in URLs ("billing"), unique in the
	// workspace; made from the name when not given.
	Slug        string `bun:"slug,notnull" json:"slug"`
	ParentID    string `bun:"parent_id,notnull" json:"parent_id,omitempty"`
	Description string `bun:"description,notnull" json:"description,omitempty"`
	Position    int    `bun:"sort_order,notnull" json:"position"`
}

// RecordType returns "article_category".
func (*ArticleCategory) RecordType() string { return ObjectArticleCategory }

// NewArticleCategory is the input of ArticleCategories.Create.
type NewArticleCategory struct {
	Name, Slug, ParentID, Description string
	Position                          int
}

// UpdateArticleCategory changes a category; nil fields stay as they are.
// ParentID "" moves it to the top of the tree.
type UpdateArticleCategory struct {
	Name, Slug, ParentID, Description *string
	Position                          *int
}

// ArticleCategories stores the knowledge base's categories: configuration
// (storage.AccessConfig), which every member reads and admins change.
type ArticleCategories struct{ s *Service }

// Create adds a category. Its parent must exist; its slug (made from the
// name when empty) must be free in the workspace (else a
// *storage.ConflictError naming "slug").
func (cs *ArticleCategories) Create(ctx context.Context, in NewArticleCategory) (*ArticleCategory, error) {
	c := &ArticleCategory{Name: in.Name, Slug: in.Slug, ParentID: in.ParentID, Description: in.Description, Position: in.Position}
	err := cs.s.store.RunInTx(ctx, func(ctx context.Context) error {
		if err := cs.check(ctx, c); err != nil {
			return err
		}
		return cs.s.t.categories.Insert(ctx, c)
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// check validates and normalises c, its parent included: a parent that is
// c itself or under it would cut the branch off the tree.
func (cs *ArticleCategories) check(ctx context.Context, c *ArticleCategory) error {
	var v storage.ValidationError
	storage.TrimText(&v, "name", &c.Name, MaxTextLen)
	if c.Name == "" {
		v.Add("name", "is required")
	}
	storage.TrimText(&v, "description", &c.Description, MaxTextLen*4)
	storage.TrimText(&v, "slug", &c.Slug, maxSlugLen)
	if c.Slug == "" {
		c.Slug = slugOf(c.Name)
	}
	if c.Slug != "" && !validSlug(c.Slug) {
		v.Add("slug", "%q is not a slug (lower-case words of letters and digits joined by dashes)", c.Slug)
	}
	storage.TrimText(&v, "parent_id", &c.ParentID, MaxTextLen)
	if c.ParentID != "" {
		if err := storage.CheckRef(ctx, &v, "parent_id", cs.s.store, storage.Ref{Type: ObjectArticleCategory, ID: c.ParentID}); err != nil {
			return err
		}
	}
	if err := v.Err(); err != nil {
		return err
	}
	// Walk up from the parent: meeting c means a cycle. The depth bound
	// stops a walk through a cycle written by other means.
	for id, depth := c.ParentID, 0; id != "" && c.ID != ""; depth++ {
		if id == c.ID {
			return storage.Invalid("parent_id", "is the category itself or one of its descendants")
		}
		if depth > maxCategoryDepth {
			return storage.Invalid("parent_id", "the tree is deeper than %d categories", maxCategoryDepth)
		}
		p, err := cs.s.t.categories.Get(ctx, id)
		if err != nil {
			return err
		}
		id = p.ParentID
	}
	return nil
}

// maxCategoryDepth bounds the depth of the category tree.
const maxCategoryDepth = 32

// Get returns the category with id.
func (cs *ArticleCategories) Get(ctx context.Context, id string) (*ArticleCategory, error) {
	return cs.s.t.categories.Get(ctx, id)
}

// BySlug returns the category with slug, or ErrNotFound.
func (cs *ArticleCategories) BySlug(ctx context.Context, slug string) (*ArticleCategory, error) {
	page, err := cs.s.t.categories.List(ctx, storage.ListQuery{Filter: storage.Eq("slug", slug), PageQuery: storage.PageQuery{Limit: 1}})
	if err != nil {
		return nil, err
	}
	if len(page.Items) == 0 {
		return nil, fmt.Errorf("%w: article category %q", storage.ErrNotFound, slug)
	}
	return page.Items[0], nil
}

// Children returns the categories under parentID ("" for the top of the
// tree), by position, then name.
func (cs *ArticleCategories) Children(ctx context.Context, parentID string) ([]*ArticleCategory, error) {
	var out []*ArticleCategory
	err := storage.Each(ctx, cs.s.t.categories, storage.ListQuery{Filter: storage.Eq("parent_id", parentID),
		Sort: []storage.Sort{{Field: "sort_order"}, {Field: "name"}}, PageQuery: storage.PageQuery{Limit: storage.MaxLimit}},
		func(c *ArticleCategory) error { out = append(out, c); return nil })
	return out, err
}

// List returns a page of categories.
func (cs *ArticleCategories) List(ctx context.Context, q storage.ListQuery) (storage.Page[*ArticleCategory], error) {
	return cs.s.t.categories.List(ctx, q)
}

// Update changes a category. Moving it under itself or one of its
// descendants is ErrInvalid naming "parent_id".
func (cs *ArticleCategories) Update(ctx context.Context, id string, in UpdateArticleCategory) (*ArticleCategory, error) {
	return storage.Modify(ctx, cs.s.store, cs.s.t.categories, id, 0, func(ctx context.Context, c *ArticleCategory) error {
		storage.Set(&c.Name, in.Name)
		storage.Set(&c.Slug, in.Slug)
		storage.Set(&c.ParentID, in.ParentID)
		storage.Set(&c.Description, in.Description)
		storage.Set(&c.Position, in.Position)
		return cs.check(ctx, c)
	})
}

// Delete removes a category. A category that holds articles or other
// categories is kept: ErrConflict (move or delete them first).
func (cs *ArticleCategories) Delete(ctx context.Context, id string) error {
	return storage.Remove(ctx, cs.s.store, cs.s.t.categories, id, 0, func(ctx context.Context, c *ArticleCategory) error {
		sys := storage.AsSystem(ctx) // articles the member may not read count too
		children, err := cs.s.t.categories.Count(sys, storage.Eq("parent_id", c.ID))
		if err != nil {
			return err
		}
		articles, err := cs.s.t.articles.Count(sys, storage.Eq("category_id", c.ID))
		if err != nil {
			return err
		}
		if children > 0 || articles > 0 {
			return fmt.Errorf("%w: category %q holds %d categories and %d articles", storage.ErrConflict, c.Name, children, articles)
		}
		return nil
	})
}

package sales

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage"
)

// Product is something the business sells.
type Product struct {
	storage.Meta
	// SKU is the stock keeping unit; unique in the workspace when set.
	SKU         string   `bun:"sku,notnull" json:"sku,omitempty"`
	Name        string   `bun:"name,notnull" json:"name"`
	Description string   `bun:"description,notnull" json:"description,omitempty"`
	Active      bool     `bun:"active,notnull" json:"active"`
	TaxCategory string   `bun:"tax_category,notnull" json:"tax_category,omitempty"`
	Tags        []string `bun:"tags" json:"tags,omitempty"`
}

// RecordType returns "product".
func (*Product) RecordType() string { return ObjectProduct }

// SearchTitle returns the product's name.
func (p *Product) SearchTitle() string { return p.Name }

// SearchText returns the product's name, SKU and description.
func (p *Product) SearchText() string { return p.Name + " " + p.SKU + " " + p.Description }

// PriceBook is a list of prices: the workspace's standard one, and custom
// ones (per region, per channel, per customer tier).
type PriceBook struct {
	storage.Meta
	Name        string `bun:"name,notnull" json:"name"`
	Description string `bun:"description,notnull" json:"description,omitempty"`
	IsStandard  bool   `bun:"is_standard,notnull" json:"is_standard"`
	Active      bool   `bun:"active,notnull" json:"active"`
}

// RecordType returns "price_book".
func (*PriceBook) RecordType() string { return ObjectPriceBook }

// PriceEntry is the price of one product in one price book and currency.
type PriceEntry struct {
	storage.Meta
	PriceBookID string        `bun:"price_book_id,notnull" json:"price_book_id"`
	ProductID   string        `bun:"product_id,notnull" json:"product_id"`
	Price       storage.Money `bun:"embed:price_" json:"price"`
}

// RecordType returns "price_entry".
func (*PriceEntry) RecordType() string { return ObjectPriceEntry }

// NewProduct is the input of Products.Create.
type NewProduct struct {
	SKU, Name, Description, TaxCategory string
	Inactive                            bool
	Tags                                []string
}

// UpdateProduct changes a product; nil fields stay as they are.
type UpdateProduct struct {
	SKU, Name, Description, TaxCategory *string
	Active                              *bool
	Tags                                *[]string
}

// Products manages the catalogue.
type Products struct{ s *Service }

// Create adds a product. A SKU in use is a *storage.ConflictError.
func (ps *Products) Create(ctx context.Context, in NewProduct) (*Product, error) {
	p := &Product{SKU: in.SKU, Name: in.Name, Description: in.Description, TaxCategory: in.TaxCategory, Active: !in.Inactive, Tags: in.Tags}
	if err := checkProduct(p); err != nil {
		return nil, err
	}
	if err := ps.s.t.products.Insert(ctx, p); err != nil {
		return nil, err
	}
	return p, nil
}

func checkProduct(p *Product) error {
	var v storage.ValidationError
	storage.TrimText(&v, "sku", &p.SKU, MaxTextLen)
	storage.TrimText(&v, "name", &p.Name, MaxTextLen)
	storage.TrimText(&v, "tax_category", &p.TaxCategory, MaxTextLen)
	p.Description = strings.TrimSpace(p.Description)
	if p.Name == "" {
		v.Add("name", "is required")
	}
	tags, err := contacts.NormalizeTags(p.Tags)
	if err != nil {
		v.Add("tags", "%v", err)
	}
	p.Tags = tags
	return v.Err()
}

// Get returns the product with id.
func (ps *Products) Get(ctx context.Context, id string) (*Product, error) {
	return ps.s.t.products.Get(ctx, id)
}

// List returns a page of products.
func (ps *Products) List(ctx context.Context, q storage.ListQuery) (storage.Page[*Product], error) {
	return ps.s.t.products.List(ctx, q)
}

// Update changes a product.
func (ps *Products) Update(ctx context.Context, id string, in UpdateProduct) (*Product, error) {
	return storage.Modify(ctx, ps.s.store, ps.s.t.products, id, 0, func(ctx context.Context, p *Product) error {
		storage.Set(&p.SKU, in.SKU)
		storage.Set(&p.Name, in.Name)
		storage.Set(&p.Description, in.Description)
		storage.Set(&p.TaxCategory, in.TaxCategory)
		storage.Set(&p.Active, in.Active)
		storage.Set(&p.Tags, in.Tags)
		return checkProduct(p)
	})
}

// PriceBooks manages price books and prices.
type PriceBooks struct{ s *Service }

// StandardPriceBookName is the name of the price book Standard creates.
const StandardPriceBookName = "Standard"

// Standard returns the workspace's standard price book, creating it the
// first time it is asked for.
func (pb *PriceBooks) Standard(ctx context.Context) (*PriceBook, error) {
	b, _, err := storage.FirstOrCreate(ctx, pb.s.store, pb.s.t.books, storage.Eq("is_standard", true), func(ctx context.Context) (*PriceBook, error) {
		b := &PriceBook{Name: StandardPriceBookName, IsStandard: true, Active: true}
		return b, pb.s.t.books.Insert(ctx, b)
	})
	return b, err
}

// Create adds a custom price book.
func (pb *PriceBooks) Create(ctx context.Context, name, description string) (*PriceBook, error) {
	b := &PriceBook{Name: strings.TrimSpace(name), Description: strings.TrimSpace(description), Active: true}
	if b.Name == "" || len(b.Name) > MaxTextLen {
		return nil, storage.Invalid("name", "is required, at most %d characters", MaxTextLen)
	}
	if err := pb.s.t.books.Insert(ctx, b); err != nil {
		return nil, err
	}
	return b, nil
}

// Get returns the price book with id.
func (pb *PriceBooks) Get(ctx context.Context, id string) (*PriceBook, error) {
	return pb.s.t.books.Get(ctx, id)
}

// SetPrice sets the price of a product in a price book, in the price's
// currency ("" for the standard book).
func (pb *PriceBooks) SetPrice(ctx context.Context, bookID, productID string, price storage.Money) (*PriceEntry, error) {
	var v storage.ValidationError
	mergeInto(&v, "", price.Validate("price"))
	if price.Currency == "" {
		v.Add("price.currency", "is required")
	}
	if price.Amount < 0 {
		v.Add("price.amount", "is negative")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out *PriceEntry
	err := pb.s.store.RunInTx(ctx, func(ctx context.Context) error {
		book, err := pb.book(ctx, bookID)
		if err != nil {
			return err
		}
		if _, err := pb.s.t.products.Get(ctx, productID); errors.Is(err, storage.ErrNotFound) {
			return storage.Invalid("product_id", "does not exist in the workspace")
		} else if err != nil {
			return err
		}
		prev, err := pb.entry(ctx, book.ID, productID, price.Currency)
		if err != nil {
			return err
		}
		if prev == nil {
			out = &PriceEntry{PriceBookID: book.ID, ProductID: productID, Price: price}
			return pb.s.t.prices.Insert(ctx, out)
		}
		n := *prev
		n.Price = price
		out = &n
		return pb.s.t.prices.Update(ctx, prev, out)
	})
	return out, err
}

// book returns price book id, or the standard one for "".
func (pb *PriceBooks) book(ctx context.Context, id string) (*PriceBook, error) {
	if id == "" {
		return pb.Standard(ctx)
	}
	b, err := pb.s.t.books.Get(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, storage.Invalid("price_book_id", "does not exist in the workspace")
	}
	return b, err
}

func (pb *PriceBooks) entry(ctx context.Context, bookID, productID, currency string) (*PriceEntry, error) {
	page, err := pb.s.t.prices.List(ctx, storage.ListQuery{Filter: storage.And{
		storage.Eq("price_book_id", bookID), storage.Eq("product_id", productID), storage.Eq("price_currency", currency)},
		PageQuery: storage.PageQuery{Limit: 1}})
	if err != nil || len(page.Items) == 0 {
		return nil, err
	}
	return page.Items[0], nil
}

// Price returns the price of a product in currency: from price book
// bookID ("" for the standard one), else from the standard book. A product
// without a price there is ErrNotFound.
func (pb *PriceBooks) Price(ctx context.Context, bookID, productID, currency string) (storage.Money, error) {
	book, err := pb.book(ctx, bookID)
	if err != nil {
		return storage.Money{}, err
	}
	e, err := pb.entry(ctx, book.ID, productID, currency)
	if err == nil && e == nil && !book.IsStandard {
		std, serr := pb.Standard(ctx)
		if serr != nil {
			return storage.Money{}, serr
		}
		e, err = pb.entry(ctx, std.ID, productID, currency)
	}
	if err != nil {
		return storage.Money{}, err
	}
	if e == nil {
		return storage.Money{}, fmt.Errorf("%w: no %s price of product %s", storage.ErrNotFound, currency, productID)
	}
	return e.Price, nil
}

// mergeInto adds the fields of err, a *storage.ValidationError, to v under
// prefix; other errors are ignored (nil, typically).
func mergeInto(v *storage.ValidationError, prefix string, err error) {
	var ve *storage.ValidationError
	if errors.As(err, &ve) {
		v.Merge(prefix, ve)
	}
}

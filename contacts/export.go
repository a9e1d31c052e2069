package contacts

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-vcard"

	"github.com/crmkit/crm/storage"
)

// ExportFormat is the format of ExportContacts.
type ExportFormat string

// The export formats.
const (
	ExportCSV   ExportFormat = "csv"
	ExportJSON  ExportFormat = "json"
	ExportVCard ExportFormat = "vcard" // vCard 4.0, for phones and mail clients
)

// ExportOptions select what ExportContacts writes.
type ExportOptions struct {
	Format ExportFormat
	// Where, when set, is a filter expression (see Contacts.Where).
	Where string
	// Filter, when set, is a filter tree, combined with Where.
	Filter storage.Filter
	// OmitPersonal leaves out the fields that hold personal data (see
	// Fields.Personal): the CSV has no column for them and the JSON no
	// value, for exports to analytics or to processors that need no
	// person. A vCard is nothing but personal data: with OmitPersonal it
	// is ErrInvalid.
	OmitPersonal bool
}

// exportColumns are the built-in columns of a CSV export, in order.
var exportColumns = []string{"id", "first_name", "last_name", "email", "phones", "job_title", "department",
	"account_id", "lifecycle", "source", "tags", "owner_id", "created_at", "updated_at"}

// ExportContacts writes the contacts the principal may export (the role's
// export scope; hidden fields stay blank) as CSV (one column per built-in
// and custom field; cells a spreadsheet would run as formulas are
// neutralised), as a JSON array, or as vCards. It streams a page at a time.
func (s *Service) ExportContacts(ctx context.Context, w io.Writer, opts ExportOptions) error {
	q := storage.ListQuery{Filter: opts.Filter, For: storage.ActionExport, PageQuery: storage.PageQuery{Limit: 500}}
	if opts.Where != "" {
		var err error
		if q, err = s.where(ctx, ObjectContact, opts.Where, q); err != nil {
			return err
		}
	}
	defs, err := s.Fields.List(ctx, ObjectContact)
	if err != nil {
		return err
	}
	var personal []string // the fields left out
	if opts.OmitPersonal {
		if opts.Format == ExportVCard {
			return storage.Invalid("omit_personal", "a vCard holds nothing but personal data")
		}
		if personal, err = s.Fields.Personal(ctx, ObjectContact); err != nil {
			return err
		}
	}
	each := func(fn func(*Contact) error) error {
		return storage.Each(ctx, s.t.contacts, q, func(c *Contact) error {
			if personal != nil {
				blank(contactFields, c, &c.Custom, personal)
			}
			return fn(c)
		})
	}
	switch opts.Format {
	case ExportCSV, "":
		cw := csv.NewWriter(w)
		var header []string
		var keep []int // the columns written, by index in a full row
		for i, col := range exportColumns {
			if !slices.Contains(personal, col) {
				header, keep = append(header, col), append(keep, i)
			}
		}
		for i, d := range defs {
			if !slices.Contains(personal, "custom."+d.Name) {
				header, keep = append(header, "custom."+d.Name), append(keep, len(exportColumns)+i)
			}
		}
		if err := cw.Write(header); err != nil {
			return err
		}
		out := make([]string, len(keep))
		err := each(func(c *Contact) error {
			var phones []string
			for _, p := range c.Phones {
				phones = append(phones, p.Number)
			}
			row := []string{c.ID, c.FirstName, c.LastName, c.Email, strings.Join(phones, ";"), c.JobTitle, c.Department,
				c.AccountID, string(c.Lifecycle), c.Source, strings.Join(c.Tags, ";"), c.OwnerID,
				c.CreatedAt.Format(time.RFC3339), c.UpdatedAt.Format(time.RFC3339)}
			for _, d := range defs {
				row = append(row, cellText(c.Custom[d.Name]))
			}
			for i, j := range keep {
				out[i] = storage.SafeCSVCell(row[j])
			}
			return cw.Write(out)
		})
		if err != nil {
			return err
		}
		cw.Flush()
		return cw.Error()
	case ExportJSON:
		if _, err := io.WriteString(w, "["); err != nil {
			return err
		}
		enc, first := json.NewEncoder(w), true
		err := each(func(c *Contact) error {
			if !first {
				if _, err := io.WriteString(w, ","); err != nil {
					return err
				}
			}
			first = false
			return enc.Encode(c)
		})
		if err != nil {
			return err
		}
		_, err = io.WriteString(w, "]\n")
		return err
	case ExportVCard:
		enc := vcard.NewEncoder(w)
		return each(func(c *Contact) error { return enc.Encode(toVCard(c)) })
	}
	return storage.Invalid("format", "%q is not csv, json or vcard", opts.Format)
}

// cellText formats a custom value for a CSV cell.
func cellText(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	case []any:
		parts := make([]string, len(v))
		for i, p := range v {
			parts[i] = fmt.Sprint(p)
		}
		return strings.Join(parts, ";")
	}
	return fmt.Sprint(v)
}

// toVCard returns c as a vCard 4.0.
func toVCard(c *Contact) vcard.Card {
	card := vcard.Card{}
	card.SetValue(vcard.FieldVersion, "4.0")
	card.SetValue(vcard.FieldUID, "urn:uuid:"+c.ID)
	card.SetValue(vcard.FieldFormattedName, c.Name())
	card.SetName(&vcard.Name{GivenName: c.FirstName, FamilyName: c.LastName, AdditionalName: c.MiddleName,
		HonorificPrefix: c.Prefix, HonorificSuffix: c.Suffix})
	if c.Email != "" {
		card.AddValue(vcard.FieldEmail, c.Email)
	}
	for _, e := range c.Emails {
		card.AddValue(vcard.FieldEmail, e.Address)
	}
	for _, p := range c.Phones {
		card.Add(vcard.FieldTelephone, &vcard.Field{Value: "tel:" + p.Number, Params: vcard.Params{vcard.ParamValue: {"uri"}}})
	}
	if c.JobTitle != "" {
		card.SetValue(vcard.FieldTitle, c.JobTitle)
	}
	if len(c.Tags) > 0 {
		card.SetCategories(c.Tags)
	}
	card.SetRevision(c.UpdatedAt)
	return card
}

// ImportVCards reads vCards (versions 3 and 4) and upserts them as
// contacts by email, as ImportContacts does with CSV rows: names, emails,
// phones, title and categories. A card without an email is always
// created. RowError.Row is the card's position, from 1.
func (s *Service) ImportVCards(ctx context.Context, r io.Reader) (*ImportReport, error) {
	rep := &ImportReport{}
	dec := vcard.NewDecoder(r)
	for n := 1; ; n++ {
		card, err := dec.Decode()
		if err == io.EOF {
			return rep, nil
		}
		if err != nil {
			rep.Rows++
			rep.fail(RowError{Row: n, Reason: "bad vCard: " + err.Error()})
			return rep, nil // the decoder cannot resynchronise
		}
		rep.Rows++
		in := NewContact{}
		if name := card.Name(); name != nil {
			in.FirstName, in.LastName, in.MiddleName = name.GivenName, name.FamilyName, name.AdditionalName
			in.Prefix, in.Suffix = name.HonorificPrefix, name.HonorificSuffix
		}
		if in.FirstName == "" && in.LastName == "" {
			in.LastName = card.Value(vcard.FieldFormattedName)
		}
		for i, e := range card.Values(vcard.FieldEmail) {
			if i == 0 {
				in.Email = e
			} else {
				in.Emails = append(in.Emails, EmailAddress{Address: e})
			}
		}
		for _, t := range card.Values(vcard.FieldTelephone) {
			in.Phones = append(in.Phones, Phone{Number: strings.TrimPrefix(t, "tel:")})
		}
		in.JobTitle = card.Value(vcard.FieldTitle)
		in.Tags = card.Categories()
		err = s.store.RunInTx(ctx, func(ctx context.Context) error {
			var existing *Contact
			if in.Email != "" {
				if e, err := NormalizeEmail(in.Email); err == nil {
					page, err := s.t.contacts.List(ctx, storage.ListQuery{Filter: storage.Eq("email", e), PageQuery: storage.PageQuery{Limit: 1}})
					if err != nil {
						return err
					}
					if len(page.Items) > 0 {
						existing = page.Items[0]
					}
				}
			}
			if existing != nil {
				_, err := s.Contacts.Update(ctx, existing.ID, patchOf(in))
				if err == nil {
					rep.Updated++
				}
				return err
			}
			_, err := s.Contacts.Create(ctx, in)
			if err == nil {
				rep.Created++
			}
			return err
		})
		var ve *storage.ValidationError
		if errors.As(err, &ve) {
			rep.fail(RowError{Row: n, Column: ve.Fields[0].Field, Reason: ve.Fields[0].Reason})
		} else if err != nil {
			return rep, err
		}
	}
}

// patchOf turns a row into an update that sets only the fields it has.
func patchOf(in NewContact) UpdateContact {
	u := UpdateContact{Custom: in.Custom}
	str := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	u.FirstName, u.LastName, u.Email = str(in.FirstName), str(in.LastName), str(in.Email)
	u.JobTitle, u.Department, u.Source = str(in.JobTitle), str(in.Department), str(in.Source)
	u.OwnerID, u.TeamID, u.AccountID = str(in.OwnerID), str(in.TeamID), str(in.AccountID)
	if in.Lifecycle != "" {
		u.Lifecycle = &in.Lifecycle
	}
	if len(in.Phones) > 0 {
		u.Phones = &in.Phones
	}
	if len(in.Tags) > 0 {
		u.Tags = &in.Tags
	}
	return u
}

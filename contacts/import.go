package contacts

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/crmkit/crm/storage"
)

// ImportMode says what an import does with bad rows.
type ImportMode int

// The import modes.
const (
	// ImportBestEffort loads the good rows and reports the bad ones.
	ImportBestEffort ImportMode = iota
	// ImportAllOrNothing writes nothing when any row is bad.
	ImportAllOrNothing
)

// ImportOptions configure ImportContacts. The zero value imports with
// automatic column mapping, upserting by email, best effort.
type ImportOptions struct {
	// Mapping maps CSV headers to fields: "first_name", "last_name",
	// "email", "phone", "job_title", "department", "company", "lifecycle",
	// "source", "tags" (separated by ; or ,), "owner_id", or
	// "custom.<name>"; "" ignores the column. Nil maps the headers
	// automatically (see AutoMapping); a mapping that names an unknown field
	// is refused before any row is read.
	Mapping map[string]string
	// Key is the field rows are matched on: "email" (default) or
	// "custom.<name>" (an external ID). A row whose key matches a contact
	// updates it, setting the fields the row has (empty cells change
	// nothing); rows that repeat a key within the file update the contact
	// the first one made.
	Key string
	// Mode is ImportBestEffort (default) or ImportAllOrNothing.
	Mode ImportMode
	// DryRun reports what the import would do and writes nothing.
	DryRun bool
	// BatchSize is how many rows each transaction writes; default 500.
	BatchSize int
	// Progress, when set, is called after every batch.
	Progress func(ImportProgress)
	// Total is the number of data rows when the caller knows it (for
	// Progress); 0 means unknown.
	Total int
	// SkipErased skips, and reports, rows whose email belongs to a person
	// erased with a tombstone (needs Options.TombstoneKey).
	SkipErased bool
}

// ImportProgress is how far an import is.
type ImportProgress struct {
	Rows  int // data rows read so far
	Total int // ImportOptions.Total
}

// RowError is one bad row of an import.
type RowError struct {
	// Row is the row's line in the file, the header being line 1.
	Row int `json:"row"`
	// Column is the CSV header of the bad cell, or "" for the whole row.
	Column string `json:"column,omitempty"`
	Reason string `json:"reason"`
}

// maxRowErrors bounds the errors a report keeps.
const maxRowErrors = 1000

// ImportReport is what an import did (or, dry, would do).
type ImportReport struct {
	Rows            int        `json:"rows"`
	Created         int        `json:"created"`
	Updated         int        `json:"updated"`
	Failed          int        `json:"failed"`
	AccountsCreated int        `json:"accounts_created"`
	Mapping         []string   `json:"mapping"`                   // the field of each column, "" when ignored
	Errors          []RowError `json:"errors,omitempty"`          // at most 1000
	MoreErrors      int        `json:"more_errors,omitempty"`     // errors beyond those kept
	DryRun          bool       `json:"dry_run,omitempty"`         // nothing was written
	RolledBack      bool       `json:"rolled_back,omitempty"`     // all or nothing, and something was bad
	IgnoredColumns  []string   `json:"ignored_columns,omitempty"` // headers mapped to nothing
}

func (r *ImportReport) fail(e RowError) {
	r.Failed++
	if len(r.Errors) < maxRowErrors {
		r.Errors = append(r.Errors, e)
	} else {
		r.MoreErrors++
	}
}

// importFields are the fields a column can map to, besides custom ones.
var importFields = []string{"first_name", "last_name", "email", "phone", "job_title", "department", "company",
	"lifecycle", "source", "tags", "owner_id", "team_id"}

// autoHeaders maps normalised header names (lower-case letters and digits)
// of common exports (HubSpot, Salesforce, spreadsheets) to fields.
var autoHeaders = map[string]string{
	"firstname": "first_name", "givenname": "first_name", "first": "first_name", "vorname": "first_name",
	"lastname": "last_name", "surname": "last_name", "familyname": "last_name", "last": "last_name", "nachname": "last_name",
	"email": "email", "emailaddress": "email", "mail": "email", "primaryemail": "email",
	"phone": "phone", "phonenumber": "phone", "mobile": "phone", "mobilephone": "phone", "mobilephonenumber": "phone",
	"workphone": "phone", "telephone": "phone",
	"jobtitle": "job_title", "title": "job_title", "position": "job_title",
	"department": "department",
	"company":    "company", "companyname": "company", "accountname": "company", "organization": "company", "organisation": "company",
	"lifecyclestage": "lifecycle", "lifecycle": "lifecycle",
	"source": "source", "leadsource": "source", "originalsource": "source",
	"tags": "tags", "labels": "tags",
	"contactowner": "owner_id", "ownerid": "owner_id",
}

func normHeader(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(h) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// AutoMapping maps headers to fields by their common names ("First
// Name", "E-mail", "Phone Number", "Company", …) and custom fields by name
// or label; unknown headers map to "".
func AutoMapping(headers []string, custom []*FieldDef) []string {
	out := make([]string, len(headers))
	for i, h := range headers {
		n := normHeader(h)
		if f, ok := autoHeaders[n]; ok {
			out[i] = f
			continue
		}
		for _, d := range custom {
			if n == normHeader(d.Name) || n == normHeader(d.Label) {
				out[i] = "custom." + d.Name
			}
		}
	}
	return out
}

// ImportContacts reads contacts from CSV (UTF-8, optionally with a byte
// order mark; the first row is the header) and upserts them, streaming:
// memory does not grow with the file. A contact's company column links it
// to the account of that name, created when missing. Each written contact
// gets its change event, in the batch's transaction.
func (s *Service) ImportContacts(ctx context.Context, r io.Reader, opts ImportOptions) (*ImportReport, error) {
	if opts.BatchSize <= 0 {
		opts.BatchSize = 500
	}
	if opts.Key == "" {
		opts.Key = "email"
	}
	rep := &ImportReport{DryRun: opts.DryRun}
	defs, err := s.Fields.List(ctx, ObjectContact)
	if err != nil {
		return nil, err
	}
	isCustom := func(f string) bool {
		name, ok := strings.CutPrefix(f, "custom.")
		return ok && slices.ContainsFunc(defs, func(d *FieldDef) bool { return d.Name == name })
	}
	if opts.Key != "email" && !isCustom(opts.Key) {
		return nil, storage.Invalid("key", "%q is not email or a custom contact field", opts.Key)
	}
	cr := csv.NewReader(skipBOM(r))
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	headers, err := cr.Read()
	if err != nil {
		return nil, storage.Invalid("csv", "no header row: %v", err)
	}
	headers = slices.Clone(headers)
	if opts.Mapping == nil {
		rep.Mapping = AutoMapping(headers, defs)
	} else {
		var v storage.ValidationError
		rep.Mapping = make([]string, len(headers))
		for h, f := range opts.Mapping {
			i := slices.Index(headers, h)
			switch {
			case i < 0:
				v.Add("mapping."+h, "the file has no column %q", h)
			case f != "" && !slices.Contains(importFields, f) && !isCustom(f):
				v.Add("mapping."+h, "%q is not a contact field", f)
			default:
				rep.Mapping[i] = f
			}
		}
		if err := v.Err(); err != nil {
			return nil, err
		}
	}
	for i, f := range rep.Mapping {
		if f == "" {
			rep.IgnoredColumns = append(rep.IgnoredColumns, headers[i])
		}
	}
	if !slices.Contains(rep.Mapping, opts.Key) {
		return nil, storage.Invalid("mapping", "no column maps to the key %s", opts.Key)
	}
	im := &importer{s: s, opts: opts, rep: rep, headers: headers, accounts: map[string]string{}, defs: map[string]*FieldDef{}}
	for _, d := range defs {
		im.defs[d.Name] = d
	}
	if opts.Mode == ImportAllOrNothing || opts.DryRun {
		// One transaction for the whole file; rolled back when dry, or
		// when a row is bad in all-or-nothing mode.
		errRollback := errors.New("roll back")
		err := s.store.RunInTx(ctx, func(ctx context.Context) error {
			if err := im.run(ctx, cr, nil); err != nil {
				return err
			}
			if opts.DryRun || (opts.Mode == ImportAllOrNothing && rep.Failed > 0) {
				rep.RolledBack = !opts.DryRun
				return errRollback
			}
			return nil
		})
		if err != nil && !errors.Is(err, errRollback) {
			return rep, err
		}
		return rep, nil
	}
	return rep, im.run(ctx, cr, func(ctx context.Context, fn func(context.Context) error) error { return s.store.RunInTx(ctx, fn) })
}

// skipBOM drops a UTF-8 byte order mark at the start of r.
func skipBOM(r io.Reader) io.Reader {
	var head [3]byte
	n, _ := io.ReadFull(r, head[:])
	if n == 3 && bytes.Equal(head[:], []byte{0xEF, 0xBB, 0xBF}) {
		return r
	}
	return io.MultiReader(bytes.NewReader(head[:n]), r)
}

type importer struct {
	s        *Service
	opts     ImportOptions
	rep      *ImportReport
	headers  []string
	accounts map[string]string // company name → account ID, bounded
	defs     map[string]*FieldDef
}

// row is one parsed data row.
type row struct {
	line  int
	cells []string
}

// run reads every row. With inTx set, rows are written a batch per
// transaction; a batch that fails on a storage error is written again one
// row per transaction, so one bad row costs only itself.
func (im *importer) run(ctx context.Context, cr *csv.Reader, inTx func(context.Context, func(context.Context) error) error) error {
	batch := make([]row, 0, im.opts.BatchSize)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		defer func() { batch = batch[:0] }()
		if inTx == nil {
			for _, r := range batch {
				if err := im.row(ctx, r); err != nil {
					return err
				}
			}
		} else {
			saved := *im.rep
			err := inTx(ctx, func(ctx context.Context) error {
				for _, r := range batch {
					if err := im.row(ctx, r); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				// Storage refused something mid-batch: nothing of the batch
				// was written; redo it one row per transaction.
				*im.rep = saved
				im.accounts = map[string]string{}
				for _, r := range batch {
					if err := inTx(ctx, func(ctx context.Context) error { return im.row(ctx, r) }); err != nil {
						im.rep.fail(RowError{Row: r.line, Reason: err.Error()})
					}
				}
			}
		}
		if im.opts.Progress != nil {
			im.opts.Progress(ImportProgress{Rows: im.rep.Rows, Total: im.opts.Total})
		}
		return nil
	}
	lastLine := 1
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return err
			}
			im.rep.Rows++
			im.rep.fail(RowError{Row: pe.StartLine, Reason: "bad CSV: " + pe.Err.Error()})
			if pe.StartLine <= lastLine {
				break // the reader cannot move on
			}
			lastLine = pe.StartLine
			continue
		}
		line, _ := cr.FieldPos(0)
		lastLine = line
		im.rep.Rows++
		if len(rec) != len(im.headers) {
			im.rep.fail(RowError{Row: line, Reason: fmt.Sprintf("has %d cells, the header has %d", len(rec), len(im.headers))})
			continue
		}
		batch = append(batch, row{line: line, cells: slices.Clone(rec)})
		if len(batch) == im.opts.BatchSize {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// row writes one data row; validation problems are reported, storage
// errors returned.
func (im *importer) row(ctx context.Context, r row) error {
	in := NewContact{Custom: map[string]any{}}
	var company, key string
	for i, cell := range r.cells {
		f := im.rep.Mapping[i]
		cell = strings.TrimSpace(cell)
		if f == "" || cell == "" {
			continue
		}
		if !utf8.ValidString(cell) {
			im.rep.fail(RowError{Row: r.line, Column: im.headers[i], Reason: "is not UTF-8 text"})
			return nil
		}
		if f == im.opts.Key {
			key = cell
		}
		switch f {
		case "first_name":
			in.FirstName = cell
		case "last_name":
			in.LastName = cell
		case "email":
			in.Email = cell
		case "phone":
			in.Phones = append(in.Phones, Phone{Number: cell})
		case "job_title":
			in.JobTitle = cell
		case "department":
			in.Department = cell
		case "company":
			company = cell
		case "lifecycle":
			in.Lifecycle = Lifecycle(strings.ToLower(strings.ReplaceAll(cell, " ", "_")))
		case "source":
			in.Source = cell
		case "tags":
			in.Tags = strings.FieldsFunc(cell, func(r rune) bool { return r == ';' || r == ',' })
		case "owner_id":
			in.OwnerID = cell
		case "team_id":
			in.TeamID = cell
		default:
			name := strings.TrimPrefix(f, "custom.")
			v, err := cellValue(im.defs[name], cell)
			if err != nil {
				im.rep.fail(RowError{Row: r.line, Column: im.headers[i], Reason: err.Error()})
				return nil
			}
			in.Custom[name] = v
		}
	}
	if key == "" {
		im.rep.fail(RowError{Row: r.line, Column: im.keyHeader(), Reason: "the key is empty"})
		return nil
	}
	if im.opts.SkipErased && in.Email != "" {
		if erased, err := im.s.Erased(ctx, in.Email); err != nil {
			return err
		} else if erased {
			im.rep.fail(RowError{Row: r.line, Column: im.header("email"), Reason: "belongs to an erased person"})
			return nil
		}
	}
	if company != "" {
		id, err := im.account(ctx, company)
		if err != nil {
			return err
		}
		in.AccountID = id
	}
	existing, err := im.find(ctx, key)
	if err != nil {
		return err
	}
	if existing == nil {
		_, err = im.s.Contacts.Create(ctx, in)
		if err == nil {
			im.rep.Created++
		}
	} else {
		_, err = im.s.Contacts.Update(ctx, existing.ID, patchOf(in))
		if err == nil {
			im.rep.Updated++
		}
	}
	var ve *storage.ValidationError
	if errors.As(err, &ve) {
		for _, fe := range ve.Fields {
			im.rep.fail(RowError{Row: r.line, Column: im.header(fe.Field), Reason: fe.Reason})
			im.rep.Failed-- // one failed row, however many fields
		}
		im.rep.Failed++
		return nil
	}
	return err
}

// keyHeader returns the header of the key column.
func (im *importer) keyHeader() string { return im.header(im.opts.Key) }

// header returns the CSV header mapped to field (or to its base name, for
// "phones[0]" and the like), else field itself.
func (im *importer) header(field string) string {
	base, _, _ := strings.Cut(field, "[")
	if base == "phones" {
		base = "phone"
	}
	if base == "account_id" {
		base = "company"
	}
	for i, f := range im.rep.Mapping {
		if f == base || f == field {
			return im.headers[i]
		}
	}
	return field
}

// find returns the contact whose key is key, or nil.
func (im *importer) find(ctx context.Context, key string) (*Contact, error) {
	if im.opts.Key == "email" {
		e, err := NormalizeEmail(key)
		if err != nil {
			return nil, nil // reported by the create's validation
		}
		key = e
	}
	page, err := im.s.store.Contacts().List(ctx, storage.ListQuery{Filter: storage.Eq(im.opts.Key, key), PageQuery: storage.PageQuery{Limit: 1}})
	if err != nil || len(page.Items) == 0 {
		return nil, err
	}
	return page.Items[0], nil
}

// maxAccountCache bounds the company → account cache.
const maxAccountCache = 10000

// account returns the ID of the account named company, creating it.
func (im *importer) account(ctx context.Context, company string) (string, error) {
	if id, ok := im.accounts[company]; ok {
		return id, nil
	}
	page, err := im.s.store.Accounts().List(ctx, storage.ListQuery{Filter: storage.Eq("name", company), PageQuery: storage.PageQuery{Limit: 1}})
	if err != nil {
		return "", err
	}
	var id string
	if len(page.Items) > 0 {
		id = page.Items[0].ID
	} else {
		a, err := im.s.Accounts.Create(ctx, NewAccount{Name: company})
		if err != nil {
			return "", err
		}
		id = a.ID
		im.rep.AccountsCreated++
	}
	if len(im.accounts) >= maxAccountCache {
		clear(im.accounts)
	}
	im.accounts[company] = id
	return id, nil
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

// cellValue reads a CSV cell as the value of custom field d.
func cellValue(d *FieldDef, cell string) (any, error) {
	switch d.Type {
	case FieldNumber:
		f, err := strconv.ParseFloat(strings.ReplaceAll(cell, ",", ""), 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", cell)
		}
		return f, nil
	case FieldBool:
		switch strings.ToLower(cell) {
		case "true", "yes", "y", "1":
			return true, nil
		case "false", "no", "n", "0":
			return false, nil
		}
		return nil, fmt.Errorf("%q is not true or false", cell)
	case FieldMultiEnum:
		var out []string
		for _, p := range strings.Split(cell, ";") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		return out, nil
	}
	return cell, nil
}

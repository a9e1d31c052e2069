package contacts

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"maps"
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

// ImportOptions configure a CSV import (ImportContacts, ImportAccounts,
// sales.Leads.Import). The zero value imports with automatic column
// mapping, upserting by the record type's default key, best effort.
type ImportOptions struct {
	// Mapping maps CSV headers to fields: the record type's fields (for
	// contacts "first_name", "last_name", "email", "phone", "job_title",
	// "department", "company", "company_domain", "lifecycle", "source",
	// "tags" (separated by ; or ,), "owner_id", "team_id"), or
	// "custom.<name>"; "" ignores the column. Nil maps the headers
	// automatically (see AutoMapping); a mapping that names an unknown
	// field is refused before any row is read.
	Mapping map[string]string
	// Key is the field rows are matched on: the record type's key ("email"
	// for contacts and leads, "domain" for accounts; the default) or
	// "custom.<name>" (an external ID). A row whose key matches a record
	// updates it, setting the fields the row has (empty cells change
	// nothing); rows that repeat a key within the file update the record
	// the first one made. A custom key has no index: each batch's look-up
	// reads the workspace's records of the type.
	Key string
	// Mode is ImportBestEffort (default) or ImportAllOrNothing.
	Mode ImportMode
	// DryRun reports what the import would do and writes nothing.
	DryRun bool
	// BatchSize is how many rows are written together; default 500, at
	// most MaxImportBatch.
	BatchSize int
	// Progress, when set, is called after every batch. In all-or-nothing
	// and dry-run modes it runs inside the import's transaction: a store
	// call it makes must use no other transaction (on SQLite, whose single
	// writer the import holds, it would wait forever).
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

// MaxImportBatch is the largest ImportOptions.BatchSize: a batch's keys
// are looked up with one query, one bind value each.
const MaxImportBatch = 10000

// maxRowErrors bounds the errors a report keeps.
const maxRowErrors = 1000

// ImportReport is what an import did (or, dry, would do).
type ImportReport struct {
	Rows            int        `json:"rows"`
	Created         int        `json:"created"`
	Updated         int        `json:"updated"`
	Failed          int        `json:"failed"`
	AccountsCreated int        `json:"accounts_created"`          // by a contact import's company column
	Mapping         []string   `json:"mapping"`                   // the field of each column, "" when ignored
	Errors          []RowError `json:"errors,omitempty"`          // at most 1000
	MoreErrors      int        `json:"more_errors,omitempty"`     // errors beyond those kept
	DryRun          bool       `json:"dry_run,omitempty"`         // nothing was written
	RolledBack      bool       `json:"rolled_back,omitempty"`     // all or nothing, and something was bad
	IgnoredColumns  []string   `json:"ignored_columns,omitempty"` // headers mapped to nothing
}

// note keeps one more error of a failed row.
func (r *ImportReport) note(e RowError) {
	if len(r.Errors) < maxRowErrors {
		r.Errors = append(r.Errors, e)
	} else {
		r.MoreErrors++
	}
}

// fail counts a failed row with its error.
func (r *ImportReport) fail(e RowError) {
	r.Failed++
	r.note(e)
}

// ImportSpec describes one record type to ImportCSV: which fields columns
// map to, what rows are matched on, and how a row becomes a new record or
// changes an existing one. ImportContacts and ImportAccounts are built on
// it, and so is sales.Leads.Import.
type ImportSpec[T storage.Record] struct {
	// Type is the record type, such as "contact"; it names the type in
	// errors.
	Type string
	// Table is where the records are written: new ones with
	// storage.InsertMany, existing ones with storage.UpdateMany, a batch at
	// a time.
	Table storage.Table[T]
	// Fields are the built-in fields a column can map to.
	Fields []string
	// Headers maps normalised header names (lower-case letters and digits
	// only: "First Name" is "firstname") to fields, for the automatic
	// mapping.
	Headers map[string]string
	// Custom are the workspace's custom fields of the type, read once per
	// import; nil when the type has none.
	Custom []*FieldDef
	// Keys are the built-in fields rows can be matched on; the first is the
	// default. A custom field of Custom can be the key too.
	Keys []string
	// NormalizeKey returns a cell of the built-in key field as it is
	// stored ("ADA@Example.com" is "ada@example.com"), or why it cannot be
	// one.
	NormalizeKey func(field, cell string) (string, error)
	// KeyOf returns rec's value of the built-in key field.
	KeyOf func(rec T, field string) string
	// CustomOf returns rec's custom values; nil when the type has none.
	CustomOf func(rec T) map[string]any
	// Create returns a new, validated record made from row. Bad values are
	// a *storage.ValidationError naming their fields.
	Create func(ctx context.Context, row ImportRow) (T, error)
	// Update returns a copy of prev with the row's non-empty cells set,
	// validated; prev is left as it is.
	Update func(ctx context.Context, row ImportRow, prev T) (T, error)
	// Skip, when set, may refuse a row before it is written: a non-empty
	// reason reports it, on the column mapped to field.
	Skip func(ctx context.Context, row ImportRow) (field, reason string, err error)
	// Columns maps the fields of validation errors to the mapped fields
	// they come from, where the names differ ("phones" comes from
	// "phone").
	Columns map[string]string
	// Reset, when set, is called when a batch is rolled back, to forget
	// what the spec remembers of records the batch wrote (such as a cache
	// of accounts it created).
	Reset func()
}

// ImportRow is one data row of an import, as ImportSpec.Create and
// ImportSpec.Update see it.
type ImportRow struct {
	// Line is the row's line in the file.
	Line int
	// Custom holds the row's custom values, each read as its field's type
	// (numbers, yes/no, ;-separated choices); nil when the row has none.
	Custom map[string]any

	cells  []string // trimmed, by column
	fields []string // the mapping
	rep    *ImportReport
}

// Each calls fn with the field and the cell of every non-empty cell
// mapped to a built-in field, in column order.
func (r ImportRow) Each(fn func(field, cell string)) {
	for i, cell := range r.cells {
		if f := r.fields[i]; f != "" && cell != "" && !strings.HasPrefix(f, "custom.") {
			fn(f, cell)
		}
	}
}

// Get returns the first non-empty cell mapped to field, or "".
func (r ImportRow) Get(field string) string {
	for i, cell := range r.cells {
		if r.fields[i] == field && cell != "" {
			return cell
		}
	}
	return ""
}

// normHeader returns h as the keys of ImportSpec.Headers spell it.
func normHeader(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(h) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// PersonHeaders returns the normalised header names (lower-case letters
// and digits) that the exports of HubSpot, Salesforce and spreadsheets
// give to a person's fields, mapped to the fields of contacts and leads:
// names, email, phone, job title, company, source, tags and owner.
func PersonHeaders() map[string]string {
	return headerNames(map[string][]string{
		"first_name": {"firstname", "givenname", "first", "vorname"},
		"last_name":  {"lastname", "surname", "familyname", "last", "nachname"},
		"email":      {"email", "emailaddress", "mail", "primaryemail"},
		"phone":      {"phone", "phonenumber", "mobile", "mobilephone", "mobilephonenumber", "workphone", "telephone"},
		"job_title":  {"jobtitle", "title", "position"},
		"company":    {"company", "companyname", "accountname", "organization", "organisation"},
		"source":     {"source", "leadsource", "originalsource"},
		"tags":       {"tags", "labels"},
		"owner_id":   {"contactowner", "leadowner", "ownerid"},
	})
}

// headerNames turns field → header names into header name → field.
func headerNames(names map[string][]string) map[string]string {
	out := map[string]string{}
	for f, hs := range names {
		for _, h := range hs {
			out[h] = f
		}
	}
	return out
}

// autoMap maps each header to the field headers names for it, or to the
// custom field with its name or label; "" when neither knows it.
func autoMap(headers []string, known map[string]string, custom []*FieldDef) []string {
	out := make([]string, len(headers))
	for i, h := range headers {
		n := normHeader(h)
		if f, ok := known[n]; ok {
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

// ImportCSV reads records of spec's type from CSV (UTF-8, optionally with
// a byte order mark; the first row is the header) and upserts them,
// streaming: memory holds one batch of rows, whatever the file's size.
//
// Each batch is written in a transaction of its own (best effort) or, in
// all-or-nothing and dry-run modes, all of them in one transaction rolled
// back at the end when a row was bad or the run dry. A batch's keys are
// looked up with one query; new records go in with storage.InsertMany,
// existing ones with storage.UpdateMany, each with its change event,
// search document and links. A bad row is reported (line, CSV column,
// reason) and skipped; when the storage refuses a batch (a unique field
// taken), the batch is undone (under a savepoint inside a transaction) and
// written again one row at a time, so one bad row costs only itself.
//
// The error is an ErrInvalid for a bad key or mapping, or a missing
// header row, found before any row is read; else a storage failure (an
// error that is no storage sentinel, such as a lost connection, or the
// context's error), which ends the import: in best-effort mode what was
// written before it stays, in the other modes nothing does.
func ImportCSV[T storage.Record](ctx context.Context, tx storage.Transactor, r io.Reader, spec ImportSpec[T], opts ImportOptions) (*ImportReport, error) {
	if opts.BatchSize <= 0 {
		opts.BatchSize = 500
	}
	if opts.BatchSize > MaxImportBatch {
		return nil, storage.Invalid("batch_size", "%d is more than %d", opts.BatchSize, MaxImportBatch)
	}
	if opts.Key == "" && len(spec.Keys) > 0 {
		opts.Key = spec.Keys[0]
	}
	rep := &ImportReport{DryRun: opts.DryRun}
	im := &importer[T]{tx: tx, spec: spec, opts: opts, rep: rep, defs: make(map[string]*FieldDef, len(spec.Custom))}
	for _, d := range spec.Custom {
		im.defs[d.Name] = d
	}
	if !slices.Contains(spec.Keys, opts.Key) && !im.isCustom(opts.Key) {
		return nil, storage.Invalid("key", "%q is not %s or a custom %s field", opts.Key, strings.Join(spec.Keys, " or "), spec.Type)
	}
	if name, ok := strings.CutPrefix(opts.Key, "custom."); ok {
		if t := im.defs[name].Type; t == FieldBool || t == FieldMultiEnum {
			return nil, storage.Invalid("key", "custom field %s is of type %s; a key is text, a number, a date or a choice", name, t)
		}
	}
	cr := csv.NewReader(skipBOM(r))
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	headers, err := cr.Read()
	if err != nil {
		return nil, storage.Invalid("csv", "no header row: %v", err)
	}
	im.headers = slices.Clone(headers)
	if err := im.mapColumns(); err != nil {
		return nil, err
	}
	if !slices.Contains(rep.Mapping, opts.Key) {
		return nil, storage.Invalid("mapping", "no column maps to the key %s", opts.Key)
	}
	if opts.Mode == ImportAllOrNothing || opts.DryRun {
		// One transaction for the whole file; rolled back when dry, or
		// when a row is bad in all-or-nothing mode.
		errRollback := errors.New("roll back")
		err := tx.RunInTx(ctx, func(ctx context.Context) error {
			if err := im.run(ctx, cr); err != nil {
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
	return rep, im.run(ctx, cr)
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

// importer is one run of ImportCSV.
type importer[T storage.Record] struct {
	tx      storage.Transactor
	spec    ImportSpec[T]
	opts    ImportOptions
	rep     *ImportReport
	headers []string
	defs    map[string]*FieldDef // spec.Custom by name
}

// row is one data row as read.
type row struct {
	line  int
	cells []string
}

// item is a parsed row with its key.
type item struct {
	row   ImportRow
	key   string // the key as a map key
	value any    // the key as a filter value
}

func (im *importer[T]) isCustom(f string) bool {
	name, ok := strings.CutPrefix(f, "custom.")
	return ok && im.defs[name] != nil
}

// mapColumns sets the report's mapping: automatic, or the explicit one
// checked against the file's headers and the spec's fields.
func (im *importer[T]) mapColumns() error {
	rep := im.rep
	if im.opts.Mapping == nil {
		rep.Mapping = autoMap(im.headers, im.spec.Headers, im.spec.Custom)
	} else {
		var v storage.ValidationError
		rep.Mapping = make([]string, len(im.headers))
		for _, h := range slices.Sorted(maps.Keys(im.opts.Mapping)) {
			f := im.opts.Mapping[h]
			i := slices.Index(im.headers, h)
			switch {
			case i < 0:
				v.Add("mapping."+h, "the file has no column %q", h)
			case f != "" && !slices.Contains(im.spec.Fields, f) && !im.isCustom(f):
				v.Add("mapping."+h, "%q is not a %s field", f, im.spec.Type)
			default:
				rep.Mapping[i] = f
			}
		}
		if err := v.Err(); err != nil {
			return err
		}
	}
	for i, f := range rep.Mapping {
		if f == "" {
			rep.IgnoredColumns = append(rep.IgnoredColumns, im.headers[i])
		}
	}
	return nil
}

// run reads every row and writes them a batch at a time.
func (im *importer[T]) run(ctx context.Context, cr *csv.Reader) error {
	batch := make([]row, 0, im.opts.BatchSize)
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
			if err := im.flush(ctx, batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	return im.flush(ctx, batch)
}

// flush writes a batch. When the storage refuses it (see fatal), nothing
// of it stays and it is written again one row at a time, each row on its
// own; any other failure ends the import.
func (im *importer[T]) flush(ctx context.Context, batch []row) error {
	if len(batch) == 0 {
		return nil
	}
	saved := *im.rep
	err := storage.RunInSavepoint(ctx, im.tx, func(ctx context.Context) error { return im.write(ctx, batch) })
	if err != nil {
		if err := fatal(ctx, err); err != nil {
			return err
		}
		*im.rep = saved
		im.reset()
		for i := range batch {
			saved := *im.rep
			err := storage.RunInSavepoint(ctx, im.tx, func(ctx context.Context) error { return im.write(ctx, batch[i:i+1]) })
			if err == nil {
				continue
			}
			if err := fatal(ctx, err); err != nil {
				return err
			}
			*im.rep = saved
			im.reset()
			col := ""
			if ce := (*storage.ConflictError)(nil); errors.As(err, &ce) && ce.Field != "" {
				col = im.column(ce.Field)
			}
			im.rep.fail(RowError{Row: batch[i].line, Column: col, Reason: err.Error()})
		}
	}
	if im.opts.Progress != nil {
		im.opts.Progress(ImportProgress{Rows: im.rep.Rows, Total: im.opts.Total})
	}
	return nil
}

// fatal returns the error that ends the import after a write of rows
// failed with err: nil when the storage refused what the rows hold (a
// storage sentinel: a unique value taken, a bad value, a record the
// principal may not write, or one changed or removed meanwhile), which
// costs only those rows; else err, or the context's error once it is done
// (the database failing, the context ending), which would fail every row
// alike.
func fatal(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	for _, s := range []error{storage.ErrConflict, storage.ErrInvalid, storage.ErrForbidden, storage.ErrStale, storage.ErrNotFound} {
		if errors.Is(err, s) {
			return nil
		}
	}
	return err
}

func (im *importer[T]) reset() {
	if im.spec.Reset != nil {
		im.spec.Reset()
	}
}

// write upserts the rows of a batch: it looks up their keys with one
// query, then writes in rounds, a round holding at most one row per key
// (the first round the first row of each key, the next round the rows
// repeating one, as updates of the record the round before wrote).
func (im *importer[T]) write(ctx context.Context, batch []row) error {
	items := make([]item, 0, len(batch))
	var values []any
	seen := make(map[string]bool, len(batch))
	for _, r := range batch {
		it, ok, err := im.parse(ctx, r)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		items = append(items, it)
		if !seen[it.key] {
			seen[it.key] = true
			values = append(values, it.value)
		}
	}
	found, err := im.lookup(ctx, values)
	if err != nil {
		return err
	}
	for len(items) > 0 {
		var news, prevs, nexts []T
		var newKeys, updKeys, rest []item
		inRound := make(map[string]bool, len(items))
		for _, it := range items {
			if inRound[it.key] {
				rest = append(rest, it)
				continue
			}
			inRound[it.key] = true
			if prev, ok := found[it.key]; ok {
				next, err := im.spec.Update(ctx, it.row, prev)
				if err != nil {
					if im.rowError(it.row, err) {
						continue
					}
					return err
				}
				prevs, nexts, updKeys = append(prevs, prev), append(nexts, next), append(updKeys, it)
				continue
			}
			rec, err := im.spec.Create(ctx, it.row)
			if err != nil {
				if im.rowError(it.row, err) {
					continue
				}
				return err
			}
			news, newKeys = append(news, rec), append(newKeys, it)
		}
		if err := storage.InsertMany(ctx, im.tx, im.spec.Table, news); err != nil {
			return err
		}
		if err := storage.UpdateMany(ctx, im.tx, im.spec.Table, prevs, nexts); err != nil {
			return err
		}
		for i, rec := range news {
			found[newKeys[i].key] = rec
		}
		for i, rec := range nexts {
			found[updKeys[i].key] = rec
		}
		im.rep.Created += len(news)
		im.rep.Updated += len(nexts)
		items = rest
	}
	return nil
}

// parse trims a row's cells, reads its custom values and its key, and
// reports what is wrong with it; ok is false for a reported row.
func (im *importer[T]) parse(ctx context.Context, r row) (it item, ok bool, err error) {
	ir := ImportRow{Line: r.line, cells: r.cells, fields: im.rep.Mapping, rep: im.rep}
	for i, cell := range r.cells {
		cell = strings.TrimSpace(cell)
		r.cells[i] = cell
		f := im.rep.Mapping[i]
		if f == "" || cell == "" {
			continue
		}
		if !utf8.ValidString(cell) {
			im.rep.fail(RowError{Row: r.line, Column: im.headers[i], Reason: "is not UTF-8 text"})
			return item{}, false, nil
		}
		if name, ok := strings.CutPrefix(f, "custom."); ok {
			v, err := cellValue(im.defs[name], cell)
			if err != nil {
				im.rep.fail(RowError{Row: r.line, Column: im.headers[i], Reason: err.Error()})
				return item{}, false, nil
			}
			if ir.Custom == nil {
				ir.Custom = map[string]any{}
			}
			ir.Custom[name] = v
			if f == im.opts.Key {
				it.key, it.value = keyString(v), v
			}
		} else if f == im.opts.Key {
			k, err := im.spec.NormalizeKey(f, cell)
			if err != nil {
				im.rep.fail(RowError{Row: r.line, Column: im.headers[i], Reason: err.Error()})
				return item{}, false, nil
			}
			it.key, it.value = k, k
		}
	}
	if it.key == "" {
		im.rep.fail(RowError{Row: r.line, Column: im.column(im.opts.Key), Reason: "the key is empty"})
		return item{}, false, nil
	}
	if im.spec.Skip != nil {
		field, reason, err := im.spec.Skip(ctx, ir)
		if err != nil || reason != "" {
			if reason != "" {
				im.rep.fail(RowError{Row: r.line, Column: im.column(field), Reason: reason})
			}
			return item{}, false, err
		}
	}
	it.row = ir
	return it, true, nil
}

// keyString turns a key value into a map key.
func keyString(v any) string {
	if f, ok := v.(float64); ok {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return fmt.Sprint(v)
}

// lookup returns the stored records with the given key values, by key;
// where several have one key, the oldest.
func (im *importer[T]) lookup(ctx context.Context, values []any) (map[string]T, error) {
	found := make(map[string]T, len(values))
	if len(values) == 0 {
		return found, nil
	}
	// Sorted by the key, so that the key's index gives the order (the
	// store writes a look-up by text values so that a partial index, such
	// as contacts' email index, serves it).
	q := storage.ListQuery{
		Filter:    storage.Cmp{Field: im.opts.Key, Op: storage.OpIn, Value: values},
		Sort:      []storage.Sort{{Field: im.opts.Key}},
		PageQuery: storage.PageQuery{Limit: storage.MaxLimit},
	}
	name, custom := strings.CutPrefix(im.opts.Key, "custom.")
	if custom {
		or := make(storage.Or, len(values))
		for i, v := range values {
			or[i] = storage.Eq(im.opts.Key, v)
		}
		q.Filter, q.Sort = or, nil // a custom field has no index, nor a sort
	}
	err := storage.Each(ctx, im.spec.Table, q, func(rec T) error {
		var k string
		if custom {
			v, ok := im.spec.CustomOf(rec)[name]
			if !ok {
				return nil
			}
			k = keyString(v)
		} else {
			k = im.spec.KeyOf(rec, im.opts.Key)
		}
		if _, ok := found[k]; !ok {
			found[k] = rec
		}
		return nil
	})
	return found, err
}

// rowError reports err as the row's error when it is about the row (bad
// values, a conflict with a record's state) and says whether it did;
// other errors are the storage's.
func (im *importer[T]) rowError(r ImportRow, err error) bool {
	var ve *storage.ValidationError
	switch {
	case errors.As(err, &ve):
		for _, fe := range ve.Fields {
			im.rep.note(RowError{Row: r.Line, Column: im.column(fe.Field), Reason: fe.Reason})
		}
		im.rep.Failed++ // one failed row, however many fields
	case errors.Is(err, storage.ErrConflict), errors.Is(err, storage.ErrInvalid), errors.Is(err, storage.ErrForbidden):
		im.rep.fail(RowError{Row: r.Line, Reason: err.Error()})
	default:
		return false
	}
	return true
}

// column returns the CSV header of the column that field (of a validation
// error: "email", "phones[0].number", "custom.tier") comes from: the
// column mapped to it or to its alias in spec.Columns, else to its base
// name ("phones") or the base's alias; else field itself.
func (im *importer[T]) column(field string) string {
	cands := []string{field, im.spec.Columns[field]}
	if !strings.HasPrefix(field, "custom.") {
		base := field
		if i := strings.IndexAny(base, "[."); i > 0 {
			base = base[:i]
		}
		cands = append(cands, base, im.spec.Columns[base])
	}
	for _, c := range cands {
		if i := slices.Index(im.rep.Mapping, c); c != "" && i >= 0 {
			return im.headers[i]
		}
	}
	return field
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

// SplitList splits an import cell of several values (tags), separated by
// ; or ,, as every CSV import reads them.
func SplitList(cell string) []string {
	return strings.FieldsFunc(cell, func(r rune) bool { return r == ';' || r == ',' })
}

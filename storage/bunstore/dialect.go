package bunstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/crmkit/crm/storage"
)

// dialect holds what differs between SQLite and Postgres. Each dialect
// translates its driver's errors in exactly one function, translate.
type dialect interface {
	// name is "sqlite" or "postgres".
	name() string
	// rebind turns ? placeholders into the dialect's.
	rebind(query string) string
	// timeArg is the bind value of a time.
	timeArg(t time.Time) any
	// prepare reports whether statements should be prepared once and reused
	// (the driver does not cache them itself).
	prepare() bool
	// listHas is a condition that the JSON list column col holds the one
	// bind value.
	listHas(col string) string
	// listHasObject is a condition that the JSON list column col holds an
	// object whose fields keys (checked names) have the text values bound
	// after it, in order.
	listHasObject(col string, keys []string) string
	// listHasAnyObject is a condition that the JSON list column col holds
	// an element whose key is one of n values (bound in order), reading
	// the list once; "" where listHasObject's alternatives are the better
	// form (Postgres: each a containment a GIN index can serve).
	listHasAnyObject(col, key string, n int) string
	// elementsFrom joins the row aliased t to the elements of its JSON
	// list col, as rows aliased e (none for a NULL or a list of none);
	// elementKey reads a key of the element e, of kind k, as the table's
	// columns of that kind are stored (a missing text is ""); for a time,
	// text is the SQL of its JSON text (RFC 3339, NULL when missing).
	// spanTime is the time a span measures from a time element's sql and
	// text, NULL for the zero time (no value): from the text where the
	// dialect's time functions read it as it is (SQLite's julianday).
	elementsFrom(col string) string
	elementKey(key string, k kind) (sql, text string)
	spanTime(sql, text string) string
	// listEmpty is a condition that the JSON list column col is null or [].
	listEmpty(col string) string
	// jsonText is the text at key of the JSON object column col, or NULL.
	// key must be a checked custom field name.
	jsonText(col, key string) string
	// jsonNum is like jsonText, as a number.
	jsonNum(col, key string) string
	// jsonGroupText is the value at key as text, alike on both adapters
	// ("42", "true", "Gold"), for grouping.
	jsonGroupText(col, key string) string
	// timeBucket is the SQL of storage.BucketOf over the time expression
	// col, in the zone tz, with its bind values: NULL for a zero time, a
	// period's start as a wall clock (a timestamp without zone, or text
	// "2006-01-02 15:04:05"), or a part as an integer.
	timeBucket(col string, b storage.TimeBucket, tz string, weekStart int) (string, []any, error)
	// seconds is the SQL of the seconds from the time from to the time to.
	seconds(to, from string) string
	// jsonBool is like jsonText, as a bool.
	jsonBool(col, key string) string
	// inSet appends to b a condition that expr is one of ids (not empty),
	// bound so that the statement's text depends only on a bucket of the
	// set's size, not on the size itself (see scopeSets).
	inSet(b *sqlBuilder, expr string, ids []string)
	// textOp is the condition op (OpContains, OpStartsWith or OpEndsWith)
	// on the text column col, and how many times the text must be bound.
	textOp(op storage.Op, col string) (cond string, binds int)
	// feedClock reports whether events are ordered by the feed clock
	// (Postgres's crm_feed_enter and crm_feed_horizon; see feed.go), not
	// by seq alone as on SQLite, where one transaction writes at a time.
	feedClock() bool
	// lockRows is the clause that locks the rows a SELECT reads until the
	// transaction ends ("" where a transaction holds the whole database);
	// with skip, rows locked by others are skipped.
	lockRows(skip bool) string
	// upsertSearch is the statement that stores search documents, as the
	// head before VALUES and the tail after them; each row is workspace_id,
	// record_type, record_id, title, body.
	upsertSearch() (head, tail string)
	// deleteSearchIn deletes the documents of record_id IN, the list to
	// follow.
	deleteSearchIn() string
	// maxParams is how many bind values one statement may carry.
	maxParams() int
	// search is the search query: text (the dialect's query syntax, from
	// searchQuery), workspace_id, the type filter, then the bind values of
	// cond, a condition on the documents aliased d, the limit and the offset.
	search(types int, cond string) string
	// sharesJSON reports whether a custom field compared several times
	// is best extracted once per row (see Store.sharedCustom).
	sharesJSON() bool
	// searchPlain is search without rank: the hits in record ID order,
	// with their documents' bodies, LIMIT ?.
	searchPlain(types int, cond string) string
	// searchQuery turns words into the dialect's full-text query: each
	// word as a prefix, all of them required, or with MatchAny any one of
	// them; with MatchPhrase the words whole and in a row.
	searchQuery(words []string, match storage.SearchMatch) string
	// translate turns a driver error into the storage sentinels.
	translate(err error, recordType string) error
}

// sqliteDialect is SQLite through modernc.org/sqlite (or any driver whose
// errors have a Code() int method).
type sqliteDialect struct{ u *uniqueIndexes }

func (sqliteDialect) name() string            { return "sqlite" }
func (sqliteDialect) rebind(q string) string  { return q }
func (sqliteDialect) prepare() bool           { return true }
func (sqliteDialect) timeArg(t time.Time) any { return formatTime(t) }
func (sqliteDialect) listHas(col string) string {
	return "EXISTS (SELECT 1 FROM json_each(" + col + ") WHERE json_each.value = ?)"
}
func (sqliteDialect) listHasObject(col string, keys []string) string {
	conds := make([]string, len(keys))
	for i, k := range keys {
		conds[i] = "json_extract(json_each.value, '$." + k + "') = ?"
	}
	return "EXISTS (SELECT 1 FROM json_each(" + col + ") WHERE " + strings.Join(conds, " AND ") + ")"
}

// spanTime is the element's Julian day, which julianday (in seconds)
// returns as it is; 1721425.5 is the zero time's.
func (sqliteDialect) spanTime(_, text string) string {
	return "NULLIF(julianday(" + text + "), 1721425.5)"
}

func (sqliteDialect) listHasAnyObject(col, key string, n int) string {
	return "EXISTS (SELECT 1 FROM json_each(" + col + ") WHERE json_extract(json_each.value, '$." + key + "') IN (" + placeholders(n) + "))"
}

func (sqliteDialect) elementsFrom(col string) string {
	return ", json_each(CASE WHEN json_type(" + col + ") = 'array' THEN " + col + " END) e"
}

// elementKey reads times, which JSON holds as RFC 3339 text in any offset
// and precision, as timeLayout text (to the millisecond), so that they
// compare with the bound times and with each other as text.
func (sqliteDialect) elementKey(key string, k kind) (string, string) {
	x := "json_extract(e.value, '$." + key + "')"
	switch k {
	case kString:
		return "COALESCE(" + x + ", '')", ""
	case kInt:
		return "CAST(" + x + " AS INTEGER)", ""
	case kFloat:
		return "CAST(" + x + " AS REAL)", ""
	case kTime:
		return "(strftime('%Y-%m-%dT%H:%M:%f', " + x + ") || '000Z')", x
	}
	return x, ""
}

func (sqliteDialect) listEmpty(col string) string {
	return "(" + col + " IS NULL OR json_array_length(" + col + ") = 0)"
}
func (sqliteDialect) jsonGroupText(col, key string) string {
	x := "'$." + key + "'"
	return "(CASE json_type(" + col + ", " + x + ") WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE CAST(json_extract(" + col + ", " + x + ") AS TEXT) END)"
}

// timeBucket cuts the stored text in UTC (times are kept as fixed-width
// UTC text), and calls crm_time_bucket, the Go function storage/sqlite
// registers with the driver, in any other zone (storage.BucketOf): SQLite
// knows no zones. The text cut costs what the hand-written SQL does; the
// Go call more (see the README's reporting figures).
func (sqliteDialect) timeBucket(col string, b storage.TimeBucket, tz string, weekStart int) (string, []any, error) {
	if !validBucket(b) {
		return "", nil, fmt.Errorf("%q is not a time bucket (day, week, month, quarter, year, weekday, month_of_year)", b)
	}
	if tz != "UTC" {
		return "crm_time_bucket(" + col + ", '" + string(b) + "', ?, ?)", []any{tz, weekStart}, nil
	}
	var x string
	var args []any
	switch b {
	case storage.BucketDay:
		x = "substr(" + col + ", 1, 10) || ' 00:00:00'"
	case storage.BucketWeek:
		x = "date(substr(" + col + ", 1, 10), '-' || ((CAST(strftime('%w', substr(" + col + ", 1, 10)) AS INTEGER) - ? + 7) % 7) || ' days') || ' 00:00:00'"
		args = []any{weekStart}
	case storage.BucketMonth:
		x = "substr(" + col + ", 1, 7) || '-01 00:00:00'"
	case storage.BucketQuarter:
		x = "substr(" + col + ", 1, 5) || printf('%02d', ((CAST(substr(" + col + ", 6, 2) AS INTEGER) - 1) / 3) * 3 + 1) || '-01 00:00:00'"
	case storage.BucketYear:
		x = "substr(" + col + ", 1, 4) || '-01-01 00:00:00'"
	case storage.BucketWeekday:
		x = "CAST(strftime('%w', substr(" + col + ", 1, 10)) AS INTEGER)"
	case storage.BucketMonthOfYear:
		x = "CAST(substr(" + col + ", 6, 2) AS INTEGER)"
	}
	return "(CASE WHEN " + col + " > '0001-01-02' THEN " + x + " END)", args, nil
}

func (sqliteDialect) seconds(to, from string) string {
	return "((julianday(" + to + ") - julianday(" + from + ")) * 86400.0)"
}

func validBucket(b storage.TimeBucket) bool {
	switch b {
	case storage.BucketDay, storage.BucketWeek, storage.BucketMonth, storage.BucketQuarter, storage.BucketYear,
		storage.BucketWeekday, storage.BucketMonthOfYear:
		return true
	}
	return false
}

func (sqliteDialect) jsonText(col, key string) string {
	return "json_extract(" + col + ", '$." + key + "')"
}
func (sqliteDialect) jsonNum(col, key string) string {
	return "json_extract(" + col + ", '$." + key + "')"
}
func (sqliteDialect) jsonBool(col, key string) string {
	return "json_extract(" + col + ", '$." + key + "')"
}

// maxSQLiteInList is the largest set SQLite gets as a list of
// placeholders; a larger one is a JSON array read by json_each, which costs
// a parse per execution.
const maxSQLiteInList = 64

// inSet binds a small set as an IN list padded to a power of two with its
// last element (a repeat changes nothing), so that a few statement texts
// serve every size; a larger one as a JSON array.
func (sqliteDialect) inSet(b *sqlBuilder, expr string, ids []string) {
	if len(ids) > maxSQLiteInList {
		j, _ := json.Marshal(ids) // []string always marshals
		b.add(expr+" IN (SELECT value FROM json_each(?))", string(j))
		return
	}
	n := 1
	for n < len(ids) {
		n *= 2
	}
	args := anys(ids)
	for len(args) < n {
		args = append(args, ids[len(ids)-1])
	}
	b.add(expr+" IN ("+placeholders(n)+")", args...)
}

func (sqliteDialect) textOp(op storage.Op, col string) (string, int) {
	switch op {
	case storage.OpStartsWith:
		return "substr(" + col + ", 1, length(?)) = ?", 2
	case storage.OpEndsWith:
		return "(length(?) = 0 OR substr(" + col + ", -length(?)) = ?)", 3
	}
	return "instr(" + col + ", ?) > 0", 1
}
func (sqliteDialect) feedClock() bool { return false }

// lockRows is empty: a SQLite write transaction holds the whole database.
func (sqliteDialect) lockRows(bool) string { return "" }

func (sqliteDialect) upsertSearch() (string, string) {
	return `INSERT INTO crm_search_docs (workspace_id, record_type, record_id, title, body)`,
		`ON CONFLICT (record_id) DO UPDATE SET title = excluded.title, body = excluded.body`
}

func (sqliteDialect) deleteSearchIn() string { return `DELETE FROM crm_search_docs WHERE record_id IN` }

// maxParams is SQLITE_MAX_VARIABLE_NUMBER of SQLite 3.32 and later.
func (sqliteDialect) maxParams() int { return 32766 }

func (sqliteDialect) search(types int, cond string) string {
	q := `SELECT d.record_type, d.record_id, d.title, bm25(crm_search, 10.0, 1.0)
FROM crm_search JOIN crm_search_docs d ON d.id = crm_search.rowid
WHERE crm_search MATCH ? AND d.workspace_id = ?`
	if types > 0 {
		q += " AND d.record_type IN (" + placeholders(types) + ")"
	}
	return q + cond + " ORDER BY bm25(crm_search, 10.0, 1.0), d.record_id LIMIT ? OFFSET ?"
}

// sharesJSON is false: SQLite keeps the JSON it parsed for the row, and
// extracting again costs little.
func (sqliteDialect) sharesJSON() bool { return false }

func (sqliteDialect) searchPlain(types int, cond string) string {
	q := `SELECT d.record_type, d.record_id, d.title, d.body
FROM crm_search JOIN crm_search_docs d ON d.id = crm_search.rowid
WHERE crm_search MATCH ? AND d.workspace_id = ?`
	if types > 0 {
		q += " AND d.record_type IN (" + placeholders(types) + ")"
	}
	return q + cond + " ORDER BY d.record_id LIMIT ?"
}

func (sqliteDialect) searchQuery(words []string, match storage.SearchMatch) string {
	if match == storage.MatchPhrase {
		return `"` + strings.Join(words, " ") + `"` // an FTS5 phrase: whole tokens in a row
	}
	parts := make([]string, len(words))
	for i, w := range words {
		parts[i] = `"` + w + `"*`
	}
	if match == storage.MatchAny {
		return strings.Join(parts, " OR ")
	}
	return strings.Join(parts, " ")
}

// sqliteUniqueRE matches both forms of SQLite's message: the columns of a
// plain unique index ("t.a, t.b") and the name of a partial one
// ("index 'crm_contacts_email_uq'"), with the driver's " (2067)" after.
var sqliteUniqueRE = regexp.MustCompile(`UNIQUE constraint failed: (?:index '([^']+)'|([^()]+?))(?: \(\d+\))?$`)

// translate maps SQLite's result codes: a unique or primary key violation is
// a *storage.ConflictError naming the column; a foreign key violation is
// ErrConflict; SQLITE_BUSY stays itself, wrapped, since it must never reach
// callers and a test looks for it.
func (d sqliteDialect) translate(err error, recordType string) error {
	var coded interface{ Code() int }
	if err == nil || !errors.As(err, &coded) {
		return err
	}
	switch coded.Code() {
	case 2067, 1555: // SQLITE_CONSTRAINT_UNIQUE, SQLITE_CONSTRAINT_PRIMARYKEY
		field := ""
		if m := sqliteUniqueRE.FindStringSubmatch(err.Error()); m != nil {
			if m[1] != "" {
				field = d.u.field(m[1])
			} else {
				cols := strings.Split(m[2], ",")
				last := strings.TrimSpace(cols[len(cols)-1])
				field = last[strings.LastIndexByte(last, '.')+1:]
			}
		}
		return &storage.ConflictError{RecordType: recordType, Field: field, Err: err}
	case 787: // SQLITE_CONSTRAINT_FOREIGNKEY
		return fmt.Errorf("%w: %s refers to a record that does not exist, or is referred to: %v", storage.ErrConflict, recordType, err)
	case 275, 19: // SQLITE_CONSTRAINT_CHECK, SQLITE_CONSTRAINT
		return fmt.Errorf("%w: %s: %v", storage.ErrInvalid, recordType, err)
	}
	if strings.Contains(err.Error(), "integer overflow") {
		// A SUM beyond 64 bits: an error, never a wrapped total.
		return fmt.Errorf("%w: %s: a sum is beyond the range of 64-bit integers: %v", storage.ErrInvalid, recordType, err)
	}
	return err
}

// postgresDialect is Postgres through pgx (or any driver whose errors have a
// SQLState() string method).
type postgresDialect struct{ u *uniqueIndexes }

func (postgresDialect) name() string            { return "postgres" }
func (postgresDialect) prepare() bool           { return false } // pgx caches prepared statements per connection
func (postgresDialect) timeArg(t time.Time) any { return t.UTC() }
func (postgresDialect) listHas(col string) string {
	return col + " @> jsonb_build_array(?::text)"
}
func (postgresDialect) spanTime(sql, _ string) string {
	return "NULLIF(" + sql + ", TIMESTAMPTZ '0001-01-01 00:00:00+00')"
}

func (postgresDialect) listHasAnyObject(string, string, int) string { return "" }

func (postgresDialect) elementsFrom(col string) string {
	return " CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(CAST(" + col + " AS JSONB)) = 'array' THEN CAST(" + col + " AS JSONB) END) e"
}

func (postgresDialect) elementKey(key string, k kind) (string, string) {
	x := "(e.value ->> '" + key + "')"
	switch k {
	case kString:
		return "COALESCE(" + x + ", '')", ""
	case kInt:
		return "CAST(" + x + " AS BIGINT)", ""
	case kFloat:
		return "CAST(" + x + " AS DOUBLE PRECISION)", ""
	case kBool:
		return "CAST(" + x + " AS BOOLEAN)", ""
	case kTime:
		return "CAST(" + x + " AS TIMESTAMPTZ)", x
	}
	return x, ""
}

func (postgresDialect) listHasObject(col string, keys []string) string {
	pairs := make([]string, len(keys))
	for i, k := range keys {
		pairs[i] = "'" + k + "', ?::text"
	}
	return col + " @> jsonb_build_array(jsonb_build_object(" + strings.Join(pairs, ", ") + "))"
}
func (postgresDialect) listEmpty(col string) string {
	return "(" + col + " IS NULL OR jsonb_array_length(" + col + ") = 0)"
}
func (postgresDialect) jsonText(col, key string) string { return "(" + col + " ->> '" + key + "')" }
func (postgresDialect) jsonGroupText(col, key string) string {
	return "(" + col + " ->> '" + key + "')"
}

func (postgresDialect) seconds(to, from string) string {
	return "EXTRACT(EPOCH FROM (" + to + " - " + from + "))"
}

// timeBucket converts to the zone's wall clock (AT TIME ZONE) and cuts it
// there; a zero time ('0001-01-01') has no bucket.
func (postgresDialect) timeBucket(col string, b storage.TimeBucket, tz string, weekStart int) (string, []any, error) {
	local := "(" + col + " AT TIME ZONE CAST(? AS TEXT))"
	var x string
	args := []any{tz}
	switch b {
	case storage.BucketDay, storage.BucketMonth, storage.BucketQuarter, storage.BucketYear:
		x = "date_trunc('" + string(b) + "', " + local + ")"
	case storage.BucketWeek:
		x = "(date_trunc('day', " + local + ") - ((CAST(EXTRACT(DOW FROM " + local + ") AS INT) - CAST(? AS INT) + 7) % 7) * INTERVAL '1 day')"
		args = []any{tz, tz, weekStart}
	case storage.BucketWeekday:
		x = "CAST(EXTRACT(DOW FROM " + local + ") AS BIGINT)"
	case storage.BucketMonthOfYear:
		x = "CAST(EXTRACT(MONTH FROM " + local + ") AS BIGINT)"
	default:
		return "", nil, fmt.Errorf("%q is not a time bucket (day, week, month, quarter, year, weekday, month_of_year)", b)
	}
	return "(CASE WHEN " + col + " > TIMESTAMPTZ '0001-01-02 00:00:00+00' THEN " + x + " END)", args, nil
}
func (postgresDialect) jsonNum(col, key string) string {
	return "(" + col + " ->> '" + key + "')::numeric"
}
func (postgresDialect) jsonBool(col, key string) string {
	return "(" + col + " ->> '" + key + "')::boolean"
}

// maxPostgresAnyArray is the largest set Postgres gets as = ANY(array):
// a generic plan compares each row with every element in turn, so a larger
// set is an IN over the array's elements, which hashes them once.
const maxPostgresAnyArray = 16

// inSet binds the set as one text array.
func (postgresDialect) inSet(b *sqlBuilder, expr string, ids []string) {
	if len(ids) > maxPostgresAnyArray {
		b.add(expr+" IN (SELECT unnest(?::text[]))", ids)
		return
	}
	b.add(expr+" = ANY(?::text[])", ids)
}

func (postgresDialect) textOp(op storage.Op, col string) (string, int) {
	switch op {
	case storage.OpStartsWith:
		return "starts_with(" + col + ", ?::text)", 1
	case storage.OpEndsWith:
		return "(length(?::text) = 0 OR right(" + col + ", length(?::text)) = ?::text)", 3
	}
	return "strpos(" + col + ", ?::text) > 0", 1
}

func (postgresDialect) lockRows(skip bool) string {
	if skip {
		return " FOR UPDATE SKIP LOCKED"
	}
	return " FOR UPDATE"
}

func (postgresDialect) feedClock() bool { return true }

func (postgresDialect) upsertSearch() (string, string) {
	return `INSERT INTO crm_search (workspace_id, record_type, record_id, title, body)`,
		`ON CONFLICT (record_id) DO UPDATE SET title = excluded.title, body = excluded.body`
}

func (postgresDialect) deleteSearchIn() string { return `DELETE FROM crm_search WHERE record_id IN` }

// maxParams is the wire protocol's limit: a 16-bit count.
func (postgresDialect) maxParams() int { return 65535 }

func (postgresDialect) search(types int, cond string) string {
	q := `SELECT d.record_type, d.record_id, d.title, -ts_rank(d.tsv, q)
FROM crm_search d, to_tsquery('simple', ?::text) q
WHERE d.tsv @@ q AND d.workspace_id = ?`
	if types > 0 {
		q += " AND d.record_type IN (" + placeholders(types) + ")"
	}
	return q + cond + " ORDER BY ts_rank(d.tsv, q) DESC, d.record_id LIMIT ? OFFSET ?"
}

func (postgresDialect) sharesJSON() bool { return true }

func (postgresDialect) searchPlain(types int, cond string) string {
	q := `SELECT d.record_type, d.record_id, d.title, d.body
FROM crm_search d, to_tsquery('simple', ?::text) q
WHERE d.tsv @@ q AND d.workspace_id = ?`
	if types > 0 {
		q += " AND d.record_type IN (" + placeholders(types) + ")"
	}
	return q + cond + " ORDER BY d.record_id LIMIT ?"
}

func (postgresDialect) searchQuery(words []string, match storage.SearchMatch) string {
	if match == storage.MatchPhrase {
		return strings.Join(words, " <-> ") // followed by: whole lexemes in a row
	}
	parts := make([]string, len(words))
	for i, w := range words {
		parts[i] = w + ":*"
	}
	if match == storage.MatchAny {
		return strings.Join(parts, " | ")
	}
	return strings.Join(parts, " & ")
}

// rebind numbers the placeholders: ? becomes $1, $2, ….
func (postgresDialect) rebind(q string) string {
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] != '?' {
			b.WriteByte(q[i])
			continue
		}
		n++
		b.WriteString("$" + strconv.Itoa(n))
	}
	return b.String()
}

var pgConstraintRE = regexp.MustCompile(`constraint "([^"]+)"`)

// translate maps Postgres SQLSTATEs: 23505 (unique) is a
// *storage.ConflictError naming the field from the index name
// (crm_<table>_<field>_uq, or the key of a primary key); 23503 (foreign key)
// is ErrConflict; 23514/22xxx are ErrInvalid; 40001/40P01 are ErrStale.
func (d postgresDialect) translate(err error, recordType string) error {
	var coded interface{ SQLState() string }
	if err == nil || !errors.As(err, &coded) {
		return err
	}
	state := coded.SQLState()
	switch {
	case state == "23505":
		field := ""
		if m := pgConstraintRE.FindStringSubmatch(err.Error()); m != nil {
			field = d.u.field(m[1])
		}
		return &storage.ConflictError{RecordType: recordType, Field: field, Err: err}
	case state == "23503":
		return fmt.Errorf("%w: %s refers to a record that does not exist, or is referred to: %v", storage.ErrConflict, recordType, err)
	case state == "23514" || strings.HasPrefix(state, "22"):
		return fmt.Errorf("%w: %s: %v", storage.ErrInvalid, recordType, err)
	case state == "40001" || state == "40P01":
		return fmt.Errorf("%w: %s: %v", storage.ErrStale, recordType, err)
	}
	return err
}

// uniqueIndexes are the fields the schema's unique indexes guard, read
// from the database's catalog (loadUniqueIndexes): a conflict names the
// columns of its index, not a guess from the index's name.
type uniqueIndexes struct{ m sync.Map } // index name → field(s)

// field returns the field(s) the unique index name guards: its columns but
// workspace_id, joined by ","; for an index the catalog did not give (or
// of workspace_id alone, such as a partial "one default per workspace"),
// the field its name gives (indexField).
func (u *uniqueIndexes) field(name string) string {
	if u != nil {
		if f, ok := u.m.Load(name); ok {
			return f.(string)
		}
	}
	return indexField(name)
}

// indexField returns the field a unique index guards, from the naming rule
// of the migrations: crm_<table>_<field>_uq for a field of one word,
// crm_<table>__<field>_uq for any field (such as external_id), or
// <table>_pkey for the ID.
func indexField(name string) string {
	switch {
	case strings.HasSuffix(name, "_uq"):
		name = strings.TrimSuffix(name, "_uq")
		if i := strings.Index(name, "__"); i >= 0 {
			return name[i+2:]
		}
		return name[strings.LastIndexByte(name, '_')+1:]
	case strings.HasSuffix(name, "_pkey"):
		return "id"
	}
	return ""
}

// timeLayout is how SQLite keeps times: fixed width, UTC, microseconds, so
// that text order is time order.
const timeLayout = "2006-01-02T15:04:05.000000Z"

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// parseTime reads a time as a driver returns it.
func parseTime(v any) (time.Time, error) {
	switch t := v.(type) {
	case time.Time:
		return storage.Truncate(t), nil
	case string:
		return parseTimeText(t)
	case []byte:
		return parseTimeText(string(t))
	case nil:
		return time.Time{}, nil
	}
	return time.Time{}, fmt.Errorf("bunstore: cannot read %T as a time", v)
}

func parseTimeText(s string) (time.Time, error) {
	t, err := time.Parse(timeLayout, s)
	if err != nil {
		t, err = time.Parse(time.RFC3339Nano, s)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("bunstore: cannot read %q as a time", s)
	}
	return storage.Truncate(t), nil
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

package bunstore_test

// BenchmarkImport: contacts from a CSV file into a new SQLite file, by
// crm's import and by a raw database/sql baseline, in one run:
//
//	CRM_BENCH_IMPORT_ROWS=1000000 go test -run '^$' -bench Import -benchtime 1x ./storage/bunstore
//
// The size defaults to 20,000 rows. Each import runs in a child process
// (this test binary again, running TestImportChild), so that its peak RSS
// (VmHWM) is the import's alone; the child times the import itself (wall
// and CPU time), after opening and migrating the database.

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode"

	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/internal/testdb"
	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/sqlite"
)

// importHeader is the header of the benchmark's file: a HubSpot-style
// export with a custom field (Tier).
const importHeader = "First Name,Last Name,Email,Phone Number,Job Title,Lifecycle Stage,Tags,Tier\n"

// writeImportCSV writes n generated contacts, every value in its stored
// form (lower-case emails, E.164 phones), so that the baseline can insert
// them as they are.
func writeImportCSV(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<16)
	w.WriteString(importHeader)
	lc := []string{"lead", "customer", "marketing_qualified"}
	tiers := []string{"gold", "silver", "bronze"}
	areas := []string{"212", "415", "617", "312", "206", "303", "512", "720"}
	for i := range n {
		fmt.Fprintf(w, "%s,%s,person%d@example.com,+1%s%03d%04d,Engineer,%s,bench;t%d,%s\n",
			benchFirst[i%len(benchFirst)], benchLast[(i/len(benchFirst))%len(benchLast)], i,
			areas[i%len(areas)], 200+(i/10000)%800, i%10000, lc[i%len(lc)], i%10, tiers[i%len(tiers)])
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

// importResult is what a child reports.
type importResult struct {
	Rows       int     `json:"rows"`
	Seconds    float64 `json:"seconds"`     // wall time of the import
	CPUSeconds float64 `json:"cpu_seconds"` // user + system time of the import
	PeakKB     int     `json:"peak_kb"`     // VmHWM
}

const importResultPrefix = "IMPORT-RESULT "

func BenchmarkImport(b *testing.B) {
	n := 20000
	if s := os.Getenv("CRM_BENCH_IMPORT_ROWS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			b.Fatalf("CRM_BENCH_IMPORT_ROWS: %v", err)
		}
	}
	dir := b.TempDir()
	file := filepath.Join(dir, "contacts.csv")
	if err := writeImportCSV(file, n); err != nil {
		b.Fatal(err)
	}
	rate, cpu := map[string]float64{}, map[string]float64{}
	for _, kind := range []string{"crm", "raw"} {
		b.Run(kind, func(b *testing.B) {
			run := 0
			for b.Loop() {
				run++
				res := runImportChild(b, kind, file, filepath.Join(dir, fmt.Sprintf("%s-%d.db", kind, run)))
				if res.Rows != n {
					b.Fatalf("%s imported %d rows, want %d", kind, res.Rows, n)
				}
				rate[kind], cpu[kind] = float64(res.Rows)/res.Seconds, res.CPUSeconds*1e6/float64(res.Rows)
				b.ReportMetric(rate[kind], "rows/s")
				b.ReportMetric(cpu[kind], "cpu-µs/row")
				b.ReportMetric(float64(res.PeakKB)/1024, "peak-RSS-MB")
				if kind == "raw" && rate["crm"] > 0 {
					// the rate ratio, and the same by CPU time, which the
					// machine's other load disturbs less
					b.ReportMetric(rate["crm"]/rate["raw"], "crm/raw")
					b.ReportMetric(cpu["raw"]/cpu["crm"], "crm/raw-cpu")
				}
			}
		})
	}
}

// runImportChild runs TestImportChild in a new process and returns its
// result.
func runImportChild(b *testing.B, kind, file, db string) importResult {
	b.Helper()
	cmd := exec.CommandContext(b.Context(), os.Args[0], "-test.run=^TestImportChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "CRM_IMPORT_CHILD="+kind, "CRM_IMPORT_CSV="+file, "CRM_IMPORT_DB="+db)
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("child %s: %v\n%s", kind, err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(line, importResultPrefix); ok {
			var res importResult
			if err := json.Unmarshal([]byte(rest), &res); err != nil {
				b.Fatal(err)
			}
			return res
		}
	}
	b.Fatalf("child %s reported nothing:\n%s", kind, out)
	return importResult{}
}

// TestImportChild is BenchmarkImport's child process; it is skipped
// unless CRM_IMPORT_CHILD names the import to run ("crm" or "raw").
func TestImportChild(t *testing.T) {
	kind := os.Getenv("CRM_IMPORT_CHILD")
	if kind == "" {
		t.Skip("run by BenchmarkImport")
	}
	ctx := storage.WithActor(storage.WithWorkspace(context.Background(), "bench"), "importer")
	store, err := sqlite.Open(ctx, os.Getenv("CRM_IMPORT_DB"), sqlite.WithModules(testdb.Modules()...))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	svc := contacts.NewService(store, contacts.Options{})
	if _, err := svc.Fields.Define(ctx, contacts.NewFieldDef{Object: contacts.ObjectContact, Name: "tier", Type: contacts.FieldText}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(os.Getenv("CRM_IMPORT_CSV"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	start, cpu0 := time.Now(), cpuTime(t)
	var rows int
	switch kind {
	case "crm":
		rep, err := svc.ImportContacts(ctx, f, contacts.ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Failed > 0 {
			t.Fatalf("%d rows failed: %+v", rep.Failed, rep.Errors[:min(5, len(rep.Errors))])
		}
		rows = rep.Created
	case "raw":
		if rows, err = rawImport(ctx, store.DB().DB, f); err != nil {
			t.Fatal(err)
		}
	}
	secs, cpuSecs := time.Since(start).Seconds(), cpuTime(t)-cpu0
	var got int
	if err := store.DB().DB.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM crm_contacts) + (SELECT COUNT(*) FROM crm_search_docs WHERE record_type = 'contact') + (SELECT COUNT(*) FROM crm_events WHERE type = 'contact.created')`).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != 3*rows {
		t.Fatalf("%d rows of contacts, search documents and events, want 3 × %d", got, rows)
	}
	res, _ := json.Marshal(importResult{Rows: rows, Seconds: secs, CPUSeconds: cpuSecs, PeakKB: peakRSS(t)})
	fmt.Println(importResultPrefix + string(res))
}

// cpuTime returns the user and system time the process has used, in
// seconds.
func cpuTime(t *testing.T) float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// peakRSS returns the process's VmHWM, in KB.
func peakRSS(t *testing.T) int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no VmHWM in /proc/self/status")
	return 0
}

// rawImport is the baseline: it reads the file with encoding/csv and, for
// each batch of 500 rows, in one transaction, inserts the contacts (every
// column crm writes, the JSON ones encoded as crm encodes them), one
// contact.created event each (every column too; its changes as crm lists
// them: every non-empty field with its new value, the custom one as
// custom.tier) and one search document each (title and lower-cased
// words), with one multi-row INSERT per table (prepared once, for full
// batches). It validates nothing, normalises
// nothing and looks nothing up: the file holds stored forms already.
func rawImport(ctx context.Context, db *sql.DB, r io.Reader) (int, error) {
	const batch = 500
	const contactCols = 27
	insert := func(head string, width, n int) string {
		row := "(" + strings.TrimSuffix(strings.Repeat("?, ", width), ", ") + ")"
		return head + " VALUES " + strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
	}
	contactHead := `INSERT INTO crm_contacts (id, workspace_id, version, created_at, created_by, updated_at, updated_by, prefix,
first_name, middle_name, last_name, suffix, email, emails, phones, addresses, job_title, department, social_profiles,
account_id, owner_id, team_id, lifecycle, source, tags, custom, last_activity_at)`
	eventHead := `INSERT INTO crm_events (id, workspace_id, type, subject_type, subject_id, actor, occurred_at, changes, depth)`
	searchHead := `INSERT INTO crm_search_docs (workspace_id, record_type, record_id, title, body)`
	prepared := map[string]*sql.Stmt{}
	stmt := func(q string) (*sql.Stmt, error) {
		if st, ok := prepared[q]; ok {
			return st, nil
		}
		st, err := db.PrepareContext(ctx, q)
		if err == nil {
			prepared[q] = st
		}
		return st, err
	}
	defer func() {
		for _, st := range prepared {
			st.Close()
		}
	}()
	ws, actor := storage.WorkspaceFrom(ctx), storage.ActorFrom(ctx)
	const noActivity = "0001-01-01T00:00:00.000000Z" // last_activity_at of a contact without activities
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	if _, err := cr.Read(); err != nil {
		return 0, err
	}
	var contactsV, eventsV, searchV []any
	n, rows := 0, 0
	flush := func() error {
		if n == 0 {
			return nil
		}
		qs := []string{insert(contactHead, contactCols, n), insert(eventHead, 9, n), insert(searchHead, 5, n)}
		sts := make([]*sql.Stmt, len(qs))
		for i, q := range qs {
			st, err := stmt(q)
			if err != nil {
				return err
			}
			sts[i] = st
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		for i, vals := range [][]any{contactsV, eventsV, searchV} {
			if _, err := tx.StmtContext(ctx, sts[i]).ExecContext(ctx, vals...); err != nil {
				return err
			}
		}
		if err := tx.Commit(); err != nil {
			return err
		}
		rows += n
		n, contactsV, eventsV, searchV = 0, contactsV[:0], eventsV[:0], searchV[:0]
		return nil
	}
	type change struct {
		Field string          `json:"field"`
		New   json.RawMessage `json:"new,omitempty"`
	}
	js := func(v any) json.RawMessage { b, _ := json.Marshal(v); return b }
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return rows, err
		}
		first, last, email, phone, title, lifecycle, tier := rec[0], rec[1], rec[2], rec[3], rec[4], rec[5], rec[7]
		tags := strings.Split(rec[6], ";")
		phones := []contacts.Phone{{Number: phone}}
		custom := map[string]any{"tier": tier}
		phonesJ, tagsJ, customJ := js(phones), js(tags), js(custom)
		id, now := storage.NewID(), storage.Now().Format("2006-01-02T15:04:05.000000Z")
		contactsV = append(contactsV, id, ws, 1, now, actor, now, actor, "", first, "", last, "", email, nil, string(phonesJ),
			nil, title, "", nil, nil, "", "", lifecycle, "", string(tagsJ), string(customJ), noActivity)
		changes := []change{{"first_name", js(first)}, {"last_name", js(last)}, {"email", js(email)}, {"phones", phonesJ},
			{"job_title", js(title)}, {"lifecycle", js(lifecycle)}, {"tags", tagsJ}, {"custom.tier", js(tier)}}
		eventsV = append(eventsV, storage.NewID(), ws, "contact.created", "contact", id, actor, now, string(js(changes)), 0)
		name := first + " " + last
		body := strings.Join(strings.FieldsFunc(strings.ToLower(strings.Join(append([]string{name, email, title, phone}, tags...), " ")),
			func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }), " ")
		searchV = append(searchV, ws, "contact", id, name, body)
		if n++; n == batch {
			if err := flush(); err != nil {
				return rows, err
			}
		}
	}
	return rows, flush()
}

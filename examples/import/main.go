// Command import loads contacts from a CSV file into a SQLite CRM, with a
// progress bar, and prints the import report:
//
//	go run ./examples/import contacts.csv [crm.db]
//	go run ./examples/import -generate 100000 [contacts.csv [crm.db]]
//
// Headers are mapped automatically (HubSpot's and Salesforce's contact
// exports, "First Name", "E-mail", "Phone", "Company", …); contacts are
// upserted by email, so running it twice updates instead of duplicating.
// -generate N first writes a file of N generated contacts (in 1 company per
// 50 people, with a bad email every 10,000 rows) to the file named, or to a
// temporary one, then imports it. With no file and no -generate it imports
// 2,500 generated rows. The database is a new temporary file unless one is
// named.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/crmkit/crm"
	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage/sqlite"
)

func main() {
	generate := flag.Int("generate", 0, "write `N` generated contacts to the CSV file first (a temporary one when none is named)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: import [-generate N] [contacts.csv [crm.db]]")
		flag.PrintDefaults()
	}
	flag.Parse()
	if err := run(context.Background(), *generate, flag.Args()); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, generate int, args []string) error {
	tmp, err := os.MkdirTemp("", "crm-import-example")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	file := filepath.Join(tmp, "contacts.csv")
	if len(args) > 0 {
		file = args[0]
	}
	if len(args) == 0 && generate == 0 {
		generate = 2500
	}
	if generate > 0 {
		start := time.Now()
		if err := writeContacts(file, generate); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "wrote %d generated contacts to %s in %.1fs\n", generate, file, time.Since(start).Seconds())
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	total, err := countRows(f)
	if err != nil {
		return err
	}
	db := filepath.Join(tmp, "crm.db")
	if len(args) > 1 {
		db = args[1]
	}
	store, err := sqlite.Open(ctx, db)
	if err != nil {
		return err
	}
	defer store.Close()
	app, err := crm.New(ctx, store, crm.Config{DefaultPhoneRegion: "US"})
	if err != nil {
		return err
	}
	start := time.Now()
	rep, err := app.Import(ctx, f, contacts.ImportOptions{Total: total, Progress: func(p contacts.ImportProgress) {
		bar(os.Stderr, p.Rows, p.Total)
	}})
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return err
	}
	secs := time.Since(start).Seconds()
	fmt.Fprintf(os.Stderr, "imported %d rows in %.1fs (%.0f rows/s)\n", rep.Rows, secs, float64(rep.Rows)/secs)
	if len(rep.Errors) > 10 {
		rep.Errors = rep.Errors[:10] // the first ten are enough to show
	}
	out, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	fmt.Println(string(out))
	return nil
}

// countRows counts the data rows of the file (its lines but the header),
// for the bar's total, and rewinds it.
func countRows(f *os.File) (int, error) {
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n := -1
	for sc.Scan() {
		n++
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	_, err := f.Seek(0, io.SeekStart)
	return max(n, 0), err
}

var (
	firstNames = []string{"Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Ken", "Dennis", "Margaret", "Frances",
		"John", "Radia", "Leslie", "Niklaus", "Tony", "Butler", "Shafi", "Silvio", "Whitfield", "Martin"}
	lastNames = []string{"Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Thompson", "Ritchie",
		"Hamilton", "Allen", "Backus", "Perlman", "Lamport", "Wirth", "Hoare", "Lampson", "Goldwasser", "Micali",
		"Diffie", "Hellman", "Kay", "Cerf", "Kahn", "Rivest", "Shamir", "Adleman", "Codd", "Gray", "Stonebraker", "Engelbart"}
	stages = []string{"Lead", "Customer", "Marketing Qualified", "Subscriber"}
	areas  = []string{"212", "415", "617", "312", "206", "303", "512", "720"}
)

// writeContacts writes n generated contacts with HubSpot's headers: 50
// people per company, phones written as people type them, and a bad email
// every 10,000 rows, which the report lists.
func writeContacts(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<16)
	w.WriteString("First Name,Last Name,Email,Phone Number,Company Name,Job Title,Lifecycle Stage,Tags\n")
	for i := range n {
		email := fmt.Sprintf("person%d@example.com", i)
		if i%10000 == 9999 {
			email = fmt.Sprintf("person%d-at-example.com", i)
		}
		fmt.Fprintf(w, "%s,%s,%s,(%s) 555-%04d,Company %d,Engineer,%s,\"import;batch%d\"\n",
			firstNames[i%len(firstNames)], lastNames[(i/len(firstNames))%len(lastNames)], email,
			areas[i%len(areas)], i%10000, i/50, stages[i%len(stages)], i%10)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

// bar draws a progress bar on one terminal line.
func bar(w io.Writer, done, total int) {
	const width = 40
	if total <= 0 {
		fmt.Fprintf(w, "\r%d rows", done)
		return
	}
	n := min(width, done*width/total)
	fmt.Fprintf(w, "\r[%s%s] %d/%d rows", strings.Repeat("#", n), strings.Repeat(" ", width-n), done, total)
}

// Command import loads contacts from a CSV file into a SQLite CRM, with a
// progress bar, and prints the import report:
//
//	go run ./examples/import contacts.csv [crm.db]
//
// Headers are mapped automatically (HubSpot's and Salesforce's contact
// exports, "First Name", "E-mail", "Phone", "Company", …); contacts are
// upserted by email, so running it twice updates instead of duplicating.
// With no file it imports a small generated one.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/crmkit/crm"
	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage/sqlite"
)

func main() {
	if err := run(context.Background(), os.Args[1:]); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, args []string) error {
	var in io.Reader
	total := 0
	if len(args) > 0 {
		f, err := os.Open(args[0])
		if err != nil {
			return err
		}
		defer f.Close()
		// Count the lines first, for the bar's total.
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			total++
		}
		total--
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		in = f
	} else {
		var b bytes.Buffer
		b.WriteString("First Name,Last Name,E-mail,Company,Lifecycle Stage\n")
		for i := range 2500 {
			fmt.Fprintf(&b, "Person,%d,person%d@example.com,Company %d,lead\n", i, i, i%40)
		}
		total, in = 2500, &b
	}
	db := filepath.Join(os.TempDir(), "crm-import-example.db")
	if len(args) > 1 {
		db = args[1]
	} else {
		os.Remove(db)
	}
	store, err := sqlite.Open(ctx, db)
	if err != nil {
		return err
	}
	defer store.Close()
	app, err := crm.New(ctx, store, crm.Config{})
	if err != nil {
		return err
	}
	rep, err := app.Import(ctx, in, contacts.ImportOptions{Total: total, Progress: func(p contacts.ImportProgress) {
		bar(os.Stderr, p.Rows, p.Total)
	}})
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return err
	}
	out, _ := json.MarshalIndent(rep, "", "  ")
	fmt.Println(string(out))
	return nil
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

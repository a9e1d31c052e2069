package bunstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver

	"github.com/crmkit/crm"
	"github.com/crmkit/crm/contacts"
	"github.com/crmkit/crm/storage/bunstore"
)

// sqliteDSN returns the DSN of the SQLite file path with the settings
// storage/sqlite gives its connections: a busy timeout, foreign keys, WAL,
// and BEGIN IMMEDIATE for transactions.
func sqliteDSN(path string) string {
	return path + "?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)" +
		"&_pragma=synchronous(NORMAL)&_pragma=journal_mode(WAL)&_txlock=immediate"
}

// An application that already runs bun keeps the CRM's tables (all
// prefixed "crm_") in its own database: New wraps its *bun.DB, Migrate
// creates the tables.
func ExampleNew() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "crm-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// The application's own database.
	sqldb, err := sql.Open("sqlite", sqliteDSN(filepath.Join(dir, "app.db")))
	if err != nil {
		log.Fatal(err)
	}
	db := bun.NewDB(sqldb, sqlitedialect.New())
	defer db.Close()

	store, err := bunstore.New(db, bunstore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	if err := store.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	// Migrate is safe to call again.
	if err := store.Migrate(ctx); err != nil {
		log.Fatal(err)
	}

	app, err := crm.New(ctx, store, crm.Config{})
	if err != nil {
		log.Fatal(err)
	}
	c, err := app.Contacts.Create(ctx, contacts.NewContact{FirstName: "Ada", Email: "Ada@Example.com"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(store.Dialect(), c.Name(), c.Email)

	// The CRM's rows are plain rows of the application's database.
	var n int
	if err := db.NewSelect().Table("crm_contacts").ColumnExpr("count(*)").Scan(ctx, &n); err != nil {
		log.Fatal(err)
	}
	fmt.Println("rows in crm_contacts:", n)
	// Output:
	// sqlite Ada ada@example.com
	// rows in crm_contacts: 1
}

// WithTx runs CRM calls in the host application's own transaction, so that
// its writes and the CRM writes they cause commit or roll back together.
func ExampleStore_WithTx() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "crm-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sqldb, err := sql.Open("sqlite", sqliteDSN(filepath.Join(dir, "app.db")))
	if err != nil {
		log.Fatal(err)
	}
	db := bun.NewDB(sqldb, sqlitedialect.New())
	defer db.Close()
	store, err := bunstore.New(db, bunstore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	if err := store.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	app, err := crm.New(ctx, store, crm.Config{})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT NOT NULL)"); err != nil {
		log.Fatal(err)
	}

	// The host's transaction, on the database the store writes to.
	tx, err := store.DB().BeginTx(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	txCtx := store.WithTx(ctx, tx.Tx)
	if _, err := tx.ExecContext(ctx, "INSERT INTO orders (customer) VALUES (?)", "ada@example.com"); err != nil {
		log.Fatal(err)
	}
	c, err := app.Contacts.Create(txCtx, contacts.NewContact{FirstName: "Ada", Email: "ada@example.com"})
	if err != nil {
		log.Fatal(err)
	}
	n, err := app.Contacts.Count(txCtx, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("contacts inside the transaction:", n)

	// The host rolls back: its order and the CRM's contact are both gone.
	if err := tx.Rollback(); err != nil {
		log.Fatal(err)
	}
	_, err = app.Contacts.Get(ctx, c.ID)
	fmt.Println("contact after rollback not found:", errors.Is(err, crm.ErrNotFound))
	var orders int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM orders").Scan(&orders); err != nil {
		log.Fatal(err)
	}
	feed, err := app.Changes(ctx, "", 10)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("orders:", orders, "events:", len(feed.Events))
	// Output:
	// contacts inside the transaction: 1
	// contact after rollback not found: true
	// orders: 0 events: 0
}

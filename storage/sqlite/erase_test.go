package sqlite_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/crmkit/crm/storage"
	"github.com/crmkit/crm/storage/sqlite"
	"github.com/crmkit/crm/storage/storagetest"
)

// TestEraseLeavesNoBytes erases a person and then reads the SQLite file
// itself, after a checkpoint and a VACUUM: none of the person's data may
// be left in any page, free or not.
func TestEraseLeavesNoBytes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crm.db")
	ctx := storage.WithWorkspace(context.Background(), "ws-erase")
	store, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	storagetest.SeedErasure(t, store, ctx)
	for _, q := range []string{"PRAGMA wal_checkpoint(TRUNCATE)", "VACUUM", "PRAGMA wal_checkpoint(TRUNCATE)"} {
		if _, err := store.DB().DB.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	var data []byte
	for _, f := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(f)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		data = append(data, bytes.ToLower(b)...)
	}
	if !bytes.Contains(data, []byte("keeper@stay.example")) {
		t.Fatal("the file does not hold the other contact either: the check proves nothing")
	}
	for _, n := range storagetest.ErasedNeedles {
		if bytes.Contains(data, []byte(n)) {
			t.Errorf("the database file still holds %q", n)
		}
	}
}

package dataset_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/transfer-go/transfer/dataset"
)

func openCache(t *testing.T, path string) *dataset.Cache {
	t.Helper()
	c, err := dataset.OpenCache(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestCachePutGet(t *testing.T) {
	ctx := context.Background()
	c := openCache(t, filepath.Join(t.TempDir(), "sub", "cache.db"))
	k := dataset.Key{Fingerprint: "fp", Pixels: "stretch/bilinear/8x8"}
	if err := c.Put(ctx, k, []dataset.Row{{SHA256: "aa", Path: "/x/a.jpg", Size: 3, MtimeNS: 9, Label: "cat", Vector: []float32{1, 2.5, -3}}}); err != nil {
		t.Fatal(err)
	}
	e, ok, err := c.Get(ctx, k, "aa")
	if err != nil || !ok || len(e.Vector) != 3 || e.Vector[1] != 2.5 || e.Logits != nil {
		t.Fatalf("Get = %v, %v, %v", e, ok, err)
	}
	if _, ok, _ := c.Get(ctx, dataset.Key{Fingerprint: "fp", Pixels: "crop/bilinear/8x8"}, "aa"); ok {
		t.Error("another resize specification hit")
	}
	// A second Put of the same image keeps the first vector and adds logits.
	c.Put(ctx, k, []dataset.Row{{SHA256: "aa", Vector: []float32{9, 9, 9}, Logits: []float32{0.5}}})
	e, _, _ = c.Get(ctx, k, "aa")
	if e.Vector[0] != 1 || len(e.Logits) != 1 {
		t.Errorf("after a second Put: %v", e)
	}
}

func TestOpenCacheRefusesOtherFiles(t *testing.T) {
	dir := t.TempDir()
	notDB := filepath.Join(dir, "notes.db")
	os.WriteFile(notDB, []byte("these are my notes, not a database, and must survive"), 0o644)

	otherDB := filepath.Join(dir, "other.db")
	db, _ := sql.Open("sqlite", otherDB)
	db.Exec(`CREATE TABLE accounts (id INTEGER)`)
	db.Close()

	future := filepath.Join(dir, "future.db")
	c := openCache(t, future)
	c.Close()
	db, _ = sql.Open("sqlite", future)
	db.Exec(`UPDATE meta SET value = '99' WHERE key = 'schema_version'`)
	db.Close()

	cases := []struct {
		path   string
		target error
		want   string
	}{
		{notDB, dataset.ErrNotCache, "not an SQLite database"},
		{otherDB, dataset.ErrNotCache, "an SQLite database of something else"},
		{future, dataset.ErrCacheTooNew, fmt.Sprintf("schema 99; this transfer reads up to %d", dataset.CacheSchemaVersion)},
		{dir, nil, "is a directory"},
	}
	for _, tc := range cases {
		before, _ := os.ReadFile(tc.path)
		_, err := dataset.OpenCache(tc.path)
		if err == nil || (tc.target != nil && !errors.Is(err, tc.target)) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %v mentioning %q", filepath.Base(tc.path), err, tc.target, tc.want)
		}
		if after, _ := os.ReadFile(tc.path); string(after) != string(before) {
			t.Errorf("%s was modified", filepath.Base(tc.path))
		}
	}
	// An empty file is an empty database: it becomes a cache.
	empty := filepath.Join(dir, "empty.db")
	os.WriteFile(empty, nil, 0o644)
	openCache(t, empty)
}

func TestCacheReadOnlyFolder(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root ignores file permissions")
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o555)
	defer os.Chmod(dir, 0o755)
	_, err := dataset.OpenCache(filepath.Join(dir, "cache.db"))
	if err == nil || !strings.Contains(err.Error(), "writable") {
		t.Errorf("error %v", err)
	}
}

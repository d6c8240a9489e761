package dataset_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/transfer-go/transfer/dataset"
)

// TestRewrittenFileIsRehashed: a file replaced by other content of the
// same size, with its modification time set back, is not served the old
// embedding; --rehash forces hashing of every file.
func TestRewrittenFileIsRehashed(t *testing.T) {
	dir := t.TempDir()
	// BMPs of one size have one file size whatever their pixels.
	for i := 0; i < 4; i++ {
		img := quadrants(8, 8)
		img.Pix[0] = uint8(40 * i)
		os.WriteFile(filepath.Join(dir, string(rune('a'+i))+".bmp"), encode(t, "bmp", img), 0o644)
	}
	set, err := dataset.FromPaths(dir)
	if err != nil {
		t.Fatal(err)
	}
	c := openCache(t, filepath.Join(t.TempDir(), "cache.db"))
	f := newFake("fp")
	before := extract(t, set, f, c, nil)
	victim := filepath.Join(dir, "a.bmp")
	st, _ := os.Stat(victim)
	img := quadrants(8, 8)
	for i := range img.Pix {
		if i%4 != 3 {
			img.Pix[i] = 255 - img.Pix[i]
		}
	}
	if err := os.WriteFile(victim, encode(t, "bmp", img), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(victim, st.ModTime(), st.ModTime()); err != nil {
		t.Fatal(err)
	}
	if st2, _ := os.Stat(victim); st2.Size() != st.Size() || !st2.ModTime().Equal(st.ModTime()) {
		t.Fatalf("the rewrite changed size or mtime: %v %v", st2.Size(), st2.ModTime())
	}
	x := extract(t, set, f, c, nil)
	if x.Embedded != 1 || x.Cached != 3 || equalVec(x.Vectors[0], before.Vectors[0]) {
		t.Fatalf("after the rewrite: %s; the old embedding was served: %v", x.Summary(), equalVec(x.Vectors[0], before.Vectors[0]))
	}
	// Rehash reads every file; all are hits, none is embedded again.
	images := f.images.Load()
	x = extract(t, set, f, c, func(o *dataset.ExtractOptions) { o.Rehash = true })
	if x.Cached != 4 || f.images.Load() != images {
		t.Fatalf("rehash: %s", x.Summary())
	}
}

func equalVec(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// schemaV1 is the cache's schema version 1, as transfer 0.1 wrote it.
const schemaV1 = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE backbones (fingerprint TEXT PRIMARY KEY, model TEXT NOT NULL, model_sha256 TEXT NOT NULL, embedding_tensor TEXT NOT NULL,
	preprocess TEXT NOT NULL, layout TEXT NOT NULL, input_size TEXT NOT NULL, dim INTEGER NOT NULL, first_seen TEXT NOT NULL);
CREATE TABLE embeddings (fingerprint TEXT NOT NULL, image_sha256 TEXT NOT NULL, resize TEXT NOT NULL, dim INTEGER NOT NULL,
	vector BLOB NOT NULL, logits BLOB, computed_at TEXT NOT NULL, UNIQUE (fingerprint, image_sha256, resize));
CREATE TABLE paths (path TEXT PRIMARY KEY, image_sha256 TEXT NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
	label TEXT NOT NULL DEFAULT '', seen_at TEXT NOT NULL) WITHOUT ROWID;
CREATE INDEX paths_by_image ON paths (image_sha256);
INSERT INTO meta VALUES ('app', 'transfer-embedding-cache'), ('schema_version', '1'), ('created', '2026-01-01T00:00:00.000000000Z');
INSERT INTO backbones VALUES ('fp', 'm.onnx', 'aa', 'emb', 'raw', 'NHWC', '8x8', 2, '2026-01-01T00:00:00.000000000Z');
INSERT INTO embeddings VALUES ('fp', 'sha1', 'stretch/bilinear/8x8', 2, x'0000803f00000040', NULL, '2026-01-01T00:00:00.000000000Z');
INSERT INTO paths VALUES ('/data/a.jpg', 'sha1', 10, 20, 'cat', '2026-01-01T00:00:00.000000000Z');
`

func writeV1(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(schemaV1); err != nil {
		t.Fatal(err)
	}
}

func embeddingBlobs(t *testing.T, path string) string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var s string
	if err := db.QueryRow(`SELECT group_concat(fingerprint || image_sha256 || resize || hex(vector), ',') FROM embeddings`).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSchemaUpgrade: a cache of schema 1 is upgraded in place, by one of
// several openers at once, and keeps its embeddings byte for byte; read
// only, it is read as it is.
func TestSchemaUpgrade(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v1.db")
	writeV1(t, path)
	want := embeddingBlobs(t, path)

	ro, err := dataset.OpenCacheReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	if e, ok, err := ro.Get(ctx, dataset.Key{Fingerprint: "fp", Pixels: "stretch/bilinear/8x8"}, "sha1"); err != nil || !ok || e.Vector[1] != 2 {
		t.Fatalf("read-only Get on schema 1: %v %v %v", e, ok, err)
	}
	ro.Close()

	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := dataset.OpenCache(path)
			if err == nil {
				c.Close()
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent upgrade: %v", err)
		}
	}
	if got := embeddingBlobs(t, path); got != want {
		t.Fatalf("embeddings changed in the upgrade:\n%s\n%s", want, got)
	}
	db, _ := sql.Open("sqlite", "file:"+path+"?mode=ro")
	defer db.Close()
	var version string
	var inode int64
	db.QueryRow(`SELECT value FROM meta WHERE key = 'schema_version'`).Scan(&version)
	if err := db.QueryRow(`SELECT inode FROM paths WHERE path = '/data/a.jpg'`).Scan(&inode); err != nil || version != "3" || inode != 0 {
		t.Fatalf("after the upgrade: schema %q, inode %d, %v", version, inode, err)
	}
	var runs, splits int
	if err := db.QueryRow(`SELECT (SELECT count(*) FROM runs), (SELECT count(*) FROM splits)`).Scan(&runs, &splits); err != nil || runs != 0 || splits != 0 {
		t.Fatalf("after the upgrade: runs %d, splits %d, %v", runs, splits, err)
	}
	c := openCache(t, path)
	probs, n, err := c.Check(ctx, 0)
	if err != nil || len(probs) != 0 || n != 1 {
		t.Fatalf("check after the upgrade: %v %d %v", probs, n, err)
	}
}

// TestReadOnlyCache: OpenCacheReadOnly never creates, writes or leaves
// files behind, and refuses what is not a cache.
func TestReadOnlyCache(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if _, err := dataset.OpenCacheReadOnly(filepath.Join(dir, "typo.db")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "typo.db")); err == nil {
		t.Error("a read-only open created the file")
	}

	_, set := catsLike(t, 2)
	path := filepath.Join(dir, "cache.db")
	c := openCache(t, path)
	extract(t, set, newFake("fp"), c, nil)
	c.Close()
	before, _ := os.ReadFile(path)

	ro, err := dataset.OpenCacheReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if s, err := ro.Stats(ctx); err != nil || s.Images != 4 {
		t.Fatalf("stats: %+v %v", s, err)
	}
	if err := ro.Put(ctx, dataset.Key{Fingerprint: "fp", Pixels: "x"}, []dataset.Row{{SHA256: "z", Vector: []float32{1}}}); !errors.Is(err, dataset.ErrCacheReadOnly) {
		t.Errorf("Put: %v", err)
	}
	// Extraction with ContinueWithoutSaving embeds what the cache lacks
	// and saves nothing.
	_, other := catsLike(t, 3)
	x := extract(t, other, newFake("fp"), ro, func(o *dataset.ExtractOptions) { o.ContinueWithoutSaving = true })
	if x.Embedded == 0 || x.Embedded+x.Cached != 6 || x.Unsaved != x.Embedded || !errors.Is(x.SaveErr, dataset.ErrCacheReadOnly) || x.Vectors[5] == nil {
		t.Fatalf("%s; save error %v", x.Summary(), x.SaveErr)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("the read-only cache changed")
	}
}

// TestRefusedFilesKeepNoCompanions: refusing another program's file leaves
// no -wal or -shm file beside it.
func TestRefusedFilesKeepNoCompanions(t *testing.T) {
	dir := t.TempDir()
	notes := filepath.Join(dir, "notes.db")
	os.WriteFile(notes, []byte("my notes, not a cache"), 0o644)
	foreign := filepath.Join(dir, "foreign.db")
	db, err := sql.Open("sqlite", "file:"+foreign+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE songs (title TEXT); INSERT INTO songs VALUES ('one')`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	for _, p := range []string{notes, foreign} {
		before, _ := os.ReadFile(p)
		for _, open := range []func(string) (*dataset.Cache, error){dataset.OpenCache, dataset.OpenCacheReadOnly} {
			if _, err := open(p); !errors.Is(err, dataset.ErrNotCache) {
				t.Errorf("%s: %v", p, err)
			}
		}
		for _, suffix := range []string{"-wal", "-shm", "-journal"} {
			if _, err := os.Stat(p + suffix); err == nil {
				t.Errorf("refusing %s left %s", filepath.Base(p), filepath.Base(p)+suffix)
			}
		}
		if after, _ := os.ReadFile(p); !bytes.Equal(before, after) {
			t.Errorf("%s changed", p)
		}
	}
}

// TestMergeVerifiesInputs: a damaged input is refused before anything is
// copied.
func TestMergeVerifiesInputs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	_, set := catsLike(t, 2)
	good := filepath.Join(dir, "good.db")
	bad := filepath.Join(dir, "bad.db")
	for _, p := range []string{good, bad} {
		c := openCache(t, p)
		extract(t, set, newFake("fp-"+filepath.Base(p)), c, nil)
		c.Close()
	}
	db, _ := sql.Open("sqlite", bad)
	if _, err := db.Exec(`UPDATE embeddings SET vector = x'0000c07f0000803f0000803f0000803f' WHERE rowid = 1`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	out := openCache(t, filepath.Join(dir, "out.db"))
	st, err := out.Merge(ctx, good, bad)
	n := st.Embeddings
	if n != 0 || !errors.Is(err, dataset.ErrCacheDamaged) || !strings.Contains(err.Error(), "bad.db") || !strings.Contains(err.Error(), "NaN") {
		t.Fatalf("merge: %d, %v", n, err)
	}
	if s, _ := out.Stats(ctx); s.Images != 0 {
		t.Errorf("a refused merge copied %d images", s.Images)
	}
	if st, err := out.Merge(ctx, good); st.Embeddings != 4 || err != nil {
		t.Fatalf("merge of the good cache: %d, %v", st.Embeddings, err)
	}
	// A cache of schema 1 merges too: its path records have no identity.
	v1 := filepath.Join(dir, "v1.db")
	writeV1(t, v1)
	if st, err := out.Merge(ctx, v1); st.Embeddings != 1 || err != nil {
		t.Fatalf("merge of a schema 1 cache: %d, %v", st.Embeddings, err)
	}
}

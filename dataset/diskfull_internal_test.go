package dataset

import (
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/transfer-go/transfer/backbone"
)

// growingEmbedder returns large vectors so that a small page budget fills.
type growingEmbedder struct{ info backbone.Info }

func (g growingEmbedder) Info() backbone.Info { return g.info }
func (g growingEmbedder) Run(ctx context.Context, batch []float32) (*backbone.Result, error) {
	n := len(batch) / g.info.InputLen()
	r := &backbone.Result{}
	for i := 0; i < n; i++ {
		v := make([]float32, g.info.Dim)
		v[0] = batch[i*g.info.InputLen()]
		r.Embeddings = append(r.Embeddings, v)
	}
	return r, nil
}

// TestDiskFull fills the cache's page budget (SQLite's max_page_count, which
// fails writes as a full disk does): extraction must stop with an error
// that says so, and every batch committed before stays intact.
func TestDiskFull(t *testing.T) {
	set, c := nearlyFullCache(t, 60)
	emb := growingEmbedder{info: backbone.Info{Layout: backbone.NHWC, Height: 4, Width: 4, Preprocess: backbone.Raw, Dim: 4000, Fingerprint: "fp"}}
	x, err := Extract(context.Background(), set, emb, c, ExtractOptions{Batch: 4, Workers: 1, Resizer: Resizer{Width: 4, Height: 4}})
	if err == nil || !strings.Contains(err.Error(), "the disk is full") {
		t.Fatalf("error %v, want one saying the disk is full", err)
	}
	t.Logf("stopped after %d embedded: %v", x.Embedded, err)
	var rows int
	c.db.QueryRow(`SELECT count(*) FROM embeddings`).Scan(&rows)
	if rows == 0 || rows%4 != 0 || rows >= 60 {
		t.Errorf("%d rows committed; want whole batches of 4 and fewer than all", rows)
	}
	// The summary counts what was committed, not what was computed.
	if want := fmt.Sprintf("only %d of the %d embedded saved to the cache", rows, x.Embedded); x.Embedded-x.Unsaved != rows || !strings.Contains(x.Summary(), want) {
		t.Errorf("summary %q with %d rows committed", x.Summary(), rows)
	}
	probs, n, err := c.Check(context.Background(), 0)
	if err != nil || len(probs) != 0 || n != rows {
		t.Errorf("check: %v problems over %d rows, %v", probs, n, err)
	}
}

// TestDiskFullContinues: with ContinueWithoutSaving a full disk stops the
// saving, not the run: every image is embedded and returned, and the
// result says how many embeddings were not saved and why.
func TestDiskFullContinues(t *testing.T) {
	set, c := nearlyFullCache(t, 40)
	emb := growingEmbedder{info: backbone.Info{Layout: backbone.NHWC, Height: 4, Width: 4, Preprocess: backbone.Raw, Dim: 4000, Fingerprint: "fp"}}
	x, err := Extract(context.Background(), set, emb, c, ExtractOptions{Batch: 4, Workers: 1, Resizer: Resizer{Width: 4, Height: 4}, Collect: true, ContinueWithoutSaving: true})
	if err != nil {
		t.Fatal(err)
	}
	var rows int
	c.db.QueryRow(`SELECT count(*) FROM embeddings`).Scan(&rows)
	if x.Embedded != 40 || x.Unsaved != 40-rows || rows == 0 || x.SaveErr == nil || !strings.Contains(x.SaveErr.Error(), "the disk is full") {
		t.Fatalf("%s; %d rows saved; save error %v", x.Summary(), rows, x.SaveErr)
	}
	for i, v := range x.Vectors {
		if len(v) != 4000 {
			t.Fatalf("item %d: vector %d values", i, len(v))
		}
	}
}

// nearlyFullCache writes n small PNGs and opens a cache whose page budget
// (SQLite's max_page_count, which fails writes as a full disk does) takes
// only a few of their 16 KB vectors.
func nearlyFullCache(t *testing.T, n int) (*Set, *Cache) {
	dir := t.TempDir()
	var items []Item
	for i := 0; i < n; i++ {
		p := filepath.Join(dir, "img"+itoa(i)+".png")
		img := image.NewNRGBA(image.Rect(0, 0, 4, 4))
		img.Pix[0] = uint8(i)
		writePNG(t, p, img)
		items = append(items, Item{Path: p, Rel: filepath.Base(p), Label: Unlabelled})
	}
	c, err := OpenCache(filepath.Join(dir, "cache.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.db.SetMaxOpenConns(1) // the page budget is per connection
	var pages int
	c.db.QueryRow(`PRAGMA page_count`).Scan(&pages)
	if _, err := c.db.Exec(`PRAGMA max_page_count = ` + itoa(pages+12)); err != nil {
		t.Fatal(err)
	}
	return &Set{Root: dir, Items: items}, c
}

func itoa(n int) string { return strconv.Itoa(n) }
func writePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

// TestSQLiteErrorsSayWhatToDo: SQLite's bare words for a full disk, a
// read-only folder and a failed write of the -wal or -shm files gain the
// cause and the fix.
func TestSQLiteErrorsSayWhatToDo(t *testing.T) {
	for msg, want := range map[string]string{
		"disk I/O error (4874)":                "-wal and -shm files",
		"database or disk is full (13)":        "the disk is full",
		"attempt to write a readonly database": "writable",
	} {
		if got := describeSQLiteError(fmt.Errorf("%s", msg)).Error(); !strings.Contains(got, msg) || !strings.Contains(got, want) {
			t.Errorf("%q: %q", msg, got)
		}
	}
}

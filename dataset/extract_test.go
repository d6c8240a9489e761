package dataset_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/transfer-go/transfer/dataset"
	"github.com/transfer-go/transfer/internal/fixture/synthetic"
)

// catsLike writes the tutorial's layout: f01..fNN and m01..mNN JPEGs.
func catsLike(t *testing.T, perClass int) (string, *dataset.Set) {
	t.Helper()
	dir := t.TempDir()
	if _, err := synthetic.Write(dir, synthetic.Options{Classes: []string{"female", "male"}, PerClass: perClass, Width: 40, Height: 30, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	set, err := dataset.FromRegex(dir, "^(f|m)", "f=female,m=male")
	if err != nil {
		t.Fatal(err)
	}
	return dir, set
}

func extract(t *testing.T, set *dataset.Set, emb dataset.Embedder, c *dataset.Cache, mod func(*dataset.ExtractOptions)) *dataset.Extraction {
	t.Helper()
	o := dataset.ExtractOptions{Batch: 4, Workers: 3, Resizer: dataset.Resizer{Width: 8, Height: 8}, Collect: true}
	if mod != nil {
		mod(&o)
	}
	x, err := dataset.Extract(context.Background(), set, emb, c, o)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func TestExtractCachesAndReuses(t *testing.T) {
	dir, set := catsLike(t, 5)
	c := openCache(t, filepath.Join(t.TempDir(), "cache.db"))
	f := newFake("fp-1")
	x := extract(t, set, f, c, nil)
	if x.Embedded != 10 || x.Cached != 0 || x.Failed != 0 || f.images.Load() != 10 || f.calls.Load() != 3 {
		t.Fatalf("first run: %s, %d images in %d calls; want 10 embedded in 3 batches", x.Summary(), f.images.Load(), f.calls.Load())
	}
	first := x.Vectors

	// A rerun does no inference at all and returns the same vectors.
	x = extract(t, set, f, c, nil)
	if x.Embedded != 0 || x.Cached != 10 || f.images.Load() != 10 {
		t.Fatalf("rerun: %s, backbone ran %d images in total", x.Summary(), f.images.Load())
	}
	for i := range first {
		if first[i][0] != x.Vectors[i][0] || first[i][2] != x.Vectors[i][2] {
			t.Fatalf("item %d: cached vector differs", i)
		}
	}

	// Renamed and moved files are still hits: the key is their content.
	moved := filepath.Join(t.TempDir(), "elsewhere")
	os.MkdirAll(moved, 0o755)
	os.Rename(filepath.Join(dir, "f01.jpg"), filepath.Join(moved, "renamed.jpg"))
	again, err := dataset.FromPaths(moved)
	if err != nil {
		t.Fatal(err)
	}
	x = extract(t, again, f, c, nil)
	if x.Cached != 1 || f.images.Load() != 10 {
		t.Errorf("moved file: %s", x.Summary())
	}

	// Another resize mode or another backbone gets its own entries.
	x = extract(t, set.Subset([]int{1, 2}), f, c, func(o *dataset.ExtractOptions) { o.Resizer.Mode = dataset.ResizeCrop })
	if x.Embedded != 2 {
		t.Errorf("crop mode: %s, want 2 embedded", x.Summary())
	}
	other := newFake("fp-2")
	x = extract(t, set.Subset([]int{1, 2}), other, c, nil)
	if x.Embedded != 2 || other.images.Load() != 2 {
		t.Errorf("other backbone: %s", x.Summary())
	}
	stats, err := c.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	entries := map[string]int{}
	for _, b := range stats.Backbones {
		entries[b.Fingerprint+" "+b.Resize] = b.Entries
	}
	if len(entries) != 3 || entries["fp-1 stretch/bilinear/8x8"] != 10 || entries["fp-1 crop/bilinear/8x8"] != 2 || entries["fp-2 stretch/bilinear/8x8"] != 2 || stats.Images != 10 {
		t.Errorf("stats %+v", stats)
	}
}

func TestExtractKeepsLogits(t *testing.T) {
	_, set := catsLike(t, 3)
	c := openCache(t, filepath.Join(t.TempDir(), "cache.db"))
	f := newFake("fp")
	extract(t, set, f, c, nil)
	// Rows cached without logits are recomputed once when logits are asked
	// for, then served from the cache.
	x := extract(t, set, f, c, func(o *dataset.ExtractOptions) { o.KeepLogits = true })
	if x.Embedded != 6 || len(x.Logits[0]) != 2 {
		t.Fatalf("%s, logits %v", x.Summary(), x.Logits[0])
	}
	x = extract(t, set, f, c, func(o *dataset.ExtractOptions) { o.KeepLogits = true })
	if x.Cached != 6 || len(x.Logits[5]) != 2 || f.images.Load() != 12 {
		t.Errorf("%s, logits %v, %d images run", x.Summary(), x.Logits[5], f.images.Load())
	}
}

func TestExtractSkipsBadImages(t *testing.T) {
	dir, _ := catsLike(t, 4)
	good, _ := os.ReadFile(filepath.Join(dir, "f01.jpg"))
	bad := map[string][]byte{
		"f90.jpg": nil,
		"f91.jpg": good[:len(good)/3],
		"m90.jpg": []byte("\x89PNG\r\n\x1a\n but then no chunks at all"),
		"m91.png": bombPNG(50000, 50000),
	}
	for name, b := range bad {
		os.WriteFile(filepath.Join(dir, name), b, 0o644)
	}
	os.Mkdir(filepath.Join(dir, "m92.jpg"), 0o755)
	set, err := dataset.FromRegex(dir, "^(f|m)", "f=female,m=male")
	if err != nil {
		t.Fatal(err)
	}
	c := openCache(t, filepath.Join(t.TempDir(), "cache.db"))
	x := extract(t, set, newFake("fp"), c, nil)
	if x.Embedded != 8 || x.Failed != 4 {
		t.Fatalf("%s; failures %v", x.Summary(), x.Failures)
	}
	reasons := map[string]error{
		"f90.jpg": dataset.ErrEmptyImage, "f91.jpg": dataset.ErrCorruptImage,
		"m90.jpg": dataset.ErrCorruptImage, "m91.png": dataset.ErrImageTooLarge,
	}
	for _, f := range x.Failures {
		want := reasons[filepath.Base(f.Path)]
		if !errors.Is(f.Err, want) || !strings.Contains(f.Err.Error(), filepath.Base(f.Path)) || x.Vectors[f.Index] != nil {
			t.Errorf("%s: %v, want %v", f.Path, f.Err, want)
		}
	}
}

func TestExtractStopsAfterBatch(t *testing.T) {
	_, set := catsLike(t, 10)
	c := openCache(t, filepath.Join(t.TempDir(), "cache.db"))
	ctx, cancel := context.WithCancel(context.Background())
	f := newFake("fp")
	var once sync.Once
	o := dataset.ExtractOptions{Batch: 4, Workers: 2, Resizer: dataset.Resizer{Width: 8, Height: 8},
		Progress: func(p dataset.Progress) {
			if p.Embedded >= 4 {
				once.Do(cancel)
			}
		}}
	x, err := dataset.Extract(ctx, set, f, c, o)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v", err)
	}
	if x.Embedded != 4 {
		t.Errorf("embedded %d after cancelling at the first batch", x.Embedded)
	}
	// The committed batch is in the cache; a rerun completes the rest.
	x = extract(t, set, f, c, nil)
	if x.Cached != 4 || x.Embedded != 16 {
		t.Errorf("resumed run: %s", x.Summary())
	}
}

func TestExtractInferenceError(t *testing.T) {
	_, set := catsLike(t, 2)
	c := openCache(t, filepath.Join(t.TempDir(), "cache.db"))
	f := newFake("fp")
	f.fail = errors.New("GPU on fire")
	_, err := dataset.Extract(context.Background(), set, f, c, dataset.ExtractOptions{Batch: 2, Resizer: dataset.Resizer{Width: 8, Height: 8}})
	if err == nil || !strings.Contains(err.Error(), "GPU on fire") {
		t.Errorf("error %v", err)
	}
}

func TestMergeShards(t *testing.T) {
	_, set := catsLike(t, 6)
	dir := t.TempDir()
	var parts []string
	for i := 0; i < 3; i++ {
		p := filepath.Join(dir, "shard", string(rune('0'+i))+".db")
		c := openCache(t, p)
		extract(t, set.Shard(dataset.Shard{Index: i, Count: 3}), newFake("fp"), c, nil)
		c.Close()
		parts = append(parts, p)
	}
	merged := openCache(t, filepath.Join(dir, "merged.db"))
	st, err := merged.Merge(context.Background(), parts...)
	if n := st.Embeddings; err != nil || n != 12 {
		t.Fatalf("merged %d rows, error %v", st.Embeddings, err)
	}
	// Merging again adds nothing; the merged cache serves the whole set.
	if st, err := merged.Merge(context.Background(), parts...); err != nil || st.Embeddings != 0 {
		t.Errorf("second merge added %d, error %v", st.Embeddings, err)
	}
	f := newFake("fp")
	x := extract(t, set, f, merged, nil)
	if x.Cached != 12 || f.images.Load() != 0 {
		t.Errorf("after merge: %s", x.Summary())
	}
	probs, rows, err := merged.Check(context.Background(), 0)
	if err != nil || len(probs) != 0 || rows != 12 {
		t.Errorf("check: %v problems, %d rows, error %v", probs, rows, err)
	}
	notCache := filepath.Join(dir, "notes.txt")
	os.WriteFile(notCache, []byte("hello"), 0o644)
	if _, err := merged.Merge(context.Background(), notCache); !errors.Is(err, dataset.ErrNotCache) {
		t.Errorf("merging a non-cache: %v", err)
	}
}

// TestExtractSharesOneContent: items of one content (a manifest naming a
// file many times, hard links) share one vector, embedded or from the
// cache, so that memory follows the distinct images, not the rows.
func TestExtractSharesOneContent(t *testing.T) {
	dir, set := catsLike(t, 2)
	if err := os.Link(set.Items[1].Path, filepath.Join(dir, "f01-link.jpg")); err != nil {
		t.Skipf("no hard links here: %v", err)
	}
	linked, err := dataset.FromPaths(set.Items[1].Path, filepath.Join(dir, "f01-link.jpg"), set.Items[0].Path)
	if err != nil {
		t.Fatal(err)
	}
	rows := linked.Subset([]int{0, 1, 2, 0, 1, 2, 0})
	c := openCache(t, filepath.Join(t.TempDir(), "cache.db"))
	for _, run := range []string{"embedded", "cached"} {
		x := extract(t, rows, newFake("fp-1"), c, nil)
		if x.Failed != 0 {
			t.Fatalf("%s: %s", run, x.Summary())
		}
		same := func(i, j int) bool { return &x.Vectors[i][0] == &x.Vectors[j][0] }
		for _, r := range []int{1, 3, 4, 6} {
			if !same(0, r) {
				t.Errorf("%s: row %d, of row 0's content, has its own vector", run, r)
			}
		}
		if same(0, 2) || !same(2, 5) || x.Vectors[2][0] == x.Vectors[0][0] && x.Vectors[2][1] == x.Vectors[0][1] {
			t.Errorf("%s: rows of two contents share a vector", run)
		}
	}
}

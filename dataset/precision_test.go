package dataset_test

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"testing"

	"github.com/transfer-go/transfer/dataset"
)

// TestFloat16Cache: a float16 cache stores 2 bytes a value, reads back
// every value within half precision's rounding, reports overflows, keeps
// its precision across openings, and refuses a different one.
func TestFloat16Cache(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "half.db")
	c, err := dataset.OpenCacheWith(path, dataset.CacheOptions{Precision: dataset.Float16})
	if err != nil {
		t.Fatal(err)
	}
	k := dataset.Key{Fingerprint: "fp", Pixels: "stretch/bilinear/8x8"}
	c.AddBackbone(dataset.Backbone{Fingerprint: "fp", Model: "m", Dim: 5})
	vec := []float32{0.1234567, -3.14159, 1e-3, 7e4, 1}
	if err := c.Put(ctx, k, []dataset.Row{{SHA256: "a", Vector: vec}}); err != nil {
		t.Fatal(err)
	}
	if c.Overflows() != 1 || c.Precision() != dataset.Float16 {
		t.Errorf("overflows %d, precision %s", c.Overflows(), c.Precision())
	}
	e, ok, err := c.Get(ctx, k, "a")
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	for i, v := range vec[:3] {
		if rel := math.Abs(float64(e.Vector[i]-v)) / math.Abs(float64(v)); rel > 1.0/2048 {
			t.Errorf("value %d: %v read back as %v (relative error %g)", i, v, e.Vector[i], rel)
		}
	}
	if e.Vector[3] != dataset.MaxFloat16 || e.Vector[4] != 1 {
		t.Errorf("read back %v", e.Vector)
	}
	if probs, n, err := c.Check(ctx, 0); err != nil || len(probs) != 0 || n != 1 {
		t.Errorf("check: %v %d %v", probs, n, err)
	}
	c.Close()

	// Reopened without options it stays float16; float32 is refused.
	c, err = dataset.OpenCache(path)
	if err != nil || c.Precision() != dataset.Float16 {
		t.Fatalf("reopened: %v %v", c.Precision(), err)
	}
	c.Close()
	if _, err := dataset.OpenCacheWith(path, dataset.CacheOptions{Precision: dataset.Float32}); !errors.Is(err, dataset.ErrPrecision) {
		t.Errorf("float32 asked of a float16 cache: %v", err)
	}
	// A float32 cache with embeddings refuses float16.
	full := filepath.Join(dir, "full.db")
	c, _ = dataset.OpenCache(full)
	c.Put(ctx, k, []dataset.Row{{SHA256: "a", Vector: vec}})
	c.Close()
	if _, err := dataset.OpenCacheWith(full, dataset.CacheOptions{Precision: dataset.Float16}); !errors.Is(err, dataset.ErrPrecision) {
		t.Errorf("float16 asked of a float32 cache: %v", err)
	}
	// Merged into a new cache, which stores float16 too, half rows read as
	// they were.
	out := filepath.Join(dir, "merged.db")
	if _, err := dataset.MergeCaches(ctx, out, path); err != nil {
		t.Fatal(err)
	}
	m, _ := dataset.OpenCache(out)
	defer m.Close()
	if e2, ok, err := m.Get(ctx, k, "a"); err != nil || !ok || e2.Vector[0] != e.Vector[0] {
		t.Errorf("merged: %v %v %v", e2.Vector, ok, err)
	}

}

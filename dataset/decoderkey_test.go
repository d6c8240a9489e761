package dataset_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/transfer-go/transfer/dataset"
	"github.com/transfer-go/transfer/internal/turbojpeg"
)

// TestDecoderKeysJPEGsOnly: the JPEG decoder is part of the cache key of
// JPEGs only. A set of PNGs embedded with Go's decoder stays cached when
// the TurboJPEG decoder is chosen (or found installed), while its JPEG is
// embedded again; and PNG rows that an earlier version stored under the
// TurboJPEG key are still found.
func TestDecoderKeysJPEGsOnly(t *testing.T) {
	if !turbojpeg.Available() {
		t.Skip("libturbojpeg is not installed")
	}
	ctx := context.Background()
	dir := t.TempDir()
	var items []dataset.Item
	for i := 0; i < 5; i++ {
		img := image.NewNRGBA(image.Rect(0, 0, 16, 16))
		for p := range img.Pix {
			img.Pix[p] = uint8(p*7 + i*31)
		}
		name := filepath.Join(dir, "img"+string(rune('a'+i)))
		f, _ := os.Create(name + ".png")
		png.Encode(f, img)
		f.Close()
		items = append(items, dataset.Item{Path: name + ".png", Label: dataset.Unlabelled})
	}
	jp := filepath.Join(dir, "photo.jpg")
	f, _ := os.Create(jp)
	img := image.NewRGBA(image.Rect(0, 0, 16, 16))
	for y := 0; y < 16; y++ {
		for x := 0; x < 16; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 16), uint8(y * 16), 90, 255})
		}
	}
	jpeg.Encode(f, img, nil)
	f.Close()
	items = append(items, dataset.Item{Path: jp, Label: dataset.Unlabelled})
	set := &dataset.Set{Root: dir, Items: items}

	emb := newFake("fp")
	r := dataset.Resizer{Width: 8, Height: 8}
	extract := func(c *dataset.Cache, d dataset.Decoder) *dataset.Extraction {
		t.Helper()
		x, err := dataset.Extract(ctx, set, emb, c, dataset.ExtractOptions{Batch: 4, Workers: 2, Resizer: r, Decode: dataset.DecodeOptions{Decoder: d}, Collect: true})
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	c := openCache(t, filepath.Join(dir, "c.db"))
	if x := extract(c, dataset.GoDecoder); x.Embedded != 6 {
		t.Fatalf("first extraction: %s", x.Summary())
	}
	if x := extract(c, dataset.TurboJPEG); x.Cached != 5 || x.Embedded != 1 {
		t.Errorf("with TurboJPEG: %s; want the 5 PNGs from the cache and the JPEG embedded", x.Summary())
	}
	s, _ := c.Stats(ctx)
	var keys []string
	for _, b := range s.Backbones {
		keys = append(keys, b.Resize)
	}
	if len(keys) != 2 {
		t.Errorf("pixel specs in the cache: %v", keys)
	}

	// An older version's cache: every row, PNGs too, under the
	// TurboJPEG key. They are found, by path record and by digest.
	old := openCache(t, filepath.Join(dir, "old.db"))
	tj := dataset.CacheKey(emb.Info(), r, dataset.TurboJPEG)
	var rows []dataset.Row
	for _, it := range items {
		b, _ := os.ReadFile(it.Path)
		rows = append(rows, dataset.Row{SHA256: sha256hex(b), Vector: []float32{1, 2, 3, 4}})
	}
	if err := old.Put(ctx, tj, rows); err != nil {
		t.Fatal(err)
	}
	if x := extract(old, dataset.TurboJPEG); x.Cached != 6 || x.Embedded != 0 {
		t.Errorf("old rows by digest: %s", x.Summary())
	}
	if x := extract(old, dataset.TurboJPEG); x.Cached != 6 || x.Embedded != 0 {
		t.Errorf("old rows by path record: %s", x.Summary())
	}
}

func sha256hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

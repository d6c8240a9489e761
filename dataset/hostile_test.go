package dataset_test

import (
	"context"
	"errors"
	"image"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/transfer-go/transfer/backbone"
	"github.com/transfer-go/transfer/dataset"
	"github.com/transfer-go/transfer/internal/fixture/hostile"
	"github.com/transfer-go/transfer/internal/turbojpeg"
)

var allResizers = []dataset.Resizer{
	{Width: 224, Height: 224, Mode: dataset.ResizeStretch, Filter: dataset.Bilinear},
	{Width: 224, Height: 224, Mode: dataset.ResizeStretch, Filter: dataset.Nearest},
	{Width: 224, Height: 224, Mode: dataset.ResizeCrop, Filter: dataset.Bilinear},
	{Width: 224, Height: 224, Mode: dataset.ResizeCrop, Filter: dataset.Nearest},
}

// TestEmptyFrameGIF: a GIF whose only frame has no pixels is a corrupt
// image for every resize, never a panic.
func TestEmptyFrameGIF(t *testing.T) {
	gif := hostile.EmptyFrameGIF()
	if len(gif) != 34 {
		t.Fatalf("the GIF has %d bytes, want 34", len(gif))
	}
	if _, err := dataset.Decode(gif, dataset.DecodeOptions{}); !errors.Is(err, dataset.ErrCorruptImage) || !strings.Contains(err.Error(), "empty 0x8 image") {
		t.Errorf("Decode: %v", err)
	}
	for _, r := range allResizers {
		img, err := dataset.Prepare(context.Background(), gif, r, dataset.DecodeOptions{})
		if img != nil || !errors.Is(err, dataset.ErrCorruptImage) {
			t.Errorf("%s: %v, %v; want ErrCorruptImage", r.Spec(), img, err)
		}
	}
}

// TestPrepareTurnsPanicsIntoErrors: whatever goes wrong while preparing one
// image is that image's error. A 0x0 resizer is a caller's bug that panics
// deep in the resampler.
func TestPrepareTurnsPanicsIntoErrors(t *testing.T) {
	png := encode(t, "png", quadrants(8, 8))
	img, err := dataset.Prepare(context.Background(), png, dataset.Resizer{}, dataset.DecodeOptions{})
	var pe *dataset.PanicError
	if img != nil || !errors.As(err, &pe) || len(pe.Stack) == 0 || !strings.Contains(err.Error(), "a bug in transfer") {
		t.Fatalf("Prepare with a 0x0 resizer: %v, %v; want a *PanicError with a stack", img, err)
	}
}

// TestTurboJPEGAfterCorruptFile: a decompressor that failed is never
// reused, so one corrupt JPEG does not fail the good ones after it.
func TestTurboJPEGAfterCorruptFile(t *testing.T) {
	requireTurbo(t)
	good := encode(t, "jpeg", quadrants(64, 48))
	bad := hostile.BogusMarkerJPEG(good)
	opts := dataset.DecodeOptions{Decoder: dataset.TurboJPEG}
	r := dataset.Resizer{Width: 32, Height: 32}
	for round := 0; round < 3; round++ {
		_, err := dataset.Prepare(context.Background(), bad, r, opts)
		if !errors.Is(err, dataset.ErrCorruptImage) || !strings.Contains(err.Error(), "Bogus marker length") {
			t.Fatalf("corrupt file: %v", err)
		}
		for i := 0; i < 40; i++ {
			if _, err := dataset.Prepare(context.Background(), good, r, opts); err != nil {
				t.Fatalf("round %d, good file %d after a corrupt one: %v", round, i, err)
			}
		}
	}
	// A truncated file gets the same reason every time, never "No error".
	trunc := good[:len(good)*2/3]
	var first string
	for i := 0; i < 20; i++ {
		_, err := dataset.Decode(trunc, opts)
		if err == nil || strings.Contains(err.Error(), "No error") {
			t.Fatalf("truncated file, try %d: %v", i, err)
		}
		if i == 0 {
			first = err.Error()
		} else if err.Error() != first {
			t.Fatalf("truncated file: %q, then %q", first, err)
		}
	}
}

// TestDecodeMemoryBudget: an image is refused, before any pixel is
// decoded, when its header says it needs more than the whole budget.
func TestDecodeMemoryBudget(t *testing.T) {
	for _, tc := range []struct {
		name, what string
		data       []byte
	}{
		{"16-bit PNG", "a 16-bit 2000x2000 png", hostile.PNG16(2000, 2000)},
		{"deflate TIFF", "a 16-bit 2000x2000 tiff", hostile.DeflateTIFF(2000, 2000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			small := dataset.DecodeOptions{Budget: dataset.NewMemoryBudget(16 << 20)}
			if len(tc.data) > 200<<10 {
				t.Fatalf("the bomb is %d bytes; it should compress to little", len(tc.data))
			}
			_, err := dataset.Prepare(context.Background(), tc.data, dataset.Resizer{Width: 8, Height: 8}, small)
			if !errors.Is(err, dataset.ErrDecodeMemory) || !strings.Contains(err.Error(), tc.what) {
				t.Fatalf("16 MB budget: %v; want ErrDecodeMemory naming %q", err, tc.what)
			}
			img, err := dataset.Prepare(context.Background(), tc.data, dataset.Resizer{Width: 8, Height: 8}, dataset.DecodeOptions{Budget: dataset.NewMemoryBudget(0)})
			if err != nil || img.Bounds() != image.Rect(0, 0, 8, 8) || img.Pix[0] != 0 {
				t.Fatalf("default budget: %v, %v", img, err)
			}
		})
	}
}

// TestTallThinImage: the resize of a 1x1,000,000 image costs what its
// output costs, not gigabytes of float rows.
func TestTallThinImage(t *testing.T) {
	for _, data := range [][]byte{hostile.GrayPNG(1, 1_000_000), hostile.GrayPNG(1_000_000, 1)} {
		for _, r := range allResizers {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			img, err := dataset.Prepare(context.Background(), data, r, dataset.DecodeOptions{})
			runtime.ReadMemStats(&after)
			if err != nil {
				t.Fatalf("%s: %v", r.Spec(), err)
			}
			// Decoding takes 1 MB, the RGBA copy 4 MB, the filter
			// weights about 8 bytes per source row: 16 MB in all.
			if got := after.TotalAlloc - before.TotalAlloc; got > 64<<20 {
				t.Errorf("%s: allocated %d MB", r.Spec(), got>>20)
			}
			for i := 0; i < len(img.Pix); i += 4 {
				if img.Pix[i] != 128 || img.Pix[i+3] != 255 {
					t.Fatalf("%s: pixel %d is %v, want gray 128", r.Spec(), i/4, img.Pix[i:i+4])
				}
			}
		}
	}
}

// TestHostileFilesAmongGoodOnes: a folder of good images with any one
// hostile file in it embeds every good image and names the bad one.
func TestHostileFilesAmongGoodOnes(t *testing.T) {
	good, _ := os.ReadFile(filepath.Join(mustCats(t), "f01.jpg"))
	cases := []struct {
		name string
		make func(path string) error
		want error
	}{
		{"empty-frame.gif", writeBytes(hostile.EmptyFrameGIF()), dataset.ErrCorruptImage},
		{"bogus-marker.jpg", writeBytes(hostile.BogusMarkerJPEG(good)), dataset.ErrCorruptImage},
		{"bomb16.png", writeBytes(hostile.PNG16(3000, 3000)), dataset.ErrDecodeMemory},
		{"bomb.tif", writeBytes(hostile.DeflateTIFF(3000, 3000)), dataset.ErrDecodeMemory},
		{"sparse.jpg", func(p string) error { return sparseFile(p, 8<<30) }, dataset.ErrFileTooLarge},
	}
	cases = append(cases, specialFiles()...)
	decoders := []dataset.Decoder{dataset.GoDecoder}
	if turbojpeg.Available() {
		decoders = append(decoders, dataset.TurboJPEG)
	}
	for _, d := range decoders {
		for _, tc := range cases {
			t.Run(d.String()+"/"+tc.name, func(t *testing.T) {
				dir, _ := catsLike(t, 3)
				// Sorted first, so that every good image comes after it.
				bad := filepath.Join(dir, "a-"+tc.name)
				if err := tc.make(bad); err != nil {
					t.Skipf("cannot make %s here: %v", tc.name, err)
				}
				set, err := dataset.FromPaths(dir)
				if err != nil {
					t.Fatal(err)
				}
				c := openCache(t, filepath.Join(t.TempDir(), "cache.db"))
				x := extract(t, set, newFake("fp"), c, func(o *dataset.ExtractOptions) {
					o.Decode.Decoder = d
					o.Decode.Budget = dataset.NewMemoryBudget(64 << 20)
				})
				if x.Embedded != 6 || x.Failed != 1 || len(x.Failures) != 1 {
					t.Fatalf("%s; failures %v", x.Summary(), x.Failures)
				}
				f := x.Failures[0]
				if f.Path != bad || !errors.Is(f.Err, tc.want) || !strings.Contains(f.Err.Error(), bad) {
					t.Fatalf("failure %s: %v; want %v", f.Path, f.Err, tc.want)
				}
			})
		}
	}
}

// TestNonFiniteEmbeddings: an image whose embedding is NaN fails alone
// and is never cached.
func TestNonFiniteEmbeddings(t *testing.T) {
	_, set := catsLike(t, 3)
	c := openCache(t, filepath.Join(t.TempDir(), "cache.db"))
	f := &nanEmbedder{fakeEmbedder: newFake("fp-nan"), poison: 2}
	x := extract(t, set, f, c, nil)
	if x.Embedded != 4 || x.Failed != 2 {
		t.Fatalf("%s; failures %v", x.Summary(), x.Failures)
	}
	for _, fl := range x.Failures {
		if !errors.Is(fl.Err, dataset.ErrNonFinite) || x.Vectors[fl.Index] != nil {
			t.Errorf("%s: %v", fl.Path, fl.Err)
		}
	}
	// A rerun with a sane model embeds exactly the two that failed.
	x = extract(t, set, newFake("fp-nan"), c, nil)
	if x.Embedded != 2 || x.Cached != 4 || x.Failed != 0 {
		t.Fatalf("rerun: %s", x.Summary())
	}
}

// nanEmbedder returns a NaN embedding for the first image it runs and an
// infinite one for the second (poison of them in all), as a model with a
// numerically broken layer would.
type nanEmbedder struct {
	*fakeEmbedder
	poison int
	n      int
}

func (f *nanEmbedder) Run(ctx context.Context, batch []float32) (*backbone.Result, error) {
	res, err := f.fakeEmbedder.Run(ctx, batch)
	if err != nil {
		return nil, err
	}
	for i := range res.Embeddings {
		if f.n < f.poison {
			res.Embeddings[i][1] = float32(math.NaN())
			if f.n == 1 {
				res.Embeddings[i][1] = float32(math.Inf(1))
			}
		}
		f.n++
	}
	return res, nil
}

func writeBytes(b []byte) func(string) error {
	return func(p string) error { return os.WriteFile(p, b, 0o644) }
}

// sparseFile makes a file of size bytes that takes no disk space.
func sparseFile(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Truncate(size)
}

func mustCats(t *testing.T) string {
	dir, _ := catsLike(t, 1)
	return dir
}

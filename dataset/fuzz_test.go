package dataset_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/transfer-go/transfer/dataset"
	"github.com/transfer-go/transfer/internal/fixture/hostile"
	"github.com/transfer-go/transfer/internal/turbojpeg"
)

// FuzzReadManifest feeds arbitrary CSV to the manifest reader: it must
// return a set or an error, never panic, and a set's labels must index its
// sorted, distinct classes.
func FuzzReadManifest(f *testing.F) {
	f.Add([]byte("path,label\na.jpg,cat\nb.jpg,dog\n"))
	f.Add([]byte("a.jpg,cat\n\"b,c.jpg\",dog\n# comment\n"))
	f.Add([]byte("a.jpg\n"))
	f.Add([]byte("\"unterminated,cat\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := dataset.ReadManifest(bytes.NewReader(data), "/root", "fuzz.csv", dataset.ManifestOptions{})
		if err != nil {
			return
		}
		if len(s.Items) == 0 || len(s.Classes) == 0 {
			t.Fatalf("empty set without error")
		}
		for i := 1; i < len(s.Classes); i++ {
			if s.Classes[i-1] >= s.Classes[i] {
				t.Fatalf("classes not sorted and distinct: %q", s.Classes)
			}
		}
		for _, it := range s.Items {
			if it.Label < 0 || it.Label >= len(s.Classes) || it.Path == "" {
				t.Fatalf("item %+v with %d classes", it, len(s.Classes))
			}
		}
	})
}

// FuzzFromRegex runs arbitrary label rules over fixed file names.
func FuzzFromRegex(f *testing.F) {
	dir := f.TempDir()
	for _, n := range []string{"f01.jpg", "f02.png", "m01.jpg", "x-ray.jpeg", "UPPER.JPG"} {
		os.WriteFile(filepath.Join(dir, n), nil, 0o644)
	}
	f.Add("^(f|m)", "f=female,m=male")
	f.Add("^([a-z])", "")
	f.Add("(", "")
	f.Add("^(f|m)", "f=,=m")
	f.Add(".*", "a=b,a=c")
	f.Fuzz(func(t *testing.T, pattern, mapping string) {
		s, err := dataset.FromRegex(dir, pattern, mapping)
		if err != nil {
			return
		}
		if mapping != "" && len(s.Classes) != strings.Count(mapping, ",")+1 {
			t.Fatalf("mapping %q gave classes %q", mapping, s.Classes)
		}
		for _, it := range s.Items {
			if it.Label < 0 || it.Label >= len(s.Classes) {
				t.Fatalf("label %d with %d classes", it.Label, len(s.Classes))
			}
		}
		if len(s.Items)+len(s.Skipped) != 5 {
			t.Fatalf("%d items and %d skipped of 5 files", len(s.Items), len(s.Skipped))
		}
	})
}

// FuzzDecode feeds arbitrary bytes to the image decoders and resizers with
// a small pixel limit: they must never panic (Prepare would report it as a
// *PanicError) nor return an image over the limit or of the wrong size.
// The seeds include every hostile image that once crashed transfer.
func FuzzDecode(f *testing.F) {
	addDecodeSeeds(f)
	fuzzPrepare(f, dataset.GoDecoder)
}

// FuzzDecodeTurboJPEG is FuzzDecode through libjpeg-turbo, whose
// decompressors are reused across images: a failure must not leak into the
// next image.
func FuzzDecodeTurboJPEG(f *testing.F) {
	if !turbojpeg.Available() {
		f.Skip("libturbojpeg is not installed")
	}
	addDecodeSeeds(f)
	fuzzPrepare(f, dataset.TurboJPEG)
}

func addDecodeSeeds(f *testing.F) {
	for _, format := range []string{"jpeg", "png", "gif", "bmp", "tiff"} {
		f.Add(encode(f, format, quadrants(6, 4)))
	}
	if b, err := os.ReadFile(filepath.Join("testdata", "halves.webp")); err == nil {
		f.Add(b)
	}
	jpg := encode(f, "jpeg", quadrants(16, 8))
	f.Add(bombPNG(5000, 5000))
	f.Add([]byte{})
	f.Add(hostile.EmptyFrameGIF())
	f.Add(hostile.BogusMarkerJPEG(jpg))
	f.Add(withOrientation(jpg, 6))
	f.Add(hostile.PNG16(40, 30))
	f.Add(hostile.DeflateTIFF(20, 10))
	f.Add(hostile.GrayPNG(1, 5000))
	f.Add(hostile.GrayPNG(5000, 1))
}

func fuzzPrepare(f *testing.F, d dataset.Decoder) {
	const limit = 1 << 16
	good := encode(f, "jpeg", quadrants(16, 8))
	resizers := []dataset.Resizer{
		{Width: 4, Height: 4, Mode: dataset.ResizeCrop},
		{Width: 5, Height: 3, Mode: dataset.ResizeStretch, Filter: dataset.Nearest},
		{Width: 3, Height: 7, Mode: dataset.ResizeStretch},
	}
	opts := dataset.DecodeOptions{MaxPixels: limit, Decoder: d, Budget: dataset.NewMemoryBudget(64 << 20)}
	f.Fuzz(func(t *testing.T, data []byte) {
		if img, err := dataset.Decode(data, opts); err == nil {
			if b := img.Bounds(); b.Dx()*b.Dy() > limit || b.Empty() {
				t.Fatalf("decoded %v past the %d-pixel limit", b, limit)
			}
		}
		for _, r := range resizers {
			img, err := dataset.Prepare(context.Background(), data, r, opts)
			var pe *dataset.PanicError
			if errors.As(err, &pe) {
				t.Fatalf("%s: %v\n%s", r.Spec(), pe.Value, pe.Stack)
			}
			if err == nil && img.Bounds() != image.Rect(0, 0, r.Width, r.Height) {
				t.Fatalf("%s: resized to %v", r.Spec(), img.Bounds())
			}
		}
		// Whatever this input did to the decoder, a good image after it
		// still decodes.
		if _, err := dataset.Prepare(context.Background(), good, resizers[0], opts); err != nil {
			t.Fatalf("a good JPEG after this input: %v", err)
		}
	})
}

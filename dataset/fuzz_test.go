package dataset_test

import (
	"bytes"
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/transfer-go/transfer/dataset"
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

// FuzzDecode feeds arbitrary bytes to the image decoder with a small pixel
// limit: it must never panic nor return an image over the limit.
func FuzzDecode(f *testing.F) {
	for _, format := range []string{"jpeg", "png", "gif", "bmp", "tiff"} {
		f.Add(encode(f, format, quadrants(6, 4)))
	}
	if b, err := os.ReadFile(filepath.Join("testdata", "halves.webp")); err == nil {
		f.Add(b)
	}
	f.Add(bombPNG(5000, 5000))
	f.Add([]byte{})
	const limit = 1 << 16
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := dataset.Decode(data, dataset.DecodeOptions{MaxPixels: limit})
		if err != nil {
			return
		}
		b := img.Bounds()
		if b.Dx()*b.Dy() > limit || b.Empty() {
			t.Fatalf("decoded %v past the %d-pixel limit", b, limit)
		}
		out := dataset.Resizer{Width: 4, Height: 4, Mode: dataset.ResizeCrop}.Resize(img)
		if out.Bounds() != image.Rect(0, 0, 4, 4) {
			t.Fatalf("resized to %v", out.Bounds())
		}
	})
}

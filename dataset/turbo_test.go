package dataset_test

import (
	"errors"
	"image"
	"math"
	"path/filepath"
	"testing"

	"github.com/transfer-go/transfer/dataset"
	"github.com/transfer-go/transfer/internal/turbojpeg"
)

func requireTurbo(t *testing.T) {
	t.Helper()
	if err := turbojpeg.Load(); err != nil {
		t.Skipf("libturbojpeg not installed: %v", err)
	}
}

// meanAbsDiff compares two images of equal bounds channel by channel.
func meanAbsDiff(a, b *image.NRGBA) float64 {
	var sum float64
	for i := range a.Pix {
		sum += math.Abs(float64(a.Pix[i]) - float64(b.Pix[i]))
	}
	return sum / float64(len(a.Pix))
}

// TestTurboJPEGMatchesGo decodes the same files with both decoders: sizes
// and orientation agree, pixels differ by little (chroma upsampling and the
// IDCT differ), and errors are classified alike.
func TestTurboJPEGMatchesGo(t *testing.T) {
	requireTurbo(t)
	jpg := encode(t, "jpeg", quadrants(64, 48))
	r := dataset.Resizer{Width: 32, Height: 32}
	for _, o := range []uint16{1, 6} {
		data := withOrientation(jpg, o)
		g, err := dataset.Decode(data, dataset.DecodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		tj, err := dataset.Decode(data, dataset.DecodeOptions{Decoder: dataset.TurboJPEG})
		if err != nil {
			t.Fatal(err)
		}
		if g.Bounds() != tj.Bounds() {
			t.Fatalf("orientation %d: Go %v, TurboJPEG %v", o, g.Bounds(), tj.Bounds())
		}
		if d := meanAbsDiff(r.Resize(g), r.Resize(tj)); d > 3 {
			t.Errorf("orientation %d: resized images differ by %.2f per channel on average", o, d)
		}
	}
	if _, err := dataset.Decode(jpg[:len(jpg)/2], dataset.DecodeOptions{Decoder: dataset.TurboJPEG}); !errors.Is(err, dataset.ErrCorruptImage) {
		t.Errorf("truncated: %v", err)
	}
	// CMYK files go through Go's decoder.
	img, err := dataset.ReadImage(filepath.Join("testdata", "halves-cmyk.jpg"), dataset.DecodeOptions{Decoder: dataset.TurboJPEG})
	if err != nil || img.Bounds().Dx() != 8 {
		t.Errorf("CMYK: %v, %v", img, err)
	}
}

// TestTurboJPEGScalesLargeImages checks the DCT-domain reduction: to the
// smallest multiple of 1/8 of the size that still covers the resize.
func TestTurboJPEGScalesLargeImages(t *testing.T) {
	requireTurbo(t)
	big := encode(t, "jpeg", quadrants(1024, 768))
	cases := []struct {
		r    dataset.Resizer
		w, h int
	}{
		{dataset.Resizer{Width: 224, Height: 224}, 384, 288},                           // 3/8: 288 >= 224, 2/8 would give 192
		{dataset.Resizer{Width: 224, Height: 224, Mode: dataset.ResizeCrop}, 384, 288}, // shorter side >= 256
		{dataset.Resizer{Width: 100, Height: 100}, 256, 192},                           // 1/8 would give 128x96, too short
		{dataset.Resizer{Width: 600, Height: 600}, 896, 672},                           // 7/8
		{dataset.Resizer{Width: 800, Height: 800}, 1024, 768},                          // taller than the image: full size
	}
	for _, tc := range cases {
		img, err := dataset.Decode(big, dataset.DecodeOptions{Decoder: dataset.TurboJPEG, For: &tc.r})
		if err != nil {
			t.Fatal(err)
		}
		if b := img.Bounds(); b.Dx() != tc.w || b.Dy() != tc.h {
			t.Errorf("for %s: decoded %dx%d, want %dx%d", tc.r.Spec(), b.Dx(), b.Dy(), tc.w, tc.h)
		}
		out := tc.r.Resize(img)
		full := tc.r.Resize(mustDecode(t, big))
		if d := meanAbsDiff(out, full); d > 4 {
			t.Errorf("for %s: reduced decoding changes the result by %.2f per channel", tc.r.Spec(), d)
		}
	}
	if got := (dataset.PixelSpec{Resizer: dataset.Resizer{Width: 8, Height: 8}, Decoder: dataset.TurboJPEG}).String(); got != "stretch/bilinear/8x8/turbojpeg" {
		t.Errorf("PixelSpec %q", got)
	}
}

func mustDecode(t *testing.T, data []byte) image.Image {
	img, err := dataset.Decode(data, dataset.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

package dataset_test

import (
	"errors"
	"image"
	"image/color"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/disintegration/imaging"

	"github.com/transfer-go/transfer/dataset"
	"github.com/transfer-go/transfer/internal/fixture/synthetic"
)

func TestDecodeFormats(t *testing.T) {
	src := quadrants(8, 6)
	for _, format := range []string{"jpeg", "png", "gif", "bmp", "tiff"} {
		t.Run(format, func(t *testing.T) {
			img, err := dataset.Decode(encode(t, format, src), dataset.DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if b := img.Bounds(); b.Dx() != 8 || b.Dy() != 6 {
				t.Fatalf("bounds %v", b)
			}
			tol := 0
			if format == "jpeg" {
				tol = 40 // chroma subsampling blurs the quadrant edges
			}
			if !near(img.At(0, 0), 255, 0, 0, tol) || !near(img.At(7, 5), 255, 255, 255, tol) {
				t.Errorf("corners %v %v", img.At(0, 0), img.At(7, 5))
			}
		})
	}
	for _, f := range []struct {
		file string
		tol  int
	}{{"halves.webp", 0}, {"halves-cmyk.jpg", 12}} {
		t.Run(f.file, func(t *testing.T) {
			img, err := dataset.ReadImage(filepath.Join("testdata", f.file), dataset.DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			out := dataset.Resizer{Width: 8, Height: 4}.Resize(img)
			if !near(out.At(0, 0), 255, 0, 0, f.tol) || !near(out.At(7, 3), 0, 0, 255, f.tol) {
				t.Errorf("%s: left %v right %v, want red and blue", f.file, out.At(0, 0), out.At(7, 3))
			}
		})
	}
}

func TestDecodeColourModels(t *testing.T) {
	// 16-bit, grayscale and paletted PNGs all come out as 8-bit RGB.
	rgba64 := image.NewNRGBA64(image.Rect(0, 0, 2, 1))
	rgba64.SetNRGBA64(0, 0, color.NRGBA64{0xffff, 0x8000, 0, 0xffff})
	rgba64.SetNRGBA64(1, 0, color.NRGBA64{0, 0, 0xffff, 0xffff})
	gray := image.NewGray(image.Rect(0, 0, 2, 1))
	gray.SetGray(0, 0, color.Gray{200})
	gray.SetGray(1, 0, color.Gray{200})
	pal := image.NewPaletted(image.Rect(0, 0, 2, 1), color.Palette{color.RGBA{10, 20, 30, 255}, color.RGBA{40, 50, 60, 255}})
	pal.SetColorIndex(1, 0, 1)
	cases := []struct {
		name    string
		img     image.Image
		r, g, b uint8
	}{
		{"16-bit", rgba64, 255, 128, 0},
		{"gray", gray, 200, 200, 200},
		{"paletted", pal, 10, 20, 30},
	}
	for _, tc := range cases {
		img, err := dataset.Decode(encode(t, "png", tc.img), dataset.DecodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		out := dataset.Resizer{Width: 2, Height: 1}.Resize(img)
		if !near(out.At(0, 0), tc.r, tc.g, tc.b, 0) || out.NRGBAAt(0, 0).A != 255 {
			t.Errorf("%s: pixel %v, want (%d,%d,%d)", tc.name, out.NRGBAAt(0, 0), tc.r, tc.g, tc.b)
		}
	}
}

// TestAlphaCompositedOnBlack checks transparent pixels: RGB is multiplied
// by alpha, so fully transparent pixels are black and opaque ones unchanged.
func TestAlphaCompositedOnBlack(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 3, 1))
	img.SetNRGBA(0, 0, color.NRGBA{200, 100, 50, 0})
	img.SetNRGBA(1, 0, color.NRGBA{200, 100, 50, 128})
	img.SetNRGBA(2, 0, color.NRGBA{200, 100, 50, 255})
	dec, err := dataset.Decode(encode(t, "png", img), dataset.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := dataset.Resizer{Width: 3, Height: 1}.Resize(dec)
	want := []color.NRGBA{{0, 0, 0, 255}, {100, 50, 25, 255}, {200, 100, 50, 255}}
	for x, w := range want {
		if got := out.NRGBAAt(x, 0); got != w {
			t.Errorf("pixel %d: %v, want %v", x, got, w)
		}
	}
}

// TestEXIFOrientation writes the quadrant image with each rotating EXIF
// orientation and checks where the red quadrant ends up.
func TestEXIFOrientation(t *testing.T) {
	jpg := encode(t, "jpeg", quadrants(16, 8))
	cases := []struct {
		orientation uint16
		w, h        int
		redX, redY  int // a pixel inside the red quadrant after orientation
	}{
		{1, 16, 8, 2, 2},
		{3, 16, 8, 13, 5}, // rotated 180°
		{6, 8, 16, 5, 2},  // rotated 90° clockwise: red moves to the top right
		{8, 8, 16, 2, 13}, // rotated 90° counter-clockwise: bottom left
	}
	for _, tc := range cases {
		img, err := dataset.Decode(withOrientation(jpg, tc.orientation), dataset.DecodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if b := img.Bounds(); b.Dx() != tc.w || b.Dy() != tc.h {
			t.Errorf("orientation %d: %dx%d, want %dx%d", tc.orientation, b.Dx(), b.Dy(), tc.w, tc.h)
			continue
		}
		if !near(img.At(tc.redX, tc.redY), 255, 0, 0, 40) {
			t.Errorf("orientation %d: pixel (%d,%d) is %v, want red", tc.orientation, tc.redX, tc.redY, img.At(tc.redX, tc.redY))
		}
	}
}

func TestDecodeRejectsBadFiles(t *testing.T) {
	jpg := encode(t, "jpeg", quadrants(64, 64))
	cases := []struct {
		name   string
		data   []byte
		opts   dataset.DecodeOptions
		target error
		want   string
	}{
		{"empty", nil, dataset.DecodeOptions{}, dataset.ErrEmptyImage, "empty file"},
		{"text", []byte("not an image at all, just text"), dataset.DecodeOptions{}, dataset.ErrUnsupportedFormat, "not a supported image format"},
		{"truncated jpeg", jpg[:len(jpg)/2], dataset.DecodeOptions{}, dataset.ErrCorruptImage, "truncated"},
		{"header only", jpg[:20], dataset.DecodeOptions{}, dataset.ErrCorruptImage, "corrupt"},
		{"bomb", bombPNG(100000, 100000), dataset.DecodeOptions{}, dataset.ErrImageTooLarge, "100000x100000 pixels exceeds the limit of 100000000"},
		{"over a custom limit", jpg, dataset.DecodeOptions{MaxPixels: 1000}, dataset.ErrImageTooLarge, "64x64"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := dataset.Decode(tc.data, tc.opts)
			if !errors.Is(err, tc.target) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %v mentioning %q", err, tc.target, tc.want)
			}
		})
	}
	_, err := dataset.ReadImage(filepath.Join(t.TempDir(), "missing.jpg"), dataset.DecodeOptions{})
	var ie *dataset.ImageError
	if !errors.As(err, &ie) || !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "missing.jpg") {
		t.Errorf("missing file: %v", err)
	}
}

func TestResize(t *testing.T) {
	src := quadrants(400, 300)
	t.Run("stretch", func(t *testing.T) {
		out := dataset.Resizer{Width: 224, Height: 224}.Resize(src)
		if out.Bounds() != image.Rect(0, 0, 224, 224) {
			t.Fatalf("bounds %v", out.Bounds())
		}
		// Stretching keeps the quadrants at the quadrants.
		if !near(out.At(10, 10), 255, 0, 0, 0) || !near(out.At(213, 10), 0, 255, 0, 0) || !near(out.At(10, 213), 0, 0, 255, 0) {
			t.Errorf("quadrant colours moved: %v %v %v", out.At(10, 10), out.At(213, 10), out.At(10, 213))
		}
	})
	t.Run("crop", func(t *testing.T) {
		// 400x300 -> shorter side 256: 341x256, then a centred 224x224
		// crop starting at x = round(117/2) = 58 (half to even), y = 16.
		out := dataset.Resizer{Width: 224, Height: 224, Mode: dataset.ResizeCrop}.Resize(src)
		if out.Bounds().Dx() != 224 || out.Bounds().Dy() != 224 {
			t.Fatalf("bounds %v", out.Bounds())
		}
		// The quadrant boundary (x = 170.5 in the 341-wide image) sits at
		// 112.5 in the crop: column 111 is red, 114 green.
		if !near(out.At(111, 50), 255, 0, 0, 8) || !near(out.At(114, 50), 0, 255, 0, 8) {
			t.Errorf("boundary columns: %v %v", out.At(111, 50), out.At(114, 50))
		}
	})
	t.Run("nearest keeps exact colours", func(t *testing.T) {
		out := dataset.Resizer{Width: 7, Height: 5, Filter: dataset.Nearest}.Resize(src)
		for y := 0; y < 5; y++ {
			for x := 0; x < 7; x++ {
				c := out.NRGBAAt(x, y)
				if c != (color.NRGBA{255, 0, 0, 255}) && c != (color.NRGBA{0, 255, 0, 255}) && c != (color.NRGBA{0, 0, 255, 255}) && c != (color.NRGBA{255, 255, 255, 255}) {
					t.Fatalf("pixel (%d,%d) = %v is a blend", x, y, c)
				}
			}
		}
	})
	t.Run("nearest takes the pixel under each centre", func(t *testing.T) {
		// PIL's NEAREST rule: output i reads source floor((i+0.5)*n/out);
		// from 4 to 2 that is source 1 and 3.
		src := image.NewNRGBA(image.Rect(0, 0, 4, 4))
		for y := 0; y < 4; y++ {
			for x := 0; x < 4; x++ {
				src.SetNRGBA(x, y, color.NRGBA{uint8(10 * x), uint8(10 * y), 0, 255})
			}
		}
		out := dataset.Resizer{Width: 2, Height: 2, Filter: dataset.Nearest}.Resize(src)
		for _, p := range []struct{ x, y, sx, sy int }{{0, 0, 1, 1}, {1, 0, 3, 1}, {0, 1, 1, 3}, {1, 1, 3, 3}} {
			if got := out.NRGBAAt(p.x, p.y); got.R != uint8(10*p.sx) || got.G != uint8(10*p.sy) {
				t.Errorf("output (%d,%d) = %v, want source (%d,%d)", p.x, p.y, got, p.sx, p.sy)
			}
		}
	})
	t.Run("agrees with imaging's bilinear", func(t *testing.T) {
		// A smooth photo-like image: our float resampler and imaging's
		// Linear filter differ only by rounding.
		img := synthetic.Draw(0, 2, 400, 300, rand.New(rand.NewPCG(1, 2)))
		ours := dataset.Resizer{Width: 224, Height: 224}.Resize(img)
		theirs := imaging.Resize(img, 224, 224, imaging.Linear)
		if d := meanAbsDiff(ours, theirs); d > 1 {
			t.Errorf("mean difference %.3f per channel", d)
		}
	})
	t.Run("spec", func(t *testing.T) {
		r := dataset.Resizer{Width: 224, Height: 224, Mode: dataset.ResizeCrop, Filter: dataset.Nearest}
		if r.Spec() != "crop/nearest/224x224" {
			t.Errorf("spec %q", r.Spec())
		}
	})
}

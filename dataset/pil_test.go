package dataset_test

import (
	"fmt"
	"image"
	"path/filepath"
	"testing"

	"github.com/transfer-go/transfer/dataset"
)

// TestResizeMatchesPIL compares the resizer with PIL's Image.resize on the
// sample images of testdata/pil (made by scripts/pil-golden.py): bilinear
// within 1 level per channel, nearest exactly, both for stretch and for
// torchvision's crop. So the README's Python recipe, PIL with BILINEAR,
// feeds an exported classifier the pixels transfer computed with.
func TestResizeMatchesPIL(t *testing.T) {
	dir := filepath.Join("testdata", "pil")
	for _, src := range []string{"wide", "small", "tall"} {
		img, err := dataset.ReadImage(filepath.Join(dir, src+".png"), dataset.DecodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, filter := range []dataset.Filter{dataset.Bilinear, dataset.Nearest} {
			tol := 1
			if filter == dataset.Nearest {
				tol = 0
			}
			cases := []dataset.Resizer{
				{Width: 48, Height: 40, Mode: dataset.ResizeStretch, Filter: filter},
				{Width: 64, Height: 50, Mode: dataset.ResizeStretch, Filter: filter},
				{Width: 32, Height: 32, Mode: dataset.ResizeCrop, Filter: filter},
			}
			for _, r := range cases {
				name := fmt.Sprintf("%s-%s-%s-%dx%d.png", src, r.Mode, r.Filter, r.Width, r.Height)
				want, err := dataset.ReadImage(filepath.Join(dir, name), dataset.DecodeOptions{})
				if err != nil {
					t.Fatal(err)
				}
				got := r.Resize(img)
				if d, at := maxDiff(got, want); d > tol {
					t.Errorf("%s: differs from PIL by %d levels at %v (tolerance %d)", name, d, at, tol)
				}
			}
		}
	}
}

// maxDiff is the largest difference of any RGB channel, and where.
func maxDiff(a *image.NRGBA, b image.Image) (int, image.Point) {
	if a.Bounds().Size() != b.Bounds().Size() {
		return 256, image.Point{}
	}
	worst, at := 0, image.Point{}
	for y := 0; y < a.Bounds().Dy(); y++ {
		for x := 0; x < a.Bounds().Dx(); x++ {
			r, g, bl, _ := b.At(b.Bounds().Min.X+x, b.Bounds().Min.Y+y).RGBA()
			p := a.Pix[y*a.Stride+4*x:]
			for k, v := range []uint32{r >> 8, g >> 8, bl >> 8} {
				if d := abs(int(p[k]) - int(v)); d > worst {
					worst, at = d, image.Pt(x, y)
				}
			}
		}
	}
	return worst, at
}

// TestPixelSpecRoundTrip: what String writes, Parse reads back; anything
// else is refused.
func TestPixelSpecRoundTrip(t *testing.T) {
	for _, p := range []dataset.PixelSpec{
		{Resizer: dataset.Resizer{Width: 224, Height: 224}},
		{Resizer: dataset.Resizer{Width: 320, Height: 240, Mode: dataset.ResizeCrop, Filter: dataset.Nearest}, Decoder: dataset.TurboJPEG},
	} {
		got, err := dataset.ParsePixelSpec(p.String())
		if err != nil || got != p {
			t.Errorf("%s: %+v, %v", p, got, err)
		}
	}
	for _, bad := range []string{"", "stretch", "stretch/bilinear", "crop/cubic/224x224", "stretch/bilinear/0x224", "stretch/bilinear/224x224/libjpeg", "a/b/c/d/e"} {
		if _, err := dataset.ParsePixelSpec(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

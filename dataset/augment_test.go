package dataset_test

import (
	"image"
	"image/color"
	"image/draw"
	"testing"

	"github.com/transfer-go/transfer/dataset"
)

func gradientImage(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.NRGBA{R: uint8(x * 255 / w), G: uint8(y * 255 / h), B: uint8((x * y) % 256), A: 255})
		}
	}
	return img
}

func TestAugment(t *testing.T) {
	src := gradientImage(300, 200)
	for _, mode := range []dataset.ResizeMode{dataset.ResizeStretch, dataset.ResizeCrop} {
		for _, f := range []dataset.Filter{dataset.Bilinear, dataset.Nearest} {
			r := dataset.Resizer{Width: 64, Height: 48, Mode: mode, Filter: f}
			plain := r.Resize(src)

			r.Augment = dataset.HFlip
			flipped := r.Resize(src)
			for y := 0; y < 48; y++ {
				for x := 0; x < 64; x++ {
					if flipped.NRGBAAt(x, y) != plain.NRGBAAt(63-x, y) {
						t.Fatalf("%s/%s hflip: pixel %d,%d is %v, the mirror of %v", mode, f, x, y, flipped.NRGBAAt(x, y), plain.NRGBAAt(63-x, y))
					}
				}
			}

			// crop10 is the resize of a copy of the central 270x180.
			r.Augment = dataset.Crop90
			crop := image.NewNRGBA(image.Rect(0, 0, 270, 180))
			draw.Draw(crop, crop.Bounds(), src, image.Pt(15, 10), draw.Src)
			want := dataset.Resizer{Width: 64, Height: 48, Mode: mode, Filter: f}.Resize(crop)
			if got := r.Resize(src); string(got.Pix) != string(want.Pix) {
				t.Errorf("%s/%s crop10 differs from resizing the cropped copy", mode, f)
			}
		}
	}
	spec := dataset.PixelSpec{Resizer: dataset.Resizer{Width: 224, Height: 224, Augment: dataset.Crop90}, Decoder: dataset.TurboJPEG}
	back, err := dataset.ParsePixelSpec(spec.String())
	if err != nil || back != spec || spec.String() != "stretch/bilinear/224x224+crop10/turbojpeg" {
		t.Errorf("%q parses to %+v, %v", spec.String(), back, err)
	}
	for _, bad := range []string{"stretch/bilinear/224x224+rotate", "stretch/bilinear/224x224junk"} {
		if _, err := dataset.ParsePixelSpec(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

package dataset

import (
	"fmt"
	"image"

	"github.com/disintegration/imaging"
)

// ResizeMode is how an image is brought to the model's input size.
type ResizeMode int

const (
	// ResizeStretch resizes the whole image to the input size, ignoring its
	// aspect ratio, as Keras' load_img(target_size=...) does in the tutorial.
	ResizeStretch ResizeMode = iota
	// ResizeCrop resizes the shorter side to 256/224 of the input size
	// (256 for 224) and crops the centre: torchvision's Resize(256) +
	// CenterCrop(224), the pipeline the ONNX Model Zoo documents.
	ResizeCrop
)

func (m ResizeMode) String() string {
	if m == ResizeCrop {
		return "crop"
	}
	return "stretch"
}

// ParseResizeMode reads "stretch" or "crop".
func ParseResizeMode(s string) (ResizeMode, error) {
	switch s {
	case "stretch":
		return ResizeStretch, nil
	case "crop":
		return ResizeCrop, nil
	}
	return ResizeStretch, fmt.Errorf("unknown resize mode %q: want stretch or crop", s)
}

// Filter is the resampling filter.
type Filter int

const (
	// Bilinear is a triangle filter whose support widens with the
	// downscaling factor, so a downscale averages every source pixel
	// (antialiasing), as PIL's BILINEAR and torchvision's antialiased
	// resize do.
	Bilinear Filter = iota
	// Nearest picks one source pixel per output pixel: the default of
	// Keras' load_img, for bit-level parity with it.
	Nearest
)

func (f Filter) String() string {
	if f == Nearest {
		return "nearest"
	}
	return "bilinear"
}

// ParseFilter reads "bilinear" or "nearest".
func ParseFilter(s string) (Filter, error) {
	switch s {
	case "bilinear", "linear":
		return Bilinear, nil
	case "nearest":
		return Nearest, nil
	}
	return Bilinear, fmt.Errorf("unknown resize filter %q: want bilinear or nearest", s)
}

func (f Filter) imaging() imaging.ResampleFilter {
	if f == Nearest {
		return imaging.NearestNeighbor
	}
	return imaging.Linear
}

// Resizer brings decoded images to a model's input size.
type Resizer struct {
	Width, Height int
	Mode          ResizeMode
	Filter        Filter
}

// Spec names everything about the resize that changes the pixels; caches key
// embeddings by it together with the image bytes.
func (r Resizer) Spec() string {
	return fmt.Sprintf("%s/%s/%dx%d", r.Mode, r.Filter, r.Width, r.Height)
}

// Resize returns img at r.Width x r.Height as opaque 8-bit RGB (alpha is
// composited onto black). It reads img in its own colour model, so a JPEG's
// YCbCr planes are converted once, while resampling.
func (r Resizer) Resize(img image.Image) *image.NRGBA {
	b := img.Bounds()
	var out *image.NRGBA
	switch {
	case r.Mode == ResizeCrop:
		// torchvision: the shorter side becomes s, the longer side
		// int(s * long / short); the crop's top-left is rounded.
		s := (r.Width*256 + 112) / 224
		if r.Height < r.Width {
			s = (r.Height*256 + 112) / 224
		}
		w, h := b.Dx(), b.Dy()
		if w <= h {
			w, h = s, s*h/w
		} else {
			w, h = s*w/h, s
		}
		if w < r.Width {
			w = r.Width
		}
		if h < r.Height {
			h = r.Height
		}
		scaled := imaging.Resize(img, w, h, r.Filter.imaging())
		x0 := int(roundHalfEven(float64(w-r.Width) / 2))
		y0 := int(roundHalfEven(float64(h-r.Height) / 2))
		out = imaging.Crop(scaled, image.Rect(x0, y0, x0+r.Width, y0+r.Height))
	case b.Dx() == r.Width && b.Dy() == r.Height:
		out = imaging.Clone(img)
	default:
		out = imaging.Resize(img, r.Width, r.Height, r.Filter.imaging())
	}
	if !opaque(img.ColorModel()) {
		flattenAlpha(out)
	}
	return out
}

// roundHalfEven is Python's round(), which torchvision's CenterCrop uses.
func roundHalfEven(x float64) float64 {
	t := float64(int64(x))
	if x-t == 0.5 && int64(t)%2 == 0 {
		return t
	}
	if x-t >= 0.5 {
		return t + 1
	}
	return t
}

package dataset

import (
	"fmt"
	"image"
	"strings"

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

// Resizer brings decoded images to a model's input size.
type Resizer struct {
	Width, Height int
	Mode          ResizeMode
	Filter        Filter
	// Augment, when set, makes an augmented copy (a training-time
	// augmentation), cached apart from the image itself.
	Augment Augment
}

// Spec names everything about the resize that changes the pixels; caches key
// embeddings by it together with the image bytes.
func (r Resizer) Spec() string {
	s := fmt.Sprintf("%s/%s/%dx%d", r.Mode, r.Filter, r.Width, r.Height)
	if r.Augment != NoAugment {
		s += "+" + r.Augment.String()
	}
	return s
}

// PixelSpec is everything that decides the pixels a model sees: the resize
// and the JPEG decoder. Caches key embeddings by it together with the image
// bytes, and heads record it.
type PixelSpec struct {
	Resizer
	Decoder Decoder
}

// String writes the specification: "crop/nearest/224x224", with
// "/turbojpeg" at the end when that decoder makes the pixels.
func (p PixelSpec) String() string {
	if p.Decoder == TurboJPEG {
		return p.Resizer.Spec() + "/" + p.Decoder.String()
	}
	return p.Resizer.Spec()
}

// ParsePixelSpec reads what PixelSpec.String writes.
func ParsePixelSpec(s string) (PixelSpec, error) {
	parts := strings.Split(s, "/")
	bad := fmt.Errorf("pixel specification %q: want mode/filter/WxH[/decoder], e.g. stretch/bilinear/224x224", s)
	if len(parts) < 3 || len(parts) > 4 {
		return PixelSpec{}, bad
	}
	var p PixelSpec
	var err error
	if p.Mode, err = ParseResizeMode(parts[0]); err != nil {
		return PixelSpec{}, bad
	}
	if p.Filter, err = ParseFilter(parts[1]); err != nil {
		return PixelSpec{}, bad
	}
	size, aug, augmented := strings.Cut(parts[2], "+")
	if _, err := fmt.Sscanf(size, "%dx%d", &p.Width, &p.Height); err != nil || p.Width < 1 || p.Height < 1 || fmt.Sprintf("%dx%d", p.Width, p.Height) != size {
		return PixelSpec{}, bad
	}
	if augmented {
		if p.Augment, err = ParseAugment(aug); err != nil {
			return PixelSpec{}, bad
		}
	}
	if len(parts) == 4 {
		if parts[3] != TurboJPEG.String() {
			return PixelSpec{}, bad
		}
		p.Decoder = TurboJPEG
	}
	return p, nil
}

// shorterSide is the side crop mode scales the shorter side to: 256/224 of
// the input size, rounded (256 for 224).
func (r Resizer) shorterSide() int {
	return (min(r.Width, r.Height)*256 + 112) / 224
}

// need returns the smallest source size that Resize can bring to r without
// upscaling, for a w x h image: the input size for stretch, a shorter side
// of shorterSide for crop.
func (r Resizer) need(w, h int) (int, int) {
	if r.Mode != ResizeCrop {
		return r.Width, r.Height
	}
	if w <= h {
		return r.shorterSide(), 0
	}
	return 0, r.shorterSide()
}

// Resize returns img at r.Width x r.Height as opaque 8-bit RGB. Transparent
// pixels are composited onto black first, then resampled in float32 with one
// rounding at the end; for crop mode only the crop is computed.
func (r Resizer) Resize(img image.Image) *image.NRGBA {
	if r.Augment != NoAugment {
		a := r.Augment
		r.Augment = NoAugment
		return a.after(r.Resize(a.before(img)))
	}
	src := toNRGBA(img)
	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	dw, dh, x0, y0 := r.Width, r.Height, 0, 0
	if r.Mode == ResizeCrop {
		// torchvision: the shorter side becomes s, the longer side
		// int(s * long / short); the crop's top-left is rounded half to
		// even, as Python's round.
		s := r.shorterSide()
		if w <= h {
			dw, dh = s, s*h/w
		} else {
			dw, dh = s*w/h, s
		}
		dw, dh = max(dw, r.Width), max(dh, r.Height)
		x0 = int(roundHalfEven(float64(dw-r.Width) / 2))
		y0 = int(roundHalfEven(float64(dh-r.Height) / 2))
	}
	if dw == w && dh == h && x0 == 0 && y0 == 0 && r.Width == w && r.Height == h {
		if src == img {
			return imaging.Clone(src)
		}
		return src
	}
	if r.Filter == Nearest {
		return nearestRGB(src, dw, dh, x0, y0, r.Width, r.Height)
	}
	return resampleRGB(src, dw, dh, x0, y0, r.Width, r.Height)
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

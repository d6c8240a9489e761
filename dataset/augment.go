package dataset

import (
	"fmt"
	"image"
	"strings"
)

// Augment is a training-time augmentation applied around the resize. An
// augmented copy is one more image to the cache: its Resizer's Spec, and so
// its cache key, names the augmentation.
type Augment int

const (
	// NoAugment leaves the image as it is.
	NoAugment Augment = iota
	// HFlip mirrors the image left to right (after the resize, which is
	// symmetric, so that it costs 224² pixel moves, not a copy of the
	// decoded image).
	HFlip
	// Crop90 keeps the central 90% of each side before the resize.
	Crop90
)

// Augments lists the augmentations by name.
var Augments = []Augment{HFlip, Crop90}

func (a Augment) String() string {
	switch a {
	case HFlip:
		return "hflip"
	case Crop90:
		return "crop10"
	}
	return "none"
}

// ParseAugment reads "hflip" or "crop10" (a centre crop that drops 10% of
// each side's length: 90% is kept).
func ParseAugment(s string) (Augment, error) {
	for _, a := range Augments {
		if s == a.String() {
			return a, nil
		}
	}
	return NoAugment, fmt.Errorf("unknown augmentation %q: want hflip or crop10", s)
}

// ParseAugments reads a comma-separated list.
func ParseAugments(s string) ([]Augment, error) {
	var out []Augment
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		a, err := ParseAugment(part)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// before applies the part of the augmentation that comes before the resize.
func (a Augment) before(img image.Image) image.Image {
	if a != Crop90 {
		return img
	}
	b := img.Bounds()
	w, h := b.Dx()*9/10, b.Dy()*9/10
	if w < 1 || h < 1 {
		return img
	}
	r := image.Rect(0, 0, w, h).Add(b.Min).Add(image.Pt((b.Dx()-w)/2, (b.Dy()-h)/2))
	if s, ok := img.(interface {
		SubImage(image.Rectangle) image.Image
	}); ok {
		return s.SubImage(r)
	}
	return img
}

// after applies the part that comes after it, in place.
func (a Augment) after(img *image.NRGBA) *image.NRGBA {
	if a != HFlip {
		return img
	}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		row := img.Pix[(y-b.Min.Y)*img.Stride : (y-b.Min.Y)*img.Stride+4*b.Dx()]
		for i, j := 0, len(row)-4; i < j; i, j = i+4, j-4 {
			for k := 0; k < 4; k++ {
				row[i+k], row[j+k] = row[j+k], row[i+k]
			}
		}
	}
	return img
}

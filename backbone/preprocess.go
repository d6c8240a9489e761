package backbone

import (
	"fmt"
	"image"
)

// Preprocess maps 8-bit RGB pixels to the float values a backbone was trained
// on. For channel c and pixel value x in [0, 255] the input value is
//
//	(x*Scale - Mean[c]) / Std[c]
//
// computed in float32.
type Preprocess struct {
	// Name identifies the preset in flags, caches and reports.
	Name  string
	Scale float32
	Mean  [3]float32
	Std   [3]float32
}

// The presets. Keras is tf.keras.applications.mobilenet_v2.preprocess_input
// (x/127.5 - 1, range [-1, 1]); Torch is torchvision's ToTensor followed by
// Normalize with the ImageNet mean and standard deviation; Raw is x/255.
var (
	Keras = Preprocess{Name: "keras", Scale: 1 / 127.5, Mean: [3]float32{1, 1, 1}, Std: [3]float32{1, 1, 1}}
	Torch = Preprocess{Name: "torch", Scale: 1 / 255.0, Mean: [3]float32{0.485, 0.456, 0.406}, Std: [3]float32{0.229, 0.224, 0.225}}
	Raw   = Preprocess{Name: "raw", Scale: 1 / 255.0, Mean: [3]float32{0, 0, 0}, Std: [3]float32{1, 1, 1}}
)

// Presets lists the presets by name.
var Presets = []Preprocess{Keras, Torch, Raw}

// ParsePreprocess returns the preset called name.
func ParsePreprocess(name string) (Preprocess, error) {
	for _, p := range Presets {
		if p.Name == name {
			return p, nil
		}
	}
	return Preprocess{}, fmt.Errorf("unknown preprocessing %q: want keras, torch or raw", name)
}

// Table returns, for each channel, the input value of every 8-bit pixel
// value. Filling a tensor through the table costs one load per value.
func (p Preprocess) Table() [3][256]float32 {
	var t [3][256]float32
	for c := 0; c < 3; c++ {
		for x := 0; x < 256; x++ {
			// The conversions round each step to float32 and forbid
			// fused multiply-add, so the values equal those of an ONNX
			// Mul, Sub, Div chain (see models.Export).
			t[c][x] = float32(float32(float32(x)*p.Scale)-p.Mean[c]) / p.Std[c]
		}
	}
	return t
}

// Filler writes images into float tensors with one preset and layout. It
// holds the preset's lookup table, so one Filler serves a whole extraction.
type Filler struct {
	Layout Layout
	table  [3][256]float32
}

// NewFiller returns a Filler for p and layout l (NCHW or NHWC).
func NewFiller(p Preprocess, l Layout) *Filler {
	if l != NCHW && l != NHWC {
		panic("backbone: NewFiller needs NCHW or NHWC")
	}
	return &Filler{Layout: l, table: p.Table()}
}

// Fill writes img into dst, which must hold exactly 3*W*H values for the
// image's bounds. The alpha channel is ignored: dataset.Resizer.Resize,
// which makes the images that reach this point, composites transparent
// pixels onto black and leaves every pixel opaque.
func (f *Filler) Fill(dst []float32, img *image.NRGBA) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if len(dst) != 3*w*h {
		panic(fmt.Sprintf("backbone: Fill: dst has %d values, image needs %d", len(dst), 3*w*h))
	}
	t := &f.table
	plane := w * h
	for y := 0; y < h; y++ {
		row := img.Pix[y*img.Stride : y*img.Stride+4*w]
		if f.Layout == NHWC {
			out := dst[3*y*w : 3*(y+1)*w]
			for x := 0; x < w; x++ {
				px := row[4*x : 4*x+3 : 4*x+3]
				o := out[3*x : 3*x+3 : 3*x+3]
				o[0], o[1], o[2] = t[0][px[0]], t[1][px[1]], t[2][px[2]]
			}
			continue
		}
		r := dst[y*w : (y+1)*w]
		g := dst[plane+y*w : plane+(y+1)*w]
		bl := dst[2*plane+y*w : 2*plane+(y+1)*w]
		for x := 0; x < w; x++ {
			px := row[4*x : 4*x+3 : 4*x+3]
			r[x], g[x], bl[x] = t[0][px[0]], t[1][px[1]], t[2][px[2]]
		}
	}
}

// FillBatch writes imgs one after the other into dst, which must hold
// exactly their values: a batch for Backbone.Run and the classifiers.
func (f *Filler) FillBatch(dst []float32, imgs []*image.NRGBA) {
	if len(imgs) == 0 {
		return
	}
	per := len(dst) / len(imgs)
	for i, img := range imgs {
		f.Fill(dst[i*per:(i+1)*per], img)
	}
}

// Pixels is the identity preset: float pixel values in [0, 255], the input
// of classifiers exported with float raw-pixel input.
var Pixels = Preprocess{Name: "pixels", Scale: 1, Std: [3]float32{1, 1, 1}}

// FillUint8 writes img's 8-bit RGB values into dst (3*W*H bytes) in layout
// l, for classifiers that take raw uint8 pixels.
func FillUint8(dst []uint8, img *image.NRGBA, l Layout) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if len(dst) != 3*w*h {
		panic(fmt.Sprintf("backbone: FillUint8: dst has %d values, image needs %d", len(dst), 3*w*h))
	}
	plane := w * h
	for y := 0; y < h; y++ {
		row := img.Pix[y*img.Stride : y*img.Stride+4*w]
		for x := 0; x < w; x++ {
			px := row[4*x : 4*x+3 : 4*x+3]
			if l == NHWC {
				o := 3 * (y*w + x)
				dst[o], dst[o+1], dst[o+2] = px[0], px[1], px[2]
			} else {
				o := y*w + x
				dst[o], dst[plane+o], dst[2*plane+o] = px[0], px[1], px[2]
			}
		}
	}
}

package dataset

import (
	"image"
	"math"
	"sync"

	"github.com/disintegration/imaging"
)

// taps are the source indices and weights of one output sample of a
// separable resampling filter.
type taps struct {
	start   int
	weights []float32
}

// triangleTaps computes, for the outputs [from, to) of resampling n source
// samples to out samples, the weights of a triangle (bilinear) filter whose
// support widens with the reduction factor, so that downscaling averages
// every source sample (antialiasing), as PIL's BILINEAR and imaging's Linear
// do. Weights are normalised to sum to 1.
func triangleTaps(n, out, from, to int) []taps {
	scale := float64(n) / float64(out)
	support := math.Max(scale, 1)
	t := make([]taps, 0, to-from)
	for i := from; i < to; i++ {
		centre := (float64(i)+0.5)*scale - 0.5
		// Samples at exactly ±support weigh 0: leave them out.
		lo := max(0, int(math.Floor(centre-support))+1)
		hi := min(n-1, int(math.Ceil(centre+support))-1)
		if lo > hi { // only at the edges, for an upscaled last sample
			lo, hi = min(max(0, int(math.Round(centre))), n-1), min(max(0, int(math.Round(centre))), n-1)
		}
		w := make([]float32, 0, hi-lo+1)
		var sum float64
		for j := lo; j <= hi; j++ {
			v := 1 - math.Abs(float64(j)-centre)/support
			if v < 0 {
				v = 0
			}
			w = append(w, float32(v))
			sum += v
		}
		if sum == 0 { // a single source sample far from the centre
			w[len(w)/2], sum = 1, 1
		}
		for k := range w {
			w[k] = float32(float64(w[k]) / sum)
		}
		t = append(t, taps{start: lo, weights: w})
	}
	return t
}

// scratch holds the float rows of the horizontal pass between calls: they
// are as large as the image and would otherwise be garbage per image.
var scratch = sync.Pool{New: func() any { return new([]float32) }}

// flatTaps lays taps out for the inner loops: k weights per output (the
// longest filter; shorter ones are padded with zero weights), starting at
// source sample start[i], clamped so that all k stay inside the source.
type flatTaps struct {
	k       int
	start   []int
	weights []float32
}

func flatten(t []taps, n int) flatTaps {
	k := 0
	for _, x := range t {
		k = max(k, len(x.weights))
	}
	k = min(k, n)
	f := flatTaps{k: k, start: make([]int, len(t)), weights: make([]float32, len(t)*k)}
	for i, x := range t {
		s := min(x.start, n-k)
		f.start[i] = s
		for j, w := range x.weights {
			f.weights[i*k+x.start-s+j] = w
		}
	}
	return f
}

// resampleRGB resizes the opaque RGB content of src to a virtual dw x dh
// image and returns its window [x0, x0+w) x [y0, y0+h): the horizontal pass
// runs first into float32 rows, the vertical pass rounds once to 8 bits.
// Only the window's samples are computed, so a centre crop costs the crop.
func resampleRGB(src *image.NRGBA, dw, dh, x0, y0, w, h int) *image.NRGBA {
	sb := src.Bounds()
	sw, sh := sb.Dx(), sb.Dy()
	ht := flatten(triangleTaps(sw, dw, x0, x0+w), sw)
	vt := flatten(triangleTaps(sh, dh, y0, y0+h), sh)
	// Only the source rows the vertical taps touch need a horizontal pass.
	rowLo, rowHi := vt.start[0], vt.start[len(vt.start)-1]+vt.k
	colLo, colHi := ht.start[0], ht.start[len(ht.start)-1]+ht.k
	// The horizontal pass first keeps one float row per source row: for
	// a tall, thin image (1x1,000,000) that is gigabytes for a 224x224
	// output. The vertical pass first then costs a small fraction, so it
	// is taken when it does less than half the work; both orders give the
	// same pixels up to float rounding.
	hFirst := int64(rowHi-rowLo)*int64(w)*int64(ht.k) + int64(h)*int64(w)*int64(vt.k)
	vFirst := int64(h)*int64(colHi-colLo)*int64(vt.k) + int64(h)*int64(w)*int64(ht.k)
	if 2*vFirst < hFirst {
		return resampleColumnsFirst(src, ht, vt, colLo, colHi, w, h)
	}
	stride := 3 * w
	buf := scratch.Get().(*[]float32)
	defer scratch.Put(buf)
	if need := (rowHi-rowLo)*stride + stride; cap(*buf) < need {
		*buf = make([]float32, need)
	}
	tmp := (*buf)[:(rowHi-rowLo)*stride]
	acc := (*buf)[(rowHi-rowLo)*stride : (rowHi-rowLo+1)*stride]
	hk := ht.k
	for y := rowLo; y < rowHi; y++ {
		row := src.Pix[y*src.Stride : y*src.Stride+4*sw]
		o := tmp[(y-rowLo)*stride : (y-rowLo+1)*stride]
		for x := 0; x < w; x++ {
			p := row[4*ht.start[x] : 4*(ht.start[x]+hk)]
			wt := ht.weights[x*hk : (x+1)*hk]
			var r, g, b float32
			for k := range wt {
				c := wt[k]
				q := p[4*k : 4*k+3 : 4*k+3]
				r += c * float32(q[0])
				g += c * float32(q[1])
				b += c * float32(q[2])
			}
			o[3*x], o[3*x+1], o[3*x+2] = r, g, b
		}
	}
	out := image.NewNRGBA(image.Rect(0, 0, w, h))
	vk := vt.k
	for y := 0; y < h; y++ {
		wt := vt.weights[y*vk : (y+1)*vk]
		base := (vt.start[y] - rowLo) * stride
		in := tmp[base : base+stride]
		c := wt[0]
		for i, v := range in {
			acc[i] = c * v
		}
		for k := 1; k < vk; k++ {
			c := wt[k]
			if c == 0 {
				continue
			}
			in := tmp[base+k*stride : base+(k+1)*stride]
			for i, v := range in {
				acc[i] += c * v
			}
		}
		o := out.Pix[y*out.Stride : y*out.Stride+4*w]
		for x := 0; x < w; x++ {
			a := acc[3*x : 3*x+3 : 3*x+3]
			q := o[4*x : 4*x+4 : 4*x+4]
			q[0], q[1], q[2], q[3] = round8(a[0]), round8(a[1]), round8(a[2]), 255
		}
	}
	return out
}

// resampleColumnsFirst is resampleRGB's vertical pass first: each output
// row is filtered from the source rows under it across the columns the
// horizontal taps touch, then filtered horizontally, so memory and work
// follow the output size, not the source height.
func resampleColumnsFirst(src *image.NRGBA, ht, vt flatTaps, colLo, colHi, w, h int) *image.NRGBA {
	cols := colHi - colLo
	row := make([]float32, 3*cols)
	out := image.NewNRGBA(image.Rect(0, 0, w, h))
	hk, vk := ht.k, vt.k
	for y := 0; y < h; y++ {
		clear(row)
		wt := vt.weights[y*vk : (y+1)*vk]
		for k, c := range wt {
			if c == 0 {
				continue
			}
			sy := vt.start[y] + k
			p := src.Pix[sy*src.Stride+4*colLo : sy*src.Stride+4*colHi]
			for x := 0; x < cols; x++ {
				q := p[4*x : 4*x+3 : 4*x+3]
				row[3*x] += c * float32(q[0])
				row[3*x+1] += c * float32(q[1])
				row[3*x+2] += c * float32(q[2])
			}
		}
		o := out.Pix[y*out.Stride : y*out.Stride+4*w]
		for x := 0; x < w; x++ {
			in := row[3*(ht.start[x]-colLo) : 3*(ht.start[x]-colLo+hk)]
			wt := ht.weights[x*hk : (x+1)*hk]
			var r, g, b float32
			for k, c := range wt {
				r += c * in[3*k]
				g += c * in[3*k+1]
				b += c * in[3*k+2]
			}
			q := o[4*x : 4*x+4 : 4*x+4]
			q[0], q[1], q[2], q[3] = round8(r), round8(g), round8(b), 255
		}
	}
	return out
}

func round8(v float32) uint8 {
	switch {
	case v <= 0:
		return 0
	case v >= 255:
		return 255
	}
	return uint8(v + 0.5)
}

// nearestRGB picks, for each output pixel of the virtual dw x dh image's
// window, the source pixel under its centre, as PIL's NEAREST computes it
// (see pilNearest).
func nearestRGB(src *image.NRGBA, dw, dh, x0, y0, w, h int) *image.NRGBA {
	sb := src.Bounds()
	sw, sh := sb.Dx(), sb.Dy()
	out := image.NewNRGBA(image.Rect(0, 0, w, h))
	xs := pilNearest(sw, dw, x0, x0+w)
	ys := pilNearest(sh, dh, y0, y0+h)
	for y, sy := range ys {
		row := src.Pix[sy*src.Stride:]
		o := out.Pix[y*out.Stride:]
		for x, sx := range xs {
			o[4*x], o[4*x+1], o[4*x+2], o[4*x+3] = row[4*sx], row[4*sx+1], row[4*sx+2], 255
		}
	}
	return out
}

// pilNearest returns the source index of the outputs [from, to) of
// resampling n samples to out: floor((i+0.5)·n/out), accumulated in float64
// from the first output the way Pillow's ImagingScaleAffine does, so that
// positions falling exactly on a boundary round as PIL rounds them (Keras'
// load_img is PIL). Windows far into a huge virtual image (a crop of a
// 1×10,000,000 image) compute the position directly instead.
func pilNearest(n, out, from, to int) []int {
	scale := float64(n) / float64(out)
	idx := make([]int, to-from)
	if to > 1<<20 {
		for i := range idx {
			idx[i] = min(n-1, int((float64(from+i)+0.5)*scale))
		}
		return idx
	}
	pos := scale * 0.5
	for i := 0; i < to; i++ {
		if i >= from {
			idx[i-from] = min(n-1, int(pos))
		}
		pos += scale
	}
	return idx
}

// toNRGBA returns img as opaque 8-bit RGB, composited onto black, sharing
// memory when img already is an NRGBA with Pix starting at its origin.
func toNRGBA(img image.Image) *image.NRGBA {
	if j, ok := img.(jpegRGB); ok && j.Rect.Min == (image.Point{}) {
		return j.NRGBA // decoded for this resize alone: no copy needed
	}
	n, ok := img.(*image.NRGBA)
	if !ok || n.Rect.Min != (image.Point{}) {
		n = imaging.Clone(img)
	}
	if !opaque(img.ColorModel()) && !allOpaque(n) {
		if ok {
			n = imaging.Clone(n) // never write into the caller's image
		}
		flattenAlpha(n)
	}
	return n
}

func allOpaque(img *image.NRGBA) bool {
	b := img.Bounds()
	for y := 0; y < b.Dy(); y++ {
		row := img.Pix[y*img.Stride : y*img.Stride+4*b.Dx()]
		for x := 3; x < len(row); x += 4 {
			if row[x] != 255 {
				return false
			}
		}
	}
	return true
}

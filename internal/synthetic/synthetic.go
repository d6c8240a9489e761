// Package synthetic draws labelled image sets for demos, tests and
// benchmarks, so that none of them needs downloaded photos.
//
// Each class has its own look: a hue, a stripe direction and frequency, and
// a blob, each varied per image by a seeded generator, with noise on top.
// The classes are easy to tell apart for a network that sees colour and
// texture, and no two images are equal.
package synthetic

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
)

// Layout is how files are named.
type Layout int

const (
	// Prefixed writes dir/<first letter of class><NN>.jpg, as the
	// tutorial's f01.jpg..m20.jpg.
	Prefixed Layout = iota
	// Folders writes dir/<class>/<class>_NNNN.jpg, one folder per class.
	Folders
)

// Options describe a set.
type Options struct {
	Classes  []string
	PerClass int
	// Width and Height of every image; with MaxSide set, each image gets a
	// random size with sides between MinSide and MaxSide instead.
	Width, Height    int
	MinSide, MaxSide int
	Layout           Layout
	// PNG writes PNG files instead of JPEG (quality 90).
	PNG  bool
	Seed uint64
}

// Write draws the set into dir and returns the files' paths, class by class.
func Write(dir string, o Options) ([]string, error) {
	if len(o.Classes) == 0 || o.PerClass < 1 {
		return nil, fmt.Errorf("synthetic: need classes and images per class")
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x1234))
	ext := ".jpg"
	if o.PNG {
		ext = ".png"
	}
	var paths []string
	for c, class := range o.Classes {
		for i := 1; i <= o.PerClass; i++ {
			var p string
			if o.Layout == Folders {
				p = filepath.Join(dir, class, fmt.Sprintf("%s_%04d%s", class, i, ext))
			} else {
				p = filepath.Join(dir, fmt.Sprintf("%c%02d%s", class[0], i, ext))
			}
			w, h := o.Width, o.Height
			if o.MaxSide > 0 {
				w = o.MinSide + rng.IntN(o.MaxSide-o.MinSide+1)
				h = o.MinSide + rng.IntN(o.MaxSide-o.MinSide+1)
			}
			b, err := Encode(Draw(c, len(o.Classes), w, h, rng), o.PNG)
			if err != nil {
				return nil, err
			}
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return nil, err
			}
			if err := os.WriteFile(p, b, 0o644); err != nil {
				return nil, err
			}
			paths = append(paths, p)
		}
	}
	return paths, nil
}

// Draw returns one w×h image of class c out of n.
func Draw(c, n, w, h int, rng *rand.Rand) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	hue := float64(c)/float64(n) + rng.Float64()*0.08
	freq := (3 + 4*float64(c)) * (0.8 + 0.4*rng.Float64())
	angle := math.Pi * (float64(c)/float64(n) + 0.1*rng.Float64())
	dx, dy := math.Cos(angle), math.Sin(angle)
	bx, by := rng.Float64()*float64(w), rng.Float64()*float64(h)
	br := (0.15 + 0.2*rng.Float64()) * float64(min(w, h))
	base := hsv(hue, 0.6, 0.85)
	dark := hsv(hue+0.5, 0.5, 0.3)
	for y := 0; y < h; y++ {
		row := img.Pix[y*img.Stride:]
		for x := 0; x < w; x++ {
			t := 0.5 + 0.5*math.Sin(2*math.Pi*freq*(float64(x)*dx+float64(y)*dy)/float64(max(w, h)))
			col := mix(dark, base, t)
			if d := math.Hypot(float64(x)-bx, float64(y)-by); d < br {
				col = mix(col, [3]float64{255, 255, 255}, 0.6*(1-d/br))
			}
			noise := rng.NormFloat64() * 8
			row[4*x] = clamp8(col[0] + noise)
			row[4*x+1] = clamp8(col[1] + noise)
			row[4*x+2] = clamp8(col[2] + noise)
			row[4*x+3] = 255
		}
	}
	return img
}

// Encode writes img as JPEG (quality 90) or PNG.
func Encode(img image.Image, asPNG bool) ([]byte, error) {
	var b bytes.Buffer
	var err error
	if asPNG {
		err = png.Encode(&b, img)
	} else {
		err = jpeg.Encode(&b, img, &jpeg.Options{Quality: 90})
	}
	return b.Bytes(), err
}

func hsv(h, s, v float64) [3]float64 {
	h = math.Mod(h, 1) * 6
	i := math.Floor(h)
	f := h - i
	p, q, t := v*(1-s), v*(1-s*f), v*(1-s*(1-f))
	var r, g, b float64
	switch int(i) {
	case 0:
		r, g, b = v, t, p
	case 1:
		r, g, b = q, v, p
	case 2:
		r, g, b = p, v, t
	case 3:
		r, g, b = p, q, v
	case 4:
		r, g, b = t, p, v
	default:
		r, g, b = v, p, q
	}
	return [3]float64{255 * r, 255 * g, 255 * b}
}

func mix(a, b [3]float64, t float64) [3]float64 {
	return [3]float64{a[0] + (b[0]-a[0])*t, a[1] + (b[1]-a[1])*t, a[2] + (b[2]-a[2])*t}
}

func clamp8(v float64) uint8 {
	return uint8(math.Max(0, math.Min(255, math.Round(v))))
}

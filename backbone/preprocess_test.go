package backbone_test

import (
	"image"
	"image/color"
	"math"
	"testing"

	"github.com/transfer-go/transfer/backbone"
)

// twoByOne is a 2x1 image: a pure red pixel, then (0, 128, 255).
func twoByOne() *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, 2, 1))
	img.SetNRGBA(0, 0, color.NRGBA{255, 0, 0, 255})
	img.SetNRGBA(1, 0, color.NRGBA{0, 128, 255, 255})
	return img
}

func TestFillPresets(t *testing.T) {
	cases := []struct {
		p      backbone.Preprocess
		layout backbone.Layout
		want   []float32
	}{
		// keras: x/127.5 - 1
		{backbone.Keras, backbone.NHWC, []float32{1, -1, -1, -1, 0.003921628, 1}},
		{backbone.Keras, backbone.NCHW, []float32{1, -1, -1, 0.003921628, -1, 1}},
		// torch: (x/255 - mean) / std, ImageNet statistics
		{backbone.Torch, backbone.NCHW, []float32{2.2489083, -2.117904, -2.0357141, 0.2051822, -1.8044444, 2.64}},
		// raw: x/255
		{backbone.Raw, backbone.NHWC, []float32{1, 0, 0, 0, 0.5019608, 1}},
	}
	for _, tc := range cases {
		t.Run(tc.p.Name+"/"+tc.layout.String(), func(t *testing.T) {
			got := make([]float32, 6)
			backbone.NewFiller(tc.p, tc.layout).Fill(got, twoByOne())
			for i := range got {
				if math.Abs(float64(got[i]-tc.want[i])) > 1e-6 {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
}

// TestFillSubImage checks that Fill honours a sub-image's bounds and stride.
func TestFillSubImage(t *testing.T) {
	big := image.NewNRGBA(image.Rect(0, 0, 4, 3))
	for y := 0; y < 3; y++ {
		for x := 0; x < 4; x++ {
			big.SetNRGBA(x, y, color.NRGBA{uint8(10*x + y), 0, 0, 255})
		}
	}
	sub := big.SubImage(image.Rect(1, 1, 3, 3)).(*image.NRGBA)
	got := make([]float32, 3*2*2)
	backbone.NewFiller(backbone.Raw, backbone.NCHW).Fill(got, sub)
	want := []float32{11, 21, 12, 22}
	for i, w := range want {
		if math.Abs(float64(got[i]*255-w)) > 1e-4 {
			t.Fatalf("red plane %v, want %v/255", got[:4], want)
		}
	}
}

func TestParse(t *testing.T) {
	if p, err := backbone.ParsePreprocess("torch"); err != nil || p != backbone.Torch {
		t.Errorf("ParsePreprocess(torch) = %v, %v", p, err)
	}
	if _, err := backbone.ParsePreprocess("caffe"); err == nil {
		t.Error("ParsePreprocess accepted caffe")
	}
	devices := []struct {
		in   string
		want backbone.Device
		ok   bool
	}{
		{"cpu", backbone.CPU, true}, {"", backbone.CPU, true}, {"cuda", backbone.Device{CUDA: true}, true},
		{"cuda:3", backbone.Device{CUDA: true, ID: 3}, true}, {"cuda:x", backbone.CPU, false}, {"cuda:-1", backbone.CPU, false}, {"tpu", backbone.CPU, false},
	}
	for _, d := range devices {
		got, err := backbone.ParseDevice(d.in)
		if (err == nil) != d.ok || got != d.want {
			t.Errorf("ParseDevice(%q) = %v, %v", d.in, got, err)
		}
	}
	if l, err := backbone.ParseLayout("nhwc"); err != nil || l != backbone.NHWC {
		t.Errorf("ParseLayout(nhwc) = %v, %v", l, err)
	}
	if _, err := backbone.ParseLayout("chw"); err == nil {
		t.Error("ParseLayout accepted chw")
	}
}

// TestFillBatch lays the images out one after the other, each as Fill
// writes it.
func TestFillBatch(t *testing.T) {
	a := twoByOne()
	b := image.NewNRGBA(image.Rect(0, 0, 2, 1))
	b.SetNRGBA(0, 0, color.NRGBA{10, 20, 30, 255})
	b.SetNRGBA(1, 0, color.NRGBA{40, 50, 60, 255})
	for _, l := range []backbone.Layout{backbone.NCHW, backbone.NHWC} {
		f := backbone.NewFiller(backbone.Raw, l)
		got := make([]float32, 12)
		f.FillBatch(got, []*image.NRGBA{a, b})
		want := make([]float32, 12)
		f.Fill(want[:6], a)
		f.Fill(want[6:], b)
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%v: value %d is %v, want %v (got %v)", l, i, got[i], want[i], got)
			}
		}
		if l == backbone.NHWC && got[6] != 10.0/255 {
			t.Errorf("NHWC: second image starts with %v, want %v", got[6], 10.0/255)
		}
	}
}

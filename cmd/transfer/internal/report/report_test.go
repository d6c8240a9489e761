package report

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/transfer-go/transfer/head"
)

func readPNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestLearningCurves(t *testing.T) {
	var h head.History
	for e := 1; e <= 5; e++ {
		h.Epochs = append(h.Epochs, head.Epoch{Epoch: e, Loss: 1 / float64(e), Accuracy: float64(e) / 5, ValLoss: 1, ValAccuracy: 0.5, HasVal: true})
	}
	p := filepath.Join(t.TempDir(), "curves.png")
	if err := LearningCurves(p, "test", h); err != nil {
		t.Fatal(err)
	}
	img := readPNG(t, p)
	if b := img.Bounds(); b.Dx() < 600 || b.Dy() < 200 {
		t.Fatalf("image %v", b)
	}
	// Both curve colours appear.
	var train, val bool
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			train = train || (c.R == trainColor.R && c.G == trainColor.G && c.B == trainColor.B)
			val = val || (c.R == valColor.R && c.G == valColor.G && c.B == valColor.B)
		}
	}
	if !train || !val {
		t.Errorf("training curve drawn %v, validation curve drawn %v", train, val)
	}
	if err := LearningCurves(p, "empty", head.History{}); err == nil {
		t.Error("plotted an empty history")
	}
}

func TestConfusionMatrix(t *testing.T) {
	p := filepath.Join(t.TempDir(), "cm.png")
	if err := ConfusionMatrix(p, "cm", [][]int{{9, 1}, {0, 10}}, []string{"cat", "dog"}); err != nil {
		t.Fatal(err)
	}
	img := readPNG(t, p)
	b := img.Bounds()
	// The darkest cell colour of the palette (counts near the maximum)
	// must be present, and so must the lightest (the zero).
	var dark, light bool
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			dark = dark || (c.B > 90 && c.R < 20 && c.G < 60)
			light = light || (c.R == 247 && c.G == 251 && c.B == 255)
		}
	}
	if !dark || !light {
		t.Errorf("dark cell drawn %v, zero cell drawn %v", dark, light)
	}
	if err := ConfusionMatrix(p, "empty", nil, nil); err == nil {
		t.Error("plotted an empty matrix")
	}
}

// TestEpochTicks: epochs are whole numbers, about ten ticks at most.
func TestEpochTicks(t *testing.T) {
	for _, tc := range []struct {
		max  float64
		want string
	}{{5, "0 1 2 3 4 5"}, {20, "0 2 4 6 8 10 12 14 16 18 20"}, {100, "0 10 20 30 40 50 60 70 80 90 100"}, {37, "0 5 10 15 20 25 30 35"}} {
		var got []string
		for _, tk := range (epochTicks{}).Ticks(0, tc.max) {
			got = append(got, tk.Label)
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("0..%v: %v, want %s", tc.max, got, tc.want)
		}
	}
}

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
	// The grid puts true class 0 in the top row (gonum's rows count from
	// the bottom) and predicted classes left to right.
	g := confusionGrid{[][]int{{9, 1}, {0, 10}}}
	for _, tc := range []struct{ c, r, want int }{{0, 1, 9}, {1, 1, 1}, {0, 0, 0}, {1, 0, 10}} {
		if got := g.Z(tc.c, tc.r); got != float64(tc.want) {
			t.Errorf("Z(%d, %d) = %v, want %d", tc.c, tc.r, got, tc.want)
		}
	}
	// In the picture the diagonal (9 and 10) is dark and the rest light:
	// within the heat map's extent (its bluish pixels), the mean darkness
	// of each quadrant, read at the cells' centres.
	img := readPNG(t, p)
	b := img.Bounds()
	x0, y0, x1, y1 := b.Max.X, b.Max.Y, b.Min.X, b.Min.Y
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			if int(c.B) > int(c.R)+10 { // a palette colour, not text or axes
				x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x), max(y1, y)
			}
		}
	}
	cell := func(col, row int) uint8 { // red channel at the cell's centre: lower is darker
		x := x0 + (2*col+1)*(x1-x0)/4
		y := y0 + (2*row+1)*(y1-y0)/4
		return color.RGBAModel.Convert(img.At(x+(x1-x0)/8, y+(y1-y0)/8)).(color.RGBA).R
	}
	if tl, tr, bl, br := cell(0, 0), cell(1, 0), cell(0, 1), cell(1, 1); !(tl < 60 && br < 60 && tr > 200 && bl > 200) {
		t.Errorf("cell centres' red: top %d %d, bottom %d %d; want the diagonal (9, 10) dark and the rest (1, 0) light", tl, tr, bl, br)
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

func TestErrorsCSV(t *testing.T) {
	p := filepath.Join(t.TempDir(), "errors.csv")
	err := Errors(p, []Mistake{{"a.jpg", "cat", "dog", 0.6}, {"=cmd.jpg", "dog", "cat", 0.9}, {"b.jpg", "cat", "dog", 0.6}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	want := "path,true_class,predicted_class,probability\n'=cmd.jpg,dog,cat,0.900000\na.jpg,cat,dog,0.600000\nb.jpg,cat,dog,0.600000\n"
	if string(b) != want {
		t.Errorf("errors.csv:\n%s\nwant:\n%s", b, want)
	}
}

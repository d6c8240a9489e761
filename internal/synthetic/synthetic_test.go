package synthetic

import (
	"bytes"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	paths, err := Write(dir, Options{Classes: []string{"female", "male"}, PerClass: 3, Width: 40, Height: 30, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"f01.jpg", "f02.jpg", "f03.jpg", "m01.jpg", "m02.jpg", "m03.jpg"}
	for i, p := range paths {
		if filepath.Base(p) != want[i] {
			t.Fatalf("paths %v", paths)
		}
	}
	b, _ := os.ReadFile(paths[0])
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil || img.Bounds().Dx() != 40 || img.Bounds().Dy() != 30 {
		t.Fatalf("f01.jpg: %v, %v", img.Bounds(), err)
	}
	again, _ := Write(t.TempDir(), Options{Classes: []string{"female", "male"}, PerClass: 3, Width: 40, Height: 30, Seed: 1})
	b2, _ := os.ReadFile(again[0])
	if !bytes.Equal(b, b2) {
		t.Error("the same seed drew different images")
	}
	sized, err := Write(t.TempDir(), Options{Classes: []string{"a"}, PerClass: 4, MinSide: 20, MaxSide: 50, Layout: Folders, Seed: 2, PNG: true})
	if err != nil || filepath.Base(filepath.Dir(sized[0])) != "a" || filepath.Ext(sized[0]) != ".png" {
		t.Fatalf("folders layout: %v, %v", sized, err)
	}
}

// TestClassesDiffer checks that the two classes' mean colours are far apart
// over many images, which is what makes the demo learnable.
func TestClassesDiffer(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	mean := func(c int) [3]float64 {
		var m [3]float64
		for n := 0; n < 8; n++ {
			img := Draw(c, 2, 32, 32, rng)
			for i := 0; i < len(img.Pix); i += 4 {
				for k := 0; k < 3; k++ {
					m[k] += float64(img.Pix[i+k]) / (8 * 1024)
				}
			}
		}
		return m
	}
	a, b := mean(0), mean(1)
	dist := math.Sqrt((a[0]-b[0])*(a[0]-b[0]) + (a[1]-b[1])*(a[1]-b[1]) + (a[2]-b[2])*(a[2]-b[2]))
	if dist < 30 {
		t.Errorf("class mean colours %v and %v are only %.1f apart", a, b, dist)
	}
}

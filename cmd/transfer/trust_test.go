//go:build cgo

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/transfer-go/transfer/internal/mobilenet"
	"github.com/transfer-go/transfer/internal/ortest"
	"github.com/transfer-go/transfer/internal/synthetic"
)

// TestDegenerateLabelSets: label sets that cannot train what the user
// meant are refused, or warned of, by name; none is trained on silently.
func TestDegenerateLabelSets(t *testing.T) {
	ortest.Require(t)
	dir := t.TempDir()
	images := folderSet(t, dir, 10)
	smallModel(t, dir, mobilenet.TF2ONNX)
	// The tutorial's naming, for --label-regex.
	if _, err := synthetic.Write(filepath.Join(dir, "cats"), synthetic.Options{Classes: []string{"female", "male"}, PerClass: 6, Width: 40, Height: 30, Seed: 2}); err != nil {
		t.Fatal(err)
	}
	// One class only.
	one := filepath.Join(dir, "one")
	os.MkdirAll(filepath.Join(one, "circles"), 0o755)
	for _, e := range []string{"circles_0001.jpg", "circles_0002.jpg"} {
		b, _ := os.ReadFile(filepath.Join(images, "circles", e))
		os.WriteFile(filepath.Join(one, "circles", e), b, 0o644)
	}
	// A misspelled class folder with one image, beside the real ones.
	three := filepath.Join(dir, "three")
	for _, class := range []string{"circles", "stripes"} {
		os.MkdirAll(filepath.Join(three, class), 0o755)
		entries, _ := os.ReadDir(filepath.Join(images, class))
		for _, e := range entries {
			b, _ := os.ReadFile(filepath.Join(images, class, e.Name()))
			os.WriteFile(filepath.Join(three, class, e.Name()), b, 0o644)
		}
	}
	os.MkdirAll(filepath.Join(three, "circels"), 0o755)
	b, _ := os.ReadFile(filepath.Join(images, "circles", "circles_0003.jpg"))
	os.WriteFile(filepath.Join(three, "circels", "x.jpg"), b, 0o644)
	// A manifest whose header is not "path,label".
	var rows []string
	for _, class := range []string{"circles", "stripes"} {
		for _, n := range []string{"0001", "0002", "0003"} {
			rows = append(rows, "images/"+class+"/"+class+"_"+n+".jpg,"+class)
		}
	}
	os.WriteFile(filepath.Join(dir, "m.csv"), []byte("filename,class\n"+strings.Join(rows, "\n")+"\n"), 0o644)

	model := []string{"--model", "model.onnx", "--epochs", "1"}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"a --classes key matching no file", []string{"--data", "cats", "--label-regex", "^(f|m)", "--classes", "f=female,M=male"}, 2,
			`class "male" (--classes key "M") matches no file; --label-regex "^(f|m)" gave the keys "f" (6 files), "m" (6 files)`},
		{"one class", []string{"--data", "one"}, 2, "only one class has images (circles 2): a classifier needs at least two classes"},
		{"a misspelled folder", []string{"--data", "three"}, 0, `warning: class "circels" has only 1 image (circels 1, circles 10, stripes 10): a misspelled folder or label?`},
		{"more folds than images", []string{"--data", "three", "--cv", "5"}, 2, `class "circels" has 1 image, fewer than 5: --cv 5 puts an image of each class in every fold`},
		{"--cv 20 on 10 per class", []string{"--data", "images", "--cv", "20"}, 2, `class "circles" has 10 images, fewer than 20`},
		{"a split of one image", []string{"--data", "three", "--val-split", "0.2"}, 2, `class "circels" has 1 image, fewer than 2: --val-split needs an image of each class on both sides`},
		{"a header row", []string{"--manifest", "m.csv"}, 0, "6 images, 2 classes (circles 3, stripes 3)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := transfer(t, dir, nil, append(append([]string{"train"}, model...), tc.args...)...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, want %d; stderr:\n%s\nwant %q", r.code, tc.code, r.stderr, tc.want)
			}
		})
	}
}

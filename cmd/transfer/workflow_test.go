//go:build cgo

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/transfer-go/transfer/internal/fixture/mobilenet"
	"github.com/transfer-go/transfer/internal/fixture/ortest"
	"github.com/transfer-go/transfer/internal/fixture/synthetic"
)

// folderSet writes two classes of generated images, one folder each.
func folderSet(t *testing.T, dir string, perClass int) string {
	t.Helper()
	p := filepath.Join(dir, "images")
	if _, err := synthetic.Write(p, synthetic.Options{Classes: []string{"circles", "stripes"}, PerClass: perClass, Width: 64, Height: 48, Layout: synthetic.Folders, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustRun(t *testing.T, dir string, args ...string) result {
	t.Helper()
	r := transfer(t, dir, nil, args...)
	if r.code != 0 {
		t.Fatalf("transfer %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// TestWorkflow runs extract, train, eval, predict and export on generated
// images and a small generated model, as a user would.
func TestWorkflow(t *testing.T) {
	ortest.Require(t)
	dir := t.TempDir()
	folderSet(t, dir, 12)
	smallModel(t, dir, mobilenet.TF2ONNX)
	model := []string{"--model", "model.onnx"}
	data := []string{"--data", "images"}
	args := func(a ...[]string) []string {
		var out []string
		for _, x := range a {
			out = append(out, x...)
		}
		return out
	}

	r := mustRun(t, dir, args([]string{"extract"}, model, data)...)
	if !strings.Contains(r.stderr, "24 images, 2 classes (circles 12, stripes 12)") || !strings.Contains(r.stderr, "24 embedded, 0 from cache, 0 failed") {
		t.Errorf("first extract:\n%s", r.stderr)
	}
	r = mustRun(t, dir, args([]string{"extract"}, model, data)...)
	if !strings.Contains(r.stderr, "0 embedded, 24 from cache, 0 failed") {
		t.Errorf("second extract:\n%s", r.stderr)
	}

	r = mustRun(t, dir, args([]string{"train", "--val-split", "0.25", "--epochs", "30", "--lr", "0.01", "-o", "head.json", "--plot", "curves.png"}, model, data)...)
	if !strings.Contains(r.stdout, "Epoch 30/30 - loss: ") || !strings.Contains(r.stdout, "val_accuracy: ") || !strings.Contains(r.stderr, "0 embedded, 24 from cache") {
		t.Errorf("train:\n%s\n%s", r.stdout, r.stderr)
	}
	for _, f := range []string{"head.json", "curves.png"} {
		if b, err := os.ReadFile(filepath.Join(dir, f)); err != nil || len(b) < 100 {
			t.Errorf("%s: %d bytes, %v", f, len(b), err)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "curves.png")); !strings.HasPrefix(string(b), "\x89PNG") {
		t.Error("curves.png is not a PNG")
	}

	r = mustRun(t, dir, args([]string{"eval", "--head", "head.json", "--json", "-q"}, model, data)...)
	var ev struct {
		Classes   []string
		N         int
		Accuracy  float64
		Confusion [][]int
	}
	if err := json.Unmarshal([]byte(r.stdout), &ev); err != nil {
		t.Fatalf("eval --json: %v\n%s", err, r.stdout)
	}
	if ev.N != 24 || len(ev.Confusion) != 2 || ev.Confusion[0][0]+ev.Confusion[0][1] != 12 || ev.Classes[1] != "stripes" {
		t.Errorf("eval: %+v", ev)
	}
	r = mustRun(t, dir, args([]string{"eval", "--head", "head.json", "--plot", "confusion.png"}, model, data)...)
	if !strings.Contains(r.stdout, "confusion matrix (rows: true class, columns: predicted)") || !strings.Contains(r.stdout, "macro avg") {
		t.Errorf("eval text:\n%s", r.stdout)
	}

	r = mustRun(t, dir, args([]string{"predict", "--head", "head.json", "--format", "json", "-q"}, model, []string{"images"})...)
	var preds []Prediction
	if err := json.Unmarshal([]byte(r.stdout), &preds); err != nil || len(preds) != 24 || len(preds[0].Top) != 2 {
		t.Fatalf("predict --format json: %v\n%s", err, r.stdout)
	}
	r = mustRun(t, dir, args([]string{"predict", "--head", "head.json", "--format", "csv", "-k", "1", "-q"}, model, []string{"images/circles/circles_0001.jpg"})...)
	if lines := strings.Split(strings.TrimSpace(r.stdout), "\n"); len(lines) != 2 || lines[0] != "path,class_1,probability_1,error" {
		t.Errorf("predict --format csv:\n%s", r.stdout)
	}

	r = mustRun(t, dir, args([]string{"export", "--head", "head.json", "-o", "classifier.onnx", "--with-preprocessing"}, model)...)
	if !strings.Contains(r.stdout, "verified on 4 sample images") {
		t.Errorf("export:\n%s", r.stdout)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "classifier.labels.txt")); err != nil || string(b) != "circles\nstripes\n" {
		t.Errorf("classifier.labels.txt: %q, %v", b, err)
	}
	r = mustRun(t, dir, "predict", "--classifier", "classifier.onnx", "--format", "json", "images")
	var viaONNX []Prediction
	if err := json.Unmarshal([]byte(r.stdout), &viaONNX); err != nil || len(viaONNX) != 24 {
		t.Fatalf("predict --classifier: %v\n%s", err, r.stdout)
	}
	for i := range preds {
		a, b := preds[i].Top[0], viaONNX[i].Top[0]
		if a.Class != b.Class || abs(a.Probability-b.Probability) > 1e-5 {
			t.Errorf("%s: head says %v, exported classifier %v", preds[i].Path, a, b)
		}
	}

	r = mustRun(t, dir, "cache", "stats")
	if !strings.Contains(r.stdout, "model.onnx") || !strings.Contains(r.stdout, "stretch/bilinear/32x32") || !strings.Contains(r.stdout, "  24  ") {
		t.Errorf("cache stats:\n%s", r.stdout)
	}
	r = mustRun(t, dir, "cache", "check")
	if !strings.Contains(r.stdout, "24 rows checked, no problems") {
		t.Errorf("cache check:\n%s", r.stdout)
	}
	r = mustRun(t, dir, args([]string{"cache", "export", "-o", "npy", "-q"}, model, data)...)
	for _, f := range []string{"embeddings.npy", "labels.npy", "index.csv"} {
		if _, err := os.Stat(filepath.Join(dir, "npy", f)); err != nil {
			t.Error(err)
		}
	}

	// A head is refused by another backbone, and by another resize mode.
	other := filepath.Join(dir, "other.onnx")
	mobilenet.New(mobilenet.Small(mobilenet.TF2ONNX, 2)).WriteFile(other)
	r = transfer(t, dir, nil, "eval", "--head", "head.json", "--model", "other.onnx", "--data", "images")
	if r.code != 2 || !strings.Contains(r.stderr, "head and backbone do not match") {
		t.Errorf("foreign backbone: exit %d\n%s", r.code, r.stderr)
	}
	r = transfer(t, dir, nil, "eval", "--head", "head.json", "--model", "model.onnx", "--resize", "crop", "--data", "images")
	if r.code != 2 || !strings.Contains(r.stderr, "the head was trained on images resized as stretch") || !strings.Contains(r.stderr, "give only --head") {
		t.Errorf("other resize: exit %d\n%s", r.code, r.stderr)
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/transfer-go/transfer/internal/fixture/mobilenet"
	"github.com/transfer-go/transfer/internal/fixture/ortest"
	"github.com/transfer-go/transfer/internal/fixture/synthetic"
	"github.com/transfer-go/transfer/internal/onnxgraph"
	"github.com/transfer-go/transfer/internal/onnxgraph/onnx"
)

// TestModelsQuantize runs `models quantize` on a generated model and drawn
// photos, then uses the result as any backbone: inspect names its source,
// extract caches its embeddings apart from the float model's.
func TestModelsQuantize(t *testing.T) {
	ortest.Require(t)
	dir := t.TempDir()
	smallModel(t, dir, mobilenet.TF2ONNX)
	if _, err := synthetic.Write(filepath.Join(dir, "photos"), synthetic.Options{Classes: []string{"a", "b"}, PerClass: 12, Width: 48, Height: 40, Seed: 4}); err != nil {
		t.Fatal(err)
	}
	r := transfer(t, dir, nil, "models", "quantize", "-m", "model.onnx", "--calibrate", "photos", "--calibrate-n", "16", "--reduce-range", "-o", "int8.onnx") // random weights: see models.TestQuantizeFlavours
	if r.code != 0 {
		t.Fatalf("quantize: %d\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "calibrating model.onnx on 16 of 24 images (minmax)") ||
		!strings.Contains(r.stdout, "quantised 50 convolutions and 11 additions to int8, the first 2 convolutions kept float (33 Relu/Clip folded into their ranges)") {
		t.Errorf("output:\n%s\n%s", r.stdout, r.stderr)
	}
	m := regexp.MustCompile(`on 8 held-out images: mean ([0-9.]+), min ([0-9.]+)`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("no cosine line in:\n%s", r.stdout)
	}
	if mean, _ := strconv.ParseFloat(m[1], 64); mean < 0.97 {
		t.Errorf("mean cosine %v", mean)
	}
	if st, err := os.Stat(filepath.Join(dir, "int8.onnx")); err != nil || st.Size() == 0 {
		t.Fatalf("int8.onnx: %v", err)
	}

	r = transfer(t, dir, nil, "models", "inspect", "int8.onnx")
	if r.code != 0 || !strings.Contains(r.stdout, "quantized:") || !strings.Contains(r.stdout, "model.onnx (sha256 ") ||
		!strings.Contains(r.stdout, "keras (recorded by models quantize (from model.onnx))") {
		t.Errorf("inspect: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, model := range []string{"model.onnx", "int8.onnx"} {
		if r = transfer(t, dir, nil, "extract", "-m", model, "--data", "photos", "--cache", "cache.db", "--quiet"); r.code != 0 {
			t.Fatalf("extract with %s: %d\n%s", model, r.code, r.stderr)
		}
	}
	r = transfer(t, dir, nil, "cache", "stats", "--cache", "cache.db")
	if n := len(regexp.MustCompile(`(?m)^\w{12}\s+(model|int8)\.onnx .* 24 `).FindAllString(r.stdout, -1)); r.code != 0 || n != 2 {
		t.Errorf("cache stats (want both models' 24 embeddings apart):\n%s%s", r.stdout, r.stderr)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-m", "model.onnx", "-o", "x.onnx"}, "--calibrate is required"},
		{[]string{"-m", "model.onnx", "--calibrate", "photos"}, "--output is required"},
		{[]string{"-m", "model.onnx", "--calibrate", "photos", "--calibrate-n", "0", "-o", "x.onnx"}, "--calibrate-n 0"},
		{[]string{"-m", "model.onnx", "--calibrate", "photos", "--float-convs", "-1", "-o", "x.onnx"}, "--float-convs -1"},
		{[]string{"-m", "model.onnx", "--calibrate", "photos", "--float-convs", "52", "-o", "x.onnx"}, "all 52 convolutions before the embedding"},
		{[]string{"-m", "model.onnx", "--calibrate", "photos", "--method", "kl", "-o", "x.onnx"}, `calibration method "kl": want minmax or percentile`},
		{[]string{"-m", "int8.onnx", "--calibrate", "photos", "-o", "x.onnx"}, "already quantised"},
		{[]string{"-m", "model.onnx", "--calibrate", "absent", "-o", "x.onnx"}, "--calibrate: "},
	} {
		r := transfer(t, dir, nil, append([]string{"models", "quantize"}, tc.args...)...)
		if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("quantize %v: code %d, stderr %q; want it to say %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x.onnx")); !os.IsNotExist(err) {
		t.Errorf("a refused quantize left x.onnx behind (%v)", err)
	}
}

// TestQuantizeHostileInitializers: a model whose convolution weights are
// malformed (a shape whose product overflows, raw data of another length)
// is a bad model, exit 2, named as such; never "a bug".
func TestQuantizeHostileInitializers(t *testing.T) {
	ortest.Require(t)
	dir := t.TempDir()
	smallModel(t, dir, mobilenet.TF2ONNX)
	if _, err := synthetic.Write(filepath.Join(dir, "photos"), synthetic.Options{Classes: []string{"a", "b"}, PerClass: 4, Width: 48, Height: 40, Seed: 4}); err != nil {
		t.Fatal(err)
	}
	for name, edit := range map[string]func(w *onnx.TensorProto){
		"overflow.onnx": func(w *onnx.TensorProto) { w.Dims = []int64{1 << 31, 1 << 31, 1 << 31, 3} },
		"short.onnx":    func(w *onnx.TensorProto) { w.RawData = w.RawData[:len(w.RawData)/2] },
	} {
		m, err := onnxgraph.ReadFile(filepath.Join(dir, "model.onnx"))
		if err != nil {
			t.Fatal(err)
		}
		ix := onnxgraph.NewIndex(m.Proto.GetGraph())
		edited := false
		for _, n := range m.Proto.GetGraph().GetNode() {
			if n.GetOpType() == "Conv" && !edited {
				if w := ix.Initializer(n.GetInput()[1]); w != nil && len(w.GetRawData()) > 0 {
					edit(w)
					edited = true
				}
			}
		}
		if !edited {
			t.Fatal("no Conv weight with raw data to edit")
		}
		b, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, name), b, 0o644)
		r := transfer(t, dir, nil, "models", "quantize", "-m", name, "--calibrate", "photos", "-o", "x.onnx")
		if r.code != exitBadInput || strings.Contains(r.stderr, "bug") {
			t.Errorf("%s: exit %d\n%s", name, r.code, r.stderr)
		}
	}
}

package dataset_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"codeberg.org/sbinet/npyio/npy"

	"github.com/transfer-go/transfer/dataset"
	"github.com/transfer-go/transfer/internal/fixture/ortest"
)

func TestExportNPY(t *testing.T) {
	set := &dataset.Set{Classes: []string{"cat", "dog"}, Items: []dataset.Item{
		{Path: "a.jpg", Label: 1}, {Path: "bad.jpg", Label: 0}, {Path: "c.jpg", Label: 0},
	}}
	vectors := [][]float32{{1, 2, 3}, nil, {4, 5, 6.5}}
	dir := filepath.Join(t.TempDir(), "out")
	n, err := dataset.ExportNPY(dir, set, vectors)
	if err != nil || n != 2 {
		t.Fatalf("wrote %d rows, error %v", n, err)
	}
	f, _ := os.Open(filepath.Join(dir, "embeddings.npy"))
	defer f.Close()
	r, err := npy.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Trim(r.Header.Descr.Type, "'") != "<f4" || len(r.Header.Descr.Shape) != 2 || r.Header.Descr.Shape[0] != 2 || r.Header.Descr.Shape[1] != 3 {
		t.Fatalf("header %+v", r.Header)
	}
	var emb []float32
	if err := r.Read(&emb); err != nil {
		t.Fatal(err)
	}
	if len(emb) != 6 || emb[0] != 1 || emb[5] != 6.5 {
		t.Errorf("embeddings %v", emb)
	}
	lf, _ := os.Open(filepath.Join(dir, "labels.npy"))
	defer lf.Close()
	var labels []int64
	if err := npy.Read(lf, &labels); err != nil || len(labels) != 2 || labels[0] != 1 || labels[1] != 0 {
		t.Errorf("labels %v, %v", labels, err)
	}
	idx, _ := os.ReadFile(filepath.Join(dir, "index.csv"))
	if string(idx) != "path,label,class\na.jpg,1,dog\nc.jpg,0,cat\n" {
		t.Errorf("index.csv:\n%s", idx)
	}
	if !strings.Contains(string(idx), "c.jpg") {
		t.Error("index lacks c.jpg")
	}
}

// TestExportNPYNumpy reads the export with numpy itself, memory-mapped:
// the data is aligned and equal to what was exported (the 2.0 headers
// written before were not padded, so mmap gave misaligned arrays).
func TestExportNPYNumpy(t *testing.T) {
	py := ortest.Python(t, "numpy", "python3-numpy")
	set := &dataset.Set{Classes: []string{"cat", "dog"}}
	var vectors [][]float32
	for i := range 5 {
		set.Items = append(set.Items, dataset.Item{Path: fmt.Sprintf("%d.jpg", i), Label: i%2 - 1})
		vectors = append(vectors, []float32{float32(i), -0.5, float32(i) / 3})
	}
	dir := t.TempDir()
	if _, err := dataset.ExportNPY(dir, set, vectors); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, "-c", `
import numpy as np, sys
e = np.load(sys.argv[1] + "/embeddings.npy", mmap_mode="r")
l = np.load(sys.argv[1] + "/labels.npy", mmap_mode="r")
print(e.flags.aligned, l.flags.aligned, e.dtype, e.shape, l.dtype, list(l))
print(repr(np.asarray(e).tolist()))
`, dir).CombinedOutput()
	if err != nil {
		t.Fatalf("numpy: %v\n%s", err, out)
	}
	want := "True True float32 (5, 3) int64 [-1, 0, -1, 0, -1]\n" +
		"[[0.0, -0.5, 0.0], [1.0, -0.5, 0.3333333432674408], [2.0, -0.5, 0.6666666865348816], [3.0, -0.5, 1.0], [4.0, -0.5, 1.3333333730697632]]\n"
	if string(out) != want {
		t.Errorf("numpy read\n%s\nwant\n%s", out, want)
	}
}

// TestExportNPYRefuses: NaN rows and an empty export are refused before
// anything is written, an earlier export is left whole, and index.csv's
// cells are made safe for spreadsheets.
func TestExportNPYRefuses(t *testing.T) {
	dir := t.TempDir()
	set := &dataset.Set{Classes: []string{"=cls"}, Items: []dataset.Item{{Path: "+cmd f.jpg", Label: 0}, {Path: "\ttab f.jpg", Label: 0}}}
	if _, err := dataset.ExportNPY(dir, set, [][]float32{{1}, {2}}); err != nil {
		t.Fatal(err)
	}
	before := map[string][]byte{}
	for _, n := range []string{"embeddings.npy", "labels.npy", "index.csv"} {
		before[n], _ = os.ReadFile(filepath.Join(dir, n))
	}
	if got := string(before["index.csv"]); got != "path,label,class\n'+cmd f.jpg,0,'=cls\n'\ttab f.jpg,0,'=cls\n" {
		t.Errorf("index.csv %q", got)
	}
	nan := float32(math.NaN())
	if _, err := dataset.ExportNPY(dir, set, [][]float32{{1}, {nan}}); !errors.Is(err, dataset.ErrNotFinite) || !strings.Contains(err.Error(), "tab f.jpg") {
		t.Errorf("NaN export: %v", err)
	}
	if _, err := dataset.ExportNPY(dir, set, [][]float32{nil, nil}); err == nil {
		t.Error("an empty export succeeded")
	}
	es, _ := os.ReadDir(dir)
	if len(es) != 3 {
		t.Errorf("%d files after refused exports, want the 3 of the first", len(es))
	}
	for n, b := range before {
		if now, _ := os.ReadFile(filepath.Join(dir, n)); !bytes.Equal(now, b) {
			t.Errorf("%s changed by a refused export", n)
		}
	}
}

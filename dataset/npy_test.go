package dataset_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"codeberg.org/sbinet/npyio/npy"

	"github.com/transfer-go/transfer/dataset"
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

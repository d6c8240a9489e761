package dataset

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"codeberg.org/sbinet/npyio/npy"
)

// ExportNPY writes the embeddings of set's items into dir as NumPy files that
// numpy.load reads:
//
//	embeddings.npy  float32 [N, D], row i the embedding of item i
//	labels.npy      int64 [N], the class index (-1 for unlabelled items)
//	index.csv       path,label,class: one row per item, in the same order
//
// Items whose vector is nil (failed images) are left out of all three, so
// row i of each file always describes the same image.
func ExportNPY(dir string, set *Set, vectors [][]float32) (int, error) {
	if len(vectors) != len(set.Items) {
		return 0, fmt.Errorf("export: %d vectors for %d items", len(vectors), len(set.Items))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	var emb [][]float32
	var labels []int64
	idx, err := os.Create(filepath.Join(dir, "index.csv"))
	if err != nil {
		return 0, err
	}
	defer idx.Close()
	bw := bufio.NewWriter(idx)
	cw := csv.NewWriter(bw)
	cw.Write([]string{"path", "label", "class"})
	for i, it := range set.Items {
		if vectors[i] == nil {
			continue
		}
		emb = append(emb, vectors[i])
		labels = append(labels, int64(it.Label))
		class := ""
		if it.Label >= 0 && it.Label < len(set.Classes) {
			class = set.Classes[it.Label]
		}
		cw.Write([]string{it.Path, strconv.Itoa(it.Label), class})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return 0, err
	}
	if err := bw.Flush(); err != nil {
		return 0, err
	}
	if len(emb) == 0 {
		return 0, fmt.Errorf("export: no embeddings to write")
	}
	if err := writeNPY(filepath.Join(dir, "embeddings.npy"), emb); err != nil {
		return 0, err
	}
	if err := writeNPY(filepath.Join(dir, "labels.npy"), labels); err != nil {
		return 0, err
	}
	return len(emb), idx.Close()
}

func writeNPY(path string, v any) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	if err := npy.Write(bw, v); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

package dataset

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"github.com/transfer-go/transfer/internal/atomicfile"
	"github.com/transfer-go/transfer/internal/npy"
	"github.com/transfer-go/transfer/internal/safecsv"
)

// ErrNotFinite reports an embedding holding NaN or ±Inf.
var ErrNotFinite = errors.New("the embedding holds NaN or Inf")

// ExportNPY writes the embeddings of set's items into dir as NumPy files that
// numpy.load reads (memory-mapped too: the data is 64-byte aligned):
//
//	embeddings.npy  float32 [N, D], row i the embedding of item i
//	labels.npy      int64 [N], the class index (-1 for unlabelled items)
//	index.csv       path,label,class: one row per item, in the same order
//
// Items whose vector is nil (failed images) are left out of all three, so
// row i of each file always describes the same image. The three files are
// written as a set: under temporary names, flushed to the disk, and only
// then renamed over any earlier export, so that a failure (a full disk)
// leaves the earlier export whole. Vectors holding NaN or Inf are refused
// before anything is written.
func ExportNPY(dir string, set *Set, vectors [][]float32) (int, error) {
	if len(vectors) != len(set.Items) {
		return 0, fmt.Errorf("export: %d vectors for %d items", len(vectors), len(set.Items))
	}
	var emb [][]float32
	var labels []int64
	rows := [][]string{{"path", "label", "class"}}
	for i, it := range set.Items {
		v := vectors[i]
		if v == nil {
			continue
		}
		if len(emb) > 0 && len(v) != len(emb[0]) {
			return 0, fmt.Errorf("export: %s has %d values, %s %d", it.Path, len(v), rows[1][0], len(emb[0]))
		}
		if !finite32(v) {
			return 0, fmt.Errorf("export: %s: %w; run `transfer cache check` and extract it again", it.Path, ErrNotFinite)
		}
		emb = append(emb, v)
		labels = append(labels, int64(it.Label))
		class := ""
		if it.Label >= 0 && it.Label < len(set.Classes) {
			class = set.Classes[it.Label]
		}
		rows = append(rows, []string{it.Path, strconv.Itoa(it.Label), class})
	}
	if len(emb) == 0 {
		return 0, fmt.Errorf("export: no embeddings to write")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	csvBytes, err := safecsv.Encode(rows)
	if err != nil {
		return 0, err
	}
	writers := []func(*bufio.Writer) error{
		func(w *bufio.Writer) error {
			w.Write(npy.Header(npy.Float32, []int{len(emb), len(emb[0])}))
			var b [4]byte
			for _, v := range emb {
				for _, x := range v {
					binary.LittleEndian.PutUint32(b[:], math.Float32bits(x))
					w.Write(b[:])
				}
			}
			return nil
		},
		func(w *bufio.Writer) error {
			w.Write(npy.Header(npy.Int64, []int{len(labels)}))
			var b [8]byte
			for _, l := range labels {
				binary.LittleEndian.PutUint64(b[:], uint64(l))
				w.Write(b[:])
			}
			return nil
		},
		func(w *bufio.Writer) error { _, err := w.Write(csvBytes); return err },
	}
	names := []string{"embeddings.npy", "labels.npy", "index.csv"}
	var files []*atomicfile.File
	abort := func() {
		for _, f := range files {
			f.Abort()
		}
	}
	for i, name := range names {
		f, err := atomicfile.Create(filepath.Join(dir, name), 0o644)
		if err != nil {
			abort()
			return 0, err
		}
		files = append(files, f)
		w := bufio.NewWriterSize(f, 1<<20)
		err = writers[i](w)
		if err == nil {
			err = w.Flush()
		}
		if err == nil {
			err = f.Sync()
		}
		if err != nil {
			abort()
			return 0, fmt.Errorf("export %s: %w", f.Path(), err)
		}
	}
	for _, f := range files {
		if err := f.Commit(); err != nil {
			abort()
			return 0, err
		}
	}
	return len(emb), nil
}

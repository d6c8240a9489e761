package dataset_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/transfer-go/transfer/dataset"
)

// cacheRows returns n rows of dim-value vectors with distinct digests.
func cacheRows(n, dim int) []dataset.Row {
	rows := make([]dataset.Row, n)
	for i := range rows {
		sum := sha256.Sum256([]byte(fmt.Sprint(i)))
		v := make([]float32, dim)
		for j := range v {
			v[j] = float32(i+j) / 1000
		}
		rows[i] = dataset.Row{SHA256: hex.EncodeToString(sum[:]), Path: fmt.Sprintf("/data/%d.jpg", i), Size: 1, MtimeNS: 1, Vector: v}
	}
	return rows
}

// BenchmarkCache writes 100,000 embeddings of 1280 values in batches of 32
// (one transaction each, as extraction does) and reads them back one by one,
// reporting embeddings/s for both.
func BenchmarkCache(b *testing.B) {
	const n, dim = 100000, 1280
	rows := cacheRows(n, dim)
	k := dataset.Key{Fingerprint: "fp", Pixels: "stretch/bilinear/224x224"}
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		c, err := dataset.OpenCache(filepath.Join(b.TempDir(), "cache.db"))
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		for s := 0; s < n; s += 32 {
			if err := c.Put(ctx, k, rows[s:min(s+32, n)]); err != nil {
				b.Fatal(err)
			}
		}
		write := time.Since(start)
		start = time.Now()
		for _, r := range rows {
			if _, ok, err := c.Get(ctx, k, r.SHA256); !ok || err != nil {
				b.Fatal(ok, err)
			}
		}
		read := time.Since(start)
		st, _ := c.Stats(ctx)
		c.Close()
		b.ReportMetric(n/write.Seconds(), "writes/s")
		b.ReportMetric(n/read.Seconds(), "reads/s")
		b.ReportMetric(float64(st.Bytes)/n, "bytes/embedding")
	}
}

// BenchmarkLoadForTraining times what train does before its first epoch on
// 60,000 cached images, in a float32 and a float16 cache: list the set, find every file's embedding through
// the cache (by path record, without reading the files) and collect the
// vectors. Compare with BenchmarkTrainEpoch in package head.
func BenchmarkLoadForTraining(b *testing.B) {
	const n, dim = 60000, 1280
	dir := b.TempDir()
	for c := 0; c < 2; c++ {
		os.MkdirAll(filepath.Join(dir, "data", fmt.Sprint(c)), 0o755)
	}
	for i := 0; i < n; i++ {
		if err := os.WriteFile(filepath.Join(dir, "data", fmt.Sprint(i%2), fmt.Sprintf("%05d.jpg", i)), []byte(fmt.Sprint(i)), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	set, err := dataset.FromFolders(filepath.Join(dir, "data"))
	if err != nil {
		b.Fatal(err)
	}
	for _, prec := range []dataset.Precision{dataset.Float32, dataset.Float16} {
		b.Run(string(prec), func(b *testing.B) {
			f := newFake("fp")
			f.info.Dim = dim
			c, err := dataset.OpenCacheWith(filepath.Join(dir, string(prec)+".db"), dataset.CacheOptions{Precision: prec})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			// Fill the cache as an extraction would have: the fake's vectors are
			// 4 values, so store 1280-value rows under the same digests directly.
			ctx := context.Background()
			k := dataset.CacheKey(f.info, dataset.Resizer{Width: 8, Height: 8}, dataset.GoDecoder)
			var batch []dataset.Row
			for _, it := range set.Items {
				data, _ := os.ReadFile(it.Path)
				sum := sha256.Sum256(data)
				abs, _ := filepath.Abs(it.Path)
				st, _ := os.Stat(it.Path)
				// With the file's identity, as extraction records it, so
				// that loading finds each row by its path record.
				ino, ctime := dataset.FileIdentity(st)
				batch = append(batch, dataset.Row{SHA256: hex.EncodeToString(sum[:]), Path: abs, Size: st.Size(), MtimeNS: st.ModTime().UnixNano(),
					Inode: ino, CtimeNS: ctime, Vector: make([]float32, dim)})
				if len(batch) == 500 {
					c.Put(ctx, k, batch)
					batch = batch[:0]
				}
			}
			c.Put(ctx, k, batch)
			st, _ := c.Stats(ctx)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				s, err := dataset.FromFolders(filepath.Join(dir, "data"))
				if err != nil {
					b.Fatal(err)
				}
				x, err := dataset.Extract(ctx, s, f, c, dataset.ExtractOptions{Resizer: dataset.Resizer{Width: 8, Height: 8}, Collect: true})
				if err != nil || x.Cached != n || f.images.Load() != 0 {
					b.Fatalf("%v: %s", err, x.Summary())
				}
				b.ReportMetric(time.Since(start).Seconds(), "s/load")
				b.ReportMetric(float64(st.Bytes)/n, "bytes/embedding")
			}
		})
	}
}

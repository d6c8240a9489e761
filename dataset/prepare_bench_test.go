package dataset

import (
	"context"
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/transfer-go/transfer/internal/fixture/synthetic"
	"github.com/transfer-go/transfer/internal/turbojpeg"
)

// BenchmarkPrepareFiles times, per image on one core, the stages an
// extraction worker runs on a file it has not cached: read it (into a fresh
// allocation, as ReadFile does, and into a reused buffer, as extraction
// does), hash it, decode and resize it with libjpeg-turbo. The images are
// the JPEGs of $BENCH_PHOTOS (for instance phone photos, to compare with
// scripts/pil-prepare.py on the same folder), else 16 generated 4000x3000
// ones. Run with -benchtime 1x.
func BenchmarkPrepareFiles(b *testing.B) {
	dir := os.Getenv("BENCH_PHOTOS")
	if dir == "" {
		dir = b.TempDir()
		if _, err := synthetic.Write(dir, synthetic.Options{Classes: []string{"a"}, PerClass: 16, Width: 4000, Height: 3000, Layout: synthetic.Folders, Seed: 1}); err != nil {
			b.Fatal(err)
		}
		dir = filepath.Join(dir, "a")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.jpg"))
	if len(files) == 0 {
		b.Fatalf("no .jpg files in %s", dir)
	}
	opts := DecodeOptions{Decoder: TurboJPEG}
	if !turbojpeg.Available() {
		b.Skip("libjpeg-turbo is not installed")
	}
	r := Resizer{Width: 224, Height: 224}
	ctx := context.Background()
	var buf []byte
	for i := 0; i < b.N; i++ {
		var fresh, pooled, hash, prep time.Duration
		for _, f := range files {
			t0 := time.Now()
			if _, err := ReadFile(f, 0); err != nil {
				b.Fatal(err)
			}
			t1 := time.Now()
			data, err := readFile(f, 0, buf)
			if err != nil {
				b.Fatal(err)
			}
			buf = data[:0]
			t2 := time.Now()
			sha256.Sum256(data)
			t3 := time.Now()
			if _, err := Prepare(ctx, data, r, opts); err != nil {
				b.Fatal(err)
			}
			fresh, pooled, hash, prep = fresh+t1.Sub(t0), pooled+t2.Sub(t1), hash+t3.Sub(t2), prep+time.Since(t3)
		}
		ms := func(d time.Duration) float64 { return d.Seconds() * 1000 / float64(len(files)) }
		b.ReportMetric(ms(fresh), "read-fresh-ms")
		b.ReportMetric(ms(pooled), "read-reused-ms")
		b.ReportMetric(ms(hash), "hash-ms")
		b.ReportMetric(ms(prep), "decode+resize-ms")
		b.ReportMetric(ms(pooled+prep), "read+decode+resize-ms")
	}
}

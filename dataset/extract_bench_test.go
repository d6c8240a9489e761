//go:build cgo

package dataset_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/transfer-go/transfer/backbone"
	"github.com/transfer-go/transfer/dataset"
	"github.com/transfer-go/transfer/internal/fixture/mobilenet"
	"github.com/transfer-go/transfer/internal/fixture/ortest"
	"github.com/transfer-go/transfer/internal/fixture/synthetic"
	"github.com/transfer-go/transfer/internal/turbojpeg"
)

// benchModel returns the real Keras MobileNetV2 when ../shared has it, else
// a generated full-size one.
func benchModel(b *testing.B) string {
	if dir := ortest.FindShared(); dir != "" {
		return filepath.Join(dir, "models", "mobilenetv2-keras-nsfwjs.onnx")
	}
	p := filepath.Join(b.TempDir(), "mobilenetv2.onnx")
	if err := mobilenet.New(mobilenet.Config{Flavour: mobilenet.TF2ONNX, Seed: 1}).WriteFile(p); err != nil {
		b.Fatal(err)
	}
	return p
}

// writeJPEGs writes n generated JPEGs into dir: all w x h, or with maxSide
// set, random sizes from 160 to maxSide px per side.
func writeJPEGs(b *testing.B, dir string, n, w, h, maxSide int) *dataset.Set {
	o := synthetic.Options{Classes: []string{"a", "b"}, PerClass: n / 2, Width: w, Height: h, Layout: synthetic.Folders, Seed: 1}
	if maxSide > 0 {
		o.MinSide, o.MaxSide = 160, maxSide
	}
	if _, err := synthetic.Write(dir, o); err != nil {
		b.Fatal(err)
	}
	s, err := dataset.FromFolders(dir)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkExtract measures end-to-end extraction from image files against
// ONNX Runtime alone on pre-made tensors, in the same run: of-ceiling is
// their ratio. prepare-ms is the single-core cost per image of decoding,
// resizing and filling the tensor, and bound the throughput ratio it
// implies on this machine's cores: cores / (cores + ceiling·prepare).
// Run with -benchtime 1x: each iteration extracts the whole set into a
// fresh cache.
func BenchmarkExtract(b *testing.B) {
	ortest.Require(b)
	model := benchModel(b)
	cats := ""
	if dir := ortest.FindShared(); dir != "" {
		cats = filepath.Join(dir, "data", "cats")
	}
	root := b.TempDir()
	sets := []struct {
		name string
		set  func() *dataset.Set
	}{
		{"jpeg224x224-200", func() *dataset.Set { return writeJPEGs(b, filepath.Join(root, "224"), 200, 224, 224, 0) }},
		{"mixed-up-to-1024-2000", func() *dataset.Set { return writeJPEGs(b, filepath.Join(root, "mixed"), 2000, 0, 0, 1024) }},
		// Phone photos: 12 megapixels each, where decoding dominates.
		{"phone4000x3000-32", func() *dataset.Set { return writeJPEGs(b, filepath.Join(root, "phone"), 32, 4000, 3000, 0) }},
	}
	if cats != "" {
		sets = append(sets, struct {
			name string
			set  func() *dataset.Set
		}{"cats400x300-x5", func() *dataset.Set {
			s, err := dataset.FromRegex(cats, "^(f|m)", "f=female,m=male")
			if err != nil {
				b.Fatal(err)
			}
			return s // 40 photos are too few to time: passes below run them five times
		}})
	}
	decoders := []dataset.Decoder{dataset.GoDecoder}
	if turbojpeg.Available() {
		decoders = append(decoders, dataset.TurboJPEG)
	}
	threads, workers := runtime.NumCPU(), runtime.NumCPU()
	if v := os.Getenv("BENCH_THREADS"); v != "" {
		fmt.Sscan(v, &threads)
	}
	if v := os.Getenv("BENCH_WORKERS"); v != "" {
		fmt.Sscan(v, &workers)
	}
	bb, err := backbone.Open(model, backbone.Options{Threads: threads})
	if err != nil {
		b.Fatal(err)
	}
	defer bb.Destroy()
	info := bb.Info()
	batch := 8 // transfer's default on the CPU
	if v := os.Getenv("BENCH_BATCH"); v != "" {
		fmt.Sscan(v, &batch)
	}
	ceiling := ortCeiling(b, bb, batch)
	for _, sc := range sets {
		var set *dataset.Set // made by the first sub-benchmark that needs it
		passes := 1
		if sc.name == "cats400x300-x5" {
			passes = 5
		}
		for _, d := range decoders {
			b.Run(fmt.Sprintf("%s/decoder=%s/batch=%d/threads=%d/workers=%d", sc.name, d, batch, threads, workers), func(b *testing.B) {
				if set == nil {
					set = sc.set()
				}
				r := dataset.Resizer{Width: info.Width, Height: info.Height}
				prep := prepareCost(b, set, r, d, info)
				var elapsed time.Duration
				images := 0
				for i := 0; i < b.N; i++ {
					for p := 0; p < passes; p++ {
						cache, err := dataset.OpenCache(filepath.Join(b.TempDir(), fmt.Sprintf("c%d-%d.db", i, p)))
						if err != nil {
							b.Fatal(err)
						}
						start := time.Now()
						x, err := dataset.Extract(context.Background(), set, bb, cache, dataset.ExtractOptions{
							Batch: batch, Workers: workers, Resizer: r, Decode: dataset.DecodeOptions{Decoder: d}})
						elapsed += time.Since(start)
						cache.Close()
						if err != nil || x.Failed > 0 {
							b.Fatalf("%v, %d failed", err, x.Failed)
						}
						images += x.Embedded
					}
				}
				rate := float64(images) / elapsed.Seconds()
				cores := float64(runtime.NumCPU())
				b.ReportMetric(rate, "images/s")
				b.ReportMetric(ceiling, "ceiling-images/s")
				b.ReportMetric(rate/ceiling, "of-ceiling")
				b.ReportMetric(prep*1000, "prepare-ms")
				b.ReportMetric(cores/(cores+ceiling*prep), "bound")
			})
		}
	}
}

// ortCeiling returns ONNX Runtime's images/s on pre-made batches.
func ortCeiling(b *testing.B, bb *backbone.Backbone, n int) float64 {
	buf := make([]float32, n*bb.Info().InputLen())
	rng := rand.New(rand.NewPCG(1, 1))
	for i := range buf {
		buf[i] = float32(rng.Float64()*2 - 1)
	}
	ctx := context.Background()
	bb.Embed(ctx, buf)
	start, images := time.Now(), 0
	for time.Since(start) < 3*time.Second {
		if _, err := bb.Embed(ctx, buf); err != nil {
			b.Fatal(err)
		}
		images += n
	}
	return float64(images) / time.Since(start).Seconds()
}

// prepareCost returns the seconds per image of reading, decoding, resizing
// and filling, on one goroutine.
func prepareCost(b *testing.B, set *dataset.Set, r dataset.Resizer, d dataset.Decoder, info backbone.Info) float64 {
	f := backbone.NewFiller(info.Preprocess, info.Layout)
	dst := make([]float32, info.InputLen())
	opts := dataset.DecodeOptions{Decoder: d, For: &r}
	n := min(len(set.Items), 200)
	start := time.Now()
	for _, it := range set.Items[:n] {
		img, err := dataset.ReadImage(it.Path, opts)
		if err != nil {
			b.Fatal(err)
		}
		f.Fill(dst, r.Resize(img))
	}
	return time.Since(start).Seconds() / float64(n)
}

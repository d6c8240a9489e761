//go:build cgo

package backbone_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/transfer-go/transfer/backbone"
	"github.com/transfer-go/transfer/internal/fixture/mobilenet"
	"github.com/transfer-go/transfer/internal/fixture/ortest"
)

// BenchmarkEmbedStreams runs several batches at once through one backbone
// with one intra-op thread each, against one stream with several threads.
func BenchmarkEmbedStreams(b *testing.B) {
	ortest.Require(b)
	path := sharedModel(b)
	if path == "" {
		path = filepath.Join(b.TempDir(), "m.onnx")
		mobilenet.New(mobilenet.Config{Flavour: mobilenet.TF2ONNX, Seed: 1}).WriteFile(path)
	}
	for _, cfg := range []struct{ threads, streams int }{{2, 1}, {1, 2}, {1, 1}} {
		b.Run(fmt.Sprintf("threads=%d/streams=%d", cfg.threads, cfg.streams), func(b *testing.B) {
			bb, err := backbone.Open(path, backbone.Options{Threads: cfg.threads})
			if err != nil {
				b.Fatal(err)
			}
			defer bb.Destroy()
			const n = 16
			batch := make([]float32, n*bb.Info().InputLen())
			ctx := context.Background()
			bb.Embed(ctx, batch)
			b.ResetTimer()
			var wg sync.WaitGroup
			for s := 0; s < cfg.streams; s++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < b.N; i++ {
						if _, err := bb.Embed(ctx, batch); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(n*b.N*cfg.streams)/b.Elapsed().Seconds(), "images/s")
		})
	}
}

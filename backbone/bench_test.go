//go:build cgo

package backbone_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/transfer-go/transfer/backbone"
	"github.com/transfer-go/transfer/internal/fixture/mobilenet"
	"github.com/transfer-go/transfer/internal/fixture/ortest"
)

// BenchmarkEmbed measures ONNX Runtime alone: batches of pre-made input
// tensors through the backbone, no decoding. Its images/s is the ceiling
// of extraction. Models: the generated full-size MobileNetV2 and, when
// present, the real Keras MobileNetV2 of ../shared.
func BenchmarkEmbed(b *testing.B) {
	ortest.Require(b)
	dir := b.TempDir()
	gen := filepath.Join(dir, "mobilenetv2-generated.onnx")
	if err := mobilenet.New(mobilenet.Config{Flavour: mobilenet.TF2ONNX, Seed: 1}).WriteFile(gen); err != nil {
		b.Fatal(err)
	}
	models := []struct{ name, path string }{{"generated", gen}}
	if shared := sharedModel(b); shared != "" {
		models = append(models, struct{ name, path string }{"keras-nsfwjs", shared})
	}
	for _, m := range models {
		for _, threads := range []int{1, 2} {
			bb, err := backbone.Open(m.path, backbone.Options{Threads: threads})
			if err != nil {
				b.Fatal(err)
			}
			for _, n := range []int{1, 8, 32} {
				b.Run(fmt.Sprintf("model=%s/threads=%d/batch=%d", m.name, threads, n), func(b *testing.B) {
					batch := make([]float32, n*bb.Info().InputLen())
					for i := range batch {
						batch[i] = float32(i%255)/127.5 - 1
					}
					ctx := context.Background()
					if _, err := bb.Embed(ctx, batch); err != nil { // warm-up
						b.Fatal(err)
					}
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						if _, err := bb.Embed(ctx, batch); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "images/s")
				})
			}
			bb.Destroy()
		}
	}
}

// sharedModel returns the real model's path, or "" without ../shared.
func sharedModel(b *testing.B) string {
	if dir := ortest.FindShared(); dir != "" {
		return filepath.Join(dir, "models", "mobilenetv2-keras-nsfwjs.onnx")
	}
	return ""
}

//go:build cgo

package backbone_test

import (
	"context"
	"fmt"
	"image"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/transfer-go/transfer/backbone"
	"github.com/transfer-go/transfer/dataset"
	"github.com/transfer-go/transfer/internal/fixture/mobilenet"
	"github.com/transfer-go/transfer/internal/fixture/ortest"
	"github.com/transfer-go/transfer/internal/fixture/synthetic"
	tmodels "github.com/transfer-go/transfer/models"
)

// BenchmarkEmbed measures ONNX Runtime alone: batches of pre-made input
// tensors through the backbone, no decoding. Its images/s is the ceiling
// of extraction. Models: the generated full-size MobileNetV2 and, when
// present, the real Keras MobileNetV2 of ../shared, each also quantised to
// int8 by models.Quantize (calibrated on drawn images, and on the cats for
// the real model).
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
	for _, m := range models[:len(models):len(models)] {
		models = append(models, struct{ name, path string }{m.name + "-int8", quantized(b, m.path, dir)})
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

// quantized writes an int8 copy of the model at path into dir, calibrated on
// the cats of ../shared when present, else on drawn images.
func quantized(b *testing.B, path, dir string) string {
	r, err := tmodels.Resolve(path, tmodels.Settings{}, dir)
	if err != nil {
		b.Fatal(err)
	}
	info, err := backbone.Analyze(r.Model, r.Path, r.Options)
	if err != nil {
		b.Fatal(err)
	}
	var imgs []*image.NRGBA
	if shared := ortest.FindShared(); shared != "" {
		files, _ := filepath.Glob(filepath.Join(shared, "data", "cats", "*.jpg"))
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				b.Fatal(err)
			}
			img, err := dataset.Prepare(context.Background(), data, dataset.Resizer{Width: info.Width, Height: info.Height}, dataset.DecodeOptions{})
			if err != nil {
				b.Fatal(err)
			}
			imgs = append(imgs, img)
		}
	} else {
		rng := rand.New(rand.NewPCG(1, 2))
		for i := range 32 {
			imgs = append(imgs, synthetic.Draw(i%4, 4, info.Width, info.Height, rng))
		}
	}
	m, _, err := tmodels.Quantize(context.Background(), r, imgs, tmodels.QuantizeOptions{})
	if err != nil {
		b.Fatal(err)
	}
	out := filepath.Join(dir, strings.TrimSuffix(filepath.Base(path), ".onnx")+"-int8.onnx")
	data, err := m.Marshal()
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(out, data, 0o644); err != nil {
		b.Fatal(err)
	}
	return out
}

// sharedModel returns the real model's path, or "" without ../shared.
func sharedModel(b *testing.B) string {
	if dir := ortest.FindShared(); dir != "" {
		return filepath.Join(dir, "models", "mobilenetv2-keras-nsfwjs.onnx")
	}
	return ""
}

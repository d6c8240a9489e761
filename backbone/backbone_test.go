//go:build cgo

package backbone_test

import (
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"

	"github.com/transfer-go/transfer/backbone"
	"github.com/transfer-go/transfer/internal/fixture/mobilenet"
	"github.com/transfer-go/transfer/internal/fixture/ortest"
)

// writeNet writes a generated network to a temporary file.
func writeNet(t testing.TB, cfg mobilenet.Config) (*mobilenet.Net, string) {
	t.Helper()
	n := mobilenet.New(cfg)
	path := filepath.Join(t.TempDir(), "mobilenetv2-"+cfg.Flavour.String()+".onnx")
	if err := n.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	return n, path
}

// randomImages returns n images in NCHW order (for the reference) and in the
// backbone's layout (for ONNX Runtime), values in [-1, 1].
func randomImages(seed uint64, n, size int, layout backbone.Layout) (nchw [][]float32, batch []float32) {
	rng := rand.New(rand.NewPCG(seed, 1))
	plane := size * size
	for i := 0; i < n; i++ {
		img := make([]float32, 3*plane)
		for j := range img {
			img[j] = float32(rng.Float64()*2 - 1)
		}
		nchw = append(nchw, img)
		if layout == backbone.NHWC {
			for p := 0; p < plane; p++ {
				batch = append(batch, img[p], img[plane+p], img[2*plane+p])
			}
		} else {
			batch = append(batch, img...)
		}
	}
	return nchw, batch
}

func maxAbsDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	var m float64
	for i := range a {
		m = math.Max(m, math.Abs(float64(a[i])-float64(b[i])))
	}
	return m
}

// TestEmbedMatchesReference runs every exporter flavour through ONNX Runtime
// and compares embeddings and outputs with the pure-Go forward pass.
func TestEmbedMatchesReference(t *testing.T) {
	ortest.Require(t)
	cases := []struct {
		name   string
		cfg    mobilenet.Config
		layout backbone.Layout
	}{
		{"torch opset 12", mobilenet.Small(mobilenet.Torch, 1), backbone.NCHW},
		{"torch opset 10", withOpset(mobilenet.Small(mobilenet.Torch, 2), 10), backbone.NCHW},
		{"torch opset 13", withOpset(mobilenet.Small(mobilenet.Torch, 3), 13), backbone.NCHW},
		{"mxnet opset 7", mobilenet.Small(mobilenet.MXNet, 4), backbone.NCHW},
		{"tf2onnx opset 13", mobilenet.Small(mobilenet.TF2ONNX, 5), backbone.NHWC},
		{"tf2onnx opset 18", withOpset(mobilenet.Small(mobilenet.TF2ONNX, 6), 18), backbone.NHWC},
		{"tf2onnx gemm", withGemm(mobilenet.Small(mobilenet.TF2ONNX, 7)), backbone.NHWC},
		{"keras2onnx", mobilenet.Small(mobilenet.Keras2ONNX, 8), backbone.NHWC},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			net, path := writeNet(t, tc.cfg)
			b, err := backbone.Open(path, backbone.Options{Threads: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Destroy()
			info := b.Info()
			if info.Layout != tc.layout {
				t.Errorf("layout %v, want %v", info.Layout, tc.layout)
			}
			if info.Dim != 64 || info.Classes != 10 || info.Height != 32 || info.Width != 32 {
				t.Errorf("dim %d classes %d size %dx%d, want 64, 10, 32x32", info.Dim, info.Classes, info.Height, info.Width)
			}
			if info.Features.Tensor != net.EmbeddingTensor() {
				t.Errorf("embedding tensor %q, want %q", info.Features.Tensor, net.EmbeddingTensor())
			}
			imgs, batch := randomImages(uint64(len(tc.name)), 3, 32, info.Layout)
			res, err := b.Run(context.Background(), batch)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Embeddings) != 3 || len(res.Logits) != 3 {
				t.Fatalf("got %d embeddings, %d logits, want 3 each", len(res.Embeddings), len(res.Logits))
			}
			for i, img := range imgs {
				emb, out := net.Forward(img)
				if d := maxAbsDiff(res.Embeddings[i], emb); d > 1e-5 {
					t.Errorf("image %d: embedding differs from the Go reference by %g", i, d)
				}
				if d := maxAbsDiff(res.Logits[i], out); d > 1e-4 {
					t.Errorf("image %d: output differs from the Go reference by %g", i, d)
				}
			}
		})
	}
}

func withOpset(c mobilenet.Config, opset int64) mobilenet.Config { c.Opset = opset; return c }
func withGemm(c mobilenet.Config) mobilenet.Config               { c.Gemm = true; return c }

// TestConcurrentRuns embeds different batches from several goroutines at
// once and checks each result against a sequential run.
func TestConcurrentRuns(t *testing.T) {
	ortest.Require(t)
	_, path := writeNet(t, mobilenet.Small(mobilenet.TF2ONNX, 11))
	b, err := backbone.Open(path, backbone.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Destroy()
	const streams = 4
	batches := make([][]float32, streams)
	want := make([][][]float32, streams)
	for i := range batches {
		_, batches[i] = randomImages(uint64(100+i), 3+i, 32, backbone.NHWC)
		if want[i], err = b.Embed(context.Background(), batches[i]); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for i := range batches {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for rep := 0; rep < 10; rep++ {
				got, err := b.Embed(context.Background(), batches[i])
				if err != nil {
					t.Error(err)
					return
				}
				for j := range got {
					if d := maxAbsDiff(got[j], want[i][j]); d != 0 {
						t.Errorf("stream %d image %d differs by %g from the sequential run", i, j, d)
						return
					}
				}
			}
		}(i)
	}
	wg.Wait()
}

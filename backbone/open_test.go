//go:build cgo

package backbone_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/transfer-go/transfer/backbone"
	"github.com/transfer-go/transfer/internal/fixture/mobilenet"
	"github.com/transfer-go/transfer/internal/fixture/ortest"
	"github.com/transfer-go/transfer/internal/onnxgraph"
)

func TestOpenErrors(t *testing.T) {
	ortest.Require(t)
	dir := t.TempDir()
	_, good := writeNet(t, mobilenet.Small(mobilenet.Torch, 1))
	goodBytes, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	noPool, err := (&onnxgraph.Model{Proto: noPoolingModel()}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		path   string
		target error
		want   string
	}{
		{"missing file", filepath.Join(dir, "absent.onnx"), os.ErrNotExist, "absent.onnx"},
		{"empty file", write("empty.onnx", nil), onnxgraph.ErrNotONNX, "the file is empty"},
		{"not onnx", write("photo.onnx", []byte("\xff\xd8\xff\xe0 this is a JPEG, not a model")), onnxgraph.ErrNotONNX, "not an ONNX model"},
		{"truncated", write("truncated.onnx", goodBytes[:len(goodBytes)/2]), onnxgraph.ErrNotONNX, "truncated.onnx"},
		{"no pooling", write("flat.onnx", noPool), backbone.ErrNoEmbedding, "candidates: flat (output of Flatten)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := backbone.Open(tc.path, backbone.Options{})
			if err == nil {
				b.Destroy()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, tc.target) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q; want one wrapping %v and mentioning %q", err, tc.target, tc.want)
			}
		})
	}
}

func TestOpenCUDAWithCPULibrary(t *testing.T) {
	ortest.Require(t)
	path, _ := backbone.RuntimeInfo()
	if _, err := os.Stat(filepath.Join(filepath.Dir(path), "libonnxruntime_providers_cuda.so")); err == nil {
		t.Skip("this ONNX Runtime has a CUDA provider; the CPU-only error path cannot be tested")
	}
	_, model := writeNet(t, mobilenet.Small(mobilenet.Torch, 1))
	b, err := backbone.Open(model, backbone.Options{Device: backbone.Device{CUDA: true, ID: 0}})
	if err == nil {
		b.Destroy()
		t.Fatal("Open on cuda:0 succeeded with a CPU-only ONNX Runtime")
	}
	if !errors.Is(err, backbone.ErrCUDAUnavailable) || !strings.Contains(err.Error(), "built without the CUDA execution provider") || !strings.Contains(err.Error(), "run on the CPU") {
		t.Errorf("error %q does not say that the library lacks CUDA and how to proceed", err)
	}
}

func TestRunRejectsPartialImages(t *testing.T) {
	ortest.Require(t)
	_, model := writeNet(t, mobilenet.Small(mobilenet.Torch, 1))
	b, err := backbone.Open(model, backbone.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Destroy()
	_, err = b.Embed(context.Background(), make([]float32, 3*32*32+5))
	if err == nil || !strings.Contains(err.Error(), "not a whole number of 32x32 RGB images (3072 values each)") {
		t.Errorf("error %v", err)
	}
}

func TestRunCancelled(t *testing.T) {
	ortest.Require(t)
	_, model := writeNet(t, mobilenet.Config{Flavour: mobilenet.Torch, Seed: 1})
	b, err := backbone.Open(model, backbone.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Destroy()
	batch := make([]float32, 16*b.Info().InputLen())

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.Embed(ctx, batch); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled before the run: error %v, want context.Canceled", err)
	}

	// Cancel in the middle of a run that takes far longer than the timeout.
	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = b.Embed(ctx, batch)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want context.DeadlineExceeded", err)
	}
	t.Logf("run stopped %v after it started", time.Since(start))

	// The terminate flag must be cleared: the next run succeeds.
	emb, err := b.Embed(context.Background(), batch[:b.Info().InputLen()])
	if err != nil || len(emb) != 1 || len(emb[0]) != 1280 {
		t.Fatalf("run after cancellation: %d embeddings, error %v", len(emb), err)
	}
}

// TestFullSizeMatchesReference runs the full 224x224, width-1 MobileNetV2
// (3.5M weights, 17 blocks) and checks ONNX Runtime against the Go forward.
func TestFullSizeMatchesReference(t *testing.T) {
	ortest.Require(t)
	if testing.Short() {
		t.Skip("full-size reference forward takes seconds")
	}
	net, model := writeNet(t, mobilenet.Config{Flavour: mobilenet.Torch, Seed: 42})
	b, err := backbone.Open(model, backbone.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Destroy()
	info := b.Info()
	if info.Dim != 1280 || info.Classes != 1000 || info.Height != 224 || info.Features.Tensor != mobilenet.FeaturesTensor {
		t.Fatalf("info %+v", info)
	}
	imgs, batch := randomImages(9, 2, 224, backbone.NCHW)
	res, err := b.Run(context.Background(), batch)
	if err != nil {
		t.Fatal(err)
	}
	for i, img := range imgs {
		emb, logits := net.Forward(img)
		if d := maxAbsDiff(res.Embeddings[i], emb); d > 1e-4 {
			t.Errorf("image %d: embedding differs from the Go reference by %g", i, d)
		}
		if d := maxAbsDiff(res.Logits[i], logits); d > 1e-3 {
			t.Errorf("image %d: logits differ from the Go reference by %g", i, d)
		}
	}
}

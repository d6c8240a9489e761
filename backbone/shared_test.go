//go:build cgo

package backbone_test

import (
	"context"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/transfer-go/transfer/backbone"
	"github.com/transfer-go/transfer/internal/fixture/ortest"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// gradientBatch is a deterministic NHWC test input in [-1, 1]: a colour
// gradient, the same on every machine.
func gradientBatch(size int) []float32 {
	b := make([]float32, 0, size*size*3)
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			b = append(b, float32(x)/float32(size-1)*2-1, float32(y)/float32(size-1)*2-1, float32((x+y)%32)/31*2-1)
		}
	}
	return b
}

type embeddingGolden struct {
	Tensor string    `json:"tensor"`
	Dim    int       `json:"dim"`
	First  []float32 `json:"first"`
	Sum    float64   `json:"sum"`
	Probs  []float32 `json:"probs"`
}

// TestSharedKerasModel opens the real Keras MobileNetV2 in ../shared. Its
// embedding is not a graph output; discovery must find the Flatten output
// "embedding", and its values must equal the 4-D GlobalAveragePool output
// exposed by name.
func TestSharedKerasModel(t *testing.T) {
	ortest.Require(t)
	path := filepath.Join(ortest.SharedDir(t), "models", "mobilenetv2-keras-nsfwjs.onnx")
	b, err := backbone.Open(path, backbone.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Destroy()
	info := b.Info()
	if info.Features.Tensor != "embedding" || info.Dim != 1280 || info.Layout != backbone.NHWC ||
		info.Preprocess.Name != "keras" || info.Logits != "probs" || info.Classes != 5 || info.Height != 224 {
		t.Fatalf("info: tensor %q dim %d layout %v preprocess %s logits %q classes %d size %d",
			info.Features.Tensor, info.Dim, info.Layout, info.Preprocess.Name, info.Logits, info.Classes, info.Height)
	}
	if info.Features.Pooling != "average_pooling2d_1 (GlobalAveragePool)" || info.Features.Classifier != "dense_1 (Gemm)" {
		t.Errorf("pooling %q classifier %q", info.Features.Pooling, info.Features.Classifier)
	}
	batch := gradientBatch(224)
	res, err := b.Run(context.Background(), batch)
	if err != nil {
		t.Fatal(err)
	}
	emb := res.Embeddings[0]

	pooled, err := backbone.Open(path, backbone.Options{EmbeddingOutput: "average_pooling2d_1"})
	if err != nil {
		t.Fatal(err)
	}
	defer pooled.Destroy()
	alt, err := pooled.Embed(context.Background(), batch)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxAbsDiff(emb, alt[0]); d != 0 {
		t.Errorf("discovered embedding and the exposed pooling output differ by %g", d)
	}

	got := embeddingGolden{Tensor: info.Features.Tensor, Dim: info.Dim, First: emb[:16], Probs: res.Logits[0]}
	for _, v := range emb {
		got.Sum += float64(v)
	}
	golden := filepath.Join("testdata", "nsfwjs-gradient.golden.json")
	if *update {
		out, _ := json.MarshalIndent(got, "", "  ")
		if err := os.WriteFile(golden, append(out, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	var want embeddingGolden
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	if d := maxAbsDiff(got.First, want.First); d > 1e-4 {
		t.Errorf("first embedding values differ from the golden file by %g", d)
	}
	if d := maxAbsDiff(got.Probs, want.Probs); d > 1e-5 {
		t.Errorf("probabilities differ from the golden file by %g", d)
	}
	if math.Abs(got.Sum-want.Sum) > 1e-3*math.Max(1, math.Abs(want.Sum)) {
		t.Errorf("embedding sum %g, golden %g", got.Sum, want.Sum)
	}
}

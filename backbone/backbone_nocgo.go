//go:build !cgo

package backbone

import (
	"context"

	"github.com/transfer-go/transfer/internal/onnxgraph"
)

// Backbone is unavailable without cgo; see the cgo build for documentation.
type Backbone struct{ info Info }

// Result holds the outputs of one batch.
type Result struct {
	Embeddings [][]float32
	Logits     [][]float32
}

// Open fails with ErrNoCgo.
func Open(path string, opts Options) (*Backbone, error) { return nil, ErrNoCgo }

// OpenModel fails with ErrNoCgo.
func OpenModel(m *onnxgraph.Model, path string, opts Options) (*Backbone, error) {
	return nil, ErrNoCgo
}

// LoadRuntime fails with ErrNoCgo.
func LoadRuntime(explicit string) (string, error) { return "", ErrNoCgo }

// RuntimeInfo returns empty strings.
func RuntimeInfo() (path, version string) { return "", "" }

// UnloadRuntime does nothing.
func UnloadRuntime() error { return nil }

func (b *Backbone) Info() Info { return b.info }

func (b *Backbone) Embed(ctx context.Context, batch []float32) ([][]float32, error) {
	return nil, ErrNoCgo
}

func (b *Backbone) Run(ctx context.Context, batch []float32) (*Result, error) { return nil, ErrNoCgo }

func (b *Backbone) Destroy() error { return nil }

// Classifier is unavailable without cgo.
type Classifier struct {
	Input, Output string
	Uint8         bool
	Layout        Layout
	Height, Width int
	Classes       int
	FixedBatch    int
}

// OpenClassifier fails with ErrNoCgo.
func OpenClassifier(m *onnxgraph.Model, path string, opts Options) (*Classifier, error) {
	return nil, ErrNoCgo
}

func (c *Classifier) InputLen() int { return 3 * c.Height * c.Width }

func (c *Classifier) ClassifyFloat(ctx context.Context, batch []float32) ([][]float32, error) {
	return nil, ErrNoCgo
}

func (c *Classifier) ClassifyUint8(ctx context.Context, batch []uint8) ([][]float32, error) {
	return nil, ErrNoCgo
}

func (c *Classifier) Destroy() error { return nil }

// CUDAProvider reports that a build without cgo has no ONNX Runtime.
func CUDAProvider() error { return ErrNoCgo }

// Tap is unavailable without cgo; see the cgo build for documentation.
type Tap struct{ info Info }

// OpenTap fails with ErrNoCgo.
func OpenTap(m *onnxgraph.Model, path string, opts Options, tensors []string) (*Tap, error) {
	return nil, ErrNoCgo
}

func (t *Tap) Info() Info { return t.info }

func (t *Tap) Run(ctx context.Context, batch []float32, n int, f func(i int, values []float32)) error {
	return ErrNoCgo
}

func (t *Tap) Destroy() error { return nil }

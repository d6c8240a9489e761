package serve

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/transfer-go/transfer/backbone"
	"github.com/transfer-go/transfer/dataset"
	"github.com/transfer-go/transfer/head"
	"github.com/transfer-go/transfer/models"
)

// Head is a trained head served under a name.
type Head struct {
	Name  string
	Model *head.Model
}

// Embedder is the backbone as the engine uses it.
type Embedder interface {
	Info() backbone.Info
	Embed(ctx context.Context, batch []float32) ([][]float32, error)
}

// Engine is a backbone with the heads that read its embeddings. The heads
// can be replaced while it serves (Swap).
type Engine struct {
	b      Embedder // nil for a classifier
	pixels dataset.PixelSpec
	filler *backbone.Filler
	source head.Provenance
	// layout, width, height and inputLen describe one image's tensor.
	layout        backbone.Layout
	width, height int
	inputLen      int
	classify      func(ctx context.Context, batch []float32) ([][]float64, error) // an exported classifier's, or nil

	mu    sync.RWMutex
	heads []Head
}

// NewEngine checks that every head was trained on the embeddings of b with
// these pixels (source describes them) and returns the engine.
func NewEngine(b Embedder, pixels dataset.PixelSpec, source head.Provenance, heads []Head) (*Engine, error) {
	info := b.Info()
	e := &Engine{b: b, pixels: pixels, filler: backbone.NewFiller(info.Preprocess, info.Layout), source: source,
		layout: info.Layout, width: info.Width, height: info.Height, inputLen: info.InputLen()}
	if err := e.Swap(heads); err != nil {
		return nil, err
	}
	return e, nil
}

// ClassifierEngine serves an exported classifier (transfer export) as one
// head called name: its classes, pixels, layout and preprocessing come
// from its metadata.
func ClassifierEngine(cl *models.Classifier, name string) *Engine {
	m := cl.Meta
	return &Engine{pixels: m.Pixels, filler: cl.Filler(), layout: m.Layout, width: m.Pixels.Width, height: m.Pixels.Height,
		inputLen: cl.InputLen(), classify: cl.ClassifyBatch,
		heads: []Head{{Name: name, Model: &head.Model{Classes: m.Classes}}}}
}

// ErrFixedModel reports a reload asked of an exported classifier, whose
// head is part of its file.
var ErrFixedModel = errors.New("serve: an exported classifier's head is part of the model; restart to serve a new one")

// ErrNoHeads reports an engine given no head.
var ErrNoHeads = errors.New("serve: no head")

// Swap replaces the heads after checking them; on error the old ones stay.
func (e *Engine) Swap(heads []Head) error {
	if len(heads) == 0 {
		return ErrNoHeads
	}
	if e.classify != nil {
		return ErrFixedModel
	}
	seen := map[string]bool{}
	dim := e.b.Info().Dim
	for _, h := range heads {
		if h.Name == "" || seen[h.Name] {
			return fmt.Errorf("serve: head names must be distinct and non-empty (%q)", h.Name)
		}
		seen[h.Name] = true
		if err := h.Model.Source.Check(e.source); err != nil {
			return fmt.Errorf("head %s: %w", h.Name, err)
		}
		if h.Model.Layer.Inputs() != dim {
			return fmt.Errorf("head %s takes %d-d embeddings, the backbone makes %d", h.Name, h.Model.Layer.Inputs(), dim)
		}
	}
	e.mu.Lock()
	e.heads = append([]Head(nil), heads...)
	e.mu.Unlock()
	return nil
}

// Heads returns the heads being served.
func (e *Engine) Heads() []Head {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.heads
}

// Head returns the head called name.
func (e *Engine) Head(name string) (Head, bool) {
	for _, h := range e.Heads() {
		if h.Name == name {
			return h, true
		}
	}
	return Head{}, false
}

// Pixels is the pixel specification images are brought to.
func (e *Engine) Pixels() dataset.PixelSpec { return e.pixels }

// InputLen is the number of floats of one preprocessed image.
func (e *Engine) InputLen() int { return e.inputLen }

// run embeds a batch of n preprocessed images and applies every head:
// probabilities[head][image][class].
func (e *Engine) run(ctx context.Context, batch []float32) ([]Head, [][][]float64, error) {
	if e.classify != nil {
		p, err := e.classify(ctx, batch)
		return e.Heads(), [][][]float64{p}, err
	}
	emb, err := e.b.Embed(ctx, batch)
	if err != nil {
		return nil, nil, err
	}
	heads := e.Heads()
	out := make([][][]float64, len(heads))
	for i, h := range heads {
		if out[i], err = h.Model.Layer.Probabilities(emb); err != nil {
			return nil, nil, fmt.Errorf("head %s: %w", h.Name, err)
		}
	}
	return heads, out, nil
}

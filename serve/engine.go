package serve

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"

	"gonum.org/v1/gonum/mat"

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
	// preprocess names what the input values are; raw is set for a
	// classifier that preprocesses inside, whose input is pixel values.
	preprocess string
	raw        bool

	mu    sync.RWMutex
	heads []Head
	// recent are embeddings the engine served, finite ones (see Swap).
	recent [][]float32
}

// NewEngine checks that every head was trained on the embeddings of b with
// these pixels (source describes them) and returns the engine.
func NewEngine(b Embedder, pixels dataset.PixelSpec, source head.Provenance, heads []Head) (*Engine, error) {
	info := b.Info()
	e := &Engine{b: b, pixels: pixels, filler: backbone.NewFiller(info.Preprocess, info.Layout), source: source,
		layout: info.Layout, width: info.Width, height: info.Height, inputLen: info.InputLen(), preprocess: info.Preprocess.Name}
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
		inputLen: cl.InputLen(), classify: cl.ClassifyBatch, preprocess: m.Preprocess.Name, raw: m.Input != "",
		heads: []Head{{Name: name, Model: &head.Model{Classes: m.Classes}}}}
}

// PixelDatatype is the protocol datatype of the "pixels" input: UINT8
// pixel values for a classifier that preprocesses inside, FP32
// preprocessed values otherwise. One name never takes two meanings.
func (e *Engine) PixelDatatype() string {
	if e.raw {
		return "UINT8"
	}
	return "FP32"
}

// PixelMeaning says in words what the "pixels" input's values are.
func (e *Engine) PixelMeaning() string {
	if e.raw {
		return "pixel values 0 to 255; the model applies " + e.preprocess + " preprocessing inside"
	}
	return e.preprocess + "-preprocessed values"
}

// pixelShape is one image's pixels input shape in the model's layout.
func (e *Engine) pixelShape() []int64 {
	h, w := int64(e.height), int64(e.width)
	if e.layout == backbone.NCHW {
		return []int64{3, h, w}
	}
	return []int64{h, w, 3}
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
		// A head whose finite weights overflow on real embeddings would
		// answer every request after the swap with an error: it is run
		// first on embeddings the engine served (on the zero embedding
		// before any was served), as predict runs it on the images.
		e.mu.RLock()
		probe := e.recent
		e.mu.RUnlock()
		if len(probe) == 0 {
			probe = [][]float32{make([]float32, dim)}
		}
		if _, err := h.Model.Layer.Probabilities(probe); err != nil {
			return fmt.Errorf("head %s: %w", h.Name, err)
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
func (e *Engine) run(ctx context.Context, batch []float32) ([]Head, [][][]float64, []error, error) {
	if e.classify != nil {
		p, err := e.classify(ctx, batch)
		if err != nil {
			return nil, nil, nil, err
		}
		return e.Heads(), [][][]float64{p}, rowErrors(p), nil
	}
	emb, err := e.b.Embed(ctx, batch)
	if err != nil {
		return nil, nil, nil, err
	}
	// One image's pixels (finite values far out of range) can make its
	// embedding NaN: that image fails alone, never the batch it shared
	// with other clients' images.
	rowErr := make([]error, len(emb))
	probe := emb[:0:0]
	zero := make([]float32, e.b.Info().Dim)
	for i, v := range emb {
		if !finite32(v) {
			rowErr[i] = ErrNonFiniteEmbedding
			emb[i] = zero
			continue
		}
		probe = append(probe, v)
	}
	e.remember(probe)
	heads := e.Heads()
	out := make([][][]float64, len(heads))
	for i, h := range heads {
		if out[i], err = probabilities(h, emb, rowErr); err != nil {
			return nil, nil, nil, err
		}
	}
	return heads, out, rowErr, nil
}

// ErrNonFiniteEmbedding reports an image whose embedding holds NaN or
// Inf: its pixels were far outside the range the backbone computes with.
var ErrNonFiniteEmbedding = errors.New("serve: the image's embedding is not finite; its pixel values are out of the range the model takes")

// probabilities runs h on emb. A row whose probabilities are not finite
// gets its error in rowErr (unless it has one already); the others are
// answered.
func probabilities(h Head, emb [][]float32, rowErr []error) ([][]float64, error) {
	x, err := head.Matrix(emb)
	if err != nil {
		return nil, err
	}
	if d := x.Cols; d != h.Model.Layer.Inputs() {
		return nil, fmt.Errorf("head %s: embeddings have %d values, the head takes %d", h.Name, d, h.Model.Layer.Inputs())
	}
	p := h.Model.Layer.PredictRows(nil, x)
	out := make([][]float64, len(emb))
	for i := range out {
		out[i] = mat.Row(nil, i, p)
		if rowErr[i] == nil && !finite64(out[i]) {
			rowErr[i] = fmt.Errorf("head %s: %w", h.Name, head.ErrNonFiniteOutput)
		}
	}
	return out, nil
}

// rowErrors records, for an exported classifier's output, the rows that
// are not finite probabilities.
func rowErrors(p [][]float64) []error {
	errs := make([]error, len(p))
	for i, r := range p {
		if !finite64(r) {
			errs[i] = fmt.Errorf("the classifier's output: %w", head.ErrNonFiniteOutput)
		}
	}
	return errs
}

func finite32(v []float32) bool {
	for _, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return false
		}
	}
	return true
}

func finite64(v []float64) bool {
	for _, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

// remember keeps a copy of up to 8 finite embeddings the engine served,
// which Swap runs a new head on before it serves it.
func (e *Engine) remember(emb [][]float32) {
	if len(emb) == 0 {
		return
	}
	keep := make([][]float32, 0, min(len(emb), 8))
	for _, v := range emb[:cap(keep)] {
		keep = append(keep, append([]float32(nil), v...))
	}
	e.mu.Lock()
	e.recent = keep
	e.mu.Unlock()
}

package models

import (
	"context"
	"fmt"
	"image"
	"math"
	"math/rand/v2"

	"github.com/transfer-go/transfer/backbone"
	"github.com/transfer-go/transfer/head"
	"github.com/transfer-go/transfer/internal/fixture/synthetic"
	"github.com/transfer-go/transfer/internal/onnxgraph"
)

// Classifier is an exported classifier opened for inference. It fills its
// input as its own metadata says (raw pixels or preprocessed values, in its
// layout), so a caller hands it images brought to Meta.Pixels by
// dataset.Prepare. Destroy releases ONNX Runtime's session.
type Classifier struct {
	Meta ClassifierMeta
	cl   *backbone.Classifier
}

// OpenClassifier reads an exported classifier's metadata and starts a
// session for it. opts.Layout is taken from the metadata.
func OpenClassifier(m *onnxgraph.Model, path string, opts backbone.Options) (*Classifier, error) {
	meta, err := ReadClassifierMeta(m)
	if err != nil {
		return nil, fmt.Errorf("classifier %s: %w", path, err)
	}
	opts.Layout = meta.Layout
	cl, err := backbone.OpenClassifier(m, path, opts)
	if err != nil {
		return nil, err
	}
	c := &Classifier{Meta: meta, cl: cl}
	if err := c.checkOutput(); err != nil {
		cl.Destroy()
		return nil, fmt.Errorf("classifier %s: %w", path, err)
	}
	return c, nil
}

// checkOutput holds the classifier to what its metadata promises, one
// probability per class name, before any image is classified: a file whose
// metadata was edited, or a graph whose softmax was removed, would
// otherwise label outputs with the wrong names or print logits as
// percentages. The declared output width is checked first; a grey image
// then shows the values.
func (c *Classifier) checkOutput() error {
	n := len(c.Meta.Classes)
	if d := c.cl.Classes; d > 0 && d != n {
		return fmt.Errorf("%w: the model has %d outputs but its metadata %s names %d classes", backbone.ErrBadInput, d, MetaClasses, n)
	}
	if w, h := c.Meta.Pixels.Width, c.Meta.Pixels.Height; w != c.cl.Width || h != c.cl.Height {
		return fmt.Errorf("%w: the model takes %dx%d images but its metadata %s says %dx%d", backbone.ErrBadInput, c.cl.Width, c.cl.Height, MetaInputSize, w, h)
	}
	grey := image.NewNRGBA(image.Rect(0, 0, c.Meta.Pixels.Width, c.Meta.Pixels.Height))
	for i := range grey.Pix {
		grey.Pix[i] = 128
	}
	p, err := c.Classify(context.Background(), []*image.NRGBA{grey})
	if err != nil {
		return err
	}
	var sum float64
	for j, v := range p[0] {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%w: %w: output %d on a grey image is %v", backbone.ErrBadInput, head.ErrNonFiniteOutput, j, v)
		}
		if v < -1e-6 || v > 1+1e-6 {
			return fmt.Errorf("%w: output %d on a grey image is %g: the outputs are not probabilities (is the softmax missing?)", backbone.ErrBadInput, j, v)
		}
		sum += v
	}
	if math.Abs(sum-1) > 1e-3 {
		return fmt.Errorf("%w: the outputs on a grey image sum to %g, not 1: they are not probabilities (is the softmax missing?)", backbone.ErrBadInput, sum)
	}
	return nil
}

// Classify returns the class probabilities of images of the classifier's
// input size.
func (c *Classifier) Classify(ctx context.Context, imgs []*image.NRGBA) ([][]float64, error) {
	batch := make([]float32, len(imgs)*c.InputLen())
	c.Filler().FillBatch(batch, imgs)
	return c.ClassifyBatch(ctx, batch)
}

// InputLen is the number of values of one image.
func (c *Classifier) InputLen() int { return c.cl.InputLen() }

// Filler fills one image's values for ClassifyBatch: the classifier's
// preprocessing, or the plain pixel values (0–255) for a classifier that
// preprocesses itself, in its layout.
func (c *Classifier) Filler() *backbone.Filler {
	p := c.Meta.Preprocess
	if c.Meta.Input != "" {
		p = backbone.Pixels
	}
	return backbone.NewFiller(p, c.cl.Layout)
}

// ClassifyBatch returns the class probabilities of a batch filled by
// Filler.
func (c *Classifier) ClassifyBatch(ctx context.Context, batch []float32) ([][]float64, error) {
	var out [][]float32
	var err error
	if c.Meta.Input == PixelsUint8 {
		b := make([]uint8, len(batch))
		for i, v := range batch {
			b[i] = uint8(min(max(math.Round(float64(v)), 0), 255))
		}
		out, err = c.cl.ClassifyUint8(ctx, b)
	} else {
		out, err = c.cl.ClassifyFloat(ctx, batch)
	}
	if err != nil {
		return nil, err
	}
	probs := make([][]float64, len(out))
	for i, row := range out {
		if len(row) != len(c.Meta.Classes) {
			return nil, fmt.Errorf("%w: the classifier gave %d outputs for the %d class names of its metadata", backbone.ErrBadInput, len(row), len(c.Meta.Classes))
		}
		probs[i] = make([]float64, len(row))
		for j, v := range row {
			probs[i][j] = float64(v)
		}
	}
	return probs, nil
}

// Destroy releases the session.
func (c *Classifier) Destroy() error { return c.cl.Destroy() }

// Verify runs n drawn sample images through the exported classifier and
// through backbone b and head h, and returns the largest difference of any
// probability: NaN when either side is not finite, which a caller must
// treat as a failure. opts configure the classifier's session.
func Verify(ctx context.Context, b *backbone.Backbone, exported *onnxgraph.Model, h *head.Model, opts backbone.Options) (diff float64, n int, err error) {
	cl, err := OpenClassifier(exported, "exported", opts)
	if err != nil {
		return 0, 0, err
	}
	defer cl.Destroy()
	n = 4
	info := b.Info()
	rng := rand.New(rand.NewPCG(7, 7))
	imgs := make([]*image.NRGBA, n)
	for i := range imgs {
		imgs[i] = synthetic.Draw(i%2, 2, info.Width, info.Height, rng)
	}
	batch := make([]float32, n*info.InputLen())
	backbone.NewFiller(info.Preprocess, info.Layout).FillBatch(batch, imgs)
	emb, err := b.Embed(ctx, batch)
	if err != nil {
		return 0, n, err
	}
	want, err := h.Layer.Probabilities(emb)
	if err != nil {
		return 0, n, err
	}
	got, err := cl.Classify(ctx, imgs)
	if err != nil {
		return 0, n, err
	}
	for i := range want {
		for j := range want[i] {
			d := math.Abs(want[i][j] - got[i][j])
			if math.IsNaN(d) {
				return math.NaN(), n, nil
			}
			diff = math.Max(diff, d)
		}
	}
	return diff, n, nil
}

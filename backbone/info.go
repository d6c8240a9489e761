package backbone

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/transfer-go/transfer/internal/onnxgraph"
	"github.com/transfer-go/transfer/internal/onnxgraph/onnx"
)

// ErrBadInput reports a model whose input is not one batch of RGB images.
var ErrBadInput = errors.New("model input is not an image batch")

// ErrModelRejected reports a model that ONNX Runtime refused to load: an
// operator set it does not implement, an invalid graph.
var ErrModelRejected = errors.New("ONNX Runtime rejected the model")

// Bounds on the input a model may declare, checked before any tensor is
// allocated: CNN backbones take 224 to 600 pixels, and a batch of 100,000
// images of 100,000 pixels a side would be petabytes.
const (
	MaxInputSide  = 4096
	MaxFixedBatch = 1024
)

// DefaultInputSize is the side used when the model leaves height and width
// dynamic and Options.InputSize is 0: MobileNetV2's 224.
const DefaultInputSize = 224

// Options configure Open. The zero value runs on the CPU with every setting
// read from the model.
type Options struct {
	// LibraryPath is the ONNX Runtime shared library; "" resolves it with
	// FindLibrary.
	LibraryPath string
	// Device selects the CPU (default) or a CUDA device.
	Device Device
	// Threads is the number of intra-op threads on the CPU; 0 means one per
	// available core.
	Threads int
	// Preprocess is the input scaling; the zero value guesses from the
	// layout (NHWC: Keras, NCHW: Torch), which the models catalogue
	// overrides for the models it knows.
	Preprocess Preprocess
	// Layout overrides the input layout read from the model's shape.
	Layout Layout
	// InputSize is the image side for models with dynamic height and
	// width; 0 means DefaultInputSize.
	InputSize int
	// EmbeddingOutput names the embedding tensor and skips discovery.
	EmbeddingOutput string
}

// Info describes an opened backbone.
type Info struct {
	// Path is the model file; ModelSHA256 the digest of its bytes.
	Path        string
	ModelSHA256 string
	Producer    string
	Opset       int64

	// Input is the image input's name and InputShape its declared shape
	// (0 for dynamic dimensions).
	Input      string
	InputShape []int64
	Layout     Layout
	// Height and Width of the images the model takes, in pixels.
	Height, Width int
	// FixedBatch is the batch size the model requires, or 0 when the batch
	// dimension is dynamic.
	FixedBatch int

	Preprocess Preprocess
	// PreprocessSource says why Preprocess was chosen.
	PreprocessSource string

	Features Features
	// Dim is the embedding dimension (1280 for MobileNetV2); known after
	// Open, 0 from Analyze when the classifier weights do not say.
	Dim int

	// Logits is the model's original output (classifier logits or
	// probabilities), or "" when it has none besides the embedding.
	Logits string
	// Classes is the width of Logits, 0 when unknown or absent.
	Classes int

	// Fingerprint identifies what the embeddings depend on: the model
	// bytes, the embedding tensor, the preprocessing and the input size and
	// layout. Caches key embeddings by it.
	Fingerprint string
}

// InputLen returns the number of float32 values of one preprocessed image.
func (in Info) InputLen() int { return 3 * in.Height * in.Width }

// Analyze reads everything Open needs to know from the model without
// running it: the image input, layout, input size, preprocessing, embedding
// tensor and logits output, and computes the fingerprint.
func Analyze(m *onnxgraph.Model, path string, opts Options) (Info, error) {
	g := m.Proto.GetGraph()
	ix := onnxgraph.NewIndex(g)
	info := Info{Path: path, ModelSHA256: m.SHA256, Producer: m.Proto.GetProducerName(), Opset: m.Opset()}

	inputs := ix.Inputs()
	switch {
	case len(inputs) == 0:
		return info, fmt.Errorf("%w: the model declares no inputs", ErrBadInput)
	case len(inputs) > 1:
		var names []string
		for _, vi := range inputs {
			names = append(names, vi.GetName())
		}
		return info, fmt.Errorf("%w: the model has %d inputs (%s); transfer needs a model with one image input", ErrBadInput, len(inputs), strings.Join(names, ", "))
	}
	in := inputs[0]
	info.Input = in.GetName()
	dims, ok := onnxgraph.Shape(in)
	if !ok || len(dims) != 4 {
		return info, fmt.Errorf("%w: input %q has shape %s; transfer needs a rank-4 image batch, [N,3,H,W] or [N,H,W,3]", ErrBadInput, info.Input, shapeString(dims))
	}
	if et := onnxgraph.ElemType(in); et != onnx.TensorProto_FLOAT {
		return info, fmt.Errorf("%w: input %q has element type %v; transfer feeds float32 images", ErrBadInput, info.Input, et)
	}
	info.InputShape = dims
	var h, w int64
	var err error
	if h, w, info.Layout, err = imageShape(info.Input, dims, opts.Layout); err != nil {
		return info, err
	}
	info.FixedBatch = int(dims[0])
	size := int64(opts.InputSize)
	if size < 0 || size > MaxInputSide {
		return info, fmt.Errorf("%w: an input size of %d pixels is absurd (at most %d)", ErrBadInput, size, MaxInputSide)
	}
	for _, d := range []*int64{&h, &w} {
		switch {
		case *d == 0 && size == 0:
			*d = DefaultInputSize
		case *d == 0:
			*d = size
		case size != 0 && *d != size:
			return info, fmt.Errorf("%w: input %q is fixed at %dx%d; it cannot take an input size of %d", ErrBadInput, info.Input, h, w, size)
		}
	}
	info.Height, info.Width = int(h), int(w)

	info.Preprocess, info.PreprocessSource = opts.Preprocess, "given"
	if info.Preprocess.Name == "" {
		if info.Layout == NHWC {
			info.Preprocess, info.PreprocessSource = Keras, "guessed from the NHWC layout (Keras models)"
		} else {
			info.Preprocess, info.PreprocessSource = Torch, "guessed from the NCHW layout (PyTorch models)"
		}
	}

	if opts.EmbeddingOutput != "" {
		if ix.Producer(opts.EmbeddingOutput) == nil {
			return info, fmt.Errorf("%w: the embedding tensor asked for, %q, is not produced by any node of the model%s", ErrNoEmbedding, opts.EmbeddingOutput, candidateList(ix))
		}
		info.Features = Features{Tensor: opts.EmbeddingOutput}
	} else {
		f, err := DiscoverFeatures(g)
		if err != nil {
			return info, err
		}
		info.Features = f
	}
	info.Dim = info.Features.Dim

	for _, o := range g.GetOutput() {
		if o.GetName() == info.Features.Tensor || o.GetType().GetTensorType() == nil {
			continue
		}
		if onnxgraph.ElemType(o) != onnx.TensorProto_FLOAT {
			continue
		}
		info.Logits = o.GetName()
		if d, ok := onnxgraph.Shape(o); ok && len(d) >= 2 {
			info.Classes = int(d[len(d)-1])
		}
		break
	}
	info.Fingerprint = fingerprint(&info)
	return info, nil
}

// fingerprint hashes what an embedding depends on. The format is versioned
// so that a change to it can never alias old cache entries.
func fingerprint(in *Info) string {
	p := in.Preprocess
	h := sha256.New()
	fmt.Fprintf(h, "transfer-backbone-fingerprint-v1\nmodel %s\nembedding %s\npreprocess %s %g %v %v\nlayout %v\nsize %dx%d\n",
		in.ModelSHA256, in.Features.Tensor, p.Name, p.Scale, p.Mean, p.Std, in.Layout, in.Height, in.Width)
	return hex.EncodeToString(h.Sum(nil))
}

// imageShape reads the height, width and layout of a rank-4 image input
// (0 for a dynamic side), and applies the bounds every model must keep:
// no negative dimension, sides of at most MaxInputSide, a fixed batch of at
// most MaxFixedBatch, 3 channels. layout, unless LayoutAuto, is the
// caller's.
func imageShape(input string, dims []int64, layout Layout) (h, w int64, l Layout, err error) {
	for i, d := range dims {
		if d < 0 {
			return 0, 0, layout, fmt.Errorf("%w: input %q has shape %s: dimension %d is negative", ErrBadInput, input, shapeString(dims), i)
		}
	}
	if dims[0] > MaxFixedBatch {
		return 0, 0, layout, fmt.Errorf("%w: input %q has shape %s: a fixed batch of %d images is absurd (at most %d); export the model with a dynamic or smaller batch", ErrBadInput, input, shapeString(dims), dims[0], MaxFixedBatch)
	}
	if layout == LayoutAuto {
		if layout, err = detectLayout(dims); err != nil {
			return 0, 0, layout, fmt.Errorf("%w: %v", ErrBadInput, err)
		}
	}
	h, w, c := dims[2], dims[3], dims[1]
	if layout == NHWC {
		h, w, c = dims[1], dims[2], dims[3]
	}
	if c != 3 && c != 0 {
		return 0, 0, layout, fmt.Errorf("%w: input %q has %d channels in %v layout; transfer feeds RGB images (3 channels)", ErrBadInput, input, c, layout)
	}
	for _, d := range []int64{h, w} {
		if d > MaxInputSide {
			return 0, 0, layout, fmt.Errorf("%w: input %q has shape %s: a side of %d pixels is absurd (at most %d)", ErrBadInput, input, shapeString(dims), d, MaxInputSide)
		}
	}
	return h, w, layout, nil
}

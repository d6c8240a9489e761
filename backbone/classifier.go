//go:build cgo

package backbone

import (
	"context"
	"fmt"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/transfer-go/transfer/internal/onnxgraph"
	"github.com/transfer-go/transfer/internal/onnxgraph/onnx"
)

// Classifier runs a whole image classifier, such as one written by
// models.Export: one image input, one [N, classes] probability output. Like
// a Backbone it owns an ONNX Runtime session and must be destroyed.
type Classifier struct {
	Input, Output string
	// Uint8 is set when the input takes 8-bit pixels; otherwise it takes
	// float32 values.
	Uint8   bool
	Layout  Layout
	Height  int
	Width   int
	Classes int
	// FixedBatch is the batch size the model requires, or 0.
	FixedBatch int

	session *ort.DynamicAdvancedSession
	runOpts *ort.RunOptions
}

// OpenClassifier starts a session for the classifier m. The input's layout
// is read from its shape unless opts.Layout says it.
func OpenClassifier(m *onnxgraph.Model, path string, opts Options) (*Classifier, error) {
	ix := onnxgraph.NewIndex(m.Proto.GetGraph())
	inputs, outputs := ix.Inputs(), m.Proto.GetGraph().GetOutput()
	if len(inputs) != 1 || len(outputs) != 1 {
		return nil, fmt.Errorf("classifier %s: %w: want one input and one output, got %d and %d", path, ErrBadInput, len(inputs), len(outputs))
	}
	c := &Classifier{Input: inputs[0].GetName(), Output: outputs[0].GetName(), Layout: opts.Layout}
	dims, ok := onnxgraph.Shape(inputs[0])
	if !ok || len(dims) != 4 {
		return nil, fmt.Errorf("classifier %s: %w: input %q has shape %s, want a rank-4 image batch", path, ErrBadInput, c.Input, shapeString(dims))
	}
	switch onnxgraph.ElemType(inputs[0]) {
	case onnx.TensorProto_UINT8:
		c.Uint8 = true
	case onnx.TensorProto_FLOAT:
	default:
		return nil, fmt.Errorf("classifier %s: %w: input %q has element type %v", path, ErrBadInput, c.Input, onnxgraph.ElemType(inputs[0]))
	}
	h, w, layout, err := imageShape(c.Input, dims, opts.Layout)
	if err != nil {
		return nil, fmt.Errorf("classifier %s: %w", path, err)
	}
	c.Layout = layout
	if h <= 0 || w <= 0 {
		return nil, fmt.Errorf("classifier %s: %w: input %q has dynamic height or width", path, ErrBadInput, c.Input)
	}
	c.Height, c.Width, c.FixedBatch = int(h), int(w), int(dims[0])
	if od, ok := onnxgraph.Shape(outputs[0]); ok && len(od) == 2 {
		c.Classes = int(od[1])
	}
	libPath, err := LoadRuntime(opts.LibraryPath)
	if err != nil {
		return nil, err
	}
	so, err := sessionOptions(opts, libPath)
	if err != nil {
		return nil, err
	}
	defer so.Destroy()
	c.session, err = ort.NewDynamicAdvancedSessionWithONNXData(m.Bytes, []string{c.Input}, []string{c.Output}, so)
	if err != nil {
		if opts.Device.CUDA {
			return nil, cudaError(opts.Device, libPath, err)
		}
		return nil, fmt.Errorf("classifier %s: %w: %v", path, ErrModelRejected, err)
	}
	if c.runOpts, err = ort.NewRunOptions(); err != nil {
		c.Destroy()
		return nil, err
	}
	return c, nil
}

// InputLen returns the number of values of one image.
func (c *Classifier) InputLen() int { return 3 * c.Height * c.Width }

func (c *Classifier) shape(n int) ort.Shape {
	return batchShape(c.Layout, n, c.Height, c.Width)
}

// ClassifyFloat runs n images given as float32 values (the model's own
// input scale) and returns their probabilities.
func (c *Classifier) ClassifyFloat(ctx context.Context, batch []float32) ([][]float32, error) {
	if c.Uint8 {
		return nil, fmt.Errorf("classifier: input %q takes uint8 pixels", c.Input)
	}
	return classifyChunks(ctx, c, batch, func(chunk []float32, n int) (ort.Value, error) {
		return ort.NewTensor(c.shape(n), chunk)
	})
}

// ClassifyUint8 runs n images given as 8-bit pixels.
func (c *Classifier) ClassifyUint8(ctx context.Context, batch []uint8) ([][]float32, error) {
	if !c.Uint8 {
		return nil, fmt.Errorf("classifier: input %q takes float32 values", c.Input)
	}
	return classifyChunks(ctx, c, batch, func(chunk []uint8, n int) (ort.Value, error) {
		return ort.NewTensor(c.shape(n), chunk)
	})
}

func classifyChunks[T float32 | uint8](ctx context.Context, c *Classifier, batch []T, tensor func([]T, int) (ort.Value, error)) ([][]float32, error) {
	il := c.InputLen()
	if len(batch) == 0 || len(batch)%il != 0 {
		return nil, fmt.Errorf("classifier: batch of %d values is not a whole number of %dx%d images", len(batch), c.Width, c.Height)
	}
	n := len(batch) / il
	step := n
	if c.FixedBatch > 0 {
		step = c.FixedBatch
	}
	var out [][]float32
	for start := 0; start < n; start += step {
		k := min(step, n-start)
		chunk := batch[start*il : (start+k)*il]
		if k < step {
			chunk = append(append([]T(nil), chunk...), make([]T, (step-k)*il)...)
		}
		in, err := tensor(chunk, step)
		if err != nil {
			return nil, err
		}
		outs := []ort.Value{nil}
		err = runCancellable(ctx, c.runOpts, func() error { return c.session.RunWithOptions([]ort.Value{in}, outs, c.runOpts) })
		in.Destroy()
		if err != nil {
			return nil, err
		}
		t, ok := outs[0].(*ort.Tensor[float32])
		if !ok || len(t.GetShape()) != 2 {
			outs[0].Destroy()
			return nil, fmt.Errorf("classifier: output %q is not a [N, classes] float tensor", c.Output)
		}
		classes := int(t.GetShape()[1])
		data := t.GetData()
		for i := 0; i < k; i++ {
			out = append(out, append([]float32(nil), data[i*classes:(i+1)*classes]...))
		}
		t.Destroy()
	}
	return out, nil
}

// runCancellable runs f, asking ONNX Runtime to terminate it when ctx is
// cancelled, and waits for it to return before reporting ctx's error.
func runCancellable(ctx context.Context, ro *ort.RunOptions, f func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	terminated := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		ro.Terminate()
		close(terminated)
	})
	err := f()
	if !stop() {
		<-terminated
		ro.UnsetTerminate()
		return fmt.Errorf("inference stopped: %w", ctx.Err())
	}
	if err != nil {
		return fmt.Errorf("inference failed: %w", err)
	}
	return nil
}

// Destroy releases the session.
func (c *Classifier) Destroy() error {
	if c.runOpts != nil {
		c.runOpts.Destroy()
		c.runOpts = nil
	}
	if c.session != nil {
		err := c.session.Destroy()
		c.session = nil
		return err
	}
	return nil
}

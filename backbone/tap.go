//go:build cgo

package backbone

import (
	"context"
	"fmt"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/transfer-go/transfer/internal/onnxgraph"
	"github.com/transfer-go/transfer/internal/onnxgraph/onnx"
)

// Tap runs a backbone for its intermediate tensors rather than its
// embedding: calibrating a quantised model needs the value of every
// activation on real images. It must be released with Destroy.
type Tap struct {
	info    Info
	names   []string
	session *ort.DynamicAdvancedSession
}

// OpenTap opens m, analysed like a backbone with opts, with the float tensors
// named by tensors exposed as its outputs.
func OpenTap(m *onnxgraph.Model, path string, opts Options, tensors []string) (*Tap, error) {
	info, err := Analyze(m, path, opts)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	libPath, err := LoadRuntime(opts.LibraryPath)
	if err != nil {
		return nil, err
	}
	edited := m.Clone()
	g := edited.Proto.GetGraph()
	for _, t := range tensors {
		if !graphHasOutput(g, t) {
			g.Output = append(g.Output, onnxgraph.TensorInfo(t, onnx.TensorProto_FLOAT, nil))
		}
	}
	model, err := edited.Marshal()
	if err != nil {
		return nil, fmt.Errorf("open %s: encode model: %w", path, err)
	}
	so, err := sessionOptions(opts, libPath)
	if err != nil {
		return nil, err
	}
	defer so.Destroy()
	s, err := ort.NewDynamicAdvancedSessionWithONNXData(model, []string{info.Input}, tensors, so)
	if err != nil {
		if opts.Device.CUDA {
			return nil, cudaError(opts.Device, libPath, err)
		}
		return nil, fmt.Errorf("open %s: %w: %v", path, ErrModelRejected, err)
	}
	return &Tap{info: info, names: tensors, session: s}, nil
}

// Info describes the tapped model's input.
func (t *Tap) Info() Info { return t.info }

// Run runs n preprocessed images (batch holds n*Info().InputLen() values, as
// for Backbone.Run) and calls f with each tapped tensor's values for the
// whole batch, in the order the tensors were named. The values are valid
// only during the call.
func (t *Tap) Run(ctx context.Context, batch []float32, n int, f func(i int, values []float32)) error {
	if n <= 0 || len(batch) != n*t.info.InputLen() {
		return fmt.Errorf("tap: %d values for %d images of %d", len(batch), n, t.info.InputLen())
	}
	in, err := ort.NewTensor(batchShape(t.info.Layout, n, t.info.Height, t.info.Width), batch)
	if err != nil {
		return fmt.Errorf("tap: %w", err)
	}
	defer in.Destroy()
	outs := make([]ort.Value, len(t.names))
	defer func() {
		for _, o := range outs {
			if o != nil {
				o.Destroy()
			}
		}
	}()
	ro, err := ort.NewRunOptions()
	if err != nil {
		return fmt.Errorf("tap: %w", err)
	}
	defer ro.Destroy()
	if err := runCancellable(ctx, ro, func() error {
		return t.session.RunWithOptions([]ort.Value{in}, outs, ro)
	}); err != nil {
		return fmt.Errorf("tap: %w", err)
	}
	for i, o := range outs {
		v, ok := o.(*ort.Tensor[float32])
		if !ok {
			return fmt.Errorf("tap: tensor %q is not float32", t.names[i])
		}
		f(i, v.GetData())
	}
	return nil
}

// Destroy releases the session.
func (t *Tap) Destroy() error {
	if t.session == nil {
		return nil
	}
	err := t.session.Destroy()
	t.session = nil
	return err
}

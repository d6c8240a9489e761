//go:build cgo

package backbone

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"sync"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/transfer-go/transfer/internal/onnxgraph"
	"github.com/transfer-go/transfer/internal/onnxgraph/onnx"
)

// Backbone is an opened model that turns preprocessed image batches into
// embeddings. It owns an ONNX Runtime session and the tensors bound to it,
// and must be released with Destroy. Run and Embed are safe for concurrent
// use: with Options.Threads 1, several batches in flight at once use the
// cores without ONNX Runtime's intra-op synchronisation.
type Backbone struct {
	info    Info
	session *ort.DynamicAdvancedSession
	outputs []string

	// embShape and logitsShape are the per-image output shapes (without
	// the batch axis), measured by a probe run in Open.
	embShape, logitsShape ort.Shape

	// Input and output tensors are reused across batches, so that
	// steady-state extraction allocates no tensor: free holds idle sets per
	// batch size.
	mu   sync.Mutex
	free map[int][]*ioTensors
}

// maxIdleSets bounds the idle tensor sets kept per batch size.
const maxIdleSets = 4

type ioTensors struct {
	in, emb, logits *ort.Tensor[float32]
}

func (t *ioTensors) destroy() {
	for _, x := range []*ort.Tensor[float32]{t.in, t.emb, t.logits} {
		if x != nil {
			x.Destroy()
		}
	}
}

// Open loads the ONNX model at path, finds its embedding tensor, exposes it
// as an output and starts an ONNX Runtime session on opts.Device. It runs one
// probe image to measure the embedding and logits shapes, so a model that
// ONNX Runtime cannot run fails here rather than on the first batch.
func Open(path string, opts Options) (*Backbone, error) {
	m, err := onnxgraph.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("open backbone: %w", err)
	}
	return OpenModel(m, path, opts)
}

// OpenModel is Open for a model already in memory; path is only reported.
func OpenModel(m *onnxgraph.Model, path string, opts Options) (*Backbone, error) {
	info, err := Analyze(m, path, opts)
	if err != nil {
		return nil, fmt.Errorf("open backbone %s: %w", path, err)
	}
	libPath, err := LoadRuntime(opts.LibraryPath)
	if err != nil {
		return nil, err
	}

	model := m.Bytes
	if !graphHasOutput(m.Proto.GetGraph(), info.Features.Tensor) {
		edited := m.Clone()
		g := edited.Proto.GetGraph()
		// The element type is enough: ONNX Runtime infers the shape.
		g.Output = append(g.Output, onnxgraph.TensorInfo(info.Features.Tensor, onnx.TensorProto_FLOAT, nil))
		if model, err = edited.Marshal(); err != nil {
			return nil, fmt.Errorf("open backbone %s: encode model: %w", path, err)
		}
	}

	so, err := sessionOptions(opts, libPath)
	if err != nil {
		return nil, err
	}
	defer so.Destroy()

	b := &Backbone{info: info, free: make(map[int][]*ioTensors)}
	b.outputs = []string{info.Features.Tensor}
	if info.Logits != "" {
		b.outputs = append(b.outputs, info.Logits)
	}
	if err := b.start(model, so, opts.Device, libPath); err != nil {
		return nil, err
	}
	logitsOK, err := b.probe()
	if err == nil && !logitsOK {
		// The original output is not a per-image float vector (a map, a
		// scalar): serve embeddings alone, from a session without it.
		b.session.Destroy()
		b.session, b.outputs = nil, b.outputs[:1]
		b.info.Logits, b.info.Classes = "", 0
		if err = b.start(model, so, opts.Device, libPath); err == nil {
			_, err = b.probe()
		}
	}
	if err != nil {
		b.Destroy()
		return nil, fmt.Errorf("open backbone %s: %w", path, err)
	}
	return b, nil
}

func (b *Backbone) start(model []byte, so *ort.SessionOptions, d Device, libPath string) error {
	var err error
	b.session, err = ort.NewDynamicAdvancedSessionWithONNXData(model, []string{b.info.Input}, b.outputs, so)
	if err != nil {
		if d.CUDA {
			return cudaError(d, libPath, err)
		}
		return fmt.Errorf("open backbone %s: %w: %v", b.info.Path, ErrModelRejected, err)
	}
	return nil
}

func graphHasOutput(g *onnx.GraphProto, name string) bool {
	for _, o := range g.GetOutput() {
		if o.GetName() == name {
			return true
		}
	}
	return false
}

func sessionOptions(opts Options, libPath string) (*ort.SessionOptions, error) {
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, err
	}
	threads := opts.Threads
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	if err := so.SetIntraOpNumThreads(threads); err != nil {
		so.Destroy()
		return nil, err
	}
	// One graph runs at a time; inter-op threads would only compete with
	// the intra-op pool and the decoders.
	if err := so.SetInterOpNumThreads(1); err != nil {
		so.Destroy()
		return nil, err
	}
	// ONNX Runtime's idle intra-op threads spin by default, burning the
	// cores the decoding workers need between batches: off, extraction is
	// 3-4% faster on two cores at 5-10% less CPU (BENCHMARKS.md).
	if err := so.AddSessionConfigEntry("session.intra_op.allow_spinning", "0"); err != nil {
		so.Destroy()
		return nil, err
	}
	if opts.Device.CUDA {
		if err := appendCUDA(so, opts.Device, libPath); err != nil {
			so.Destroy()
			return nil, err
		}
	}
	return so, nil
}

func appendCUDA(so *ort.SessionOptions, d Device, libPath string) error {
	cuda, err := ort.NewCUDAProviderOptions()
	if err != nil {
		return cudaError(d, libPath, err)
	}
	defer cuda.Destroy()
	if err := cuda.Update(map[string]string{"device_id": strconv.Itoa(d.ID)}); err != nil {
		return cudaError(d, libPath, err)
	}
	if err := so.AppendExecutionProviderCUDA(cuda); err != nil {
		return cudaError(d, libPath, err)
	}
	return nil
}

// probe runs one zero image and records the per-image output shapes. It
// reports whether the logits output is a per-image float vector.
func (b *Backbone) probe() (logitsOK bool, err error) {
	n := max(b.info.FixedBatch, 1)
	in, err := ort.NewEmptyTensor[float32](b.inputShape(n))
	if err != nil {
		return false, err
	}
	defer in.Destroy()
	outs := make([]ort.Value, len(b.outputs))
	if err := b.session.Run([]ort.Value{in}, outs); err != nil {
		return false, fmt.Errorf("probe run failed: %w", err)
	}
	defer func() {
		for _, o := range outs {
			if o != nil {
				o.Destroy()
			}
		}
	}()
	perImage := func(o ort.Value) (ort.Shape, bool) {
		s := o.GetShape()
		if _, ok := o.(*ort.Tensor[float32]); !ok || len(s) < 2 || s[0] != int64(n) {
			return nil, false
		}
		return s[1:].Clone(), true
	}
	s, ok := perImage(outs[0])
	if !ok {
		return false, fmt.Errorf("%w: embedding tensor %q has shape %v, not a float32 [batch, ...] tensor", ErrNoEmbedding, b.info.Features.Tensor, outs[0].GetShape())
	}
	b.embShape = s
	b.info.Dim = int(s.FlattenedSize())
	if b.info.Features.Dim != 0 && b.info.Features.Dim != b.info.Dim {
		return false, fmt.Errorf("embedding tensor %q has %d values per image but its classifier reads %d", b.info.Features.Tensor, b.info.Dim, b.info.Features.Dim)
	}
	if len(outs) < 2 {
		return true, nil
	}
	if b.logitsShape, ok = perImage(outs[1]); !ok {
		return false, nil
	}
	b.info.Classes = int(b.logitsShape.FlattenedSize())
	return true, nil
}

func (b *Backbone) inputShape(n int) ort.Shape {
	return batchShape(b.info.Layout, n, b.info.Height, b.info.Width)
}

// batchShape is the shape of n images of h×w pixels in layout l.
func batchShape(l Layout, n, h, w int) ort.Shape {
	if l == NHWC {
		return ort.NewShape(int64(n), int64(h), int64(w), 3)
	}
	return ort.NewShape(int64(n), 3, int64(h), int64(w))
}

// Info returns the backbone's metadata.
func (b *Backbone) Info() Info { return b.info }

// Result holds the outputs of one batch; row i of each belongs to image i.
// Both share the slab they were allocated in.
type Result struct {
	Embeddings [][]float32
	// Logits holds the model's original output per image, nil when the model
	// has none.
	Logits [][]float32
}

// Embed runs a batch of preprocessed images and returns one embedding of
// Info().Dim values per image. batch holds n images back to back, each
// Info().InputLen() values in Info().Layout order (see Filler).
func (b *Backbone) Embed(ctx context.Context, batch []float32) ([][]float32, error) {
	r, err := b.Run(ctx, batch)
	if err != nil {
		return nil, err
	}
	return r.Embeddings, nil
}

// Run is Embed that also returns the model's original output.
//
// The batch is copied into an input tensor the Backbone keeps for its
// size. When ctx is cancelled during inference, Run asks ONNX Runtime to terminate, waits for it
// to return, and returns ctx's error.
func (b *Backbone) Run(ctx context.Context, batch []float32) (*Result, error) {
	il := b.info.InputLen()
	if len(batch) == 0 || len(batch)%il != 0 {
		return nil, fmt.Errorf("backbone: batch of %d values is not a whole number of %dx%d RGB images (%d values each)", len(batch), b.info.Width, b.info.Height, il)
	}
	n := len(batch) / il
	res := &Result{Embeddings: make([][]float32, n)}
	d := b.info.Dim
	embSlab := make([]float32, n*d)
	var logitSlab []float32
	c := b.info.Classes
	if b.info.Logits != "" {
		res.Logits = make([][]float32, n)
		logitSlab = make([]float32, n*c)
	}
	step := n
	if b.info.FixedBatch > 0 {
		step = b.info.FixedBatch
	}
	for start := 0; start < n; start += step {
		k := min(step, n-start)
		src := batch[start*il : (start+k)*il]
		t, err := b.acquire(step)
		if err != nil {
			return nil, err
		}
		dst := t.in.GetData()
		copy(dst, src)
		if k < step {
			// A fixed-batch model gets its last chunk padded with zeros.
			clear(dst[k*il:])
		}
		err = b.run(ctx, t)
		if err == nil {
			copy(embSlab[start*d:(start+k)*d], t.emb.GetData()[:k*d])
			if t.logits != nil {
				copy(logitSlab[start*c:(start+k)*c], t.logits.GetData()[:k*c])
			}
		}
		b.release(step, t)
		if err != nil {
			return nil, err
		}
	}
	for i := range n {
		res.Embeddings[i] = embSlab[i*d : (i+1)*d : (i+1)*d]
		if res.Logits != nil {
			res.Logits[i] = logitSlab[i*c : (i+1)*c : (i+1)*c]
		}
	}
	return res, nil
}

func (b *Backbone) acquire(n int) (*ioTensors, error) {
	b.mu.Lock()
	if sets := b.free[n]; len(sets) > 0 {
		t := sets[len(sets)-1]
		b.free[n] = sets[:len(sets)-1]
		b.mu.Unlock()
		return t, nil
	}
	b.mu.Unlock()
	t := &ioTensors{}
	var err error
	if t.in, err = ort.NewEmptyTensor[float32](b.inputShape(n)); err != nil {
		return nil, err
	}
	withBatch := func(s ort.Shape) ort.Shape { return append(ort.Shape{int64(n)}, s...) }
	if t.emb, err = ort.NewEmptyTensor[float32](withBatch(b.embShape)); err != nil {
		t.destroy()
		return nil, err
	}
	if b.info.Logits != "" {
		if t.logits, err = ort.NewEmptyTensor[float32](withBatch(b.logitsShape)); err != nil {
			t.destroy()
			return nil, err
		}
	}
	return t, nil
}

func (b *Backbone) release(n int, t *ioTensors) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.free[n]) >= maxIdleSets {
		t.destroy()
		return
	}
	b.free[n] = append(b.free[n], t)
}

func (b *Backbone) run(ctx context.Context, t *ioTensors) error {
	outs := []ort.Value{t.emb}
	if t.logits != nil {
		outs = append(outs, t.logits)
	}
	// Run options carry the terminate flag, so each run has its own.
	ro, err := ort.NewRunOptions()
	if err != nil {
		return fmt.Errorf("backbone: %w", err)
	}
	defer ro.Destroy()
	if err := runCancellable(ctx, ro, func() error {
		return b.session.RunWithOptions([]ort.Value{t.in}, outs, ro)
	}); err != nil {
		return fmt.Errorf("backbone: %w", err)
	}
	return nil
}

// Destroy releases the session and every tensor. The Backbone must not be
// used afterwards.
func (b *Backbone) Destroy() error {
	b.mu.Lock()
	for n, sets := range b.free {
		for _, t := range sets {
			t.destroy()
		}
		delete(b.free, n)
	}
	b.mu.Unlock()
	if b.session != nil {
		err := b.session.Destroy()
		b.session = nil
		return err
	}
	return nil
}

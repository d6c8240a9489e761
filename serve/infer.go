package serve

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/transfer-go/transfer/head"
)

// inferInput is the one input of an inference request, however it came:
// JSON, Triton's binary tensor data, or gRPC contents.
type inferInput struct {
	name, datatype string
	shape          []int64
	elems          [][]byte  // BYTES: encoded image files
	values         []float32 // pixels
}

// inferError is a failed inference with the HTTP status that answers it;
// the gRPC service maps the status to its code.
type inferError struct {
	status int
	msg    string
}

func (e *inferError) Error() string { return e.msg }

func inferErrorf(status int, format string, args ...any) error {
	return &inferError{status: status, msg: fmt.Sprintf(format, args...)}
}

// errReloaded reports heads swapped between a request's lookup and its
// batch.
var errReloaded = &inferError{status: http.StatusServiceUnavailable, msg: "the model was reloaded during the request: retry"}

// infer runs one input through head h and returns each image's
// probabilities. Its errors are *inferError, or ErrOverloaded, or the
// context's.
func (s *Server) infer(ctx context.Context, h Head, in inferInput) (probs [][]float64, err error) {
	start := time.Now()
	defer func() {
		if !errors.Is(err, ErrOverloaded) {
			s.stats.request([]string{h.Name}, err == nil, time.Since(start))
		}
	}()
	n, err := s.inputImages(in)
	if err != nil {
		return nil, err
	}
	if !s.batcher.admit(n) {
		return nil, ErrOverloaded
	}
	tensors := make([][]float32, n)
	if in.elems != nil {
		for i, b := range in.elems {
			if tensors[i], err = s.prepare(ctx, b); err != nil {
				for range n {
					s.batcher.done()
				}
				return nil, inferErrorf(http.StatusBadRequest, "input %q element %d: %v", in.name, i, err)
			}
		}
	} else {
		il := s.engine.InputLen()
		for i := range tensors {
			tensors[i] = in.values[i*il : (i+1)*il]
		}
	}
	results, err := s.runTensors(ctx, tensors)
	switch {
	case errors.Is(err, ErrOverloaded), err != nil && ctx.Err() != nil:
		return nil, err
	case errors.Is(err, ErrNonFiniteEmbedding):
		// The request's own pixels: a client error, never the head's.
		return nil, inferErrorf(http.StatusBadRequest, "input %q: %v", in.name, err)
	case err != nil:
		return nil, inferErrorf(http.StatusInternalServerError, "%v", err)
	}
	probs = make([][]float64, 0, len(results))
	for _, res := range results {
		for hi, hd := range res.heads {
			if hd.Name == h.Name && len(res.probs[hi]) == len(h.Model.Classes) {
				probs = append(probs, res.probs[hi])
			}
		}
	}
	if len(probs) != len(results) {
		return nil, errReloaded
	}
	return probs, nil
}

// inputImages checks the input against the model and returns how many
// images it holds.
func (s *Server) inputImages(in inferInput) (int, error) {
	bad := func(format string, args ...any) (int, error) {
		return 0, inferErrorf(http.StatusBadRequest, "input %q: "+format, append([]any{in.name}, args...)...)
	}
	switch {
	case in.name == inputImages && in.datatype == "BYTES":
		n := len(in.elems)
		if !imagesShape(in.shape, n) {
			return bad("shape %v does not match its %d elements (want [%d] or [%d, 1])", in.shape, n, n, n)
		}
		if n == 0 || n > s.opts.MaxImages {
			return bad("%d images; send 1 to %d", n, s.opts.MaxImages)
		}
		return n, nil
	case in.name == inputPixels && in.datatype == s.engine.PixelDatatype():
		one := s.engine.pixelShape()
		if len(in.shape) != 4 || in.shape[0] < 1 || in.shape[1] != one[0] || in.shape[2] != one[1] || in.shape[3] != one[2] {
			return bad("shape %v; want [N, %d, %d, %d] (the model's layout)", in.shape, one[0], one[1], one[2])
		}
		if in.shape[0] > int64(s.opts.MaxImages) {
			return bad("%d images; send at most %d", in.shape[0], s.opts.MaxImages)
		}
		n := int(in.shape[0])
		if want := n * s.engine.InputLen(); len(in.values) != want {
			return bad("%d values for shape %v (want %d)", len(in.values), in.shape, want)
		}
		return n, nil
	case in.name == inputPixels:
		return bad("datatype %s: this model's pixels are %s (%s; the model metadata says so)", in.datatype, s.engine.PixelDatatype(), s.engine.PixelMeaning())
	}
	return 0, inferErrorf(http.StatusBadRequest, "input %q of datatype %s: want %q (BYTES, encoded images) or %q (%s, %s)", in.name, in.datatype, inputImages, inputPixels, s.engine.PixelDatatype(), s.engine.PixelMeaning())
}

// imagesShape reports whether shape holds n images: [n], or [n, 1] as
// Triton's clients send a batch of one-element rows.
func imagesShape(shape []int64, n int) bool {
	if len(shape) == 0 || shape[0] != int64(n) {
		return false
	}
	for _, d := range shape[1:] {
		if d != 1 {
			return false
		}
	}
	return true
}

// runTensors queues the tensors and waits for their results.
func (s *Server) runTensors(ctx context.Context, tensors [][]float32) ([]jobResult, error) {
	jobs := make([]*job, len(tensors))
	// The images were admitted (counted as preparing, so that the batch
	// waits for all of them); each is released as it is queued.
	for i, t := range tensors {
		jobs[i] = &job{ctx: ctx, tensor: t, done: make(chan jobResult, 1)}
		err := s.batcher.submit(jobs[i])
		s.batcher.done()
		if err != nil {
			for range len(tensors) - i - 1 {
				s.batcher.done()
			}
			return nil, err
		}
	}
	out := make([]jobResult, len(jobs))
	for i, j := range jobs {
		select {
		case out[i] = <-j.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if out[i].err != nil {
			return nil, out[i].err
		}
	}
	return out, nil
}

// classifications formats each image's top k as Triton's classification
// extension has it: "score:index:label", best first, the score a float32.
func classifications(probs [][]float64, k int, classes []string) []string {
	var out []string
	for _, p := range probs {
		for _, j := range head.Top(p, k) {
			out = append(out, strconv.FormatFloat(float64(float32(p[j])), 'g', -1, 32)+":"+strconv.Itoa(j)+":"+classes[j])
		}
	}
	return out
}

// flatFloat32 lays the images' probabilities out row-major as the FP32
// output: float32, as the protocol's datatype says.
func flatFloat32(probs [][]float64) []float32 {
	var v []float32
	if len(probs) > 0 {
		v = make([]float32, 0, len(probs)*len(probs[0]))
	}
	for _, p := range probs {
		for _, x := range p {
			v = append(v, float32(x))
		}
	}
	return v
}

// modelTensors are a head's inputs and output as both the REST and the
// gRPC model metadata describe them.
func (s *Server) modelTensors(h Head) (inputs, outputs []TensorMetadata) {
	e := s.engine
	return []TensorMetadata{
			{Name: inputImages, Datatype: "BYTES", Shape: []int64{-1}},
			{Name: inputPixels, Datatype: e.PixelDatatype(), Shape: append([]int64{-1}, e.pixelShape()...)},
		},
		[]TensorMetadata{{Name: outputProbs, Datatype: "FP32", Shape: []int64{-1, int64(len(h.Model.Classes))}}}
}

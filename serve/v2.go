package serve

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/transfer-go/transfer/backbone"
)

// The Open Inference Protocol's JSON shapes (KServe v2, Triton's HTTP/REST
// API). Each head is a model; its output is "probabilities".

// TensorMetadata describes an input or output of a model.
type TensorMetadata struct {
	Name     string  `json:"name"`
	Datatype string  `json:"datatype"`
	Shape    []int64 `json:"shape"`
}

// ModelMetadata is GET /v2/models/{name}'s answer.
type ModelMetadata struct {
	Name     string           `json:"name"`
	Versions []string         `json:"versions"`
	Platform string           `json:"platform"`
	Inputs   []TensorMetadata `json:"inputs"`
	Outputs  []TensorMetadata `json:"outputs"`
	// Parameters carry the class names, in the order of the output.
	Parameters map[string]any `json:"parameters,omitempty"`
}

// InferTensor is a tensor of a request or a response.
type InferTensor struct {
	Name       string          `json:"name"`
	Shape      []int64         `json:"shape"`
	Datatype   string          `json:"datatype"`
	Parameters map[string]any  `json:"parameters,omitempty"`
	Data       json.RawMessage `json:"data"`
}

// InferRequest is POST /v2/models/{name}/infer's body.
type InferRequest struct {
	ID      string        `json:"id,omitempty"`
	Inputs  []InferTensor `json:"inputs"`
	Outputs []struct {
		Name string `json:"name"`
	} `json:"outputs,omitempty"`
}

// InferResponse is its answer.
type InferResponse struct {
	ModelName    string           `json:"model_name"`
	ModelVersion string           `json:"model_version,omitempty"`
	ID           string           `json:"id,omitempty"`
	Outputs      []InferOutTensor `json:"outputs"`
}

// InferOutTensor is an output tensor with its data.
type InferOutTensor struct {
	Name     string    `json:"name"`
	Shape    []int64   `json:"shape"`
	Datatype string    `json:"datatype"`
	Data     []float64 `json:"data"`
}

const (
	inputImages = "images" // BYTES: encoded image files, base64 in JSON
	inputPixels = "pixels" // FP32: preprocessed pixels in the model's layout
	outputProbs = "probabilities"
)

func (s *Server) serverMeta(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"name": s.opts.Model, "version": s.opts.Version, "extensions": []string{}})
}

// pixelShape is one image's FP32 input shape in the model's layout.
func (s *Server) pixelShape() []int64 {
	e := s.engine
	h, wd := int64(e.height), int64(e.width)
	if e.layout == backbone.NCHW {
		return []int64{3, h, wd}
	}
	return []int64{h, wd, 3}
}

func (s *Server) modelMeta(w http.ResponseWriter, r *http.Request) {
	h, ok := s.engine.Head(r.PathValue("name"))
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no model %q: the models are the heads served (GET /v2/models/NAME)", r.PathValue("name")))
		return
	}
	writeJSON(w, http.StatusOK, ModelMetadata{
		Name: h.Name, Versions: []string{"1"}, Platform: "transfer",
		Inputs: []TensorMetadata{
			{Name: inputImages, Datatype: "BYTES", Shape: []int64{-1}},
			{Name: inputPixels, Datatype: "FP32", Shape: append([]int64{-1}, s.pixelShape()...)},
		},
		Outputs:    []TensorMetadata{{Name: outputProbs, Datatype: "FP32", Shape: []int64{-1, int64(len(h.Model.Classes))}}},
		Parameters: map[string]any{"classes": h.Model.Classes, "pixels": s.engine.pixels.String()},
	})
}

func (s *Server) modelReady(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.engine.Head(r.PathValue("name")); !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no model %q", r.PathValue("name")))
		return
	}
	s.readyz(w, r)
}

func (s *Server) infer(w http.ResponseWriter, r *http.Request) {
	h, ok := s.engine.Head(r.PathValue("name"))
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no model %q: the models are the heads served", r.PathValue("name")))
		return
	}
	if !s.isReady() {
		writeError(w, http.StatusServiceUnavailable, "starting")
		return
	}
	var req InferRequest
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(&req); err != nil {
		bodyError(w, err)
		return
	}
	for _, o := range req.Outputs {
		if o.Name != outputProbs {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("no output %q: the output is %q", o.Name, outputProbs))
			return
		}
	}
	if len(req.Inputs) != 1 {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("want one input (%q BYTES or %q FP32), got %d", inputImages, inputPixels, len(req.Inputs)))
		return
	}
	n := inputCount(req.Inputs[0])
	if n > s.opts.MaxImages {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("input %q: %d images; send at most %d", req.Inputs[0].Name, n, s.opts.MaxImages))
		return
	}
	if !s.batcher.admit(n) {
		writeError(w, http.StatusServiceUnavailable, "overloaded: retry shortly")
		return
	}
	tensors, err := s.inferTensors(r.Context(), req.Inputs[0])
	if err == nil && len(tensors) != n {
		err = fmt.Errorf("input %q: %d images where its shape says %d", req.Inputs[0].Name, len(tensors), n)
	}
	if err != nil {
		for range n {
			s.batcher.done()
		}
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	probs, err := s.runTensors(r.Context(), tensors)
	switch {
	case errors.Is(err, ErrOverloaded):
		writeError(w, http.StatusServiceUnavailable, "overloaded: retry shortly")
		return
	case err != nil && r.Context().Err() != nil:
		return
	case errors.Is(err, ErrNonFiniteEmbedding):
		// The request's own pixels: a client error, never the head's.
		writeError(w, http.StatusBadRequest, err.Error())
		return
	case err != nil:
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	c := len(h.Model.Classes)
	out := InferOutTensor{Name: outputProbs, Datatype: "FP32", Shape: []int64{int64(len(tensors)), int64(c)}, Data: make([]float64, 0, len(tensors)*c)}
	for _, p := range probs {
		for hi, hd := range p.heads {
			if hd.Name == h.Name {
				out.Data = append(out.Data, p.probs[hi]...)
			}
		}
	}
	if len(out.Data) != len(tensors)*c {
		// The heads were swapped between the lookup and the batch.
		writeError(w, http.StatusServiceUnavailable, "the model was reloaded during the request: retry")
		return
	}
	writeJSON(w, http.StatusOK, InferResponse{ModelName: h.Name, ModelVersion: "1", ID: req.ID, Outputs: []InferOutTensor{out}})
}

// inferTensors turns the input into preprocessed tensors: BYTES elements
// are encoded images (base64), decoded as /v1/classify does; FP32 data is
// taken as it is, checked against the model's shape.
func (s *Server) inferTensors(ctx context.Context, in InferTensor) ([][]float32, error) {
	switch {
	case in.Name == inputImages && in.Datatype == "BYTES":
		var elems []string
		if err := json.Unmarshal(in.Data, &elems); err != nil {
			return nil, fmt.Errorf("input %q: data must be a flat list of base64 strings, one encoded image each (%v)", in.Name, err)
		}
		if len(in.Shape) != 1 || in.Shape[0] != int64(len(elems)) {
			return nil, fmt.Errorf("input %q: shape %v does not match its %d elements (want [%d])", in.Name, in.Shape, len(elems), len(elems))
		}
		if len(elems) == 0 || len(elems) > s.opts.MaxImages {
			return nil, fmt.Errorf("input %q: %d images; send 1 to %d", in.Name, len(elems), s.opts.MaxImages)
		}
		out := make([][]float32, len(elems))
		for i, e := range elems {
			b, err := base64.StdEncoding.DecodeString(e)
			if err != nil {
				return nil, fmt.Errorf("input %q element %d is not base64: %v", in.Name, i, err)
			}
			if out[i], err = s.prepare(ctx, b); err != nil {
				return nil, fmt.Errorf("input %q element %d: %v", in.Name, i, err)
			}
		}
		return out, nil
	case in.Name == inputPixels && in.Datatype == "FP32":
		one := s.pixelShape()
		if len(in.Shape) != 4 || in.Shape[0] < 1 || in.Shape[1] != one[0] || in.Shape[2] != one[1] || in.Shape[3] != one[2] {
			return nil, fmt.Errorf("input %q: shape %v; want [N, %d, %d, %d] (the model's layout)", in.Name, in.Shape, one[0], one[1], one[2])
		}
		if in.Shape[0] > int64(s.opts.MaxImages) {
			return nil, fmt.Errorf("input %q: %d images; send at most %d", in.Name, in.Shape[0], s.opts.MaxImages)
		}
		var data []float32
		if err := json.Unmarshal(in.Data, &data); err != nil {
			return nil, fmt.Errorf("input %q: data must be a flat list of numbers (%v)", in.Name, err)
		}
		il := s.engine.InputLen()
		if len(data) != int(in.Shape[0])*il {
			return nil, fmt.Errorf("input %q: %d values for shape %v (want %d)", in.Name, len(data), in.Shape, int(in.Shape[0])*il)
		}
		out := make([][]float32, in.Shape[0])
		for i := range out {
			out[i] = data[i*il : (i+1)*il]
		}
		return out, nil
	}
	return nil, fmt.Errorf("input %q of datatype %s: want %q (BYTES, encoded images) or %q (FP32, preprocessed pixels)", in.Name, in.Datatype, inputImages, inputPixels)
}

// inputCount is the number of images an input's shape declares (at least
// 1, so that a malformed request still takes a slot while it is read).
func inputCount(in InferTensor) int {
	if len(in.Shape) > 0 && in.Shape[0] > 0 && in.Shape[0] <= 1<<16 {
		return int(in.Shape[0])
	}
	return 1
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

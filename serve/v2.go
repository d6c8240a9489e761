package serve

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
)

// The Open Inference Protocol's JSON shapes (KServe v2, Triton's HTTP/REST
// API). Each head is a model of one version, "1"; its output is
// "probabilities".

// Parameters are the protocol's parameters: string, number or boolean
// values. Decoded from a request, numbers are json.Number.
type Parameters map[string]any

// Int returns the whole number under key; ok is false when it is absent.
func (p Parameters) Int(key string) (v int64, ok bool, err error) {
	raw, ok := p[key]
	if !ok {
		return 0, false, nil
	}
	switch n := raw.(type) {
	case json.Number:
		if v, err := n.Int64(); err == nil {
			return v, true, nil
		}
	case float64:
		if n == float64(int64(n)) {
			return int64(n), true, nil
		}
	case int:
		return int64(n), true, nil
	case int64:
		return n, true, nil
	}
	return 0, true, fmt.Errorf("parameter %q is %v; want a whole number", key, raw)
}

// Bool returns the boolean under key; ok is false when it is absent.
func (p Parameters) Bool(key string) (v, ok bool, err error) {
	raw, ok := p[key]
	if !ok {
		return false, false, nil
	}
	if b, isBool := raw.(bool); isBool {
		return b, true, nil
	}
	return false, true, fmt.Errorf("parameter %q is %v; want true or false", key, raw)
}

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
	// Parameters: "classes", the class names in the order of the output
	// as a JSON list in a string (the protocol takes scalars only);
	// "class_count"; "pixels", how images are brought to the input size;
	// "preprocess", what the "pixels" input's values are.
	Parameters Parameters `json:"parameters,omitempty"`
}

// ServerMetadata is GET /v2's answer.
type ServerMetadata struct {
	Name       string   `json:"name"`
	Version    string   `json:"version"`
	Extensions []string `json:"extensions"`
}

// InferTensor is an input tensor of a request. Data is absent when the
// tensor's bytes follow the JSON (binary_data_size).
type InferTensor struct {
	Name       string          `json:"name"`
	Shape      []int64         `json:"shape"`
	Datatype   string          `json:"datatype"`
	Parameters Parameters      `json:"parameters,omitempty"`
	Data       json.RawMessage `json:"data,omitempty"`
}

// RequestedOutput names an output a request wants, with its parameters:
// "classification" (Triton's classification extension: the top k as
// "score:index:label" strings) and "binary_data".
type RequestedOutput struct {
	Name       string     `json:"name"`
	Parameters Parameters `json:"parameters,omitempty"`
}

// InferRequest is POST /v2/models/{name}/infer's body (its JSON part,
// when binary tensor data follows). Parameters may hold
// "binary_data_output".
type InferRequest struct {
	ID         string            `json:"id,omitempty"`
	Parameters Parameters        `json:"parameters,omitempty"`
	Inputs     []InferTensor     `json:"inputs"`
	Outputs    []RequestedOutput `json:"outputs,omitempty"`
}

// InferResponse is its answer.
type InferResponse struct {
	ModelName    string           `json:"model_name"`
	ModelVersion string           `json:"model_version,omitempty"`
	ID           string           `json:"id,omitempty"`
	Outputs      []InferOutTensor `json:"outputs"`
}

// InferOutTensor is an output tensor: Data is []float32 for FP32 and
// []string for BYTES, or absent when the bytes follow the JSON
// (Parameters["binary_data_size"]).
type InferOutTensor struct {
	Name       string     `json:"name"`
	Shape      []int64    `json:"shape"`
	Datatype   string     `json:"datatype"`
	Parameters Parameters `json:"parameters,omitempty"`
	Data       any        `json:"data,omitempty"`
}

const (
	inputImages  = "images"        // BYTES: encoded image files (base64 in JSON, raw as binary data)
	inputPixels  = "pixels"        // FP32 preprocessed values, or UINT8 for a model that preprocesses inside
	outputProbs  = "probabilities" // FP32 [N, classes]
	modelVersion = "1"
	// headerLength is the binary tensor data extension's header: the
	// length of the JSON that starts the body.
	headerLength = "Inference-Header-Content-Length"
)

// extensions are the protocol extensions REST implements; grpcExtensions
// those of the gRPC service (whose proto has no statistics RPC, and whose
// raw contents are its own binary form).
var (
	extensions     = []string{"binary_tensor_data", "classification", "statistics"}
	grpcExtensions = []string{"classification"}
)

func (s *Server) serverMeta(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, ServerMetadata{Name: "transfer", Version: s.opts.Version, Extensions: extensions})
}

// model finds the head a /v2/models route names, at the version it names
// if any; on failure it has answered 404.
func (s *Server) model(w http.ResponseWriter, r *http.Request) (Head, bool) {
	name := r.PathValue("name")
	h, ok := s.engine.Head(name)
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no model %q: the models are the heads served (POST /v2/repository/index lists them)", name))
		return Head{}, false
	}
	if v := r.PathValue("version"); v != "" && v != modelVersion {
		writeError(w, http.StatusNotFound, fmt.Sprintf("model %q has no version %q: its one version is %q", name, v, modelVersion))
		return Head{}, false
	}
	return h, true
}

func (s *Server) modelMeta(w http.ResponseWriter, r *http.Request) {
	h, ok := s.model(w, r)
	if !ok {
		return
	}
	classes, _ := json.Marshal(h.Model.Classes)
	inputs, outputs := s.modelTensors(h)
	writeJSON(w, http.StatusOK, ModelMetadata{
		Name: h.Name, Versions: []string{modelVersion}, Platform: "transfer", Inputs: inputs, Outputs: outputs,
		Parameters: Parameters{"classes": string(classes), "class_count": len(h.Model.Classes),
			"pixels": s.engine.pixels.String(), "preprocess": s.engine.PixelMeaning()},
	})
}

func (s *Server) modelReady(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.model(w, r); ok {
		s.readyz(w, r)
	}
}

// RepositoryModel is an entry of POST /v2/repository/index's answer.
type RepositoryModel struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	State   string `json:"state"`
}

// repositoryIndex lists the served heads (Triton's model repository
// index; the repository is read-only: heads change on SIGHUP).
func (s *Server) repositoryIndex(w http.ResponseWriter, r *http.Request) {
	state := "UNAVAILABLE"
	if s.isReady() {
		state = "READY"
	}
	out := []RepositoryModel{}
	for _, h := range s.engine.Heads() {
		out = append(out, RepositoryModel{Name: h.Name, Version: modelVersion, State: state})
	}
	writeJSON(w, http.StatusOK, out)
}

// outputSpec is one output a request asked for.
type outputSpec struct {
	classification int // top k as strings, or 0 for the probabilities
	binary         bool
}

// requestedOutputs reads what outputs the request wants: all of them
// (binary when binary_data_output says so) when it names none.
func requestedOutputs(req InferRequest, classes int) ([]outputSpec, error) {
	binary, _, err := req.Parameters.Bool("binary_data_output")
	if err != nil {
		return nil, err
	}
	if len(req.Outputs) == 0 {
		return []outputSpec{{binary: binary}}, nil
	}
	out := make([]outputSpec, len(req.Outputs))
	for i, o := range req.Outputs {
		if o.Name != outputProbs {
			return nil, fmt.Errorf("no output %q: the output is %q", o.Name, outputProbs)
		}
		out[i].binary = binary
		if b, ok, err := o.Parameters.Bool("binary_data"); err != nil {
			return nil, fmt.Errorf("output %q: %w", o.Name, err)
		} else if ok {
			out[i].binary = b
		}
		k, ok, err := o.Parameters.Int("classification")
		switch {
		case err != nil:
			return nil, fmt.Errorf("output %q: %w", o.Name, err)
		case ok && k < 1:
			return nil, fmt.Errorf("output %q: classification %d: want a count of 1 or more", o.Name, k)
		case ok:
			out[i].classification = int(min(k, int64(classes)))
		}
	}
	return out, nil
}

// readInferRequest reads the request's JSON and, after it, the binary
// tensor data (Inference-Header-Content-Length gives the JSON's length).
// code is the status for err: 400, or 0 for an error of reading the body
// (bodyError answers it).
func readInferRequest(r *http.Request) (req InferRequest, tail []byte, code int, err error) {
	body, err := readBody(r)
	if err != nil {
		return req, nil, 0, err
	}
	header := body
	if v := r.Header.Get(headerLength); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > len(body) {
			return req, nil, http.StatusBadRequest, fmt.Errorf("%s %q: want the length of the JSON that starts the body, at most its %d bytes", headerLength, v, len(body))
		}
		if n == 0 {
			return req, nil, http.StatusBadRequest, fmt.Errorf("%s: 0 (a raw binary request) needs a model of one input, and these have two (%q, %q): send the JSON header", headerLength, inputImages, inputPixels)
		}
		header, tail = body[:n], body[n:]
	}
	dec := json.NewDecoder(bytes.NewReader(header))
	dec.UseNumber()
	if err := dec.Decode(&req); err != nil {
		return req, nil, http.StatusBadRequest, fmt.Errorf("the request is not an inference request in JSON: %v", err)
	}
	if dec.More() {
		return req, nil, http.StatusBadRequest, fmt.Errorf("bytes follow the request's JSON without %s to say where it ends", headerLength)
	}
	return req, tail, 0, nil
}

func (s *Server) inferHTTP(w http.ResponseWriter, r *http.Request) {
	h, ok := s.model(w, r)
	if !ok {
		return
	}
	if !s.isReady() {
		writeError(w, http.StatusServiceUnavailable, "starting")
		return
	}
	req, tail, code, err := readInferRequest(r)
	if err != nil {
		if code != 0 {
			writeError(w, code, err.Error())
		} else {
			bodyError(w, err)
		}
		return
	}
	outs, err := requestedOutputs(req, len(h.Model.Classes))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if len(req.Inputs) != 1 {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("want one input (%q BYTES or %q %s), got %d", inputImages, inputPixels, s.engine.PixelDatatype(), len(req.Inputs)))
		return
	}
	in, err := s.restInput(req.Inputs[0], tail)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	probs, err := s.infer(r.Context(), h, in)
	var ie *inferError
	switch {
	case errors.Is(err, ErrOverloaded):
		writeError(w, http.StatusServiceUnavailable, "overloaded: retry shortly")
		return
	case err != nil && r.Context().Err() != nil:
		return // the client went away
	case errors.As(err, &ie):
		writeError(w, ie.status, ie.msg)
		return
	case err != nil:
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	resp := InferResponse{ModelName: h.Name, ModelVersion: modelVersion, ID: req.ID}
	var data []byte
	for _, o := range outs {
		t, b := outputTensor(o, probs, h.Model.Classes)
		resp.Outputs = append(resp.Outputs, t)
		data = append(data, b...)
	}
	if !anyBinary(outs) {
		writeJSON(w, http.StatusOK, resp)
		return
	}
	writeBinary(w, resp, data)
}

func anyBinary(outs []outputSpec) bool {
	for _, o := range outs {
		if o.binary {
			return true
		}
	}
	return false
}

// outputTensor builds one output: FP32 probabilities or, for the
// classification extension, BYTES "score:index:label" strings, the top k
// of each image. A binary output's bytes are returned to follow the JSON.
func outputTensor(o outputSpec, probs [][]float64, classes []string) (InferOutTensor, []byte) {
	n := int64(len(probs))
	if o.classification > 0 {
		s := classifications(probs, o.classification, classes)
		t := InferOutTensor{Name: outputProbs, Datatype: "BYTES", Shape: []int64{n, int64(o.classification)}}
		if o.binary {
			b := appendElements(nil, s)
			t.Parameters = Parameters{"binary_data_size": len(b)}
			return t, b
		}
		t.Data = s
		return t, nil
	}
	v := flatFloat32(probs)
	t := InferOutTensor{Name: outputProbs, Datatype: "FP32", Shape: []int64{n, int64(len(classes))}}
	if o.binary {
		b := appendFloat32s(nil, v)
		t.Parameters = Parameters{"binary_data_size": len(b)}
		return t, b
	}
	t.Data = v
	return t, nil
}

// writeBinary answers with the JSON header and the outputs' bytes after
// it, as the binary tensor data extension has it.
func writeBinary(w http.ResponseWriter, resp InferResponse, data []byte) {
	header, err := json.Marshal(resp)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "the answer could not be encoded (a bug in transfer): "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set(headerLength, strconv.Itoa(len(header)))
	w.Header().Set("Content-Length", strconv.Itoa(len(header)+len(data)))
	w.WriteHeader(http.StatusOK)
	w.Write(header)
	w.Write(data)
}

// restInput reads a REST input: its data as JSON (BYTES elements base64,
// numbers flat or nested) or as binary tensor data (tail, the bytes after
// the JSON).
func (s *Server) restInput(in InferTensor, tail []byte) (inferInput, error) {
	out := inferInput{name: in.Name, datatype: in.Datatype, shape: in.Shape}
	size, binary, err := in.Parameters.Int("binary_data_size")
	switch {
	case err != nil:
		return out, fmt.Errorf("input %q: %w", in.Name, err)
	case binary && len(in.Data) > 0:
		return out, fmt.Errorf("input %q has both data and binary_data_size: send one", in.Name)
	case binary && size != int64(len(tail)):
		return out, fmt.Errorf("input %q: binary_data_size %d, but %d bytes follow the JSON", in.Name, size, len(tail))
	case !binary && len(tail) > 0:
		return out, fmt.Errorf("%d bytes follow the JSON, but input %q has no binary_data_size", len(tail), in.Name)
	case !binary && len(in.Data) == 0:
		return out, fmt.Errorf("input %q has no data", in.Name)
	}
	switch in.Datatype {
	case "BYTES":
		if binary {
			if out.elems, err = binaryElements(tail); err != nil {
				return out, fmt.Errorf("input %q: %v", in.Name, err)
			}
			if out.elems == nil {
				out.elems = [][]byte{}
			}
			return out, nil
		}
		strs, err := jsonStrings(in.Data)
		if err != nil {
			return out, fmt.Errorf("input %q: data must be base64 strings, one encoded image each (%v)", in.Name, err)
		}
		out.elems = make([][]byte, len(strs))
		for i, e := range strs {
			if out.elems[i], err = base64.StdEncoding.DecodeString(e); err != nil {
				return out, fmt.Errorf("input %q element %d is not base64: %v", in.Name, i, err)
			}
		}
		return out, nil
	case "FP32", "UINT8":
		if in.Datatype != s.engine.PixelDatatype() {
			return out, nil // inputImages says what this model's pixels are
		}
		bits := 32
		if in.Datatype == "UINT8" {
			bits = 8
		}
		if binary {
			out.values, err = binaryNumbers(tail, bits)
		} else {
			out.values, err = jsonNumbers(in.Data, bits)
		}
		if err != nil {
			return out, fmt.Errorf("input %q: %v", in.Name, err)
		}
		return out, nil
	}
	return out, nil // inputImages names what is wrong with it
}

package serve

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"runtime/debug"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/transfer-go/transfer/serve/inference"
)

// GRPCServer returns a gRPC server of the Open Inference Protocol's
// inference.GRPCInferenceService over s: the same engine, batches,
// admission control (RESOURCE_EXHAUSTED where REST answers 503), limits
// (a message is at most MaxBody; the messages being answered hold at most
// MaxBodies) and metrics (route "grpc/RPC", code the gRPC code's name).
// Serve it on a listener of its own; Run must be running. Stop it
// (GracefulStop) before Run returns.
func (s *Server) GRPCServer(opts ...grpc.ServerOption) *grpc.Server {
	opts = append([]grpc.ServerOption{
		grpc.MaxRecvMsgSize(int(s.opts.MaxBody)),
		grpc.MaxSendMsgSize(int(s.opts.MaxBody)),
		grpc.ChainUnaryInterceptor(s.grpcObserve),
	}, opts...)
	g := grpc.NewServer(opts...)
	inference.RegisterGRPCInferenceServiceServer(g, &grpcService{s: s})
	return g
}

// grpcObserve counts and times each call, holds its message's bytes in
// the body budget while it is answered, and turns a panic into INTERNAL
// with a log line, as REST's routes do.
func (s *Server) grpcObserve(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (resp any, err error) {
	start := time.Now()
	name := "grpc/" + info.FullMethod[len("/inference.GRPCInferenceService/"):]
	defer func() {
		if p := recover(); p != nil {
			s.opts.Logger.Error("handler panic", "route", name, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			err = status.Error(codes.Internal, "internal error (a bug in transfer; it is logged)")
		}
		s.metrics.requests.WithLabelValues(name, status.Code(err).String()).Inc()
		s.metrics.latency.WithLabelValues(name).Observe(time.Since(start).Seconds())
	}()
	if m, ok := req.(proto.Message); ok {
		n := int64(proto.Size(m))
		if !s.bodies.take(n) {
			return nil, status.Error(codes.ResourceExhausted, "overloaded: the server holds as many request bodies as it may; retry shortly")
		}
		defer s.bodies.give(n)
	}
	return h(ctx, req)
}

type grpcService struct {
	inference.UnimplementedGRPCInferenceServiceServer
	s *Server
}

func (g *grpcService) ServerLive(context.Context, *inference.ServerLiveRequest) (*inference.ServerLiveResponse, error) {
	return &inference.ServerLiveResponse{Live: true}, nil
}

func (g *grpcService) ServerReady(context.Context, *inference.ServerReadyRequest) (*inference.ServerReadyResponse, error) {
	return &inference.ServerReadyResponse{Ready: g.s.isReady()}, nil
}

// model finds the head a request names, at its version if it gives one.
func (g *grpcService) model(name, version string) (Head, error) {
	h, ok := g.s.engine.Head(name)
	if !ok {
		return Head{}, status.Errorf(codes.NotFound, "no model %q: the models are the heads served", name)
	}
	if version != "" && version != modelVersion {
		return Head{}, status.Errorf(codes.NotFound, "model %q has no version %q: its one version is %q", name, version, modelVersion)
	}
	return h, nil
}

func (g *grpcService) ModelReady(ctx context.Context, req *inference.ModelReadyRequest) (*inference.ModelReadyResponse, error) {
	if _, err := g.model(req.GetName(), req.GetVersion()); err != nil {
		return nil, err
	}
	return &inference.ModelReadyResponse{Ready: g.s.isReady()}, nil
}

func (g *grpcService) ServerMetadata(context.Context, *inference.ServerMetadataRequest) (*inference.ServerMetadataResponse, error) {
	return &inference.ServerMetadataResponse{Name: "transfer", Version: g.s.opts.Version, Extensions: grpcExtensions}, nil
}

func (g *grpcService) ModelMetadata(ctx context.Context, req *inference.ModelMetadataRequest) (*inference.ModelMetadataResponse, error) {
	h, err := g.model(req.GetName(), req.GetVersion())
	if err != nil {
		return nil, err
	}
	inputs, outputs := g.s.modelTensors(h)
	return &inference.ModelMetadataResponse{Name: h.Name, Versions: []string{modelVersion}, Platform: "transfer",
		Inputs: grpcTensors(inputs), Outputs: grpcTensors(outputs)}, nil
}

func grpcTensors(ts []TensorMetadata) []*inference.ModelMetadataResponse_TensorMetadata {
	out := make([]*inference.ModelMetadataResponse_TensorMetadata, len(ts))
	for i, t := range ts {
		out[i] = &inference.ModelMetadataResponse_TensorMetadata{Name: t.Name, Datatype: t.Datatype, Shape: t.Shape}
	}
	return out
}

// ModelInfer answers in the form the request used: raw_output_contents
// for raw_input_contents (as Triton's clients send by default), typed
// contents otherwise.
func (g *grpcService) ModelInfer(ctx context.Context, req *inference.ModelInferRequest) (*inference.ModelInferResponse, error) {
	h, err := g.model(req.GetModelName(), req.GetModelVersion())
	if err != nil {
		return nil, err
	}
	if !g.s.isReady() {
		return nil, status.Error(codes.Unavailable, "starting")
	}
	outs, err := grpcOutputs(req, len(h.Model.Classes))
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	if len(req.GetInputs()) != 1 {
		return nil, status.Errorf(codes.InvalidArgument, "want one input (%q BYTES or %q %s), got %d", inputImages, inputPixels, g.s.engine.PixelDatatype(), len(req.GetInputs()))
	}
	raw := len(req.GetRawInputContents()) > 0
	in, err := grpcInput(req)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	probs, err := g.s.infer(ctx, h, in)
	if err != nil {
		return nil, grpcError(err)
	}
	resp := &inference.ModelInferResponse{ModelName: h.Name, ModelVersion: modelVersion, Id: req.GetId()}
	for _, k := range outs {
		t, b := grpcOutput(k, probs, h.Model.Classes, raw)
		resp.Outputs = append(resp.Outputs, t)
		if raw {
			resp.RawOutputContents = append(resp.RawOutputContents, b)
		}
	}
	return resp, nil
}

// grpcError maps the engine's errors to gRPC codes.
func grpcError(err error) error {
	var ie *inferError
	switch {
	case errors.Is(err, ErrOverloaded):
		return status.Error(codes.ResourceExhausted, "overloaded: retry shortly")
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	case errors.As(err, &ie) && ie.status == http.StatusBadRequest:
		return status.Error(codes.InvalidArgument, ie.msg)
	case errors.As(err, &ie) && ie.status == http.StatusServiceUnavailable:
		return status.Error(codes.Unavailable, ie.msg)
	}
	return status.Error(codes.Internal, err.Error())
}

// grpcOutputs reads the outputs asked for: a classification count for
// each (0 for the probabilities); all outputs when none is named.
func grpcOutputs(req *inference.ModelInferRequest, classes int) ([]int, error) {
	if len(req.GetOutputs()) == 0 {
		return []int{0}, nil
	}
	var out []int
	for _, o := range req.GetOutputs() {
		if o.GetName() != outputProbs {
			return nil, fmt.Errorf("no output %q: the output is %q", o.GetName(), outputProbs)
		}
		k := 0
		if p, ok := o.GetParameters()["classification"]; ok {
			v, isInt := p.GetParameterChoice().(*inference.InferParameter_Int64Param)
			if !isInt || v.Int64Param < 1 {
				return nil, fmt.Errorf("output %q: classification must be an int64 count of 1 or more", o.GetName())
			}
			k = int(min(v.Int64Param, int64(classes)))
		}
		out = append(out, k)
	}
	return out, nil
}

// grpcInput reads the request's input from raw_input_contents (the
// binary layout of the binary tensor data extension) or its typed
// contents: bytes_contents for BYTES, fp32_contents for FP32,
// uint_contents for UINT8.
func grpcInput(req *inference.ModelInferRequest) (inferInput, error) {
	t := req.GetInputs()[0]
	in := inferInput{name: t.GetName(), datatype: t.GetDatatype(), shape: t.GetShape()}
	raw := req.GetRawInputContents()
	if len(raw) > 1 {
		return in, fmt.Errorf("%d raw_input_contents for one input", len(raw))
	}
	if len(raw) == 1 && t.GetContents() != nil {
		return in, fmt.Errorf("input %q has both contents and raw_input_contents: send one", in.name)
	}
	var err error
	switch in.datatype {
	case "BYTES":
		if len(raw) == 1 {
			if in.elems, err = binaryElements(raw[0]); err != nil {
				return in, fmt.Errorf("input %q: %v", in.name, err)
			}
		} else {
			in.elems = t.GetContents().GetBytesContents()
		}
		if in.elems == nil {
			in.elems = [][]byte{}
		}
	case "FP32":
		if len(raw) == 1 {
			if in.values, err = binaryNumbers(raw[0], 32); err != nil {
				return in, fmt.Errorf("input %q: %v", in.name, err)
			}
		} else {
			in.values = t.GetContents().GetFp32Contents()
		}
	case "UINT8":
		if len(raw) == 1 {
			in.values, _ = binaryNumbers(raw[0], 8)
			break
		}
		for _, v := range t.GetContents().GetUintContents() {
			if v > math.MaxUint8 {
				return in, fmt.Errorf("input %q: %d is not a UINT8", in.name, v)
			}
			in.values = append(in.values, float32(v))
		}
	}
	return in, nil
}

// grpcOutput builds one output, in contents or (raw) as bytes.
func grpcOutput(k int, probs [][]float64, classes []string, raw bool) (*inference.ModelInferResponse_InferOutputTensor, []byte) {
	n := int64(len(probs))
	if k > 0 {
		strs := classifications(probs, k, classes)
		t := &inference.ModelInferResponse_InferOutputTensor{Name: outputProbs, Datatype: "BYTES", Shape: []int64{n, int64(k)}}
		if raw {
			return t, appendElements(nil, strs)
		}
		elems := make([][]byte, len(strs))
		for i, e := range strs {
			elems[i] = []byte(e)
		}
		t.Contents = &inference.InferTensorContents{BytesContents: elems}
		return t, nil
	}
	v := flatFloat32(probs)
	t := &inference.ModelInferResponse_InferOutputTensor{Name: outputProbs, Datatype: "FP32", Shape: []int64{n, int64(len(classes))}}
	if raw {
		return t, appendFloat32s(nil, v)
	}
	t.Contents = &inference.InferTensorContents{Fp32Contents: v}
	return t, nil
}

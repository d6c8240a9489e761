package serve

import (
	"context"
	"encoding/binary"
	"image/color"
	"math"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/transfer-go/transfer/serve/inference"
)

// grpcClient serves s's gRPC service on a loopback port and returns a
// client of it.
func grpcClient(t *testing.T, s *Server) inference.GRPCInferenceServiceClient {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := s.GRPCServer()
	go g.Serve(ln)
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(); g.Stop() })
	return inference.NewGRPCInferenceServiceClient(conn)
}

// TestGRPC drives every RPC of inference.GRPCInferenceService through the
// generated client: health, metadata, and ModelInfer with BYTES and FP32
// in typed and raw contents, the classification parameter, and errors.
func TestGRPC(t *testing.T) {
	h := testHead("pets", "cat", "dog", "fish")
	s, _ := newTestServer(t, &fakeBackbone{}, Options{Version: "4.5"}, h)
	c := grpcClient(t, s)
	ctx := context.Background()

	if r, err := c.ServerLive(ctx, &inference.ServerLiveRequest{}); err != nil || !r.Live {
		t.Errorf("ServerLive: %v %v", r, err)
	}
	if r, err := c.ServerReady(ctx, &inference.ServerReadyRequest{}); err != nil || !r.Ready {
		t.Errorf("ServerReady: %v %v", r, err)
	}
	if r, err := c.ModelReady(ctx, &inference.ModelReadyRequest{Name: "pets", Version: "1"}); err != nil || !r.Ready {
		t.Errorf("ModelReady: %v %v", r, err)
	}
	for _, req := range []*inference.ModelReadyRequest{{Name: "cats"}, {Name: "pets", Version: "2"}} {
		if _, err := c.ModelReady(ctx, req); status.Code(err) != codes.NotFound {
			t.Errorf("ModelReady %v: %v, want NotFound", req, err)
		}
	}
	if r, err := c.ServerMetadata(ctx, &inference.ServerMetadataRequest{}); err != nil || r.Name != "transfer" || r.Version != "4.5" || strings.Join(r.Extensions, ",") != "classification" {
		t.Errorf("ServerMetadata: %v %v", r, err)
	}
	meta, err := c.ModelMetadata(ctx, &inference.ModelMetadataRequest{Name: "pets"})
	if err != nil || meta.Name != "pets" || len(meta.Inputs) != 2 || meta.Inputs[1].Datatype != "FP32" || len(meta.Inputs[1].Shape) != 4 || meta.Outputs[0].Shape[1] != 3 {
		t.Errorf("ModelMetadata: %v %v", meta, err)
	}

	colors := []color.NRGBA{{R: 200, G: 30, B: 60}, {G: 250, B: 3}}
	var pngs [][]byte
	var pixels []float32
	var rawImages []byte
	for _, col := range colors {
		p := pngOf(col)
		pngs = append(pngs, p)
		rawImages = binary.LittleEndian.AppendUint32(rawImages, uint32(len(p)))
		rawImages = append(rawImages, p...)
		pixels = append(pixels, pixelsOf(col)...)
	}
	probs := func(name string, r *inference.ModelInferResponse) []float32 {
		t.Helper()
		if len(r.Outputs) != 1 || r.Outputs[0].Datatype != "FP32" || r.ModelName != "pets" || r.ModelVersion != "1" {
			t.Fatalf("%s: %v", name, r)
		}
		if len(r.RawOutputContents) == 1 {
			v, _ := binaryNumbers(r.RawOutputContents[0], 32)
			return v
		}
		return r.Outputs[0].GetContents().GetFp32Contents()
	}
	cases := map[string]*inference.ModelInferRequest{
		"BYTES contents": {ModelName: "pets", Id: "q1", Inputs: []*inference.ModelInferRequest_InferInputTensor{{Name: "images", Datatype: "BYTES", Shape: []int64{2}, Contents: &inference.InferTensorContents{BytesContents: pngs}}}},
		"BYTES raw":      {ModelName: "pets", Inputs: []*inference.ModelInferRequest_InferInputTensor{{Name: "images", Datatype: "BYTES", Shape: []int64{2, 1}}}, RawInputContents: [][]byte{rawImages}},
		"FP32 contents":  {ModelName: "pets", ModelVersion: "1", Inputs: []*inference.ModelInferRequest_InferInputTensor{{Name: "pixels", Datatype: "FP32", Shape: []int64{2, 8, 8, 3}, Contents: &inference.InferTensorContents{Fp32Contents: pixels}}}},
		"FP32 raw":       {ModelName: "pets", Inputs: []*inference.ModelInferRequest_InferInputTensor{{Name: "pixels", Datatype: "FP32", Shape: []int64{2, 8, 8, 3}}}, RawInputContents: [][]byte{appendFloat32s(nil, pixels)}},
	}
	for name, req := range cases {
		r, err := c.ModelInfer(ctx, req)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got := probs(name, r)
		if len(got) != 6 || r.Id != req.Id || (strings.HasSuffix(name, "raw") != (len(r.RawOutputContents) == 1)) {
			t.Fatalf("%s: %v", name, r)
		}
		for i, col := range colors {
			for j, p := range want(h, col) {
				if math.Abs(float64(got[i*3+j])-p) > 1e-6 {
					t.Errorf("%s image %d class %d: %v, want %v", name, i, j, got[i*3+j], p)
				}
			}
		}
	}

	top := &inference.ModelInferRequest{ModelName: "pets", Inputs: cases["BYTES contents"].Inputs,
		Outputs: []*inference.ModelInferRequest_InferRequestedOutputTensor{{Name: "probabilities", Parameters: map[string]*inference.InferParameter{
			"classification": {ParameterChoice: &inference.InferParameter_Int64Param{Int64Param: 2}}}}}}
	r, err := c.ModelInfer(ctx, top)
	if err != nil || len(r.Outputs) != 1 || r.Outputs[0].Datatype != "BYTES" || len(r.Outputs[0].GetContents().GetBytesContents()) != 4 {
		t.Fatalf("classification: %v %v", r, err)
	}
	first := strings.SplitN(string(r.Outputs[0].Contents.BytesContents[0]), ":", 3)
	exp := want(h, colors[0])
	j, _ := strconv.Atoi(first[1])
	score, _ := strconv.ParseFloat(first[0], 64)
	for k := range exp {
		if exp[k] > exp[j] {
			t.Errorf("classification's first %v is not the best of %v", first, exp)
		}
	}
	if first[2] != h.Model.Classes[j] || math.Abs(score-exp[j]) > 1e-6 {
		t.Errorf("classification %v, want %v", first, exp)
	}

	bad := map[string]struct {
		req  *inference.ModelInferRequest
		code codes.Code
	}{
		"unknown model":    {&inference.ModelInferRequest{ModelName: "cats", Inputs: cases["FP32 raw"].Inputs}, codes.NotFound},
		"unknown version":  {&inference.ModelInferRequest{ModelName: "pets", ModelVersion: "9", Inputs: cases["FP32 raw"].Inputs}, codes.NotFound},
		"no input":         {&inference.ModelInferRequest{ModelName: "pets"}, codes.InvalidArgument},
		"wrong datatype":   {&inference.ModelInferRequest{ModelName: "pets", Inputs: []*inference.ModelInferRequest_InferInputTensor{{Name: "pixels", Datatype: "UINT8", Shape: []int64{1, 8, 8, 3}}}, RawInputContents: [][]byte{make([]byte, 192)}}, codes.InvalidArgument},
		"values for shape": {&inference.ModelInferRequest{ModelName: "pets", Inputs: []*inference.ModelInferRequest_InferInputTensor{{Name: "pixels", Datatype: "FP32", Shape: []int64{1, 8, 8, 3}, Contents: &inference.InferTensorContents{Fp32Contents: []float32{1}}}}}, codes.InvalidArgument},
		"not an image":     {&inference.ModelInferRequest{ModelName: "pets", Inputs: []*inference.ModelInferRequest_InferInputTensor{{Name: "images", Datatype: "BYTES", Shape: []int64{1}, Contents: &inference.InferTensorContents{BytesContents: [][]byte{[]byte("no")}}}}}, codes.InvalidArgument},
		"unknown output":   {&inference.ModelInferRequest{ModelName: "pets", Inputs: cases["FP32 raw"].Inputs, RawInputContents: cases["FP32 raw"].RawInputContents, Outputs: []*inference.ModelInferRequest_InferRequestedOutputTensor{{Name: "logits"}}}, codes.InvalidArgument},
		"cut raw BYTES":    {&inference.ModelInferRequest{ModelName: "pets", Inputs: cases["BYTES raw"].Inputs, RawInputContents: [][]byte{rawImages[:7]}}, codes.InvalidArgument},
	}
	for name, tc := range bad {
		if _, err := c.ModelInfer(ctx, tc.req); status.Code(err) != tc.code {
			t.Errorf("%s: %v, want %v", name, err, tc.code)
		}
	}
}

// TestGRPCOverload: with the batch held and the queue full, ModelInfer is
// answered RESOURCE_EXHAUSTED at once, as REST answers 503.
func TestGRPCOverload(t *testing.T) {
	fb := &fakeBackbone{block: make(chan struct{})}
	s, _ := newTestServer(t, fb, Options{MaxQueue: 1, MaxBatch: 1, MaxDelay: time.Millisecond})
	c := grpcClient(t, s)
	req := &inference.ModelInferRequest{ModelName: "pets", Inputs: []*inference.ModelInferRequest_InferInputTensor{{Name: "pixels", Datatype: "FP32", Shape: []int64{1, 8, 8, 3}}},
		RawInputContents: [][]byte{appendFloat32s(nil, pixelsOf(color.NRGBA{R: 1}))}}
	var wg sync.WaitGroup
	codesSeen := make(chan codes.Code, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.ModelInfer(context.Background(), req)
			codesSeen <- status.Code(err)
		}()
	}
	deadline := time.Now().Add(5 * time.Second)
	exhausted := 0
	for exhausted == 0 && time.Now().Before(deadline) {
		select {
		case code := <-codesSeen:
			if code == codes.ResourceExhausted {
				exhausted++
			}
		case <-time.After(10 * time.Millisecond):
		}
	}
	close(fb.block)
	wg.Wait()
	if exhausted == 0 {
		t.Error("no RESOURCE_EXHAUSTED while the queue was full")
	}
}

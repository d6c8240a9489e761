package onnxgraph

import (
	"errors"
	"strings"
	"testing"

	"github.com/transfer-go/transfer/internal/onnxgraph/onnx"
)

func TestTensorRoundTrip(t *testing.T) {
	f := FloatTensor("w", []int64{2, 2}, []float32{1, -2.5, 3, 1e-7})
	got, err := Floats(f)
	if err != nil || len(got) != 4 || got[1] != -2.5 || got[3] != 1e-7 {
		t.Fatalf("Floats = %v, %v", got, err)
	}
	i := Int64Tensor("s", []int64{3}, []int64{0, -1, 7})
	if v, err := Ints(i); err != nil || v[1] != -1 || v[2] != 7 {
		t.Fatalf("Ints = %v, %v", v, err)
	}
	raw := &onnx.TensorProto{Name: "r", Dims: []int64{2}, DataType: int32(onnx.TensorProto_INT32), RawData: []byte{1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}}
	if v, err := Ints(raw); err != nil || v[0] != 1 || v[1] != -1 {
		t.Fatalf("Ints(raw int32) = %v, %v", v, err)
	}
	bad := &onnx.TensorProto{Name: "b", Dims: []int64{3}, DataType: int32(onnx.TensorProto_FLOAT), RawData: []byte{1, 2}}
	if _, err := Floats(bad); err == nil {
		t.Error("Floats accepted 2 bytes for 3 floats")
	}
	if _, err := Floats(i); err == nil {
		t.Error("Floats accepted an INT64 tensor")
	}
}

func TestParseAndIndex(t *testing.T) {
	g := &onnx.GraphProto{Name: "g"}
	g.Input = []*onnx.ValueInfoProto{TensorInfo("x", onnx.TensorProto_FLOAT, []Dim{{Param: "N"}, {Value: 4}}), TensorInfo("w", onnx.TensorProto_FLOAT, Dims(4, 2))}
	g.Initializer = []*onnx.TensorProto{FloatTensor("w", []int64{4, 2}, make([]float32, 8))}
	g.Node = []*onnx.NodeProto{
		Node("Constant", "c", nil, []string{"b"}, TensorAttr("value", FloatTensor("", []int64{2}, []float32{1, 2}))),
		Node("Gemm", "fc", []string{"x", "w", "b"}, []string{"y"}, IntAttr("transB", 0)),
	}
	g.Output = []*onnx.ValueInfoProto{TensorInfo("y", onnx.TensorProto_FLOAT, []Dim{{Param: "N"}, {Value: 2}})}
	b, err := (&Model{Proto: NewModel(g, 7, 13, "test")}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	m, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if m.Opset() != 13 || len(m.SHA256) != 64 {
		t.Errorf("opset %d sha %q", m.Opset(), m.SHA256)
	}
	ix := NewIndex(m.Proto.GetGraph())
	if in := ix.Inputs(); len(in) != 1 || in[0].GetName() != "x" {
		t.Errorf("Inputs() = %v; the initializer w must not count", in)
	}
	if ix.Producer("y").GetName() != "fc" || len(ix.Consumers("x")) != 1 || ix.Initializer("b") == nil || !ix.IsOutput("y") {
		t.Error("index lookups wrong")
	}
	if dims, ok := Shape(ix.ValueInfo("x")); !ok || dims[0] != 0 || dims[1] != 4 || DimNames(ix.ValueInfo("x"))[0] != "N" {
		t.Errorf("Shape(x) = %v, %v", dims, ok)
	}
	if AttrInt(ix.Producer("y"), "transB", 9) != 0 || AttrInt(ix.Producer("y"), "alpha", 9) != 9 {
		t.Error("AttrInt wrong")
	}
	clone := m.Clone()
	clone.Proto.Graph.Name = "edited"
	if m.Proto.GetGraph().GetName() != "g" {
		t.Error("Clone shares the graph")
	}

	for _, bad := range [][]byte{nil, []byte("\x08\x07"), b[:len(b)/3]} {
		if _, err := Parse(bad); !errors.Is(err, ErrNotONNX) {
			t.Errorf("Parse(%d bytes) = %v, want ErrNotONNX", len(bad), err)
		}
	}
	ext := m.Clone()
	ext.Proto.Graph.Initializer[0].DataLocation = onnx.TensorProto_EXTERNAL
	eb, _ := ext.Marshal()
	if _, err := Parse(eb); !errors.Is(err, ErrExternalData) {
		t.Errorf("external data: %v", err)
	}
}

// TestMalformedTensors: a shape whose product overflows (it wrapped to 0
// and was reported as "6144 raw bytes for 0 floats"), a negative
// dimension, or data of the wrong length is ErrMalformed, which callers
// report as a bad model.
func TestMalformedTensors(t *testing.T) {
	raw := make([]byte, 6144)
	for name, tc := range map[string]*onnx.TensorProto{
		"overflow": {Name: "w", DataType: int32(onnx.TensorProto_FLOAT), Dims: []int64{1 << 32, 1 << 32, 4, 96}, RawData: raw},
		"negative": {Name: "w", DataType: int32(onnx.TensorProto_FLOAT), Dims: []int64{-4, 384}, RawData: raw},
		"short":    {Name: "w", DataType: int32(onnx.TensorProto_FLOAT), Dims: []int64{4, 385}, RawData: raw},
	} {
		_, err := Floats(tc)
		if !errors.Is(err, ErrMalformed) || strings.Contains(err.Error(), "for 0 floats") {
			t.Errorf("%s: %v", name, err)
		}
		tc.DataType = int32(onnx.TensorProto_INT64)
		if _, err := Ints(tc); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s as int64: %v", name, err)
		}
	}
	if v, err := Floats(&onnx.TensorProto{Name: "w", DataType: int32(onnx.TensorProto_FLOAT), Dims: []int64{4, 384}, RawData: raw}); err != nil || len(v) != 1536 {
		t.Errorf("a sound tensor: %d values, %v", len(v), err)
	}
}

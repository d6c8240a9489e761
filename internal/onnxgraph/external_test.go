package onnxgraph

import (
	"errors"
	"strings"
	"testing"

	"github.com/transfer-go/transfer/internal/onnxgraph/onnx"
)

// externalTensor is a tensor whose data ONNX Runtime would read from
// secret.bin in the working directory.
func externalTensorProto(name string) *onnx.TensorProto {
	return &onnx.TensorProto{
		Name: name, Dims: []int64{1}, DataType: int32(onnx.TensorProto_FLOAT),
		DataLocation: onnx.TensorProto_EXTERNAL,
		ExternalData: []*onnx.StringStringEntryProto{{Key: "location", Value: "secret.bin"}},
	}
}

// TestExternalDataEverywhere: a tensor stored outside the file is refused
// wherever the model hides it.
func TestExternalDataEverywhere(t *testing.T) {
	base := func() *onnx.ModelProto {
		g := &onnx.GraphProto{
			Name:   "g",
			Node:   []*onnx.NodeProto{Node("Identity", "id", []string{"x"}, []string{"y"})},
			Input:  []*onnx.ValueInfoProto{TensorInfo("x", onnx.TensorProto_FLOAT, Dims(1))},
			Output: []*onnx.ValueInfoProto{TensorInfo("y", onnx.TensorProto_FLOAT, Dims(1))},
		}
		return NewModel(g, 8, 13, "test")
	}
	constant := func(name string, a *onnx.AttributeProto) *onnx.NodeProto {
		return Node("Constant", name, nil, []string{name + "_out"}, a)
	}
	sub := func(n *onnx.NodeProto) *onnx.GraphProto {
		return &onnx.GraphProto{Name: "sub", Node: []*onnx.NodeProto{n}}
	}
	cases := []struct {
		name  string
		edit  func(*onnx.ModelProto)
		where string
	}{
		{"initializer", func(m *onnx.ModelProto) {
			m.Graph.Initializer = append(m.Graph.Initializer, externalTensorProto("w"))
		}, "graph, initializer"},
		{"Constant node", func(m *onnx.ModelProto) {
			m.Graph.Node = append(m.Graph.Node, constant("c", TensorAttr("value", externalTensorProto("c"))))
		}, `node "c" (Constant), attribute value`},
		{"sparse initializer", func(m *onnx.ModelProto) {
			m.Graph.SparseInitializer = append(m.Graph.SparseInitializer, &onnx.SparseTensorProto{Values: externalTensorProto("sv"), Indices: Int64Tensor("si", []int64{1}, []int64{0}), Dims: []int64{4}})
		}, "sparse initializer"},
		{"sparse Constant", func(m *onnx.ModelProto) {
			m.Graph.Node = append(m.Graph.Node, constant("sc", &onnx.AttributeProto{Name: "sparse_value", Type: onnx.AttributeProto_SPARSE_TENSOR,
				SparseTensor: &onnx.SparseTensorProto{Values: FloatTensor("v", []int64{1}, []float32{1}), Indices: externalTensorProto("i"), Dims: []int64{4}}}))
		}, `node "sc"`},
		{"tensors attribute", func(m *onnx.ModelProto) {
			m.Graph.Node = append(m.Graph.Node, Node("Custom", "ts", nil, []string{"o"}, &onnx.AttributeProto{Name: "tensors", Type: onnx.AttributeProto_TENSORS, Tensors: []*onnx.TensorProto{FloatTensor("a", []int64{1}, []float32{1}), externalTensorProto("b")}}))
		}, `node "ts"`},
		{"If subgraph", func(m *onnx.ModelProto) {
			then := sub(constant("inner", TensorAttr("value", externalTensorProto("inner"))))
			m.Graph.Node = append(m.Graph.Node, Node("If", "if", []string{"cond"}, []string{"o"}, &onnx.AttributeProto{Name: "then_branch", Type: onnx.AttributeProto_GRAPH, G: then}))
		}, `node "if" (If), attribute then_branch, node "inner"`},
		{"Loop body initializer", func(m *onnx.ModelProto) {
			body := &onnx.GraphProto{Name: "body", Initializer: []*onnx.TensorProto{externalTensorProto("bw")}}
			m.Graph.Node = append(m.Graph.Node, Node("Scan", "scan", nil, []string{"o"}, &onnx.AttributeProto{Name: "bodies", Type: onnx.AttributeProto_GRAPHS, Graphs: []*onnx.GraphProto{body}}))
		}, `node "scan" (Scan), attribute bodies, initializer`},
		{"function", func(m *onnx.ModelProto) {
			m.Functions = append(m.Functions, &onnx.FunctionProto{Name: "f", Node: []*onnx.NodeProto{constant("fc", TensorAttr("value", externalTensorProto("fc")))}})
		}, "function f"},
		{"external_data without the flag", func(m *onnx.ModelProto) {
			t := externalTensorProto("w")
			t.DataLocation = onnx.TensorProto_DEFAULT
			m.Graph.Initializer = append(m.Graph.Initializer, t)
		}, "initializer"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := base()
			tc.edit(m)
			b, err := (&Model{Proto: m}).Marshal()
			if err != nil {
				t.Fatal(err)
			}
			_, err = Parse(b)
			if !errors.Is(err, ErrExternalData) || !strings.Contains(err.Error(), tc.where) || !strings.Contains(err.Error(), `"secret.bin"`) {
				t.Fatalf("%v; want ErrExternalData in %q naming secret.bin", err, tc.where)
			}
		})
	}
	b, _ := (&Model{Proto: base()}).Marshal()
	if _, err := Parse(b); err != nil {
		t.Fatalf("the clean model: %v", err)
	}
}

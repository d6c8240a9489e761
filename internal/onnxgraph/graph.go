package onnxgraph

import (
	"github.com/transfer-go/transfer/internal/onnxgraph/onnx"
)

// Index answers structural questions about one graph: which node makes a
// tensor, which nodes read it, which tensors are constants. It is a snapshot:
// after editing the graph, build a new Index.
type Index struct {
	Graph *onnx.GraphProto

	producer    map[string]*onnx.NodeProto
	consumers   map[string][]*onnx.NodeProto
	initializer map[string]*onnx.TensorProto
	valueInfo   map[string]*onnx.ValueInfoProto
	order       map[*onnx.NodeProto]int
}

// NewIndex indexes g. Constant nodes count as initializers: their output
// tensor is reported by Initializer like any stored weight.
func NewIndex(g *onnx.GraphProto) *Index {
	ix := &Index{
		Graph:       g,
		producer:    make(map[string]*onnx.NodeProto),
		consumers:   make(map[string][]*onnx.NodeProto),
		initializer: make(map[string]*onnx.TensorProto),
		valueInfo:   make(map[string]*onnx.ValueInfoProto),
		order:       make(map[*onnx.NodeProto]int),
	}
	for _, t := range g.GetInitializer() {
		ix.initializer[t.GetName()] = t
	}
	for _, vi := range g.GetValueInfo() {
		ix.valueInfo[vi.GetName()] = vi
	}
	for _, vi := range g.GetInput() {
		ix.valueInfo[vi.GetName()] = vi
	}
	for _, vi := range g.GetOutput() {
		ix.valueInfo[vi.GetName()] = vi
	}
	for i, n := range g.GetNode() {
		ix.order[n] = i
		for _, out := range n.GetOutput() {
			if out != "" {
				ix.producer[out] = n
			}
		}
		for _, in := range n.GetInput() {
			if in != "" {
				ix.consumers[in] = append(ix.consumers[in], n)
			}
		}
		if n.GetOpType() == "Constant" && len(n.GetOutput()) == 1 {
			if a := Attr(n, "value"); a != nil && a.GetT() != nil {
				ix.initializer[n.GetOutput()[0]] = a.GetT()
			}
		}
	}
	return ix
}

// Producer returns the node whose output is name, or nil for graph inputs,
// initializers and unknown names.
func (ix *Index) Producer(name string) *onnx.NodeProto { return ix.producer[name] }

// Consumers returns the nodes that read name, in graph order.
func (ix *Index) Consumers(name string) []*onnx.NodeProto { return ix.consumers[name] }

// Initializer returns the constant tensor called name, or nil.
func (ix *Index) Initializer(name string) *onnx.TensorProto { return ix.initializer[name] }

// ValueInfo returns the declared type of name (graph input, output or
// value_info entry), or nil when the model does not declare it.
func (ix *Index) ValueInfo(name string) *onnx.ValueInfoProto { return ix.valueInfo[name] }

// Position returns the node's index in the graph's node list, or -1.
func (ix *Index) Position(n *onnx.NodeProto) int {
	if i, ok := ix.order[n]; ok {
		return i
	}
	return -1
}

// Inputs returns the graph inputs that are fed at run time, that is the
// declared inputs minus those that are also initializers (older exporters
// list every weight as an input).
func (ix *Index) Inputs() []*onnx.ValueInfoProto {
	var in []*onnx.ValueInfoProto
	for _, vi := range ix.Graph.GetInput() {
		if _, isInit := ix.initializer[vi.GetName()]; !isInit {
			in = append(in, vi)
		}
	}
	return in
}

// IsOutput reports whether name is one of the graph's outputs.
func (ix *Index) IsOutput(name string) bool {
	for _, o := range ix.Graph.GetOutput() {
		if o.GetName() == name {
			return true
		}
	}
	return false
}

// Attr returns n's attribute called name, or nil.
func Attr(n *onnx.NodeProto, name string) *onnx.AttributeProto {
	for _, a := range n.GetAttribute() {
		if a.GetName() == name {
			return a
		}
	}
	return nil
}

// AttrInt returns an integer attribute, or def when n lacks it.
func AttrInt(n *onnx.NodeProto, name string, def int64) int64 {
	if a := Attr(n, name); a != nil {
		return a.GetI()
	}
	return def
}

// AttrInts returns an integer-list attribute, or nil when n lacks it.
func AttrInts(n *onnx.NodeProto, name string) []int64 {
	if a := Attr(n, name); a != nil {
		return a.GetInts()
	}
	return nil
}

// Shape returns the declared dimensions of a tensor type: a positive value
// for a fixed dimension, 0 for a named or unknown one. ok is false when the
// type carries no shape at all.
func Shape(vi *onnx.ValueInfoProto) (dims []int64, ok bool) {
	tt := vi.GetType().GetTensorType()
	if tt == nil || tt.GetShape() == nil {
		return nil, false
	}
	for _, d := range tt.GetShape().GetDim() {
		dims = append(dims, d.GetDimValue())
	}
	return dims, true
}

// DimNames returns the symbolic names of a tensor type's dimensions ("" for
// fixed or unnamed ones), parallel to Shape.
func DimNames(vi *onnx.ValueInfoProto) []string {
	var names []string
	for _, d := range vi.GetType().GetTensorType().GetShape().GetDim() {
		names = append(names, d.GetDimParam())
	}
	return names
}

// ElemType returns the element type of a tensor-typed value.
func ElemType(vi *onnx.ValueInfoProto) onnx.TensorProto_DataType {
	return onnx.TensorProto_DataType(vi.GetType().GetTensorType().GetElemType())
}

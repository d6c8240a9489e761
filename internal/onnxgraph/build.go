package onnxgraph

import (
	"github.com/transfer-go/transfer/internal/onnxgraph/onnx"
)

// Node returns a node of the default domain.
func Node(op, name string, inputs, outputs []string, attrs ...*onnx.AttributeProto) *onnx.NodeProto {
	return &onnx.NodeProto{OpType: op, Name: name, Input: inputs, Output: outputs, Attribute: attrs}
}

// IntAttr returns an INT attribute.
func IntAttr(name string, v int64) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: name, Type: onnx.AttributeProto_INT, I: v}
}

// IntsAttr returns an INTS attribute.
func IntsAttr(name string, v ...int64) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: name, Type: onnx.AttributeProto_INTS, Ints: v}
}

// FloatAttr returns a FLOAT attribute.
func FloatAttr(name string, v float32) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: name, Type: onnx.AttributeProto_FLOAT, F: v}
}

// StringAttr returns a STRING attribute.
func StringAttr(name, v string) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: name, Type: onnx.AttributeProto_STRING, S: []byte(v)}
}

// TensorAttr returns a TENSOR attribute, as Constant nodes carry.
func TensorAttr(name string, t *onnx.TensorProto) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: name, Type: onnx.AttributeProto_TENSOR, T: t}
}

// Dim is one dimension of a declared tensor shape: a fixed size when Param
// is empty, a symbolic one (such as a dynamic batch) otherwise.
type Dim struct {
	Value int64
	Param string
}

// Dims returns fixed dimensions.
func Dims(values ...int64) []Dim {
	d := make([]Dim, len(values))
	for i, v := range values {
		d[i] = Dim{Value: v}
	}
	return d
}

// TensorInfo declares a tensor value of the given element type and shape. A
// nil dims declares the element type alone, with an unknown shape.
func TensorInfo(name string, elem onnx.TensorProto_DataType, dims []Dim) *onnx.ValueInfoProto {
	tt := &onnx.TypeProto_Tensor{ElemType: int32(elem)}
	if dims != nil {
		shape := &onnx.TensorShapeProto{}
		for _, d := range dims {
			if d.Param != "" {
				shape.Dim = append(shape.Dim, &onnx.TensorShapeProto_Dimension{Value: &onnx.TensorShapeProto_Dimension_DimParam{DimParam: d.Param}})
			} else {
				shape.Dim = append(shape.Dim, &onnx.TensorShapeProto_Dimension{Value: &onnx.TensorShapeProto_Dimension_DimValue{DimValue: d.Value}})
			}
		}
		tt.Shape = shape
	}
	return &onnx.ValueInfoProto{Name: name, Type: &onnx.TypeProto{Value: &onnx.TypeProto_TensorType{TensorType: tt}}}
}

// NewModel wraps a graph in a model of the given IR version and default-domain
// opset, as an exporter would write it.
func NewModel(g *onnx.GraphProto, irVersion, opset int64, producer string) *onnx.ModelProto {
	return &onnx.ModelProto{
		IrVersion:    irVersion,
		ProducerName: producer,
		OpsetImport:  []*onnx.OperatorSetIdProto{{Domain: "", Version: opset}},
		Graph:        g,
	}
}

// IRVersionFor returns the IR version that ONNX pairs with an opset, the value
// onnx.helper.make_model writes for it.
func IRVersionFor(opset int64) int64 {
	switch {
	case opset <= 8:
		return 3
	case opset <= 9:
		return 4
	case opset <= 10:
		return 5
	case opset <= 11:
		return 6
	case opset <= 14:
		return 7
	case opset <= 18:
		return 8
	default:
		return 8 // the newest IR this package's schema describes
	}
}

package quant

import (
	"fmt"
	"math"

	"github.com/transfer-go/transfer/internal/onnxgraph"
	"github.com/transfer-go/transfer/internal/onnxgraph/onnx"
)

// targetOpset is the first opset whose QuantizeLinear and DequantizeLinear
// take per-channel scales (the axis attribute): per-tensor weight scales lose
// too much in depthwise convolutions, whose channels differ by orders of
// magnitude.
const targetOpset = 13

// unchanged lists operators whose meaning is the same at every opset from 7
// to 13 for the inputs backbones give them, so that raising the model's
// opset import is enough. Softmax and LogSoftmax changed at 13 from
// "flatten at axis" to "along axis"; on the 2-D logits of a classifier the
// two agree.
var unchanged = map[string]bool{
	"Conv": true, "Add": true, "Sub": true, "Mul": true, "Div": true,
	"Relu": true, "Sigmoid": true, "HardSigmoid": true, "Gemm": true,
	"MatMul": true, "GlobalAveragePool": true, "AveragePool": true,
	"MaxPool": true, "Flatten": true, "Reshape": true, "Transpose": true,
	"Concat": true, "Shape": true, "Gather": true, "Identity": true,
	"Constant": true, "ReduceMean": true, "Softmax": true, "LogSoftmax": true,
	"Cast": true, "BatchNormalization": true, "Clip": true, "Pad": true,
	"Squeeze": true, "Unsqueeze": true, "Dropout": true,
}

// upgrade raises mp's default opset to 13, rewriting the operators whose
// attributes became inputs on the way. A model that uses an operator it does
// not know to be safe is refused rather than silently changed in meaning.
func upgrade(mp *onnx.ModelProto) error {
	from := onnxgraph.Opset(mp)
	if from >= targetOpset {
		return nil
	}
	if from < 7 {
		return fmt.Errorf("opset %d is older than 7; convert the model to opset 13 first (onnx.version_converter)", from)
	}
	g := mp.GetGraph()
	var extra []*onnx.TensorProto
	for _, n := range g.GetNode() {
		if n.GetDomain() != "" && n.GetDomain() != "ai.onnx" {
			continue
		}
		op := n.GetOpType()
		if !unchanged[op] {
			return fmt.Errorf("operator %s (node %q) cannot be carried from opset %d to %d here; convert the model to opset 13 first (onnx.version_converter)", op, n.GetName(), from, targetOpset)
		}
		switch op {
		case "Squeeze", "Unsqueeze":
			if a := onnxgraph.Attr(n, "axes"); a != nil {
				name := n.GetName() + "/axes_opset13"
				extra = append(extra, onnxgraph.Int64Tensor(name, []int64{int64(len(a.GetInts()))}, a.GetInts()))
				n.Input = append(n.Input[:1], name)
				dropAttr(n, "axes")
			}
		case "Clip":
			if from < 11 {
				lo := attrFloat(n, "min", float32(math.Inf(-1)))
				hi := attrFloat(n, "max", float32(math.Inf(1)))
				extra = append(extra,
					onnxgraph.FloatTensor(n.GetName()+"/min_opset13", nil, []float32{lo}),
					onnxgraph.FloatTensor(n.GetName()+"/max_opset13", nil, []float32{hi}))
				n.Input = []string{n.GetInput()[0], n.GetName() + "/min_opset13", n.GetName() + "/max_opset13"}
				dropAttr(n, "min")
				dropAttr(n, "max")
			}
		case "Pad":
			if from < 11 {
				if a := onnxgraph.Attr(n, "mode"); a != nil && string(a.GetS()) != "constant" {
					return fmt.Errorf("node %q (Pad) in mode %q: convert the model to opset 13 first (onnx.version_converter)", n.GetName(), a.GetS())
				}
				pads := onnxgraph.AttrInts(n, "pads")
				value := attrFloat(n, "value", 0)
				extra = append(extra,
					onnxgraph.Int64Tensor(n.GetName()+"/pads_opset13", []int64{int64(len(pads))}, pads),
					onnxgraph.FloatTensor(n.GetName()+"/value_opset13", nil, []float32{value}))
				n.Input = []string{n.GetInput()[0], n.GetName() + "/pads_opset13", n.GetName() + "/value_opset13"}
				dropAttr(n, "pads")
				dropAttr(n, "value")
			}
		case "BatchNormalization":
			if a := onnxgraph.Attr(n, "spatial"); a != nil && a.GetI() != 1 {
				return fmt.Errorf("BatchNormalization %q with spatial=0 cannot be carried to opset 13", n.GetName())
			}
			dropAttr(n, "spatial")
			dropAttr(n, "consumed_inputs")
			dropAttr(n, "is_test")
		case "Dropout":
			// An inference graph's Dropout passes its input through; its
			// ratio moved from attribute to input at opset 12.
			n.OpType, n.Input, n.Output = "Identity", n.Input[:1], n.Output[:1]
			n.Attribute = nil
		}
	}
	g.Initializer = append(g.Initializer, extra...)
	for _, o := range mp.GetOpsetImport() {
		if o.GetDomain() == "" || o.GetDomain() == "ai.onnx" {
			o.Version = targetOpset
		}
	}
	mp.IrVersion = max(mp.GetIrVersion(), onnxgraph.IRVersionFor(targetOpset))
	return nil
}

func dropAttr(n *onnx.NodeProto, name string) {
	kept := n.Attribute[:0]
	for _, a := range n.GetAttribute() {
		if a.GetName() != name {
			kept = append(kept, a)
		}
	}
	n.Attribute = kept
}

func attrFloat(n *onnx.NodeProto, name string, def float32) float32 {
	if a := onnxgraph.Attr(n, name); a != nil {
		return a.GetF()
	}
	return def
}

package quant

import (
	"fmt"
	"math"

	"github.com/transfer-go/transfer/internal/onnxgraph"
	"github.com/transfer-go/transfer/internal/onnxgraph/onnx"
)

// Plan says what Apply will quantise in one prepared graph: which nodes, and
// which activation tensors need a calibrated range. It refers to the nodes of
// the model it was made from; Apply must be given that same model.
type Plan struct {
	// Tensors are the activations to calibrate, in graph order.
	Tensors []string
	// FeatureMap is the tensor the pooling reads: the last quantised one.
	FeatureMap string
	// Float counts the convolutions left float32.
	Float int
	// ReduceRange quantises weights to 7 bits (-63..63). x86 CPUs without
	// VNNI multiply uint8 by int8 with VPMADDUBSW, whose 16-bit pair sums
	// saturate at 255*127*2; 7-bit weights keep every pair in range, at
	// the cost of one bit of weight precision everywhere.
	ReduceRange bool

	convs []*onnx.NodeProto
	adds  []*onnx.NodeProto
	// fused maps a Conv to the Relu or Clip after it that quantisation
	// makes redundant: the Conv's output is quantised with the activation's
	// range, which lies inside the activation's bounds, so the activation
	// would change nothing and is removed.
	fused map[*onnx.NodeProto]*onnx.NodeProto
	// bounds are the fused activations' limits, by output tensor.
	bounds map[string][2]float32
}

// pooling is the chain from the feature map to the embedding.
var pooling = map[string]bool{
	"GlobalAveragePool": true, "ReduceMean": true, "Flatten": true, "Squeeze": true,
	"Reshape": true, "Identity": true, "Transpose": true,
}

// NewPlan plans the quantisation of g, a graph made ready by Prepare, whose
// embedding is the tensor features.
//
// The first floatConvs convolutions stay float32. The stem sees the image
// at full resolution through few channels: there eight bits lose the most
// and save the least (in MobileNetV2 the first two convolutions are 5% of
// the multiply-adds, and keeping them float lifts the embedding cosine on
// upscaled Fashion-MNIST from 0.987 to 0.991, BENCHMARKS.md). They must
// come first: ONNX Runtime's optimiser mishandles a float Conv that reads a
// quantised one (its results drift far from the QDQ graph's meaning), so a
// float layer is never placed after an integer one.
func NewPlan(g *onnx.GraphProto, features string, floatConvs int) (*Plan, error) {
	ix := onnxgraph.NewIndex(g)
	fm := features
	for n := ix.Producer(fm); n != nil && pooling[n.GetOpType()] && len(n.GetInput()) > 0; n = ix.Producer(fm) {
		fm = n.GetInput()[0]
	}
	if fm == features {
		return nil, fmt.Errorf("embedding %q is not made by a pooling chain", features)
	}
	region := ancestors(ix, fm)
	p := &Plan{FeatureMap: fm, fused: make(map[*onnx.NodeProto]*onnx.NodeProto), bounds: make(map[string][2]float32)}
	want := make(map[string]bool)
	for _, n := range g.GetNode() {
		if !region[n] {
			continue
		}
		switch n.GetOpType() {
		case "Conv":
			w := ix.Initializer(n.GetInput()[1])
			if w == nil || len(w.GetDims()) != 4 || onnx.TensorProto_DataType(w.GetDataType()) != onnx.TensorProto_FLOAT {
				continue
			}
			if len(n.GetInput()) > 2 && n.GetInput()[2] != "" && ix.Initializer(n.GetInput()[2]) == nil {
				continue
			}
			if p.Float < floatConvs {
				p.Float++
				continue
			}
			p.convs = append(p.convs, n)
			want[n.GetInput()[0]] = true
			out := n.GetOutput()[0]
			if act, lo, hi, ok := removable(ix, out); ok {
				p.fused[n] = act
				out = act.GetOutput()[0]
				p.bounds[out] = [2]float32{lo, hi}
			}
			want[out] = true
		case "Add":
			if len(n.GetInput()) != 2 || ix.Initializer(n.GetInput()[0]) != nil || ix.Initializer(n.GetInput()[1]) != nil {
				continue
			}
			p.adds = append(p.adds, n)
			want[n.GetInput()[0]], want[n.GetInput()[1]], want[n.GetOutput()[0]] = true, true, true
		}
	}
	if len(p.convs) == 0 {
		if p.Float > 0 {
			return nil, fmt.Errorf("all %d convolutions before the embedding %q are to stay float: nothing to quantise", p.Float, features)
		}
		return nil, fmt.Errorf("no convolution with constant weights before the embedding %q: nothing to quantise", features)
	}
	seen := make(map[string]bool)
	add := func(t string) {
		if want[t] && !seen[t] {
			seen[t] = true
			p.Tensors = append(p.Tensors, t)
		}
	}
	for _, in := range g.GetInput() {
		add(in.GetName())
	}
	for _, n := range g.GetNode() {
		for _, out := range n.GetOutput() {
			add(out)
		}
	}
	return p, nil
}

// removable returns the Relu or Clip that alone reads a Conv's output, when
// its lower bound is 0: a quantised range [0, hi] with hi within the upper
// bound reproduces it exactly.
func removable(ix *onnxgraph.Index, out string) (act *onnx.NodeProto, lo, hi float32, ok bool) {
	cs := ix.Consumers(out)
	if len(cs) != 1 || ix.IsOutput(out) {
		return nil, 0, 0, false
	}
	act = cs[0]
	switch act.GetOpType() {
	case "Relu":
		return act, 0, float32(math.Inf(1)), true
	case "Clip":
		lo, hi = float32(math.Inf(-1)), float32(math.Inf(1))
		for i, dst := range []*float32{&lo, &hi} {
			if len(act.GetInput()) <= i+1 || act.GetInput()[i+1] == "" {
				continue
			}
			t := ix.Initializer(act.GetInput()[i+1])
			if t == nil {
				return nil, 0, 0, false
			}
			v, err := onnxgraph.Floats(t)
			if err != nil || len(v) != 1 {
				return nil, 0, 0, false
			}
			*dst = v[0]
		}
		if lo != 0 || hi <= 0 {
			return nil, 0, 0, false
		}
		return act, lo, hi, true
	}
	return nil, 0, 0, false
}

// ancestors returns the nodes that t depends on, t's producer included.
func ancestors(ix *onnxgraph.Index, t string) map[*onnx.NodeProto]bool {
	seen := make(map[*onnx.NodeProto]bool)
	stack := []string{t}
	for len(stack) > 0 {
		name := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		n := ix.Producer(name)
		if n == nil || seen[n] {
			continue
		}
		seen[n] = true
		stack = append(stack, n.GetInput()...)
	}
	return seen
}

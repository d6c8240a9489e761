package quant

import (
	"fmt"
	"math"

	"github.com/transfer-go/transfer/internal/onnxgraph"
	"github.com/transfer-go/transfer/internal/onnxgraph/onnx"
)

// Prepare brings mp into the float form that quantises well, in place: the
// default opset raised to 13, every BatchNormalization that follows a Conv
// folded into that Conv's weights and bias, and every zero Pad in front of a
// Conv folded into its pads. The result computes the same function (up to
// float rounding); ONNX Runtime makes the same folds itself on float
// models, but once QuantizeLinear sits between a Conv and its batch norm it
// no longer can, so they must happen before quantisation.
func Prepare(mp *onnx.ModelProto) error {
	if err := upgrade(mp); err != nil {
		return err
	}
	g := mp.GetGraph()
	if err := foldBatchNorms(g); err != nil {
		return err
	}
	if err := foldPads(g); err != nil {
		return err
	}
	dropUnused(g)
	return nil
}

// foldBatchNorms folds y = gamma*(conv(x)-mean)/sqrt(var+eps) + beta into
// the convolution: W'[m] = W[m]*k[m], b'[m] = (b[m]-mean[m])*k[m] + beta[m]
// with k = gamma/sqrt(var+eps).
func foldBatchNorms(g *onnx.GraphProto) error {
	ix := onnxgraph.NewIndex(g)
	drop := make(map[*onnx.NodeProto]bool)
	for _, bn := range g.GetNode() {
		if bn.GetOpType() != "BatchNormalization" || len(bn.GetInput()) != 5 || len(bn.GetOutput()) < 1 {
			continue
		}
		conv := ix.Producer(bn.GetInput()[0])
		if conv == nil || conv.GetOpType() != "Conv" || len(ix.Consumers(conv.GetOutput()[0])) != 1 || ix.IsOutput(conv.GetOutput()[0]) {
			continue
		}
		w := ix.Initializer(conv.GetInput()[1])
		if w == nil {
			continue
		}
		var params [4][]float32
		ok := true
		for i := range params {
			t := ix.Initializer(bn.GetInput()[1+i])
			if t == nil {
				ok = false
				break
			}
			v, err := onnxgraph.Floats(t)
			if err != nil {
				return fmt.Errorf("batch norm %q: %w", bn.GetName(), err)
			}
			params[i] = v
		}
		if !ok {
			continue
		}
		gamma, beta, mean, variance := params[0], params[1], params[2], params[3]
		weights, err := onnxgraph.Floats(w)
		if err != nil {
			return fmt.Errorf("conv %q: %w", conv.GetName(), err)
		}
		m := len(gamma)
		if m == 0 || len(beta) != m || len(mean) != m || len(variance) != m || len(w.GetDims()) == 0 || w.GetDims()[0] != int64(m) {
			return fmt.Errorf("batch norm %q: parameter sizes do not match conv %q's %v output channels", bn.GetName(), conv.GetName(), w.GetDims())
		}
		bias := make([]float32, m)
		if len(conv.GetInput()) > 2 && conv.GetInput()[2] != "" {
			t := ix.Initializer(conv.GetInput()[2])
			if t == nil {
				continue
			}
			if bias, err = onnxgraph.Floats(t); err != nil || len(bias) != m {
				return fmt.Errorf("conv %q: bias of %d values for %d channels (%v)", conv.GetName(), len(bias), m, err)
			}
		}
		eps := float64(attrFloat(bn, "epsilon", 1e-5))
		per := len(weights) / m
		for c := range m {
			k := float64(gamma[c]) / math.Sqrt(float64(variance[c])+eps)
			for i := c * per; i < (c+1)*per; i++ {
				weights[i] = float32(float64(weights[i]) * k)
			}
			bias[c] = float32((float64(bias[c])-float64(mean[c]))*k + float64(beta[c]))
		}
		wName, bName := conv.GetName()+"/W_folded", conv.GetName()+"/B_folded"
		g.Initializer = append(g.Initializer,
			onnxgraph.FloatTensor(wName, w.GetDims(), weights),
			onnxgraph.FloatTensor(bName, []int64{int64(m)}, bias))
		conv.Input = []string{conv.GetInput()[0], wName, bName}
		conv.Output = []string{bn.GetOutput()[0]}
		drop[bn] = true
	}
	removeNodes(g, drop)
	return nil
}

// foldPads moves constant zero padding of the spatial axes into the Conv
// that reads it, which pads with zeros itself.
func foldPads(g *onnx.GraphProto) error {
	ix := onnxgraph.NewIndex(g)
	drop := make(map[*onnx.NodeProto]bool)
	for _, pad := range g.GetNode() {
		if pad.GetOpType() != "Pad" || len(pad.GetInput()) < 2 {
			continue
		}
		if a := onnxgraph.Attr(pad, "mode"); a != nil && string(a.GetS()) != "constant" {
			continue
		}
		out := pad.GetOutput()[0]
		consumers := ix.Consumers(out)
		if len(consumers) != 1 || ix.IsOutput(out) {
			continue
		}
		conv := consumers[0]
		if conv.GetOpType() != "Conv" || conv.GetInput()[0] != out {
			continue
		}
		if a := onnxgraph.Attr(conv, "auto_pad"); a != nil && string(a.GetS()) != "NOTSET" && string(a.GetS()) != "" {
			continue
		}
		pt := ix.Initializer(pad.GetInput()[1])
		if pt == nil {
			continue
		}
		pads, err := onnxgraph.Ints(pt)
		if err != nil || len(pads) != 8 || pads[0] != 0 || pads[1] != 0 || pads[4] != 0 || pads[5] != 0 {
			continue
		}
		if len(pad.GetInput()) > 2 && pad.GetInput()[2] != "" {
			vt := ix.Initializer(pad.GetInput()[2])
			if vt == nil {
				continue
			}
			v, err := onnxgraph.Floats(vt)
			if err != nil || len(v) != 1 || v[0] != 0 {
				continue
			}
		}
		cp := onnxgraph.AttrInts(conv, "pads")
		if cp == nil {
			cp = make([]int64, 4)
		}
		if len(cp) != 4 {
			continue
		}
		// ONNX orders Conv pads as begins then ends of the spatial axes.
		merged := []int64{cp[0] + pads[2], cp[1] + pads[3], cp[2] + pads[6], cp[3] + pads[7]}
		dropAttr(conv, "pads")
		conv.Attribute = append(conv.Attribute, onnxgraph.IntsAttr("pads", merged...))
		conv.Input[0] = pad.GetInput()[0]
		drop[pad] = true
	}
	removeNodes(g, drop)
	return nil
}

func removeNodes(g *onnx.GraphProto, drop map[*onnx.NodeProto]bool) {
	if len(drop) == 0 {
		return
	}
	kept := g.Node[:0]
	for _, n := range g.GetNode() {
		if !drop[n] {
			kept = append(kept, n)
		}
	}
	g.Node = kept
}

// dropUnused removes initializers no node reads any more (the unfolded
// weights), and their graph-input declarations, which old exporters add.
func dropUnused(g *onnx.GraphProto) {
	used := make(map[string]bool)
	for _, n := range g.GetNode() {
		for _, in := range n.GetInput() {
			used[in] = true
		}
	}
	for _, o := range g.GetOutput() {
		used[o.GetName()] = true
	}
	gone := make(map[string]bool)
	kept := g.Initializer[:0]
	for _, t := range g.GetInitializer() {
		if used[t.GetName()] {
			kept = append(kept, t)
		} else {
			gone[t.GetName()] = true
		}
	}
	g.Initializer = kept
	inputs := g.Input[:0]
	for _, vi := range g.GetInput() {
		if !gone[vi.GetName()] {
			inputs = append(inputs, vi)
		}
	}
	g.Input = inputs
}

package quant

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/transfer-go/transfer/internal/onnxgraph"
	"github.com/transfer-go/transfer/internal/onnxgraph/onnx"
)

// Summary says what Apply did.
type Summary struct {
	Convs, Adds, Activations int
	// Removed counts the Relu and Clip nodes the quantised ranges made
	// redundant.
	Removed int
	// WeightBytes is the size of the quantised weights (int8) and biases
	// (int32).
	WeightBytes int
}

// Apply quantises mp following p, in place. ranges gives each of
// p.Tensors' calibrated range, in the same order.
func Apply(mp *onnx.ModelProto, p *Plan, ranges []Range) (Summary, error) {
	if len(ranges) != len(p.Tensors) {
		return Summary{}, fmt.Errorf("quant: %d ranges for %d tensors", len(ranges), len(p.Tensors))
	}
	g := mp.GetGraph()
	ix := onnxgraph.NewIndex(g)
	s := Summary{Convs: len(p.convs), Adds: len(p.adds), Activations: len(p.Tensors)}

	params := make(map[string]qparams, len(p.Tensors))
	for i, t := range p.Tensors {
		r := ranges[i]
		if !(r.Lo <= r.Hi) || math.IsInf(float64(r.Lo), 0) || math.IsInf(float64(r.Hi), 0) {
			return Summary{}, fmt.Errorf("tensor %q has no calibrated range (%g..%g): was it computed on the calibration images?", t, r.Lo, r.Hi)
		}
		if b, ok := p.bounds[t]; ok {
			// A removed activation's bounds hold by construction.
			r.Lo, r.Hi = b[0], min(r.Hi, b[1])
		}
		params[t] = uint8Params(r)
	}

	drop := make(map[*onnx.NodeProto]bool)
	for conv, act := range p.fused {
		conv.Output[0] = act.GetOutput()[0]
		drop[act] = true
		s.Removed++
	}
	removeNodes(g, drop)

	var inits []*onnx.TensorProto
	dq := func(t string) string { return t + "/dequantized" }
	pair := func(t string) []*onnx.NodeProto {
		q := params[t]
		scale, zp := t+"/scale", t+"/zero_point"
		inits = append(inits,
			onnxgraph.FloatTensor(scale, nil, []float32{q.scale}),
			&onnx.TensorProto{Name: zp, DataType: int32(onnx.TensorProto_UINT8), RawData: []byte{q.zero}})
		return []*onnx.NodeProto{
			onnxgraph.Node("QuantizeLinear", t+"/QuantizeLinear", []string{t, scale, zp}, []string{t + "/quantized"}),
			onnxgraph.Node("DequantizeLinear", t+"/DequantizeLinear", []string{t + "/quantized", scale, zp}, []string{dq(t)}),
		}
	}

	isConv := make(map[*onnx.NodeProto]bool, len(p.convs))
	for _, c := range p.convs {
		isConv[c] = true
	}
	var nodes []*onnx.NodeProto
	for _, in := range g.GetInput() {
		if _, ok := params[in.GetName()]; ok {
			nodes = append(nodes, pair(in.GetName())...)
		}
	}
	for _, n := range g.GetNode() {
		for i, in := range n.GetInput() {
			if _, ok := params[in]; ok {
				n.Input[i] = dq(in)
			}
		}
		if isConv[n] {
			pre, t, err := quantizeConv(n, ix, params[unDQ(n.GetInput()[0])], p.weightMax())
			if err != nil {
				return Summary{}, err
			}
			nodes = append(nodes, pre...)
			inits = append(inits, t...)
			for _, x := range t {
				s.WeightBytes += len(x.GetRawData())
			}
		}
		nodes = append(nodes, n)
		for _, out := range n.GetOutput() {
			if _, ok := params[out]; ok {
				nodes = append(nodes, pair(out)...)
			}
		}
	}
	g.Node = nodes
	g.Initializer = append(g.Initializer, inits...)
	dropUnused(g)
	return s, nil
}

func unDQ(t string) string {
	const suffix = "/dequantized"
	if len(t) > len(suffix) && t[len(t)-len(suffix):] == suffix {
		return t[:len(t)-len(suffix)]
	}
	return t
}

// qparams are one activation's uint8 quantisation: x ≈ scale*(q-zero).
type qparams struct {
	scale float32
	zero  uint8
}

// uint8Params maps r, widened to contain 0 (so that zero padding is exact),
// onto 0..255. ONNX Runtime's x86 integer kernels take uint8 activations
// with int8 weights.
func uint8Params(r Range) qparams {
	lo, hi := min(float64(r.Lo), 0), max(float64(r.Hi), 0)
	if hi-lo < 1e-12 {
		return qparams{scale: 1}
	}
	scale := (hi - lo) / 255
	zero := math.Round(-lo / scale)
	return qparams{scale: float32(scale), zero: uint8(min(max(zero, 0), 255))}
}

// weightMax is the largest int8 weight magnitude the plan uses.
func (p *Plan) weightMax() float64 {
	if p.ReduceRange {
		return 63
	}
	return 127
}

// quantizeConv replaces a Conv's weight and bias with per-output-channel
// int8 and int32 tensors behind DequantizeLinear nodes, which it returns
// with their initializers. The bias scale is the input scale times each
// channel's weight scale, as integer convolution accumulates in that unit.
func quantizeConv(n *onnx.NodeProto, ix *onnxgraph.Index, in qparams, wmax float64) ([]*onnx.NodeProto, []*onnx.TensorProto, error) {
	wt := ix.Initializer(n.GetInput()[1])
	w, err := onnxgraph.Floats(wt)
	if err != nil {
		return nil, nil, fmt.Errorf("conv %q: %w", n.GetName(), err)
	}
	m := int(wt.GetDims()[0])
	per := len(w) / m
	wq := make([]byte, len(w))
	ws := make([]float32, m)
	for c := range m {
		var amax float64
		for _, v := range w[c*per : (c+1)*per] {
			amax = max(amax, math.Abs(float64(v)))
		}
		s := amax / wmax
		if s == 0 {
			s = 1
		}
		ws[c] = float32(s)
		for i := c * per; i < (c+1)*per; i++ {
			q := math.Round(float64(w[i]) / s)
			wq[i] = byte(int8(min(max(q, -wmax), wmax)))
		}
	}
	base := n.GetName()
	if base == "" {
		base = n.GetOutput()[0]
	}
	ch := []int64{int64(m)}
	inits := []*onnx.TensorProto{
		{Name: base + "/W_int8", Dims: wt.GetDims(), DataType: int32(onnx.TensorProto_INT8), RawData: wq},
		onnxgraph.FloatTensor(base+"/W_scale", ch, ws),
		{Name: base + "/W_zero_point", Dims: ch, DataType: int32(onnx.TensorProto_INT8), RawData: make([]byte, m)},
	}
	nodes := []*onnx.NodeProto{onnxgraph.Node("DequantizeLinear", base+"/W_DequantizeLinear",
		[]string{base + "/W_int8", base + "/W_scale", base + "/W_zero_point"}, []string{base + "/W_dequantized"}, onnxgraph.IntAttr("axis", 0))}
	n.Input[1] = base + "/W_dequantized"

	if len(n.GetInput()) > 2 && n.GetInput()[2] != "" {
		b, err := onnxgraph.Floats(ix.Initializer(n.GetInput()[2]))
		if err != nil || len(b) != m {
			return nil, nil, fmt.Errorf("conv %q: bias of %d values for %d channels (%v)", n.GetName(), len(b), m, err)
		}
		bq := make([]byte, 4*m)
		bs := make([]float32, m)
		for c := range m {
			bs[c] = in.scale * ws[c]
			q := math.Round(float64(b[c]) / float64(bs[c]))
			binary.LittleEndian.PutUint32(bq[4*c:], uint32(int32(min(max(q, math.MinInt32), math.MaxInt32))))
		}
		inits = append(inits,
			&onnx.TensorProto{Name: base + "/B_int32", Dims: ch, DataType: int32(onnx.TensorProto_INT32), RawData: bq},
			onnxgraph.FloatTensor(base+"/B_scale", ch, bs),
			&onnx.TensorProto{Name: base + "/B_zero_point", Dims: ch, DataType: int32(onnx.TensorProto_INT32), RawData: make([]byte, 4*m)})
		nodes = append(nodes, onnxgraph.Node("DequantizeLinear", base+"/B_DequantizeLinear",
			[]string{base + "/B_int32", base + "/B_scale", base + "/B_zero_point"}, []string{base + "/B_dequantized"}, onnxgraph.IntAttr("axis", 0)))
		n.Input[2] = base + "/B_dequantized"
	}
	return nodes, inits, nil
}

package quant

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/transfer-go/transfer/internal/fixture/mobilenet"
	"github.com/transfer-go/transfer/internal/onnxgraph"
	"github.com/transfer-go/transfer/internal/onnxgraph/onnx"
)

func TestUint8Params(t *testing.T) {
	for _, c := range []struct {
		r     Range
		scale float64
		zero  uint8
	}{
		{Range{0, 6}, 6.0 / 255, 0},
		{Range{-1, 1}, 2.0 / 255, 128},  // 127.5 rounds away from zero
		{Range{2, 5}, 5.0 / 255, 0},     // widened to contain 0
		{Range{-5, -2}, 5.0 / 255, 255}, // likewise
		{Range{0, 0}, 1, 0},
	} {
		q := uint8Params(c.r)
		if math.Abs(float64(q.scale)-c.scale) > 1e-7 || q.zero != c.zero {
			t.Errorf("uint8Params(%v) = scale %g zero %d, want %g %d", c.r, q.scale, q.zero, c.scale, c.zero)
		}
	}
}

func TestCollector(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	values := make([]float32, 1_000_000)
	for i := range values {
		values[i] = float32(rng.NormFloat64())
	}
	values[10], values[20] = 40, -30 // two outliers
	for _, m := range []Method{MinMax, Percentile} {
		c := NewCollector(1, m)
		for pass := 0; ; pass++ {
			for k := 0; k < len(values); k += 4096 {
				c.Add(0, values[k:min(k+4096, len(values))])
			}
			if !c.NextPass() {
				break
			}
		}
		r := c.Range(0)
		switch m {
		case MinMax:
			if r.Lo != -30 || r.Hi != 40 {
				t.Errorf("minmax range %v, want [-30, 40]", r)
			}
		case Percentile:
			// 1e-5 of a million is 10 values per tail: the outliers go,
			// and the bounds land near the normal's 0.001% quantiles
			// (±4.26), within a histogram bin (70/4096).
			if r.Lo < -4.6 || r.Lo > -3.9 || r.Hi < 3.9 || r.Hi > 4.6 {
				t.Errorf("percentile range %v, want about [-4.26, 4.26]", r)
			}
		}
	}
}

// TestPrepare folds every batch norm and zero pad of each exporter's graph,
// and raises old opsets to 13.
func TestPrepare(t *testing.T) {
	for _, f := range []mobilenet.Flavour{mobilenet.Torch, mobilenet.MXNet, mobilenet.TF2ONNX, mobilenet.Keras2ONNX} {
		t.Run(f.String(), func(t *testing.T) {
			n := mobilenet.New(mobilenet.Small(f, 1))
			mp := n.Model()
			before := ops(mp)
			if err := Prepare(mp); err != nil {
				t.Fatal(err)
			}
			after := ops(mp)
			if got := onnxgraph.Opset(mp); got != 13 {
				t.Errorf("opset %d, want 13", got)
			}
			if after["BatchNormalization"] != 0 || after["Pad"] != 0 {
				t.Errorf("after Prepare: %d batch norms, %d pads left", after["BatchNormalization"], after["Pad"])
			}
			if after["Conv"] != before["Conv"] || after["Clip"] != before["Clip"] || after["Add"] != before["Add"] {
				t.Errorf("ops changed: %v -> %v", before, after)
			}
			// Every folded conv has a bias, and no stale weight is kept.
			ix := onnxgraph.NewIndex(mp.GetGraph())
			for _, node := range mp.GetGraph().GetNode() {
				if node.GetOpType() == "Conv" && (len(node.GetInput()) < 3 || ix.Initializer(node.GetInput()[2]) == nil) {
					t.Errorf("conv %s has no bias after folding", node.GetName())
				}
			}
			for _, in := range mp.GetGraph().GetInitializer() {
				if strings.HasSuffix(in.GetName(), "_bn/gamma") {
					t.Errorf("unused initializer %s kept", in.GetName())
				}
			}
			checkTopological(t, mp.GetGraph())
		})
	}
}

func TestUpgradeRefuses(t *testing.T) {
	g := &onnx.GraphProto{
		Input:  []*onnx.ValueInfoProto{onnxgraph.TensorInfo("x", onnx.TensorProto_FLOAT, onnxgraph.Dims(1, 3, 8, 8))},
		Node:   []*onnx.NodeProto{onnxgraph.Node("LRN", "norm", []string{"x"}, []string{"y"})},
		Output: []*onnx.ValueInfoProto{onnxgraph.TensorInfo("y", onnx.TensorProto_FLOAT, nil)},
	}
	err := Prepare(onnxgraph.NewModel(g, 6, 11, "test"))
	if err == nil || !strings.Contains(err.Error(), "LRN") || !strings.Contains(err.Error(), "opset 13 first") {
		t.Errorf("Prepare of an LRN graph at opset 11: %v, want a refusal naming LRN and the fix", err)
	}
}

// TestApply quantises a prepared graph with made-up ranges and checks the
// written tensors: weights within half a step of the floats, biases in the
// input-times-weight scale, every Conv and Add read through
// DequantizeLinear, activations removed only where their range allows it.
func TestApply(t *testing.T) {
	n := mobilenet.New(mobilenet.Small(mobilenet.Torch, 2))
	mp := n.Model()
	if err := Prepare(mp); err != nil {
		t.Fatal(err)
	}
	float := proto(mp)
	p, err := NewPlan(mp.GetGraph(), n.EmbeddingTensor(), 0)
	if err != nil {
		t.Fatal(err)
	}
	// Every Clip follows a Conv (35 in MobileNetV2); the small variant's
	// first block has a residual connection too (11 Adds).
	if c := ops(mp); len(p.convs) != 52 || len(p.adds) != c["Add"] || len(p.adds) != 11 || len(p.fused) != 35 || c["Clip"] != 35 {
		t.Fatalf("plan: %d convs, %d adds, %d fused activations; want 52, 11, 35 (graph: %v)", len(p.convs), len(p.adds), len(p.fused), c)
	}
	ranges := make([]Range, len(p.Tensors))
	for i := range ranges {
		ranges[i] = Range{-3, 5}
	}
	s, err := Apply(mp, p, ranges)
	if err != nil {
		t.Fatal(err)
	}
	if s.Removed != 35 {
		t.Errorf("%d activations removed, want 35", s.Removed)
	}
	checkTopological(t, mp.GetGraph())
	g := mp.GetGraph()
	ix := onnxgraph.NewIndex(g)
	fix := onnxgraph.NewIndex(float.GetGraph())
	floatConv := make(map[string]*onnx.NodeProto)
	for _, node := range float.GetGraph().GetNode() {
		floatConv[node.GetName()] = node
	}
	counts := ops(mp)
	if counts["Clip"] != 0 || counts["Conv"] != 52 {
		t.Errorf("ops after Apply: %v", counts)
	}
	for _, node := range g.GetNode() {
		switch node.GetOpType() {
		case "Conv", "Add":
			for i, in := range node.GetInput() {
				if pr := ix.Producer(in); pr == nil || pr.GetOpType() != "DequantizeLinear" {
					t.Fatalf("%s %s input %d (%s) is not dequantised", node.GetOpType(), node.GetName(), i, in)
				}
			}
		}
		if node.GetOpType() != "Conv" {
			continue
		}
		wdq := ix.Producer(node.GetInput()[1])
		wq, scales := ix.Initializer(wdq.GetInput()[0]), floats(t, ix.Initializer(wdq.GetInput()[1]))
		orig := floats(t, fix.Initializer(floatConv[node.GetName()].GetInput()[1]))
		if wq.GetDataType() != int32(onnx.TensorProto_INT8) || len(wq.GetRawData()) != len(orig) {
			t.Fatalf("conv %s: weights of type %d, %d bytes", node.GetName(), wq.GetDataType(), len(wq.GetRawData()))
		}
		per := len(orig) / len(scales)
		for i, v := range orig {
			s := scales[i/per]
			if d := math.Abs(float64(int8(wq.GetRawData()[i]))*float64(s) - float64(v)); d > float64(s)/2+1e-7 {
				t.Fatalf("conv %s weight %d: dequantised %g, float %g", node.GetName(), i, float64(int8(wq.GetRawData()[i]))*float64(s), v)
			}
		}
		bdq := ix.Producer(node.GetInput()[2])
		bs := floats(t, ix.Initializer(bdq.GetInput()[1]))
		in := uint8Params(Range{-3, 5})
		if _, fused := p.bounds[unDQ(node.GetInput()[0])]; fused {
			// A removed Clip's output keeps only its non-negative part.
			in = uint8Params(Range{0, 5})
		}
		for c, sc := range bs {
			if want := in.scale * scales[c]; math.Abs(float64(sc-want)) > 1e-12 {
				t.Fatalf("conv %s bias scale %d: %g, want %g", node.GetName(), c, sc, want)
			}
		}
	}
	// The pooling reads the dequantised feature map; the embedding stays
	// float.
	pool := ix.Producer(p.FeatureMap + "/quantized")
	if pool == nil || ix.Producer(n.EmbeddingTensor()) == nil {
		t.Fatal("feature map not quantised or embedding gone")
	}
}

func TestApplyRefusesMissingRange(t *testing.T) {
	n := mobilenet.New(mobilenet.Small(mobilenet.Torch, 3))
	mp := n.Model()
	if err := Prepare(mp); err != nil {
		t.Fatal(err)
	}
	p, err := NewPlan(mp.GetGraph(), n.EmbeddingTensor(), 0)
	if err != nil {
		t.Fatal(err)
	}
	c := NewCollector(len(p.Tensors), MinMax) // no image observed
	ranges := make([]Range, len(p.Tensors))
	for i := range ranges {
		ranges[i] = c.Range(i)
	}
	if _, err := Apply(mp, p, ranges); err == nil || !strings.Contains(err.Error(), "no calibrated range") {
		t.Errorf("Apply without calibration: %v", err)
	}
}

func TestPlanRefusesGraphWithoutConv(t *testing.T) {
	g := &onnx.GraphProto{
		Input: []*onnx.ValueInfoProto{onnxgraph.TensorInfo("x", onnx.TensorProto_FLOAT, onnxgraph.Dims(1, 3, 8, 8))},
		Node: []*onnx.NodeProto{
			onnxgraph.Node("Relu", "relu", []string{"x"}, []string{"r"}),
			onnxgraph.Node("GlobalAveragePool", "pool", []string{"r"}, []string{"p"}),
			onnxgraph.Node("Flatten", "flat", []string{"p"}, []string{"e"}),
		},
		Output: []*onnx.ValueInfoProto{onnxgraph.TensorInfo("e", onnx.TensorProto_FLOAT, nil)},
	}
	if _, err := NewPlan(g, "e", 0); err == nil || !strings.Contains(err.Error(), "nothing to quantise") {
		t.Errorf("NewPlan of a graph without convolutions: %v", err)
	}
}

func ops(mp *onnx.ModelProto) map[string]int {
	m := make(map[string]int)
	for _, n := range mp.GetGraph().GetNode() {
		m[n.GetOpType()]++
	}
	return m
}

func floats(t *testing.T, tp *onnx.TensorProto) []float32 {
	t.Helper()
	v, err := onnxgraph.Floats(tp)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func proto(mp *onnx.ModelProto) *onnx.ModelProto {
	m := (&onnxgraph.Model{Proto: mp}).Clone()
	return m.Proto
}

// checkTopological fails t unless every node input is a graph input, an
// initializer or the output of an earlier node.
func checkTopological(t *testing.T, g *onnx.GraphProto) {
	t.Helper()
	known := map[string]bool{"": true}
	for _, in := range g.GetInput() {
		known[in.GetName()] = true
	}
	for _, in := range g.GetInitializer() {
		known[in.GetName()] = true
	}
	for _, n := range g.GetNode() {
		for _, in := range n.GetInput() {
			if !known[in] {
				t.Fatalf("node %s (%s) reads %q before it is made", n.GetName(), n.GetOpType(), in)
			}
		}
		for _, out := range n.GetOutput() {
			known[out] = true
		}
	}
}

// TestPlanKeepsStemFloat leaves the first convolutions out of the plan:
// their weights stay float and only their successors' inputs are measured.
func TestPlanKeepsStemFloat(t *testing.T) {
	n := mobilenet.New(mobilenet.Small(mobilenet.TF2ONNX, 4))
	mp := n.Model()
	if err := Prepare(mp); err != nil {
		t.Fatal(err)
	}
	p, err := NewPlan(mp.GetGraph(), n.EmbeddingTensor(), 2)
	if err != nil {
		t.Fatal(err)
	}
	if p.Float != 2 || len(p.convs) != 50 || len(p.fused) != 33 {
		t.Fatalf("plan: %d float, %d int8 convs, %d fused", p.Float, len(p.convs), len(p.fused))
	}
	var convs []*onnx.NodeProto
	for _, node := range mp.GetGraph().GetNode() {
		if node.GetOpType() == "Conv" {
			convs = append(convs, node)
		}
	}
	ranges := make([]Range, len(p.Tensors))
	for i := range ranges {
		ranges[i] = Range{0, 6}
	}
	if _, err := Apply(mp, p, ranges); err != nil {
		t.Fatal(err)
	}
	ix := onnxgraph.NewIndex(mp.GetGraph())
	for i, c := range convs {
		quantised := ix.Producer(c.GetInput()[1]) != nil
		if quantised != (i >= 2) {
			t.Errorf("conv %d (%s): quantised %v", i, c.GetName(), quantised)
		}
	}
	checkTopological(t, mp.GetGraph())
}

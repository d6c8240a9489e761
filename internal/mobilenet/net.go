package mobilenet

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Flavour selects which exporter's graph structure Model writes.
type Flavour int

const (
	// Torch is a torchvision export as in the ONNX Model Zoo's
	// mobilenetv2-10/-12: NCHW input "input" [batch,3,S,S], folded batch
	// norm, GlobalAveragePool, then a Reshape whose shape is built by
	// Shape/Gather/Unsqueeze/Concat, then Gemm to the logits "output".
	Torch Flavour = iota
	// MXNet is the zoo's mobilenetv2-7: input "data" fixed at [1,3,S,S],
	// separate BatchNormalization nodes, every weight also listed as a graph
	// input, GlobalAveragePool, a 1x1 Conv classifier and a Reshape with a
	// constant shape.
	MXNet
	// TF2ONNX is a Keras model exported by tf2onnx: NHWC input [N,S,S,3], a
	// Transpose to NCHW first, explicit Pad nodes before stride-2
	// convolutions. Below opset 18 the features are GlobalAveragePool +
	// Squeeze; from opset 18 a Transpose back to NHWC and ReduceMean over H,W
	// with keepdims=0. Then MatMul+Add (or Gemm with Config.Gemm) and Softmax.
	TF2ONNX
	// Keras2ONNX is a keras2onnx export: NHWC input with a Transpose first,
	// GlobalAveragePool, Reshape to [0,-1], MatMul+Add and Softmax.
	Keras2ONNX
)

func (f Flavour) String() string {
	switch f {
	case Torch:
		return "torch"
	case MXNet:
		return "mxnet"
	case TF2ONNX:
		return "tf2onnx"
	case Keras2ONNX:
		return "keras2onnx"
	}
	return fmt.Sprintf("Flavour(%d)", int(f))
}

// NHWC reports whether the flavour's input is channels-last.
func (f Flavour) NHWC() bool { return f == TF2ONNX || f == Keras2ONNX }

// Config describes one network. The zero value of each field means the real
// MobileNetV2 value.
type Config struct {
	Flavour Flavour
	// Opset of the written model; 0 means the flavour's usual one (torch 12,
	// mxnet 7, tf2onnx 13, keras2onnx 11).
	Opset int64
	// InputSize is the square input's side in pixels (224).
	InputSize int
	// Width is the channel multiplier alpha (1.0).
	Width float64
	// LastChannels is the width of the final 1x1 convolution, the embedding
	// dimension (1280 for Width <= 1).
	LastChannels int
	// Classes is the classifier's output count (1000).
	Classes int
	// Seed drives every random weight.
	Seed uint64
	// Gemm makes the TF2ONNX flavour use Gemm instead of MatMul+Add.
	Gemm bool
	// FixedBatch fixes the batch dimension of the input; 0 leaves it
	// symbolic. MXNet always uses 1.
	FixedBatch int
}

// Small is a narrow, low-resolution variant for fast tests: the same graph
// structure, 32x32 input, widths divided by four, 64 embedding channels.
func Small(f Flavour, seed uint64) Config {
	return Config{Flavour: f, InputSize: 32, Width: 0.25, LastChannels: 64, Classes: 10, Seed: seed}
}

func (c Config) withDefaults() Config {
	if c.Opset == 0 {
		c.Opset = map[Flavour]int64{Torch: 12, MXNet: 7, TF2ONNX: 13, Keras2ONNX: 11}[c.Flavour]
	}
	if c.InputSize == 0 {
		c.InputSize = 224
	}
	if c.Width == 0 {
		c.Width = 1
	}
	if c.LastChannels == 0 {
		c.LastChannels = 1280
		if c.Width > 1 {
			c.LastChannels = makeDivisible(1280 * c.Width)
		}
	}
	if c.Classes == 0 {
		c.Classes = 1000
	}
	if c.Flavour == MXNet {
		c.FixedBatch = 1
	}
	return c
}

// conv is a convolution with its (optional) batch norm and activation. The
// weight layout is ONNX's: [out, in/groups, k, k], row-major.
type conv struct {
	name               string
	in, out, k, stride int
	groups             int
	pad                [4]int // top, left, bottom, right
	w, b               []float32
	bnScale, bnBias    []float32 // MXNet only: BatchNormalization after the conv
	bnMean, bnVar      []float32
	relu6              bool
}

type block struct {
	expand   *conv // nil when the expansion factor is 1
	dw, proj conv
	residual bool
}

// Net is one MobileNetV2 with concrete weights.
type Net struct {
	Config Config
	stem   conv
	blocks []block
	last   conv
	// fcW is the classifier weight, [Classes, LastChannels] row-major;
	// fcB its bias.
	fcW, fcB []float32
}

// bnEpsilon is MXNet's BatchNorm epsilon as its exports write it.
const bnEpsilon = 1e-5

// New builds a network with weights drawn from cfg.Seed. The weights are
// scaled so that activations neither vanish nor saturate through 17 blocks.
func New(cfg Config) *Net {
	cfg = cfg.withDefaults()
	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))
	n := &Net{Config: cfg}
	mk := func(name string, in, out, k, stride, groups int, relu6 bool) conv {
		c := conv{name: name, in: in, out: out, k: k, stride: stride, groups: groups, relu6: relu6}
		if k == 3 {
			c.pad = [4]int{1, 1, 1, 1}
			if stride == 2 && cfg.Flavour.NHWC() {
				// Keras pads stride-2 convolutions of even inputs with
				// ZeroPadding2D(((0, 1), (0, 1))) and then uses 'valid'.
				c.pad = [4]int{0, 0, 1, 1}
			}
		}
		fanIn := in / groups * k * k
		gain := 6.0
		if !relu6 {
			gain = 3.0 // linear bottleneck: keep residual sums bounded
		}
		a := math.Sqrt(gain / float64(fanIn))
		c.w = uniform(rng, out*fanIn, a)
		c.b = uniform(rng, out, 0.1)
		if cfg.Flavour == MXNet {
			c.bnScale = shifted(rng, out, 0.8, 1.2)
			c.bnBias = uniform(rng, out, 0.1)
			c.bnMean = uniform(rng, out, 0.1)
			c.bnVar = shifted(rng, out, 0.5, 1.5)
			c.b = nil // MXNet convolutions before BatchNorm have no bias
		}
		return c
	}
	ch := makeDivisible(32 * cfg.Width)
	n.stem = mk("stem", 3, ch, 3, 2, 1, true)
	settings := []struct{ t, c, n, s int }{
		{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2},
		{6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1},
	}
	for _, st := range settings {
		outCh := makeDivisible(float64(st.c) * cfg.Width)
		for i := 0; i < st.n; i++ {
			stride := 1
			if i == 0 {
				stride = st.s
			}
			name := fmt.Sprintf("block_%d", len(n.blocks))
			var b block
			hidden := ch * st.t
			if st.t != 1 {
				e := mk(name+"_expand", ch, hidden, 1, 1, 1, true)
				b.expand = &e
			}
			b.dw = mk(name+"_depthwise", hidden, hidden, 3, stride, hidden, true)
			b.proj = mk(name+"_project", hidden, outCh, 1, 1, 1, false)
			b.residual = stride == 1 && ch == outCh
			n.blocks = append(n.blocks, b)
			ch = outCh
		}
	}
	n.last = mk("last", ch, cfg.LastChannels, 1, 1, 1, true)
	a := math.Sqrt(6.0 / float64(cfg.LastChannels+cfg.Classes))
	n.fcW = uniform(rng, cfg.Classes*cfg.LastChannels, a)
	n.fcB = uniform(rng, cfg.Classes, 0.1)
	return n
}

// Blocks returns the number of inverted-residual blocks (17).
func (n *Net) Blocks() int { return len(n.blocks) }

// makeDivisible rounds channels to a multiple of 8, never below 90% of v, as
// the reference implementation does.
func makeDivisible(v float64) int {
	const d = 8
	r := int(v+d/2) / d * d
	if r < d {
		r = d
	}
	if float64(r) < 0.9*v {
		r += d
	}
	return r
}

func uniform(rng *rand.Rand, n int, a float64) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32((rng.Float64()*2 - 1) * a)
	}
	return out
}

func shifted(rng *rand.Rand, n int, lo, hi float64) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(lo + rng.Float64()*(hi-lo))
	}
	return out
}

package mobilenet

import (
	"fmt"
	"os"

	"github.com/transfer-go/transfer/internal/onnxgraph"
	"github.com/transfer-go/transfer/internal/onnxgraph/onnx"
)

// Names of the tensors that tests look for in the written graphs.
const (
	// PooledTensor is the output of the global pooling node in every flavour
	// (the ReduceMean output for TF2ONNX at opset 18 and above).
	PooledTensor = "pooled"
	// FeaturesTensor is the flattened [N, LastChannels] tensor that feeds the
	// classifier, in the flavours that have one (all but MXNet).
	FeaturesTensor = "features"
)

// InputName returns the input tensor's name in the flavour's exports.
func (f Flavour) InputName() string {
	switch f {
	case MXNet:
		return "data"
	case TF2ONNX, Keras2ONNX:
		return "input_1"
	}
	return "input"
}

// OutputName returns the classifier output's name in the flavour's exports.
func (f Flavour) OutputName() string {
	switch f {
	case MXNet:
		return "mobilenetv20_output_flatten0_reshape0"
	case TF2ONNX, Keras2ONNX:
		return "predictions"
	}
	return "output"
}

// EmbeddingTensor returns the tensor that feature discovery must pick: the
// last one before the classifier.
func (n *Net) EmbeddingTensor() string {
	if n.Config.Flavour == MXNet {
		return PooledTensor
	}
	if n.Config.Flavour == TF2ONNX && n.Config.Opset >= 18 {
		return PooledTensor
	}
	return FeaturesTensor
}

type emitter struct {
	g     *onnx.GraphProto
	opset int64
	mxnet bool
}

func (e *emitter) init(t *onnx.TensorProto) string {
	e.g.Initializer = append(e.g.Initializer, t)
	if e.mxnet {
		// MXNet's exporter also declares every parameter as a graph input.
		e.g.Input = append(e.g.Input, onnxgraph.TensorInfo(t.GetName(), onnx.TensorProto_DataType(t.GetDataType()), onnxgraph.Dims(t.GetDims()...)))
	}
	return t.GetName()
}

func (e *emitter) node(op, name string, in []string, out string, attrs ...*onnx.AttributeProto) string {
	e.g.Node = append(e.g.Node, onnxgraph.Node(op, name, in, []string{out}, attrs...))
	return out
}

func (e *emitter) relu6(x, name string) string {
	if e.opset < 11 {
		return e.node("Clip", name, []string{x}, name, onnxgraph.FloatAttr("min", 0), onnxgraph.FloatAttr("max", 6))
	}
	return e.node("Clip", name, []string{x, "relu6_min", "relu6_max"}, name)
}

func (e *emitter) conv(c *conv, x string, padNode bool) string {
	pads := []int64{int64(c.pad[0]), int64(c.pad[1]), int64(c.pad[2]), int64(c.pad[3])}
	if padNode && c.pad != [4]int{} && c.pad != [4]int{1, 1, 1, 1} {
		// Keras' explicit ZeroPadding2D, as tf2onnx keeps it: NCHW pads
		// are begin values of all four axes, then end values.
		p := []int64{0, 0, pads[0], pads[1], 0, 0, pads[2], pads[3]}
		if e.opset < 11 {
			x = e.node("Pad", c.name+"_pad", []string{x}, c.name+"_pad", onnxgraph.IntsAttr("pads", p...), onnxgraph.StringAttr("mode", "constant"))
		} else {
			pn := e.init(onnxgraph.Int64Tensor(c.name+"_pad/pads", []int64{8}, p))
			x = e.node("Pad", c.name+"_pad", []string{x, pn}, c.name+"_pad")
		}
		pads = []int64{0, 0, 0, 0}
	}
	in := []string{x, e.init(onnxgraph.FloatTensor(c.name+"/W", []int64{int64(c.out), int64(c.in / c.groups), int64(c.k), int64(c.k)}, c.w))}
	if c.b != nil {
		in = append(in, e.init(onnxgraph.FloatTensor(c.name+"/B", []int64{int64(c.out)}, c.b)))
	}
	y := e.node("Conv", c.name, in, c.name+"_conv",
		onnxgraph.IntsAttr("kernel_shape", int64(c.k), int64(c.k)),
		onnxgraph.IntsAttr("strides", int64(c.stride), int64(c.stride)),
		onnxgraph.IntsAttr("pads", pads...),
		onnxgraph.IntsAttr("dilations", 1, 1),
		onnxgraph.IntAttr("group", int64(c.groups)))
	if c.bnScale != nil {
		d := []int64{int64(c.out)}
		y = e.node("BatchNormalization", c.name+"_bn", []string{y,
			e.init(onnxgraph.FloatTensor(c.name+"_bn/gamma", d, c.bnScale)),
			e.init(onnxgraph.FloatTensor(c.name+"_bn/beta", d, c.bnBias)),
			e.init(onnxgraph.FloatTensor(c.name+"_bn/mean", d, c.bnMean)),
			e.init(onnxgraph.FloatTensor(c.name+"_bn/var", d, c.bnVar)),
		}, c.name+"_bn", onnxgraph.FloatAttr("epsilon", bnEpsilon))
	}
	if c.relu6 {
		y = e.relu6(y, c.name+"_relu6")
	}
	return y
}

// Model writes the network as an ONNX model in the configured flavour.
func (n *Net) Model() *onnx.ModelProto {
	cfg := n.Config
	f := cfg.Flavour
	e := &emitter{g: &onnx.GraphProto{Name: "mobilenetv2_" + f.String()}, opset: cfg.Opset, mxnet: f == MXNet}
	s := int64(cfg.InputSize)
	batch := onnxgraph.Dim{Param: map[Flavour]string{Torch: "batch_size", TF2ONNX: "unk__615", Keras2ONNX: "N"}[f]}
	if cfg.FixedBatch > 0 {
		batch = onnxgraph.Dim{Value: int64(cfg.FixedBatch)}
	}
	inDims := []onnxgraph.Dim{batch, {Value: 3}, {Value: s}, {Value: s}}
	if f.NHWC() {
		inDims = []onnxgraph.Dim{batch, {Value: s}, {Value: s}, {Value: 3}}
	}
	// The input comes first among the graph inputs, before any weights.
	e.g.Input = append(e.g.Input, onnxgraph.TensorInfo(f.InputName(), onnx.TensorProto_FLOAT, inDims))
	if cfg.Opset >= 11 {
		e.init(onnxgraph.FloatTensor("relu6_min", nil, []float32{0}))
		e.init(onnxgraph.FloatTensor("relu6_max", nil, []float32{6}))
	}

	x := f.InputName()
	if f.NHWC() {
		x = e.node("Transpose", "to_nchw", []string{x}, "input_nchw", onnxgraph.IntsAttr("perm", 0, 3, 1, 2))
	}
	padNodes := f.NHWC()
	x = e.conv(&n.stem, x, padNodes)
	for i := range n.blocks {
		b := &n.blocks[i]
		in := x
		if b.expand != nil {
			x = e.conv(b.expand, x, padNodes)
		}
		x = e.conv(&b.dw, x, padNodes)
		x = e.conv(&b.proj, x, padNodes)
		if b.residual {
			x = e.node("Add", fmt.Sprintf("block_%d_add", i), []string{in, x}, fmt.Sprintf("block_%d_add", i))
		}
	}
	x = e.conv(&n.last, x, padNodes)

	d, c := int64(cfg.LastChannels), int64(cfg.Classes)
	out := f.OutputName()
	switch f {
	case Torch:
		p := e.node("GlobalAveragePool", "GlobalAveragePool_0", []string{x}, PooledTensor)
		shape := e.node("Shape", "Shape_0", []string{p}, "pooled_shape")
		idx := e.init(&onnx.TensorProto{Name: "gather_index", DataType: int32(onnx.TensorProto_INT64), Int64Data: []int64{0}})
		g := e.node("Gather", "Gather_0", []string{shape, idx}, "batch_dim", onnxgraph.IntAttr("axis", 0))
		var u string
		if cfg.Opset < 13 {
			u = e.node("Unsqueeze", "Unsqueeze_0", []string{g}, "batch_dim_1d", onnxgraph.IntsAttr("axes", 0))
		} else {
			u = e.node("Unsqueeze", "Unsqueeze_0", []string{g, e.init(onnxgraph.Int64Tensor("unsqueeze_axes", []int64{1}, []int64{0}))}, "batch_dim_1d")
		}
		minus1 := e.init(onnxgraph.Int64Tensor("minus_one", []int64{1}, []int64{-1}))
		cat := e.node("Concat", "Concat_0", []string{u, minus1}, "flat_shape", onnxgraph.IntAttr("axis", 0))
		r := e.node("Reshape", "Reshape_0", []string{p, cat}, FeaturesTensor)
		e.node("Gemm", "Gemm_0", []string{r,
			e.init(onnxgraph.FloatTensor("classifier.1.weight", []int64{c, d}, n.fcW)),
			e.init(onnxgraph.FloatTensor("classifier.1.bias", []int64{c}, n.fcB)),
		}, out, onnxgraph.FloatAttr("alpha", 1), onnxgraph.FloatAttr("beta", 1), onnxgraph.IntAttr("transB", 1))
	case MXNet:
		p := e.node("GlobalAveragePool", "mobilenetv20_features_pool0_fwd", []string{x}, PooledTensor)
		y := e.node("Conv", "mobilenetv20_output_pred_fwd", []string{p,
			e.init(onnxgraph.FloatTensor("mobilenetv20_output_pred_weight", []int64{c, d, 1, 1}, n.fcW)),
			e.init(onnxgraph.FloatTensor("mobilenetv20_output_pred_bias", []int64{c}, n.fcB)),
		}, "mobilenetv20_output_pred_fwd", onnxgraph.IntsAttr("kernel_shape", 1, 1), onnxgraph.IntsAttr("strides", 1, 1), onnxgraph.IntsAttr("pads", 0, 0, 0, 0), onnxgraph.IntAttr("group", 1))
		e.node("Reshape", "mobilenetv20_output_flatten0_reshape0", []string{y,
			e.init(onnxgraph.Int64Tensor("reshape_attr_tensor", []int64{2}, []int64{1, c}))}, out)
	case TF2ONNX, Keras2ONNX:
		var feat string
		switch {
		case f == TF2ONNX && cfg.Opset >= 18:
			t := e.node("Transpose", "to_nhwc", []string{x}, "features_nhwc", onnxgraph.IntsAttr("perm", 0, 2, 3, 1))
			axes := e.init(onnxgraph.Int64Tensor("reduce_axes", []int64{2}, []int64{1, 2}))
			feat = e.node("ReduceMean", "global_average_pooling2d", []string{t, axes}, PooledTensor, onnxgraph.IntAttr("keepdims", 0))
		case f == TF2ONNX:
			p := e.node("GlobalAveragePool", "global_average_pooling2d", []string{x}, PooledTensor)
			if cfg.Opset < 13 {
				feat = e.node("Squeeze", "global_average_pooling2d_squeeze", []string{p}, FeaturesTensor, onnxgraph.IntsAttr("axes", 2, 3))
			} else {
				axes := e.init(onnxgraph.Int64Tensor("squeeze_axes", []int64{2}, []int64{2, 3}))
				feat = e.node("Squeeze", "global_average_pooling2d_squeeze", []string{p, axes}, FeaturesTensor)
			}
		default:
			p := e.node("GlobalAveragePool", "global_average_pooling2d", []string{x}, PooledTensor)
			shape := e.init(onnxgraph.Int64Tensor("flatten_shape", []int64{2}, []int64{0, -1}))
			feat = e.node("Reshape", "global_average_pooling2d_reshape", []string{p, shape}, FeaturesTensor)
		}
		// Keras stores the kernel as [in, out].
		kernel := make([]float32, len(n.fcW))
		for i := int64(0); i < c; i++ {
			for j := int64(0); j < d; j++ {
				kernel[j*c+i] = n.fcW[i*d+j]
			}
		}
		k := e.init(onnxgraph.FloatTensor("predictions/kernel", []int64{d, c}, kernel))
		bias := e.init(onnxgraph.FloatTensor("predictions/bias", []int64{c}, n.fcB))
		var logits string
		if f == TF2ONNX && cfg.Gemm {
			logits = e.node("Gemm", "predictions/Gemm", []string{feat, k, bias}, "logits")
		} else {
			mm := e.node("MatMul", "predictions/MatMul", []string{feat, k}, "predictions/MatMul")
			logits = e.node("Add", "predictions/BiasAdd", []string{mm, bias}, "logits")
		}
		axis := int64(-1)
		if cfg.Opset < 13 {
			axis = 1
		}
		e.node("Softmax", "predictions/Softmax", []string{logits}, out, onnxgraph.IntAttr("axis", axis))
	}
	outBatch := batch
	e.g.Output = append(e.g.Output, onnxgraph.TensorInfo(out, onnx.TensorProto_FLOAT, []onnxgraph.Dim{outBatch, {Value: c}}))
	return onnxgraph.NewModel(e.g, onnxgraph.IRVersionFor(cfg.Opset), cfg.Opset, "transfer-mobilenet-"+f.String())
}

// WriteFile writes the network's ONNX model to path.
func (n *Net) WriteFile(path string) error {
	b, err := (&onnxgraph.Model{Proto: n.Model()}).Marshal()
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

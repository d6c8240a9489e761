package backbone_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/transfer-go/transfer/backbone"
	"github.com/transfer-go/transfer/internal/fixture/mobilenet"
	"github.com/transfer-go/transfer/internal/onnxgraph"
	"github.com/transfer-go/transfer/internal/onnxgraph/onnx"
)

func TestDiscoverFeatures(t *testing.T) {
	cases := []struct {
		name       string
		cfg        mobilenet.Config
		tensor     string
		classifier string
		dim        int
	}{
		{"torch zoo v12", mobilenet.Config{Flavour: mobilenet.Torch}, mobilenet.FeaturesTensor, "Gemm_0 (Gemm)", 1280},
		{"torch zoo v10", mobilenet.Config{Flavour: mobilenet.Torch, Opset: 10}, mobilenet.FeaturesTensor, "Gemm_0 (Gemm)", 1280},
		{"mxnet zoo v7", mobilenet.Config{Flavour: mobilenet.MXNet}, mobilenet.PooledTensor, "mobilenetv20_output_pred_fwd (Conv)", 1280},
		{"tf2onnx opset 13", mobilenet.Config{Flavour: mobilenet.TF2ONNX}, mobilenet.FeaturesTensor, "predictions/MatMul (MatMul)", 1280},
		{"tf2onnx opset 18", mobilenet.Config{Flavour: mobilenet.TF2ONNX, Opset: 18}, mobilenet.PooledTensor, "predictions/MatMul (MatMul)", 1280},
		{"tf2onnx gemm", mobilenet.Config{Flavour: mobilenet.TF2ONNX, Gemm: true}, mobilenet.FeaturesTensor, "predictions/Gemm (Gemm)", 1280},
		{"keras2onnx", mobilenet.Config{Flavour: mobilenet.Keras2ONNX}, mobilenet.FeaturesTensor, "predictions/MatMul (MatMul)", 1280},
		{"small torch", mobilenet.Small(mobilenet.Torch, 1), mobilenet.FeaturesTensor, "Gemm_0 (Gemm)", 64},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := mobilenet.New(tc.cfg).Model()
			f, err := backbone.DiscoverFeatures(m.GetGraph())
			if err != nil {
				t.Fatal(err)
			}
			if f.Tensor != tc.tensor || f.Classifier != tc.classifier || f.Dim != tc.dim {
				t.Errorf("got tensor %q classifier %q dim %d; want %q %q %d", f.Tensor, f.Classifier, f.Dim, tc.tensor, tc.classifier, tc.dim)
			}
		})
	}
}

// noPoolingModel is a classifier that flattens its feature map instead of
// pooling it, as some small CNNs do.
func noPoolingModel() *onnx.ModelProto {
	g := &onnx.GraphProto{Name: "flat"}
	g.Input = append(g.Input, onnxgraph.TensorInfo("x", onnx.TensorProto_FLOAT, []onnxgraph.Dim{{Param: "N"}, {Value: 3}, {Value: 8}, {Value: 8}}))
	g.Initializer = append(g.Initializer,
		onnxgraph.FloatTensor("w", []int64{4, 3, 3, 3}, make([]float32, 4*3*3*3)),
		onnxgraph.FloatTensor("fc", []int64{2, 144}, make([]float32, 2*144)))
	g.Node = append(g.Node,
		onnxgraph.Node("Conv", "conv", []string{"x", "w"}, []string{"c"}, onnxgraph.IntsAttr("kernel_shape", 3, 3), onnxgraph.IntsAttr("strides", 2, 2), onnxgraph.IntsAttr("pads", 1, 1, 1, 1)),
		onnxgraph.Node("Relu", "relu", []string{"c"}, []string{"r"}),
		onnxgraph.Node("Flatten", "flatten", []string{"r"}, []string{"flat"}),
		onnxgraph.Node("Gemm", "fc", []string{"flat", "fc"}, []string{"logits"}, onnxgraph.IntAttr("transB", 1)))
	g.Output = append(g.Output, onnxgraph.TensorInfo("logits", onnx.TensorProto_FLOAT, []onnxgraph.Dim{{Param: "N"}, {Value: 2}}))
	return onnxgraph.NewModel(g, 7, 13, "test")
}

func TestDiscoverFeaturesNoPooling(t *testing.T) {
	_, err := backbone.DiscoverFeatures(noPoolingModel().GetGraph())
	if !errors.Is(err, backbone.ErrNoEmbedding) {
		t.Fatalf("error %v, want ErrNoEmbedding", err)
	}
	for _, want := range []string{"flat (output of Flatten)", "no GlobalAveragePool or spatial ReduceMean feeds"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestAnalyze(t *testing.T) {
	parse := func(t *testing.T, mp *onnx.ModelProto) *onnxgraph.Model {
		b, err := (&onnxgraph.Model{Proto: mp}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		m, err := onnxgraph.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	t.Run("keras defaults", func(t *testing.T) {
		m := parse(t, mobilenet.New(mobilenet.Small(mobilenet.TF2ONNX, 1)).Model())
		info, err := backbone.Analyze(m, "k.onnx", backbone.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if info.Layout != backbone.NHWC || info.Preprocess.Name != "keras" || info.Input != "input_1" || info.Logits != "predictions" || info.Classes != 10 || info.FixedBatch != 0 {
			t.Errorf("got %+v", info)
		}
		if len(info.Fingerprint) != 64 {
			t.Errorf("fingerprint %q is not a hex sha256", info.Fingerprint)
		}
	})
	t.Run("fingerprint depends on preprocessing and tensor", func(t *testing.T) {
		m := parse(t, mobilenet.New(mobilenet.Small(mobilenet.Torch, 1)).Model())
		a, _ := backbone.Analyze(m, "", backbone.Options{})
		b, _ := backbone.Analyze(m, "", backbone.Options{Preprocess: backbone.Raw})
		c, _ := backbone.Analyze(m, "", backbone.Options{EmbeddingOutput: mobilenet.PooledTensor})
		d, _ := backbone.Analyze(m, "elsewhere.onnx", backbone.Options{})
		if a.Fingerprint == b.Fingerprint || a.Fingerprint == c.Fingerprint {
			t.Error("fingerprint ignores preprocessing or embedding tensor")
		}
		if a.Fingerprint != d.Fingerprint {
			t.Error("fingerprint depends on the file's path; it must depend on its bytes only")
		}
	})
	t.Run("fixed batch", func(t *testing.T) {
		m := parse(t, mobilenet.New(mobilenet.Small(mobilenet.MXNet, 1)).Model())
		info, err := backbone.Analyze(m, "", backbone.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if info.FixedBatch != 1 || info.Input != "data" || info.Preprocess.Name != "torch" {
			t.Errorf("got input %q fixed batch %d preprocess %s; want data, 1, torch", info.Input, info.FixedBatch, info.Preprocess.Name)
		}
	})

	errCases := []struct {
		name string
		edit func(g *onnx.GraphProto)
		opts backbone.Options
		want string
	}{
		{"rank 2 input", func(g *onnx.GraphProto) {
			g.Input[0] = onnxgraph.TensorInfo("input", onnx.TensorProto_FLOAT, onnxgraph.Dims(1, 3072))
		}, backbone.Options{}, `input "input" has shape [1,3072]; transfer needs a rank-4 image batch`},
		{"two inputs", func(g *onnx.GraphProto) {
			g.Input = append(g.Input, onnxgraph.TensorInfo("mask", onnx.TensorProto_FLOAT, onnxgraph.Dims(1, 1)))
		}, backbone.Options{}, "the model has 2 inputs (input, mask)"},
		{"ambiguous layout", func(g *onnx.GraphProto) {
			g.Input[0] = onnxgraph.TensorInfo("input", onnx.TensorProto_FLOAT, []onnxgraph.Dim{{Param: "N"}, {Param: "a"}, {Param: "b"}, {Param: "c"}})
		}, backbone.Options{}, "unknown input layout: cannot tell the input layout from shape"},
		{"uint8 input", func(g *onnx.GraphProto) {
			g.Input[0] = onnxgraph.TensorInfo("input", onnx.TensorProto_UINT8, onnxgraph.Dims(1, 3, 32, 32))
		}, backbone.Options{}, "element type UINT8"},
		{"size mismatch", func(g *onnx.GraphProto) {}, backbone.Options{InputSize: 64}, "fixed at 32x32; it cannot take an input size of 64"},
		{"unknown embedding output", func(g *onnx.GraphProto) {}, backbone.Options{EmbeddingOutput: "nope"}, `the embedding tensor asked for, "nope", is not produced by any node`},
	}
	for _, tc := range errCases {
		t.Run(tc.name, func(t *testing.T) {
			mp := mobilenet.New(mobilenet.Small(mobilenet.Torch, 1)).Model()
			tc.edit(mp.GetGraph())
			_, err := backbone.Analyze(parse(t, mp), "m.onnx", tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

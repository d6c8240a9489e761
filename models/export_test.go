//go:build cgo

package models_test

import (
	"cmp"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/transfer-go/transfer/backbone"
	"github.com/transfer-go/transfer/head"
	"github.com/transfer-go/transfer/internal/fixture/mobilenet"
	"github.com/transfer-go/transfer/internal/fixture/ortest"
	"github.com/transfer-go/transfer/internal/fixture/synthetic"
	"github.com/transfer-go/transfer/internal/onnxgraph"
	"github.com/transfer-go/transfer/models"
)

// trainedHead returns a head with random weights for info's backbone.
func trainedHead(info backbone.Info, classes []string, seed uint64) *head.Model {
	rng := rand.New(rand.NewPCG(seed, 3))
	layer := head.NewDense(info.Dim, len(classes), rng)
	for j := range layer.B {
		layer.B[j] = rng.NormFloat64()
	}
	return &head.Model{Layer: layer, Classes: classes, Source: head.Provenance{Fingerprint: info.Fingerprint, Pixels: "stretch/bilinear/32x32"}}
}

// TestExportMatchesBackbonePlusHead exports every flavour, with and without
// preprocessing, runs the file through ONNX Runtime and compares it with the
// backbone followed by the Go head on the same images.
func TestExportMatchesBackbonePlusHead(t *testing.T) {
	ortest.Require(t)
	cases := []struct {
		name   string
		cfg    mobilenet.Config
		pixels models.PixelType
	}{
		{"torch", mobilenet.Small(mobilenet.Torch, 1), ""},
		{"torch uint8 pixels", mobilenet.Small(mobilenet.Torch, 2), models.PixelsUint8},
		{"mxnet fixed batch", mobilenet.Small(mobilenet.MXNet, 3), ""},
		{"tf2onnx float pixels", mobilenet.Small(mobilenet.TF2ONNX, 4), models.PixelsFloat},
		{"tf2onnx opset 18", func() mobilenet.Config { c := mobilenet.Small(mobilenet.TF2ONNX, 5); c.Opset = 18; return c }(), models.PixelsUint8},
		{"keras2onnx", mobilenet.Small(mobilenet.Keras2ONNX, 6), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			net := mobilenet.New(tc.cfg)
			path := filepath.Join(t.TempDir(), "m.onnx")
			if err := net.WriteFile(path); err != nil {
				t.Fatal(err)
			}
			m, err := onnxgraph.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			b, err := backbone.OpenModel(m, path, backbone.Options{Threads: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Destroy()
			info := b.Info()
			h := trainedHead(info, []string{"a", "b", "c"}, 9)
			out, err := models.Export(m, info, h, models.ExportOptions{Pixels: tc.pixels})
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range out.Proto.GetGraph().GetNode() {
				if n.GetName() == "Gemm_0" || n.GetName() == "predictions/Softmax" || n.GetName() == "mobilenetv20_output_pred_fwd" {
					t.Errorf("the original classifier node %s survived the export", n.GetName())
				}
			}
			meta, err := models.ReadClassifierMeta(out)
			if err != nil {
				t.Fatal(err)
			}
			if len(meta.Classes) != 3 || meta.Classes[2] != "c" || meta.Fingerprint != info.Fingerprint || meta.Preprocess != info.Preprocess ||
				meta.Layout != info.Layout || meta.Pixels.Width != 32 || meta.Input != tc.pixels || meta.Pixels.String() != "stretch/bilinear/32x32" {
				t.Errorf("metadata %+v", meta)
			}
			cl, err := backbone.OpenClassifier(out, "exported", backbone.Options{Threads: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Destroy()
			if cl.Classes != 3 || cl.Uint8 != (tc.pixels == models.PixelsUint8) {
				t.Errorf("classifier has %d classes, uint8 input %v", cl.Classes, cl.Uint8)
			}

			rng := rand.New(rand.NewPCG(1, 1))
			var pix []uint8
			var raw, pre []float32
			filler := backbone.NewFiller(info.Preprocess, info.Layout)
			rawFiller := backbone.NewFiller(backbone.Pixels, info.Layout)
			for i := 0; i < 3; i++ {
				img := synthetic.Draw(i%2, 2, 32, 32, rng)
				p := make([]float32, info.InputLen())
				filler.Fill(p, img)
				pre = append(pre, p...)
				r := make([]float32, info.InputLen())
				rawFiller.Fill(r, img)
				raw = append(raw, r...)
				u := make([]uint8, info.InputLen())
				backbone.FillUint8(u, img, info.Layout)
				pix = append(pix, u...)
			}
			emb, err := b.Embed(context.Background(), pre)
			if err != nil {
				t.Fatal(err)
			}
			x := mat.NewDense(len(emb), info.Dim, nil)
			for i, v := range emb {
				for j, e := range v {
					x.Set(i, j, float64(e))
				}
			}
			want := h.Layer.Predict(nil, x)
			var got [][]float32
			switch tc.pixels {
			case models.PixelsUint8:
				got, err = cl.ClassifyUint8(context.Background(), pix)
			case models.PixelsFloat:
				got, err = cl.ClassifyFloat(context.Background(), raw)
			default:
				got, err = cl.ClassifyFloat(context.Background(), pre)
			}
			if err != nil {
				t.Fatal(err)
			}
			var diff float64
			for i := range got {
				for j := range got[i] {
					diff = math.Max(diff, math.Abs(float64(got[i][j])-want.At(i, j)))
				}
			}
			if diff >= 1e-5 {
				t.Errorf("exported probabilities differ from backbone + head by %g", diff)
			}
		})
	}
}

func TestExportRefusesForeignHead(t *testing.T) {
	net := mobilenet.New(mobilenet.Small(mobilenet.Torch, 1))
	m := &onnxgraph.Model{Proto: net.Model()}
	b, _ := m.Marshal()
	m, _ = onnxgraph.Parse(b)
	info, err := backbone.Analyze(m, "m.onnx", backbone.Options{})
	if err != nil {
		t.Fatal(err)
	}
	info.Dim = 64
	h := trainedHead(info, []string{"a", "b"}, 1)
	h.Source.Fingerprint = "another backbone"
	if _, err := models.Export(m, info, h, models.ExportOptions{}); err == nil {
		t.Fatal("exported a head trained on another backbone")
	}
}

// smallBackbone returns a small generated MobileNetV2 and its open
// backbone, destroyed when t ends.
func smallBackbone(t *testing.T) (*onnxgraph.Model, *backbone.Backbone) {
	t.Helper()
	b, _ := (&onnxgraph.Model{Proto: mobilenet.New(mobilenet.Small(mobilenet.TF2ONNX, 4)).Model()}).Marshal()
	m, err := onnxgraph.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	bb, err := backbone.OpenModel(m, "small.onnx", backbone.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bb.Destroy() })
	return m, bb
}

// TestVerifyAndClassifier: Verify finds an export equal to backbone + head;
// a head whose weights overflow gives NaN, which callers refuse; a model
// transfer did not export is no Classifier.
func TestVerifyAndClassifier(t *testing.T) {
	ortest.Require(t)
	for _, pixels := range []models.PixelType{"", models.PixelsUint8, models.PixelsFloat} {
		m, bb := smallBackbone(t)
		h := trainedHead(bb.Info(), []string{"a", "b", "c"}, 5)
		out, err := models.Export(m, bb.Info(), h, models.ExportOptions{Pixels: pixels})
		if err != nil {
			t.Fatal(err)
		}
		diff, n, err := models.Verify(context.Background(), bb, out, h, backbone.Options{})
		if err != nil || n != 4 || !(diff < 1e-5) {
			t.Fatalf("pixels %q: diff %v over %d images, %v", pixels, diff, n, err)
		}
		// The metadata says what the input takes in every export, and
		// which transfer wrote it.
		for _, p := range out.Proto.GetMetadataProps() {
			if want := cmp.Or(pixels, models.PixelsPreprocessed); p.GetKey() == models.MetaPixels && p.GetValue() != string(want) {
				t.Errorf("%s is %q, want %q", models.MetaPixels, p.GetValue(), want)
			}
		}
		if out.Proto.GetProducerName() != "transfer" || out.Proto.GetProducerVersion() == "" {
			t.Errorf("producer %q %q", out.Proto.GetProducerName(), out.Proto.GetProducerVersion())
		}
		w := h.Layer.W.RawMatrix().Data
		for i := range w {
			w[i] = math.Copysign(1e308, float64(i%2)-0.5)
		}
		out, _ = models.Export(m, bb.Info(), h, models.ExportOptions{Pixels: pixels})
		if _, _, err := models.Verify(context.Background(), bb, out, h, backbone.Options{}); !errors.Is(err, head.ErrNonFiniteOutput) {
			t.Errorf("pixels %q: an overflowing head: %v", pixels, err)
		}
		if _, err := models.OpenClassifier(m, "small.onnx", backbone.Options{}); !errors.Is(err, backbone.ErrBadInput) {
			t.Errorf("a backbone opened as a classifier: %v", err)
		}
	}
}

// TestClassifierMetadataChecked: a classifier whose metadata disagrees
// with its output (too few or too many class names, a name twice or
// empty), or whose output is not probabilities, is refused at open with
// ErrBadInput, before any image is classified.
func TestClassifierMetadataChecked(t *testing.T) {
	ortest.Require(t)
	m, bb := smallBackbone(t)
	good, err := models.Export(m, bb.Info(), trainedHead(bb.Info(), []string{"a", "b", "c"}, 5), models.ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(*onnxgraph.Model)) *onnxgraph.Model {
		c := good.Clone()
		f(c)
		b, err := c.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		out, err := onnxgraph.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	classes := func(v string) func(*onnxgraph.Model) {
		return func(c *onnxgraph.Model) {
			for _, p := range c.Proto.GetMetadataProps() {
				if p.GetKey() == models.MetaClasses {
					p.Value = v
				}
			}
		}
	}
	logits := func(c *onnxgraph.Model) {
		for _, n := range c.Proto.GetGraph().GetNode() {
			if n.GetOpType() == "Softmax" {
				n.OpType, n.Attribute = "Identity", nil
			}
		}
	}
	for _, tc := range []struct {
		name string
		m    *onnxgraph.Model
		want string
	}{
		{"one name for three outputs", edit(classes(`["a"]`)), "3 outputs but its metadata"},
		{"five names for three outputs", edit(classes(`["a","b","c","d","e"]`)), "3 outputs but its metadata"},
		{"a name twice", edit(classes(`["a","b","a"]`)), `names class "a" twice`},
		{"an empty name", edit(classes(`["a","","c"]`)), "empty name"},
		{"logits, no softmax", edit(logits), "not probabilities"},
	} {
		cl, err := models.OpenClassifier(tc.m, "c.onnx", backbone.Options{})
		if err == nil {
			cl.Destroy()
			t.Errorf("%s: opened", tc.name)
			continue
		}
		if !errors.Is(err, backbone.ErrBadInput) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want ErrBadInput saying %q", tc.name, err, tc.want)
		}
	}
	cl, err := models.OpenClassifier(good, "c.onnx", backbone.Options{})
	if err != nil {
		t.Fatalf("the sound export: %v", err)
	}
	cl.Destroy()
}

package models

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/transfer-go/transfer/backbone"
	"github.com/transfer-go/transfer/dataset"
	"github.com/transfer-go/transfer/head"
	"github.com/transfer-go/transfer/internal/onnxgraph"
	"github.com/transfer-go/transfer/internal/onnxgraph/onnx"
	"github.com/transfer-go/transfer/internal/version"
)

// Names in exported classifiers.
const (
	// ProbabilitiesOutput is the exported classifier's output, [N, classes].
	ProbabilitiesOutput = "probabilities"
	// PixelsInput is the input of classifiers exported with preprocessing:
	// raw pixels in the backbone's layout at its input size.
	PixelsInput = "pixels"
)

// Metadata keys written into exported classifiers' metadata_props.
const (
	MetaClasses     = "transfer.classes"     // JSON array of class names
	MetaFingerprint = "transfer.fingerprint" // backbone fingerprint
	MetaModelSHA256 = "transfer.model_sha256"
	MetaEmbedding   = "transfer.embedding_tensor"
	MetaPreprocess  = "transfer.preprocess" // preset name
	MetaLayout      = "transfer.layout"     // NCHW or NHWC
	MetaInputSize   = "transfer.input_size" // WxH
	MetaResize      = "transfer.resize"     // resize specification
	MetaPixels      = "transfer.pixels"     // "" (preprocessed float input), "uint8" or "float"
)

// PixelType is the element type of a classifier's raw-pixel input.
type PixelType string

const (
	// PixelsUint8 takes 8-bit pixel values.
	PixelsUint8 PixelType = "uint8"
	// PixelsFloat takes float32 pixel values in [0, 255].
	PixelsFloat PixelType = "float"
	// PixelsPreprocessed is what the metadata of an export without its
	// preprocessing says: the input takes preprocessed float32 values.
	// ClassifierMeta.Input is "" for it (and for files that wrote "").
	PixelsPreprocessed PixelType = "preprocessed"
)

// ExportOptions configure Export.
type ExportOptions struct {
	// Pixels, when set, makes the model take raw pixels of this type and
	// apply the backbone's preprocessing itself (Cast, Mul, Sub, Div), so a
	// deployment needs to know nothing about presets.
	Pixels PixelType
}

// Export builds one ONNX classifier from a backbone model and a trained
// head: the backbone's graph up to the embedding tensor (every node the
// embedding does not need is removed, the original classifier with it), a
// Flatten, the head as Gemm + Softmax, and the output "probabilities"
// [N, classes]. The class names, backbone fingerprint and preprocessing go
// into metadata_props. info must describe m (see backbone.Analyze) and match
// the head's provenance.
func Export(m *onnxgraph.Model, info backbone.Info, h *head.Model, opts ExportOptions) (*onnxgraph.Model, error) {
	if h.Source.Fingerprint != info.Fingerprint {
		p := Provenance(info, dataset.PixelSpec{}, info.Path, "")
		p.Pixels = h.Source.Pixels
		return nil, fmt.Errorf("export: %w", h.Source.Check(p))
	}
	out := m.Clone()
	mp := out.Proto
	g := mp.GetGraph()
	opset := out.Opset()
	emb := info.Features.Tensor
	if err := prune(g, emb); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}

	taken := map[string]bool{}
	for _, n := range g.GetNode() {
		for _, o := range n.GetOutput() {
			taken[o] = true
		}
	}
	for _, t := range g.GetInitializer() {
		taken[t.GetName()] = true
	}
	for _, vi := range g.GetInput() {
		taken[vi.GetName()] = true
	}
	name := func(base string) string {
		n := base
		for i := 1; taken[n]; i++ {
			n = base + "_" + strconv.Itoa(i)
		}
		taken[n] = true
		return n
	}

	d, c := h.Layer.Inputs(), h.Layer.Classes()
	kernel := make([]float32, d*c)
	for i, v := range h.Layer.W.RawMatrix().Data {
		kernel[i] = float32(v)
	}
	bias := make([]float32, c)
	for i, v := range h.Layer.B {
		bias[i] = float32(v)
	}
	wName, bName := name("transfer_head/kernel"), name("transfer_head/bias")
	g.Initializer = append(g.Initializer, onnxgraph.FloatTensor(wName, []int64{int64(d), int64(c)}, kernel), onnxgraph.FloatTensor(bName, []int64{int64(c)}, bias))
	flat, logits := name("transfer_head/embedding"), name("transfer_head/logits")
	probs := ProbabilitiesOutput
	if taken[probs] {
		return nil, fmt.Errorf("export: the backbone already has a tensor called %q", probs)
	}
	axis := int64(-1)
	if opset < 13 {
		axis = 1
	}
	g.Node = append(g.Node,
		onnxgraph.Node("Flatten", "transfer_head/flatten", []string{emb}, []string{flat}, onnxgraph.IntAttr("axis", 1)),
		onnxgraph.Node("Gemm", "transfer_head/dense", []string{flat, wName, bName}, []string{logits}),
		onnxgraph.Node("Softmax", "transfer_head/softmax", []string{logits}, []string{probs}, onnxgraph.IntAttr("axis", axis)))
	batch := onnxgraph.Dim{Param: "N"}
	if info.FixedBatch > 0 {
		batch = onnxgraph.Dim{Value: int64(info.FixedBatch)}
	}
	g.Output = []*onnx.ValueInfoProto{onnxgraph.TensorInfo(probs, onnx.TensorProto_FLOAT, []onnxgraph.Dim{batch, {Value: int64(c)}})}

	if opts.Pixels == PixelsPreprocessed {
		opts.Pixels = ""
	}
	if opts.Pixels != "" {
		if err := addPreprocessing(g, info, opts.Pixels, batch, name); err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
	}

	classes, _ := json.Marshal(h.Classes)
	meta := map[string]string{
		MetaClasses: string(classes), MetaFingerprint: info.Fingerprint, MetaModelSHA256: info.ModelSHA256,
		MetaEmbedding: emb, MetaPreprocess: info.Preprocess.Name, MetaLayout: info.Layout.String(),
		MetaInputSize: fmt.Sprintf("%dx%d", info.Width, info.Height), MetaResize: h.Source.Pixels, MetaPixels: string(cmp.Or(opts.Pixels, PixelsPreprocessed)),
	}
	var props []*onnx.StringStringEntryProto
	for _, k := range []string{MetaClasses, MetaFingerprint, MetaModelSHA256, MetaEmbedding, MetaPreprocess, MetaLayout, MetaInputSize, MetaResize, MetaPixels} {
		props = append(props, &onnx.StringStringEntryProto{Key: k, Value: meta[k]})
	}
	for _, p := range mp.GetMetadataProps() {
		if _, ours := meta[p.GetKey()]; !ours {
			props = append(props, p)
		}
	}
	mp.MetadataProps = props
	mp.ProducerName, mp.ProducerVersion = "transfer", version.String()
	mp.DocString = fmt.Sprintf("Image classifier over %d classes: the backbone %.12s (embedding %s) with a dense softmax head trained by transfer.", c, info.ModelSHA256, emb)
	b, err := out.Marshal()
	if err != nil {
		return nil, err
	}
	return onnxgraph.Parse(b)
}

// prune keeps the nodes the tensor keep depends on, and drops every output,
// initializer, input and value_info that nothing uses any more.
func prune(g *onnx.GraphProto, keep string) error {
	ix := onnxgraph.NewIndex(g)
	if ix.Producer(keep) == nil {
		return fmt.Errorf("no node produces the embedding tensor %q", keep)
	}
	needed := map[*onnx.NodeProto]bool{}
	used := map[string]bool{}
	stack := []string{keep}
	for len(stack) > 0 {
		t := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if used[t] {
			continue
		}
		used[t] = true
		if n := ix.Producer(t); n != nil && !needed[n] {
			needed[n] = true
			for _, in := range n.GetInput() {
				if in != "" {
					stack = append(stack, in)
				}
			}
			// Subgraphs (If, Loop) may read outer tensors by name.
			for _, a := range n.GetAttribute() {
				for _, sg := range append([]*onnx.GraphProto{a.GetG()}, a.GetGraphs()...) {
					for _, sn := range sg.GetNode() {
						stack = append(stack, sn.GetInput()...)
					}
				}
			}
		}
	}
	var nodes []*onnx.NodeProto
	for _, n := range g.GetNode() {
		if needed[n] {
			nodes = append(nodes, n)
		}
	}
	g.Node = nodes
	var inits []*onnx.TensorProto
	for _, t := range g.GetInitializer() {
		if used[t.GetName()] {
			inits = append(inits, t)
		}
	}
	g.Initializer = inits
	var inputs []*onnx.ValueInfoProto
	for _, vi := range g.GetInput() {
		if used[vi.GetName()] {
			inputs = append(inputs, vi)
		}
	}
	if len(inputs) == 0 {
		return errors.New("the embedding does not depend on the model's input")
	}
	g.Input = inputs
	var vis []*onnx.ValueInfoProto
	for _, vi := range g.GetValueInfo() {
		if used[vi.GetName()] {
			vis = append(vis, vi)
		}
	}
	g.ValueInfo = vis
	return nil
}

// addPreprocessing replaces the image input by a raw-pixel input and
// inserts the preset's arithmetic: Cast to float, Mul by the scale, Sub the
// per-channel mean, Div by the per-channel std. The operations and their
// order are those of backbone.Preprocess in float32, so both give the same
// values.
func addPreprocessing(g *onnx.GraphProto, info backbone.Info, pixels PixelType, batch onnxgraph.Dim, name func(string) string) error {
	var elem onnx.TensorProto_DataType
	switch pixels {
	case PixelsUint8:
		elem = onnx.TensorProto_UINT8
	case PixelsFloat:
		elem = onnx.TensorProto_FLOAT
	default:
		return fmt.Errorf("unknown pixel type %q: want uint8 or float", pixels)
	}
	h, w := int64(info.Height), int64(info.Width)
	dims := []onnxgraph.Dim{batch, {Value: 3}, {Value: h}, {Value: w}}
	chShape := []int64{1, 3, 1, 1}
	if info.Layout == backbone.NHWC {
		dims = []onnxgraph.Dim{batch, {Value: h}, {Value: w}, {Value: 3}}
		chShape = []int64{3}
	}
	p := info.Preprocess
	scale, mean, std := name("transfer_pre/scale"), name("transfer_pre/mean"), name("transfer_pre/std")
	g.Initializer = append(g.Initializer,
		onnxgraph.FloatTensor(scale, nil, []float32{p.Scale}),
		onnxgraph.FloatTensor(mean, chShape, p.Mean[:]),
		onnxgraph.FloatTensor(std, chShape, p.Std[:]))
	cast, scaled, centred := name("transfer_pre/float"), name("transfer_pre/scaled"), name("transfer_pre/centred")
	pre := []*onnx.NodeProto{
		onnxgraph.Node("Cast", "transfer_pre/cast", []string{PixelsInput}, []string{cast}, onnxgraph.IntAttr("to", int64(onnx.TensorProto_FLOAT))),
		onnxgraph.Node("Mul", "transfer_pre/mul", []string{cast, scale}, []string{scaled}),
		onnxgraph.Node("Sub", "transfer_pre/sub", []string{scaled, mean}, []string{centred}),
		onnxgraph.Node("Div", "transfer_pre/div", []string{centred, std}, []string{info.Input}),
	}
	g.Node = append(pre, g.GetNode()...)
	var inputs []*onnx.ValueInfoProto
	for _, vi := range g.GetInput() {
		if vi.GetName() == PixelsInput {
			return fmt.Errorf("the backbone already has an input called %q", PixelsInput)
		}
		if vi.GetName() != info.Input {
			inputs = append(inputs, vi)
		}
	}
	g.Input = append([]*onnx.ValueInfoProto{onnxgraph.TensorInfo(PixelsInput, elem, dims)}, inputs...)
	return nil
}

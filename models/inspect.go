package models

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/transfer-go/transfer/backbone"
	"github.com/transfer-go/transfer/internal/onnxgraph"
	"github.com/transfer-go/transfer/internal/onnxgraph/onnx"
)

// Report is what Inspect found in a model file.
type Report struct {
	Path     string
	SHA256   string
	Producer string
	IR       int64
	Opset    int64
	Nodes    int
	Inputs   []Tensor
	Outputs  []Tensor
	// Catalogue is the matching catalogue entry's name, or "".
	Catalogue string
	// Quantized describes a model written by Quantize; nil for a float one.
	Quantized *Quantization
	Info      backbone.Info
	// Resize and ResizeSource are the image resize mode and why.
	Resize       string
	ResizeSource string
	// Measured is true when ONNX Runtime ran the model; false when it was
	// unavailable and Dim and Classes come from the graph alone.
	Measured bool
	// RuntimeNote says why the model was not run, when Measured is false.
	RuntimeNote string
}

// Tensor is a graph input or output.
type Tensor struct {
	Name  string
	Type  string
	Shape string
}

// Inspect analyses a resolved model. It opens the backbone with opts to
// measure the embedding dimension; when ONNX Runtime is missing it reports
// what the graph alone says and notes why.
func Inspect(r *Resolved) (*Report, error) {
	mp := r.Model.Proto
	ix := onnxgraph.NewIndex(mp.GetGraph())
	rep := &Report{
		Path: r.Path, SHA256: r.Model.SHA256, Producer: strings.TrimSpace(mp.GetProducerName() + " " + mp.GetProducerVersion()),
		IR: mp.GetIrVersion(), Opset: r.Model.Opset(), Nodes: len(mp.GetGraph().GetNode()),
		Resize: r.Resize.String(), ResizeSource: r.ResizeSource,
	}
	if r.Known {
		rep.Catalogue = r.Entry.Name
	}
	rep.Quantized = ReadQuantization(r.Model)
	for _, vi := range ix.Inputs() {
		rep.Inputs = append(rep.Inputs, tensorOf(vi))
	}
	for _, vi := range mp.GetGraph().GetOutput() {
		rep.Outputs = append(rep.Outputs, tensorOf(vi))
	}
	b, err := backbone.OpenModel(r.Model, r.Path, r.Options)
	switch {
	case err == nil:
		rep.Info, rep.Measured = b.Info(), true
		b.Destroy()
	case errors.Is(err, backbone.ErrRuntimeUnavailable):
		info, aerr := backbone.Analyze(r.Model, r.Path, r.Options)
		if aerr != nil {
			return nil, aerr
		}
		rep.Info, rep.RuntimeNote = info, err.Error()
	default:
		return nil, err
	}
	if r.Known && r.Options.Preprocess == r.Entry.Preprocess && rep.Info.PreprocessSource == "given" {
		rep.Info.PreprocessSource = "catalogue (" + r.Entry.Name + ")"
	}
	if q := rep.Quantized; q != nil && q.Preprocess == rep.Info.Preprocess.Name && rep.Info.PreprocessSource == "given" {
		rep.Info.PreprocessSource = "recorded by models quantize (from " + q.SourceName + ")"
	}
	return rep, nil
}

func tensorOf(vi *onnx.ValueInfoProto) Tensor {
	t := Tensor{Name: vi.GetName(), Type: "?", Shape: "?"}
	if vi.GetType().GetTensorType() == nil {
		return t
	}
	t.Type = strings.ToLower(onnxgraph.ElemType(vi).String())
	dims, ok := onnxgraph.Shape(vi)
	if !ok {
		return t
	}
	names := onnxgraph.DimNames(vi)
	parts := make([]string, len(dims))
	for i, d := range dims {
		switch {
		case d > 0:
			parts[i] = fmt.Sprint(d)
		case names[i] != "":
			parts[i] = names[i]
		default:
			parts[i] = "?"
		}
	}
	t.Shape = "[" + strings.Join(parts, ",") + "]"
	return t
}

// WriteText prints the report for people.
func (rep *Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	info := rep.Info
	p := func(k, format string, a ...any) { fmt.Fprintf(tw, "%s:\t%s\n", k, fmt.Sprintf(format, a...)) }
	p("file", "%s", rep.Path)
	p("sha256", "%s", rep.SHA256)
	if rep.Catalogue != "" {
		p("catalogue", "%s", rep.Catalogue)
	} else {
		p("catalogue", "not a catalogue model; settings read from the graph")
	}
	if q := rep.Quantized; q != nil {
		p("quantized", "%s", q.Description)
		p("quantized from", "%s (sha256 %s)", q.SourceName, q.Source)
	}
	p("producer", "%s", orDash(rep.Producer))
	p("ir / opset", "%d / %d", rep.IR, rep.Opset)
	p("nodes", "%d", rep.Nodes)
	for _, t := range rep.Inputs {
		p("input", "%s %s %s", t.Name, t.Type, t.Shape)
	}
	for _, t := range rep.Outputs {
		p("output", "%s %s %s", t.Name, t.Type, t.Shape)
	}
	p("layout", "%v", info.Layout)
	p("input size", "%dx%d", info.Width, info.Height)
	if info.FixedBatch > 0 {
		p("batch", "fixed at %d (run image by image)", info.FixedBatch)
	} else {
		p("batch", "dynamic")
	}
	p("preprocessing", "%s (%s)", info.Preprocess.Name, info.PreprocessSource)
	p("resize", "%s (%s)", rep.Resize, rep.ResizeSource)
	p("embedding tensor", "%s", info.Features.Tensor)
	if info.Features.Pooling != "" {
		p("  pooled by", "%s", info.Features.Pooling)
	}
	if info.Features.Classifier != "" {
		p("  read by", "%s", info.Features.Classifier)
	}
	switch {
	case info.Dim > 0 && rep.Measured:
		p("embedding dim", "%d", info.Dim)
	case info.Dim > 0:
		p("embedding dim", "%d (from the classifier's weights; not run)", info.Dim)
	default:
		p("embedding dim", "unknown until run")
	}
	if info.Logits != "" {
		p("logits", "%s (%d classes)", info.Logits, info.Classes)
	} else {
		p("logits", "none")
	}
	p("fingerprint", "%s", info.Fingerprint)
	if rep.RuntimeNote != "" {
		p("note", "%s", rep.RuntimeNote)
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

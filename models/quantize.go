package models

import (
	"context"
	"fmt"
	"image"
	"math"
	"path/filepath"
	"strconv"

	"github.com/transfer-go/transfer/backbone"
	"github.com/transfer-go/transfer/dataset"
	"github.com/transfer-go/transfer/internal/onnxgraph"
	"github.com/transfer-go/transfer/internal/onnxgraph/onnx"
	"github.com/transfer-go/transfer/internal/quant"
	"github.com/transfer-go/transfer/internal/version"
)

// Metadata keys a quantised backbone carries besides MetaPreprocess,
// MetaLayout, MetaResize (the resize mode) and MetaEmbedding, so that it
// opens with its source's settings and says what it is.
const (
	MetaQuantized    = "transfer.quantized"
	MetaSourceSHA256 = "transfer.source_sha256"
	MetaSource       = "transfer.source"
)

// DefaultFloatConvs keeps MobileNetV2's stem, its first convolution and
// the depthwise one after it, in float32 (see quant.NewPlan for why).
const DefaultFloatConvs = 2

// QuantizeOptions control Quantize.
type QuantizeOptions struct {
	// Method is "minmax" (the default) or "percentile".
	Method string
	// Batch is the number of calibration images run at once (default 4).
	Batch int
	// FloatConvs is how many leading convolutions (the stem) stay
	// float32: 0 means DefaultFloatConvs, -1 none.
	FloatConvs int
	// ReduceRange stores 7-bit weights, for models that will run on x86
	// CPUs without VNNI, where 8-bit products of large activations and
	// weights saturate (random or untrained weights especially). Trained
	// MobileNetV2 with a float stem is more exact without it.
	ReduceRange bool
}

// Quantization says what Quantize made.
type Quantization struct {
	Source      string // the float model's sha256
	SourceName  string // its catalogue name, or its file name
	Method      string
	Images      int
	Convs, Adds int
	FloatConvs  int
	Activations int
	Removed     int // Relu and Clip nodes made redundant
	WeightBytes int
	Description string
	Preprocess  string
	Layout      string
	Resize      string
	Embedding   string
}

// Quantize writes an int8 copy of the backbone r, calibrated on images
// (already decoded and resized to the backbone's input size). Every
// convolution and residual addition up to the pooled feature map runs in
// integer arithmetic in ONNX Runtime; the pooling, the embedding and the
// classifier stay float32. The result is an ordinary backbone: its metadata
// names its source and the input settings it was calibrated with.
func Quantize(ctx context.Context, r *Resolved, images []*image.NRGBA, opts QuantizeOptions) (*onnxgraph.Model, *Quantization, error) {
	if len(images) == 0 {
		return nil, nil, fmt.Errorf("quantize %s: no calibration images", r.Path)
	}
	method, err := quant.ParseMethod(orDefault(opts.Method, "minmax"))
	if err != nil {
		return nil, nil, err
	}
	if ReadQuantization(r.Model) != nil {
		return nil, nil, fmt.Errorf("quantize %s: the model is already quantised; quantise its float source instead", r.Path)
	}
	info, err := backbone.Analyze(r.Model, r.Path, r.Options)
	if err != nil {
		return nil, nil, fmt.Errorf("quantize %s: %w", r.Path, err)
	}
	prepared := r.Model.Clone()
	if err := quant.Prepare(prepared.Proto); err != nil {
		return nil, nil, fmt.Errorf("quantize %s: %w", r.Path, err)
	}
	floatConvs := opts.FloatConvs
	switch {
	case floatConvs == 0:
		floatConvs = DefaultFloatConvs
	case floatConvs < 0:
		floatConvs = 0
	}
	plan, err := quant.NewPlan(prepared.Proto.GetGraph(), info.Features.Tensor, floatConvs)
	if err != nil {
		return nil, nil, fmt.Errorf("quantize %s: %w", r.Path, err)
	}
	plan.ReduceRange = opts.ReduceRange
	col, err := calibrate(ctx, prepared, r, info, plan, images, method, opts)
	if err != nil {
		return nil, nil, err
	}
	ranges := make([]quant.Range, len(plan.Tensors))
	for i := range ranges {
		ranges[i] = col.Range(i)
	}
	sum, err := quant.Apply(prepared.Proto, plan, ranges)
	if err != nil {
		return nil, nil, fmt.Errorf("quantize %s: %w", r.Path, err)
	}
	q := &Quantization{
		Source: r.Model.SHA256, SourceName: filepath.Base(r.Path), Method: method.String(), Images: len(images),
		Convs: sum.Convs, Adds: sum.Adds, FloatConvs: plan.Float, Activations: sum.Activations, Removed: sum.Removed, WeightBytes: sum.WeightBytes,
		Preprocess: info.Preprocess.Name, Layout: info.Layout.String(), Resize: r.Resize.String(), Embedding: info.Features.Tensor,
	}
	if r.Known {
		q.SourceName = r.Entry.Name
	}
	weights := "int8"
	if opts.ReduceRange {
		weights = "7-bit int8"
	}
	q.Description = fmt.Sprintf("int8 (QDQ: uint8 activations, per-channel %s weights; %d convolutions, %d additions, the first %d convolutions float; %s calibration on %d images)",
		weights, q.Convs, q.Adds, q.FloatConvs, q.Method, q.Images)
	mp := prepared.Proto
	mp.ProducerName, mp.ProducerVersion = "transfer models quantize", version.String()
	mp.MetadataProps = append(mp.MetadataProps,
		&onnx.StringStringEntryProto{Key: MetaQuantized, Value: q.Description},
		&onnx.StringStringEntryProto{Key: MetaSourceSHA256, Value: q.Source},
		&onnx.StringStringEntryProto{Key: MetaSource, Value: q.SourceName},
		&onnx.StringStringEntryProto{Key: MetaPreprocess, Value: q.Preprocess},
		&onnx.StringStringEntryProto{Key: MetaLayout, Value: q.Layout},
		&onnx.StringStringEntryProto{Key: MetaResize, Value: q.Resize},
		&onnx.StringStringEntryProto{Key: MetaEmbedding, Value: q.Embedding},
		&onnx.StringStringEntryProto{Key: "transfer.calibration_images", Value: strconv.Itoa(q.Images)},
	)
	b, err := prepared.Marshal()
	if err != nil {
		return nil, nil, fmt.Errorf("quantize %s: encode: %w", r.Path, err)
	}
	out, err := onnxgraph.Parse(b)
	if err != nil {
		return nil, nil, fmt.Errorf("quantize %s: %w", r.Path, err)
	}
	return out, q, nil
}

// calibrate runs the prepared float model over the images and gathers the
// ranges of the planned activations.
func calibrate(ctx context.Context, prepared *onnxgraph.Model, r *Resolved, info backbone.Info, plan *quant.Plan, images []*image.NRGBA, method quant.Method, opts QuantizeOptions) (*quant.Collector, error) {
	tap, err := backbone.OpenTap(prepared, r.Path, r.Options, plan.Tensors)
	if err != nil {
		return nil, fmt.Errorf("quantize %s: calibration model: %w", r.Path, err)
	}
	defer tap.Destroy()
	batch := opts.Batch
	if batch <= 0 {
		batch = 4
	}
	if info.FixedBatch > 0 {
		batch = info.FixedBatch
	}
	for i, img := range images {
		if b := img.Bounds(); b.Dx() != info.Width || b.Dy() != info.Height {
			return nil, fmt.Errorf("quantize %s: calibration image %d is %dx%d, want %dx%d", r.Path, i, b.Dx(), b.Dy(), info.Width, info.Height)
		}
	}
	filler := backbone.NewFiller(info.Preprocess, info.Layout)
	il := info.InputLen()
	buf := make([]float32, batch*il)
	col := quant.NewCollector(len(plan.Tensors), method)
	for {
		for start := 0; start < len(images); start += batch {
			n := min(batch, len(images)-start)
			k := n
			if info.FixedBatch > 0 {
				k = batch
				clear(buf)
			}
			filler.FillBatch(buf[:n*il], images[start:start+n])
			err := tap.Run(ctx, buf[:k*il], k, func(i int, v []float32) {
				// A fixed-batch model's padding images are not data.
				col.Add(i, v[:len(v)/k*n])
			})
			if err != nil {
				return nil, fmt.Errorf("quantize %s: calibration: %w", r.Path, err)
			}
		}
		if !col.NextPass() {
			return col, nil
		}
	}
}

// ReadQuantization returns what a model's metadata says of its
// quantisation, or nil for a float model.
func ReadQuantization(m *onnxgraph.Model) *Quantization {
	props := make(map[string]string)
	for _, p := range m.Proto.GetMetadataProps() {
		props[p.GetKey()] = p.GetValue()
	}
	if props[MetaQuantized] == "" {
		return nil
	}
	n, _ := strconv.Atoi(props["transfer.calibration_images"])
	return &Quantization{
		Description: props[MetaQuantized], Source: props[MetaSourceSHA256], SourceName: props[MetaSource], Images: n,
		Preprocess: props[MetaPreprocess], Layout: props[MetaLayout], Resize: props[MetaResize], Embedding: props[MetaEmbedding],
	}
}

// settings gives r the input settings the quantised model was calibrated
// with: its float source's.
func (q *Quantization) settings(r *Resolved) error {
	o := &r.Options
	var err error
	if q.Preprocess != "" {
		if o.Preprocess, err = backbone.ParsePreprocess(q.Preprocess); err != nil {
			return fmt.Errorf("metadata %s: %w", MetaPreprocess, err)
		}
	}
	if o.Layout, err = backbone.ParseLayout(q.Layout); err != nil {
		return fmt.Errorf("metadata %s: %w", MetaLayout, err)
	}
	if q.Resize != "" {
		if r.Resize, err = dataset.ParseResizeMode(q.Resize); err != nil {
			return fmt.Errorf("metadata %s: %w", MetaResize, err)
		}
		r.ResizeSource = "recorded by models quantize (from " + q.SourceName + ")"
	}
	o.EmbeddingOutput = q.Embedding
	return nil
}

// Similarity compares two backbones' embeddings of the same images.
type Similarity struct {
	N         int
	Mean, Min float64
}

// CompareEmbeddings embeds images with a and b and returns the cosine
// similarity of each pair's embeddings, summarised.
func CompareEmbeddings(ctx context.Context, a, b *backbone.Backbone, images []*image.NRGBA, batch int) (Similarity, error) {
	ia, ib := a.Info(), b.Info()
	if ia.InputLen() != ib.InputLen() {
		return Similarity{}, fmt.Errorf("compare: inputs of %d and %d values", ia.InputLen(), ib.InputLen())
	}
	batch = max(batch, 1)
	fa, fb := backbone.NewFiller(ia.Preprocess, ia.Layout), backbone.NewFiller(ib.Preprocess, ib.Layout)
	il := ia.InputLen()
	s := Similarity{Min: 1}
	var total float64
	for start := 0; start < len(images); start += batch {
		n := min(batch, len(images)-start)
		xa, xb := make([]float32, n*il), make([]float32, n*il)
		fa.FillBatch(xa, images[start:start+n])
		fb.FillBatch(xb, images[start:start+n])
		ea, err := a.Embed(ctx, xa)
		if err != nil {
			return Similarity{}, err
		}
		eb, err := b.Embed(ctx, xb)
		if err != nil {
			return Similarity{}, err
		}
		for i := range n {
			c := cosine(ea[i], eb[i])
			total += c
			s.Min = min(s.Min, c)
			s.N++
		}
	}
	if s.N > 0 {
		s.Mean = total / float64(s.N)
	}
	return s, nil
}

func cosine(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	if aa == 0 || bb == 0 {
		if aa == bb {
			return 1
		}
		return 0
	}
	return ab / math.Sqrt(aa*bb)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

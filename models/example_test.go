package models_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/transfer-go/transfer/backbone"
	"github.com/transfer-go/transfer/dataset"
	"github.com/transfer-go/transfer/head"
	"github.com/transfer-go/transfer/internal/fixture/mobilenet"
	"github.com/transfer-go/transfer/internal/onnxgraph"
	"github.com/transfer-go/transfer/models"
)

// Export a backbone and a head as one ONNX classifier. Analyze reads what
// transfer needs from the graph without ONNX Runtime; the head's provenance
// must match it.
func ExampleExport() {
	b, err := (&onnxgraph.Model{Proto: mobilenet.New(mobilenet.Small(mobilenet.TF2ONNX, 1)).Model()}).Marshal()
	if err != nil {
		panic(err)
	}
	m, err := onnxgraph.Parse(b) // as onnxgraph.ReadFile would read it
	if err != nil {
		panic(err)
	}
	info, err := backbone.Analyze(m, "small.onnx", backbone.Options{})
	if err != nil {
		panic(err)
	}
	spec := dataset.PixelSpec{Resizer: dataset.Resizer{Width: info.Width, Height: info.Height}}
	h := &head.Model{
		Layer:   head.NewDense(info.Dim, 2, rand.New(rand.NewPCG(1, 2))),
		Classes: []string{"cats", "dogs"},
		Source:  models.Provenance(info, spec, "small.onnx", ""),
	}
	out, err := models.Export(m, info, h, models.ExportOptions{Pixels: models.PixelsUint8})
	if err != nil {
		panic(err)
	}
	meta, err := models.ReadClassifierMeta(out)
	if err != nil {
		panic(err)
	}
	g := out.Proto.GetGraph()
	fmt.Println(g.GetInput()[0].GetName(), "->", g.GetOutput()[0].GetName(), meta.Classes, meta.Pixels, meta.Input)
	// Output:
	// pixels -> probabilities [cats dogs] stretch/bilinear/32x32 uint8
}

//go:build cgo

package backbone_test

import (
	"context"
	"fmt"
	"image"

	"github.com/transfer-go/transfer/backbone"
)

// Open a model, fill a batch with one image in the model's layout and
// preprocessing, and read its embedding. (The image would come from
// dataset.Prepare; Destroy releases ONNX Runtime's session.)
func ExampleOpen() {
	b, err := backbone.Open("mobilenetv2.onnx", backbone.Options{})
	if err != nil {
		panic(err) // names the file and what is wrong: not ONNX, no pooling, no ONNX Runtime...
	}
	defer b.Destroy()
	info := b.Info()
	img := image.NewNRGBA(image.Rect(0, 0, info.Width, info.Height))
	batch := make([]float32, info.InputLen())
	backbone.NewFiller(info.Preprocess, info.Layout).Fill(batch, img)
	emb, err := b.Embed(context.Background(), batch)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s: %d values from tensor %s\n", info.Layout, len(emb[0]), info.Features.Tensor)
}

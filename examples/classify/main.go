// Command classify is the library's path from image files to class
// probabilities, in one page: dataset.ReadFile and dataset.Prepare bring
// each image to the backbone's input, backbone.Backbone embeds the batch,
// head.Model gives the probabilities. The README's "As a library" section
// shows it.
//
//	go run ./examples/classify MODEL.onnx HEAD.json IMAGE...
package main

import (
	"context"
	"fmt"
	"image"
	"log"
	"os"

	"github.com/transfer-go/transfer/backbone"
	"github.com/transfer-go/transfer/dataset"
	"github.com/transfer-go/transfer/head"
)

func main() {
	if len(os.Args) < 4 {
		log.Fatal("usage: classify MODEL.onnx HEAD.json IMAGE...")
	}
	ctx := context.Background()
	h, err := head.Load(os.Args[2])
	if err != nil {
		log.Fatal(err)
	}
	// The head records the pixels it was trained on: resize, filter, size
	// and JPEG decoder.
	spec, err := dataset.ParsePixelSpec(h.Source.Pixels)
	if err != nil {
		log.Fatal(err)
	}
	b, err := backbone.Open(os.Args[1], backbone.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer b.Destroy()
	info := b.Info()
	if info.Fingerprint != h.Source.Fingerprint {
		log.Fatalf("%s was not trained on %s's embeddings", os.Args[2], os.Args[1])
	}

	var imgs []*image.NRGBA
	opts := dataset.DecodeOptions{Decoder: spec.Decoder, Budget: dataset.NewMemoryBudget(0)}
	for _, path := range os.Args[3:] {
		data, err := dataset.ReadFile(path, 0)
		if err != nil {
			log.Fatal(err)
		}
		img, err := dataset.Prepare(ctx, data, spec.Resizer, opts)
		if err != nil {
			log.Fatalf("%s: %v", path, err)
		}
		imgs = append(imgs, img)
	}

	batch := make([]float32, len(imgs)*info.InputLen())
	backbone.NewFiller(info.Preprocess, info.Layout).FillBatch(batch, imgs)
	emb, err := b.Embed(ctx, batch)
	if err != nil {
		log.Fatal(err)
	}
	probs, err := h.Layer.Probabilities(emb)
	if err != nil {
		log.Fatal(err)
	}
	for i, p := range probs {
		fmt.Print(os.Args[3+i])
		for j, class := range h.Classes {
			fmt.Printf("  %s %.4f", class, p[j])
		}
		fmt.Println()
	}
}

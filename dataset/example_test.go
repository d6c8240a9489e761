package dataset_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/transfer-go/transfer/dataset"
	"github.com/transfer-go/transfer/internal/fixture/hostile"
	"github.com/transfer-go/transfer/internal/fixture/synthetic"
)

// Read a labelled set, and bring one of its images to a model's input size
// as every command does: read the file, then Prepare it.
func Example() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	synthetic.Write(dir, synthetic.Options{Classes: []string{"cats", "dogs"}, PerClass: 3, Width: 64, Height: 48, Layout: synthetic.Folders, Seed: 1})

	set, err := dataset.FromFolders(dir)
	if err != nil {
		panic(err)
	}
	fmt.Println(set.Summary())

	spec := dataset.PixelSpec{Resizer: dataset.Resizer{Width: 224, Height: 224, Mode: dataset.ResizeCrop}}
	data, err := dataset.ReadFile(set.Items[0].Path, 0)
	if err != nil {
		panic(err)
	}
	img, err := dataset.Prepare(context.Background(), data, spec.Resizer, dataset.DecodeOptions{Decoder: spec.Decoder, Budget: dataset.NewMemoryBudget(0)})
	if err != nil {
		panic(err)
	}
	fmt.Println(filepath.ToSlash(set.Items[0].Rel), img.Bounds().Size(), spec)
	// Output:
	// 6 images, 2 classes (cats 3, dogs 3)
	// cats/cats_0001.jpg (224,224) crop/bilinear/224x224
}

// A hostile image is that image's error, never a crash: here a GIF whose
// only frame has no pixels.
func ExamplePrepare_hostile() {
	_, err := dataset.Prepare(context.Background(), hostile.EmptyFrameGIF(), dataset.Resizer{Width: 8, Height: 8}, dataset.DecodeOptions{})
	fmt.Println(err)
	// Output:
	// corrupt or truncated image: gif decodes to an empty 0x8 image (its header says 8x8)
}

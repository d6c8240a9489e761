package dataset_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"

	"github.com/transfer-go/transfer/dataset"
	"github.com/transfer-go/transfer/internal/fixture/hostile"
	"github.com/transfer-go/transfer/internal/turbojpeg"
)

var updateCorpus = flag.Bool("update-corpus", false, "rewrite ../testdata/bad-images from internal/fixture/hostile.Corpus")

// corpusDir is the project-wide bad-image corpus.
const corpusDir = "../testdata/bad-images"

var sentinels = map[string]error{
	"ErrEmptyImage":        dataset.ErrEmptyImage,
	"ErrUnsupportedFormat": dataset.ErrUnsupportedFormat,
	"ErrCorruptImage":      dataset.ErrCorruptImage,
	"ErrImageTooLarge":     dataset.ErrImageTooLarge,
	"ErrDecodeMemory":      dataset.ErrDecodeMemory,
}

func goodJPEG() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for y := 0; y < 48; y++ {
		for x := 0; x < 64; x++ {
			img.Set(x, y, color.RGBA{uint8(4 * x), uint8(5 * y), 128, 255})
		}
	}
	var b bytes.Buffer
	jpeg.Encode(&b, img, &jpeg.Options{Quality: 90})
	return b.Bytes()
}

// TestBadImageCorpus: every file of testdata/bad-images, read as extraction
// reads it, with both decoders, fails with its named error and never
// panics. -update-corpus rewrites the folder from the generator.
func TestBadImageCorpus(t *testing.T) {
	corpus := hostile.Corpus(goodJPEG())
	if *updateCorpus {
		os.MkdirAll(corpusDir, 0o755)
		for _, f := range corpus {
			if err := os.WriteFile(filepath.Join(corpusDir, f.Name), f.Data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	r := dataset.Resizer{Width: 224, Height: 224}
	for _, f := range corpus {
		data, err := os.ReadFile(filepath.Join(corpusDir, f.Name))
		if err != nil {
			t.Fatalf("%s: %v (go test ./dataset -run BadImageCorpus -update-corpus writes the corpus)", f.Name, err)
		}
		decoders := []dataset.Decoder{dataset.GoDecoder}
		if turbojpeg.Available() {
			decoders = append(decoders, dataset.TurboJPEG)
		}
		for _, d := range decoders {
			_, err := dataset.Prepare(context.Background(), data, r, dataset.DecodeOptions{Decoder: d, Budget: dataset.NewMemoryBudget(0)})
			var pe *dataset.PanicError
			if errors.As(err, &pe) || !errors.Is(err, sentinels[f.Want]) {
				t.Errorf("%s with decoder %s: %v, want %s", f.Name, d, err, f.Want)
			}
		}
	}
}

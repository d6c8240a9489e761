package dataset_test

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/transfer-go/transfer/backbone"
	"github.com/transfer-go/transfer/dataset"
	"github.com/transfer-go/transfer/internal/fixture/ortest"
	"github.com/transfer-go/transfer/internal/fixture/synthetic"
	"github.com/transfer-go/transfer/internal/turbojpeg"
)

// benchImages returns encoded JPEGs: the tutorial's cats when ../shared is
// there, else none; or generated ones of the given size.
func benchJPEGs(b *testing.B, w, h, n int) [][]byte {
	rng := rand.New(rand.NewPCG(1, 1))
	var out [][]byte
	for i := 0; i < n; i++ {
		data, err := synthetic.Encode(synthetic.Draw(i%2, 2, w, h, rng), false)
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, data)
	}
	return out
}

func sharedCats(b *testing.B) [][]byte {
	dir := filepath.Join(ortest.SharedDir(b), "data", "cats")
	files, _ := filepath.Glob(filepath.Join(dir, "*.jpg"))
	var out [][]byte
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, data)
	}
	return out
}

// BenchmarkPrepare measures the CPU cost per image of everything before
// inference: decode, resize to 224x224 (stretch), fill the float tensor.
func BenchmarkPrepare(b *testing.B) {
	cases := []struct {
		name string
		data func(b *testing.B) [][]byte
	}{
		{"jpeg224", func(b *testing.B) [][]byte { return benchJPEGs(b, 224, 224, 16) }},
		{"cats400x300", sharedCats},
		{"jpeg1024x768", func(b *testing.B) [][]byte { return benchJPEGs(b, 1024, 768, 8) }},
	}
	r := dataset.Resizer{Width: 224, Height: 224}
	f := backbone.NewFiller(backbone.Keras, backbone.NHWC)
	dst := make([]float32, 3*224*224)
	decoders := []dataset.Decoder{dataset.GoDecoder}
	if turbojpeg.Available() {
		decoders = append(decoders, dataset.TurboJPEG)
	}
	for _, tc := range cases {
		for _, d := range decoders {
			b.Run(tc.name+"/decoder="+d.String(), func(b *testing.B) {
				imgs := tc.data(b)
				opts := dataset.DecodeOptions{Decoder: d, For: &r}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					img, err := dataset.Decode(imgs[i%len(imgs)], opts)
					if err != nil {
						b.Fatal(err)
					}
					f.Fill(dst, r.Resize(img))
				}
				b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)*1000, "ms/image")
			})
		}
	}
}

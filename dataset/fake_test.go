package dataset_test

import (
	"context"
	"sync/atomic"

	"github.com/transfer-go/transfer/backbone"
)

// fakeEmbedder is a backbone stand-in: its embedding of an image is the mean
// of each channel's preprocessed values plus a constant, and it counts the
// images it ran.
type fakeEmbedder struct {
	info   backbone.Info
	images atomic.Int64
	calls  atomic.Int64
	fail   error
}

func newFake(fingerprint string) *fakeEmbedder {
	return &fakeEmbedder{info: backbone.Info{
		Layout: backbone.NHWC, Height: 8, Width: 8, Preprocess: backbone.Raw, Dim: 4, Classes: 2,
		Fingerprint: fingerprint, Features: backbone.Features{Tensor: "emb"}, Logits: "probs",
	}}
}

func (f *fakeEmbedder) Info() backbone.Info { return f.info }

func (f *fakeEmbedder) Run(ctx context.Context, batch []float32) (*backbone.Result, error) {
	if f.fail != nil {
		return nil, f.fail
	}
	il := f.info.InputLen()
	n := len(batch) / il
	f.calls.Add(1)
	f.images.Add(int64(n))
	res := &backbone.Result{}
	for i := 0; i < n; i++ {
		img := batch[i*il : (i+1)*il]
		var m [3]float32
		for p := 0; p < len(img); p += 3 {
			m[0] += img[p]
			m[1] += img[p+1]
			m[2] += img[p+2]
		}
		px := float32(il / 3)
		res.Embeddings = append(res.Embeddings, []float32{m[0] / px, m[1] / px, m[2] / px, 1})
		res.Logits = append(res.Logits, []float32{m[0] / px, 1 - m[0]/px})
	}
	return res, nil
}

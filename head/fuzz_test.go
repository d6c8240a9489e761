package head_test

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/transfer-go/transfer/head"
)

// FuzzDecode feeds arbitrary bytes to the head-file reader: it must return
// a head or an error, never panic, and a head's shapes and values must be
// consistent and finite.
func FuzzDecode(f *testing.F) {
	m := &head.Model{Layer: head.NewDense(3, 2, rand.New(rand.NewPCG(1, 1))), Classes: []string{"a", "b"}, Options: head.DefaultOptions()}
	m.Layer.W.Set(0, 0, 0.5)
	p := filepath.Join(f.TempDir(), "h.json")
	if err := m.Save(p); err != nil {
		f.Fatal(err)
	}
	good, _ := os.ReadFile(p)
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte(`{"format":"transfer-head","version":1}`))
	f.Add([]byte(`{"format":"transfer-head","version":1,"classes":["a"],"embedding_dim":1,"kernel":{"shape":[1,1],"dtype":"float64","data":"AAAAAAAA8D8="},"bias":{"shape":[1],"dtype":"float64","data":"AAAAAAAAAAA="}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := head.Decode(data)
		if err != nil {
			return
		}
		d, c := m.Layer.W.Dims()
		if c != len(m.Classes) || len(m.Layer.B) != c || d < 1 {
			t.Fatalf("kernel %dx%d, %d biases, %d classes", d, c, len(m.Layer.B), len(m.Classes))
		}
		for _, v := range append(append([]float64(nil), m.Layer.W.RawMatrix().Data...), m.Layer.B...) {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatal("non-finite weight accepted")
			}
		}
	})
}

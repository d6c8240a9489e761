package head

import (
	"context"
	"testing"
)

// BenchmarkAdam20Epochs trains the Keras head for 20 epochs on 2,000
// embeddings of 1280 values in 10 classes: the unit of work a sweep
// repeats per configuration and fold.
func BenchmarkAdam20Epochs(b *testing.B) {
	data := classData(2000, 1280, 10)
	opts := DefaultOptions()
	for i := 0; i < b.N; i++ {
		if _, _, err := Train(context.Background(), data, nil, opts); err != nil {
			b.Fatal(err)
		}
	}
}

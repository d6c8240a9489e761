package head

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkAdam20Epochs trains the Keras head for 20 epochs on 2,000
// embeddings of 1280 values in 10 classes: the unit of work a sweep
// repeats per configuration and fold.
//
// It reports GFLOP/s (2·2·N·D·C per epoch: the logits and the kernel's
// gradient) and the rows' bytes read per second, float32, once per epoch.
func BenchmarkAdam20Epochs(b *testing.B) {
	const n, d, c, epochs = 2000, 1280, 10, 20
	data := classData(n, d, c)
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
			opts := DefaultOptions()
			opts.Threads = threads
			for i := 0; i < b.N; i++ {
				if _, _, err := Train(context.Background(), data, nil, opts); err != nil {
					b.Fatal(err)
				}
			}
			s := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(4*n*d*c*epochs/s/1e9, "GFLOP/s")
			b.ReportMetric(4*n*d*epochs/s/1e9, "GB/s")
		})
	}
}

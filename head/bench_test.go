package head

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/transfer-go/transfer/head/internal/kernel"
)

// benchData returns n synthetic embeddings of d values (ReLU-like, as pooled
// MobileNetV2 features) in c classes, from a fixed seed.
func benchData(n, d, c int) Data {
	rng := rand.New(rand.NewPCG(1, 1))
	x := make([]float32, n*d)
	for i := range x {
		if v := rng.NormFloat64(); v > 0 {
			x[i] = float32(v)
		}
	}
	y := make([]int, n)
	for i := range y {
		y[i] = rng.IntN(c)
	}
	return Data{X: NewMatrix(n, d, x), Y: y, Classes: c}
}

// epochGEMMs performs the products one training epoch needs, with the
// same shapes and buffers and nothing else: per row, C dot products with the
// transposed kernel, and per batch the kernel's gradient.
func epochGEMMs(t *trainer) {
	c, bs := len(t.gB), len(t.yb)
	for start := 0; start < len(t.order); start += bs {
		idx := t.order[start:min(start+bs, len(t.order))]
		rows := t.rows[:len(idx)]
		for k, i := range idx {
			rows[k] = row(t.data.X, i)
		}
		kernel.DotsRows(t.z32[:len(idx)*c], c, rows, t.wt32)
		kernel.Outer(t.gWt, t.z32[:len(idx)*c], c, rows)
	}
}

// BenchmarkTrainEpoch trains on 60,000 synthetic 1280-d embeddings in 10
// classes with batches of 32 and reports samples/s and epoch/gemm: the
// epoch's time over the time of its bare GEMMs, timed alternately in the
// same run so machine noise affects both alike.
func BenchmarkTrainEpoch(b *testing.B) {
	const n, d, c = 60000, 1280, 10
	data := benchData(n, d, c)
	opts := DefaultOptions()
	rng := rand.New(rand.NewPCG(1, 2))
	t := newTrainer(NewDense(d, c, rng), data, opts)
	defer t.close()
	var epochTime, gemmTime time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		t.epoch(rng)
		epochTime += time.Since(start)
		b.StopTimer()
		start = time.Now()
		epochGEMMs(t)
		gemmTime += time.Since(start)
		b.StartTimer()
	}
	b.ReportMetric(float64(n*b.N)/epochTime.Seconds(), "samples/s")
	b.ReportMetric(epochTime.Seconds()/gemmTime.Seconds(), "epoch/gemm")
}

// classData returns n embeddings of d ReLU-like values whose means depend
// on their class, so that a linear probe has something to find.
func classData(n, d, c int) Data {
	rng := rand.New(rand.NewPCG(2, 2))
	centres := make([]float64, c*d)
	for i := range centres {
		centres[i] = rng.NormFloat64() * 0.5
	}
	x := make([]float32, n*d)
	y := make([]int, n)
	for i := range y {
		y[i] = rng.IntN(c)
		for j := 0; j < d; j++ {
			if v := rng.NormFloat64() + centres[y[i]*d+j]; v > 0 {
				x[i*d+j] = float32(v)
			}
		}
	}
	return Data{X: NewMatrix(n, d, x), Y: y, Classes: c}
}

// BenchmarkLBFGS fits the full-batch probe to tolerance 1e-6 on n×1280
// embeddings of 10 classes with L2 1e-4 and reports its iterations.
func BenchmarkLBFGS(b *testing.B) {
	for _, n := range []int{2000, 60000} {
		data := classData(n, 1280, 10)
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%d/threads=%d", n, threads), func(b *testing.B) {
				opts := DefaultOptions()
				opts.Solver, opts.L2, opts.Threads = SolverLBFGS, 1e-4, threads
				var hist History
				evals := 0
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					var err error
					if _, hist, err = Train(context.Background(), data, nil, opts); err != nil {
						b.Fatal(err)
					}
					evals += hist.Evaluations
				}
				b.ReportMetric(float64(hist.Iterations), "iterations")
				b.ReportMetric(float64(evals)/float64(b.N), "evaluations")
				b.ReportMetric(hist.GradNorm, "grad")
			})
		}
	}
}

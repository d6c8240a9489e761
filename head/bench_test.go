package head

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// benchData returns n synthetic embeddings of d values (ReLU-like, as pooled
// MobileNetV2 features) in c classes, from a fixed seed.
func benchData(n, d, c int) Data {
	rng := rand.New(rand.NewPCG(1, 1))
	x := make([]float64, n*d)
	for i := range x {
		if v := rng.NormFloat64(); v > 0 {
			x[i] = v
		}
	}
	y := make([]int, n)
	for i := range y {
		y[i] = rng.IntN(c)
	}
	return Data{X: mat.NewDense(n, d, x), Y: y, Classes: c}
}

// epochGEMMs performs the products one training epoch needs, with the
// same shapes and buffers and nothing else: per row, C dot products with the
// transposed kernel and C scaled additions into its gradient.
func epochGEMMs(t *trainer) {
	d, c := t.data.Dim(), len(t.gB)
	src := t.data.X.RawMatrix()
	for _, i := range t.order {
		x := src.Data[i*src.Stride : i*src.Stride+d]
		for j := 0; j < c; j++ {
			t.zb[j] = floats.Dot(x, t.wt[j*d:(j+1)*d])
			floats.AddScaled(t.gWt[j*d:(j+1)*d], t.zb[j], x)
		}
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
	x := make([]float64, n*d)
	y := make([]int, n)
	for i := range y {
		y[i] = rng.IntN(c)
		for j := 0; j < d; j++ {
			if v := rng.NormFloat64() + centres[y[i]*d+j]; v > 0 {
				x[i*d+j] = v
			}
		}
	}
	return Data{X: mat.NewDense(n, d, x), Y: y, Classes: c}
}

// BenchmarkLBFGS fits the full-batch probe to tolerance 1e-6 on n×1280
// embeddings of 10 classes with L2 1e-4 and reports its iterations.
func BenchmarkLBFGS(b *testing.B) {
	for _, n := range []int{2000, 60000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			data := classData(n, 1280, 10)
			opts := DefaultOptions()
			opts.Solver, opts.L2 = SolverLBFGS, 1e-4
			var hist History
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				var err error
				if _, hist, err = Train(context.Background(), data, nil, opts); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(hist.Iterations), "iterations")
			b.ReportMetric(hist.GradNorm, "grad")
		})
	}
}

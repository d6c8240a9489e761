package head

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// matrix32 returns x in float32, as Data holds embeddings.
func matrix32(x *mat.Dense) blas32.General {
	r, c := x.Dims()
	m := NewMatrix(r, c, nil)
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			m.Data[i*c+j] = float32(x.At(i, j))
		}
	}
	return m
}

func scaled(f float64, a mat.Matrix) *mat.Dense {
	var m mat.Dense
	m.Scale(f, a)
	return &m
}

// batchLoss is the loss Train minimises for one batch, computed directly.
func batchLoss(l *Dense, x *mat.Dense, y []int, cw []float64, l2 float64) float64 {
	n, _ := x.Dims()
	var sum float64
	for i := 0; i < n; i++ {
		z := make([]float64, l.Classes())
		for j := range z {
			z[j] = l.B[j] + mat.Dot(x.RowView(i), l.W.ColView(j))
		}
		m := floats.Max(z)
		var s float64
		for _, v := range z {
			s += math.Exp(v - m)
		}
		w := 1.0
		if cw != nil {
			w = cw[y[i]]
		}
		sum += w * (m + math.Log(s) - z[y[i]])
	}
	return sum/float64(n) + l2*sumSquares(l.W.RawMatrix().Data)
}

// TestGradientsMatchFiniteDifferences checks the analytic gradient of the
// training step (cross-entropy, class weights, L2) against central
// differences of the loss.
func TestGradientsMatchFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const n, d, c = 5, 4, 3
	// float32 values, which the float64 reference reads exactly: what is
	// left between the two is the rounding of float32 products.
	x := mat.NewDense(n, d, nil)
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			x.Set(i, j, float64(float32(rng.NormFloat64())))
		}
	}
	y := []int{0, 2, 1, 2, 2}
	cw := []float64{1.5, 0.5, 2}
	const l2 = 0.01
	l := NewDense(d, c, rng)
	for j := range l.B {
		l.B[j] = rng.NormFloat64() * 0.1
	}

	// The analytic gradient is trainer.step's own: it leaves the batch's
	// gradients (cross-entropy with class weights, the L2 term and the
	// bias) in gW and gB before Adam applies them to its clone of l.
	tr := newTrainer(l.Clone(), Data{X: matrix32(x), Y: y, Classes: c}, Options{BatchSize: n, L2: l2, ClassWeights: cw, LearningRate: 1e-3, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-7})
	loss, _ := tr.step([]int{0, 1, 2, 3, 4})
	// float32 products of 4 values: logits to ~1e-7 of their size.
	if want := batchLoss(l, x, y, cw, l2); math.Abs(loss-want) > 1e-6 {
		t.Errorf("step's loss %v, the batch's %v", loss, want)
	}
	tr.sync()
	// gradW is the cross-entropy's; AdamStep adds the L2 term 2·L2·W of
	// the weights before the step.
	gw := mat.NewDense(d, c, tr.gradW())
	gw.Add(gw, scaled(2*l2, l.W))
	gb := append([]float64(nil), tr.gB...)
	if mat.Equal(tr.layer.W, l.W) {
		t.Fatal("step did not update the weights")
	}

	const h = 1e-6
	check := func(name string, p *float64, analytic float64) {
		old := *p
		*p = old + h
		up := batchLoss(l, x, y, cw, l2)
		*p = old - h
		down := batchLoss(l, x, y, cw, l2)
		*p = old
		num := (up - down) / (2 * h)
		// Central differences are good to ~1e-9 here; the gradient's
		// float32 products and sums to ~1e-6.
		if math.Abs(num-analytic) > 1e-6*math.Max(1, math.Abs(num)) {
			t.Errorf("%s: analytic %.10f, finite difference %.10f", name, analytic, num)
		}
	}
	raw := l.W.RawMatrix()
	for i := 0; i < d; i++ {
		for j := 0; j < c; j++ {
			check("W", &raw.Data[i*raw.Stride+j], gw.At(i, j))
		}
	}
	for j := 0; j < c; j++ {
		check("b", &l.B[j], gb[j])
	}
}

// TestAdamStepsByHand pins two Adam updates to values worked out by hand
// with Keras' formulas.
func TestAdamStepsByHand(t *testing.T) {
	p := []float64{0.5, -1}
	a := NewAdam(0.001, 0.9, 0.999, 1e-7, 2)
	// Step 1, g = (0.2, 0): m = (0.02, 0), v = (4e-5, 0),
	// alpha = 0.001·sqrt(1-0.999)/(1-0.9) = 3.16227766e-4,
	// Δ = alpha·0.02/(sqrt(4e-5)+1e-7) = 9.99984189e-4; the zero gradient
	// leaves the second parameter alone.
	a.Step([][]float64{p}, [][]float64{{0.2, 0}})
	want := []float64{0.5 - 9.999841890e-4, -1}
	if !floats.EqualApprox(p, want, 1e-12) {
		t.Fatalf("after step 1: %v, want %v", p, want)
	}
	// Step 2, g = (-0.1, 1): m = (0.008, 0.1), v = (4.996e-5, 1e-3),
	// alpha = 0.001·sqrt(1-0.999²)/(1-0.9²) = 2.353167253e-4,
	// Δ1 = alpha·0.008/(sqrt(4.996e-5)+1e-7) = 2.663332716e-4,
	// Δ2 = alpha·0.1/(sqrt(1e-3)+1e-7) = 7.441344704e-4.
	a.Step([][]float64{p}, [][]float64{{-0.1, 1}})
	want = []float64{0.5 - 9.999841890e-4 - 2.663332716e-4, -1 - 7.441344704e-4}
	if !floats.EqualApprox(p, want, 1e-11) {
		t.Fatalf("after step 2: %.12f, want %.12f", p, want)
	}
	if a.Steps() != 2 {
		t.Errorf("Steps() = %d", a.Steps())
	}
}

func TestCrossEntropyExtremeLogits(t *testing.T) {
	z := []float64{1000, -1000, 0, -1000, 1000, 0}
	losses := make([]float64, 2)
	correct := crossEntropyRows(z, 3, []int{1, 1}, nil, 0.5, losses)
	loss := losses[0] + losses[1]
	// Sample 0: log(e^1000 + e^-1000 + 1) - (-1000) = 2000 exactly in
	// float64; sample 1 is predicted right with loss ~0.
	if loss != 2000 || correct != 1 {
		t.Fatalf("loss %v correct %d, want 2000 and 1", loss, correct)
	}
	if !finite(z) {
		t.Fatalf("gradient not finite: %v", z)
	}
	// Gradient rows: (p - onehot)/2.
	want := []float64{0.5, -0.5, 0, 0, 0, 0}
	if !floats.EqualApprox(z, want, 1e-12) {
		t.Errorf("gradient %v, want %v", z, want)
	}
}

func TestGlorotInit(t *testing.T) {
	l := NewDense(1280, 2, rand.New(rand.NewPCG(1, 2)))
	limit := math.Sqrt(6.0 / 1282)
	w := l.W.RawMatrix().Data
	var sq float64
	for _, v := range w {
		if math.Abs(v) > limit {
			t.Fatalf("weight %v outside ±%v", v, limit)
		}
		sq += v * v
	}
	// U(-l, l) has variance l²/3 = 2/(D+C).
	if got, want := sq/float64(len(w)), 2.0/1282; math.Abs(got-want) > 0.05*want {
		t.Errorf("weight variance %v, want %v", got, want)
	}
	if floats.Sum(l.B) != 0 {
		t.Errorf("bias %v, want zeros", l.B)
	}
}

// TestStepsPerEpoch: 40 rows in batches of 32 are two Adam steps an epoch,
// one of 32 rows and one of 8, as Keras' fit takes them; 20 epochs are 40
// steps.
func TestStepsPerEpoch(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	x := mat.NewDense(40, 3, nil)
	y := make([]int, 40)
	for i := range y {
		y[i] = i % 2
		for j := 0; j < 3; j++ {
			x.Set(i, j, rng.NormFloat64())
		}
	}
	o := DefaultOptions()
	tr := newTrainer(NewDense(3, 2, rng), Data{X: matrix32(x), Y: y, Classes: 2}, o)
	for e := 0; e < 20; e++ {
		tr.epoch(rng)
	}
	if tr.adam.t != 40 {
		t.Errorf("20 epochs of 40 rows in batches of 32 took %d Adam steps, want 40", tr.adam.t)
	}
}

// TestAugmentedFollowTheirRows: a subset keeps each row's augmented copies
// with it, and training data is the rows then their copies.
func TestAugmentedFollowTheirRows(t *testing.T) {
	x := NewMatrix(3, 2, []float32{1, 1, 2, 2, 3, 3})
	aug := NewMatrix(3, 2, []float32{-1, -1, -2, -2, -3, -3})
	d := Data{X: x, Y: []int{0, 1, 0}, Classes: 2, Keys: []string{"a", "b", "c"}, Augmented: []blas32.General{aug}}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	s := d.Subset([]int{2, 0})
	if got := s.Augmented[0].Data; !slices.Equal(got, []float32{-3, -3, -1, -1}) {
		t.Fatalf("subset's copies %v", got)
	}
	w := s.withAugmented()
	if got := w.X.Data; !slices.Equal(got, []float32{3, 3, 1, 1, -3, -3, -1, -1}) || len(w.Y) != 4 || w.Y[2] != 0 || w.Keys[3] != "a" {
		t.Fatalf("training rows %v, labels %v, keys %v", got, w.Y, w.Keys)
	}
	d.Augmented = []blas32.General{NewMatrix(2, 2, nil)}
	if d.Validate() == nil {
		t.Error("a misaligned augmented copy was accepted")
	}
}

// TestFinite32 puts each non-finite value at each place of a short and a
// long row, beside the extreme finite ones.
func TestFinite32(t *testing.T) {
	finiteValues := []float32{0, float32(math.Copysign(0, -1)), math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32, 1}
	if !finite32(finiteValues) {
		t.Fatalf("finite values %v reported as not finite", finiteValues)
	}
	for _, bad := range []float32{float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())} {
		for _, n := range []int{1, 3, 4, 9} {
			for at := 0; at < n; at++ {
				x := make([]float32, n)
				for i := range x {
					x[i] = finiteValues[i%len(finiteValues)]
				}
				x[at] = bad
				if finite32(x) {
					t.Errorf("%v at %d of %d reported finite", bad, at, n)
				}
			}
		}
	}
}

package head

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/mat"
)

func randomData(seed uint64, n, d, c int) Data {
	rng := rand.New(rand.NewPCG(seed, 1))
	x := NewMatrix(n, d, nil)
	y := make([]int, n)
	for i := range y {
		y[i] = i % c
		for j := 0; j < d; j++ {
			x.Data[i*d+j] = float32(rng.NormFloat64() + float64(y[i]*(j%3))*0.7)
		}
	}
	return Data{X: x, Y: y, Classes: c}
}

// dense64 returns x as a float64 matrix, for the direct computations.
func dense64(x blas32.General) *mat.Dense {
	m := mat.NewDense(x.Rows, x.Cols, nil)
	for i := 0; i < x.Rows; i++ {
		for j, v := range row(x, i) {
			m.Set(i, j, float64(v))
		}
	}
	return m
}

// TestObjectiveGradientMatchesFiniteDifferences checks L-BFGS's full-batch
// gradient (class weights, L2, bias) against central differences of its
// value, and the value against the loss computed directly.
func TestObjectiveGradientMatchesFiniteDifferences(t *testing.T) {
	const d, c = 5, 3
	data := randomData(7, 30, d, c)
	cw := []float64{1.5, 0.5, 2}
	obj := newObjective(data, Options{L2: 0.01, ClassWeights: cw})
	rng := rand.New(rand.NewPCG(1, 2))
	theta := make([]float64, d*c+c)
	for i := range theta {
		theta[i] = rng.NormFloat64() * 0.3
	}
	obj.eval(theta)
	if want := batchLoss(denseOf(theta, d, c), dense64(data.X), data.Y, cw, 0.01); math.Abs(obj.f-want) > 1e-12 {
		t.Fatalf("objective %v, direct loss %v", obj.f, want)
	}
	grad := append([]float64(nil), obj.grad...)
	const h = 1e-6
	for i := range theta {
		p := append([]float64(nil), theta...)
		p[i] += h
		obj.eval(p)
		fp := obj.f
		p[i] -= 2 * h
		obj.eval(p)
		fm := obj.f
		num := (fp - fm) / (2 * h)
		if math.Abs(num-grad[i]) > 1e-7*math.Max(1, math.Abs(num)) {
			t.Errorf("∂/∂θ[%d]: analytic %.10g, numeric %.10g", i, grad[i], num)
		}
	}
}

// TestLBFGSReachesTheOptimum solves a problem whose optimum is known to
// high precision: two points x=±1 of two classes, one feature. By symmetry
// b = 0 and W = (−w, w), and the objective log(1+e^(−2w)) + 2λw² is
// stationary where 4λw = 2/(1+e^(2w)), found here by bisection to 1e-15.
func TestLBFGSReachesTheOptimum(t *testing.T) {
	for _, lambda := range []float64{1e-3, 0.01, 0.1, 1} {
		data := Data{X: NewMatrix(2, 1, []float32{-1, 1}), Y: []int{0, 1}, Classes: 2}
		o := DefaultOptions()
		o.Solver, o.L2, o.Tol = SolverLBFGS, lambda, 1e-10
		layer, hist, err := Train(context.Background(), data, nil, o)
		if err != nil {
			t.Fatal(err)
		}
		lo, hi := 0.0, 1e3
		for hi-lo > 1e-15*math.Max(1, hi) {
			mid := (lo + hi) / 2
			if 4*lambda*mid < 2/(1+math.Exp(2*mid)) {
				lo = mid
			} else {
				hi = mid
			}
		}
		w := layer.W.RawMatrix().Data
		if math.Abs(w[1]-lo) > 1e-8*lo || math.Abs(w[0]+lo) > 1e-8*lo || math.Abs(layer.B[0]-layer.B[1]) > 1e-8 {
			t.Errorf("λ=%g: W=%v b=%v, want W=(%.12g, %.12g), equal biases", lambda, w, layer.B, -lo, lo)
		}
		if !hist.Converged || hist.GradNorm > 1e-10 {
			t.Errorf("λ=%g: converged %v with gradient %g", lambda, hist.Converged, hist.GradNorm)
		}
	}
}

// TestLBFGSAgreesWithLongAdam: on a convex problem both solvers approach
// the same minimum; Adam with a small rate for many epochs ends within a
// small distance of L-BFGS's solution, and never below its loss.
func TestLBFGSAgreesWithLongAdam(t *testing.T) {
	data := randomData(3, 60, 6, 3)
	o := DefaultOptions()
	o.L2 = 0.05
	o.Solver = SolverLBFGS
	lb, _, err := Train(context.Background(), data, nil, o)
	if err != nil {
		t.Fatal(err)
	}
	o.Solver, o.Epochs, o.BatchSize, o.LearningRate = SolverAdam, 3000, 60, 0.01
	ad, _, err := Train(context.Background(), data, nil, o)
	if err != nil {
		t.Fatal(err)
	}
	fl := batchLoss(lb, dense64(data.X), data.Y, nil, o.L2)
	fa := batchLoss(ad, dense64(data.X), data.Y, nil, o.L2)
	if fa < fl-1e-9 || fa-fl > 1e-4 {
		t.Errorf("Adam's loss %.9f, L-BFGS's %.9f: L-BFGS should be the minimum and Adam close to it", fa, fl)
	}
}

// TestStandardizeIsFolded: a head trained with Standardize takes raw
// embeddings and predicts what a head trained on explicitly standardised
// features predicts on them.
func TestStandardizeIsFolded(t *testing.T) {
	data := randomData(5, 40, 4, 2)
	// Features of very different scales and offsets.
	for i := 0; i < 40; i++ {
		r := row(data.X, i)
		r[0] = r[0]*1000 + 5000
		r[2] *= 1e-3
	}
	o := DefaultOptions()
	o.Solver, o.L2, o.Standardize = SolverLBFGS, 0.01, true
	folded, _, err := Train(context.Background(), data, nil, o)
	if err != nil {
		t.Fatal(err)
	}
	s := fitStandardizer(data)
	std := s.apply(data)
	for j := 0; j < 4; j++ {
		col := mat.Col(nil, j, dense64(std.X))
		var m, v float64
		for _, x := range col {
			m += x / 40
		}
		for _, x := range col {
			v += (x - m) * (x - m) / 40
		}
		// Standardised values are stored in float32.
		if math.Abs(m) > 1e-6 || math.Abs(v-1) > 1e-6 {
			t.Fatalf("feature %d standardised to mean %g, variance %g", j, m, v)
		}
	}
	o.Standardize = false
	plain, _, err := Train(context.Background(), std, nil, o)
	if err != nil {
		t.Fatal(err)
	}
	a, b := folded.Predict(nil, dense64(data.X)), plain.Predict(nil, dense64(std.X))
	// float32 standardised features against float64 folding.
	if !mat.EqualApprox(a, b, 1e-5) {
		t.Errorf("folded head's probabilities differ from the standardised head's:\n%v\n%v", mat.Formatted(a), mat.Formatted(b))
	}
}

func TestLBFGSCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	o := DefaultOptions()
	o.Solver = SolverLBFGS
	if _, _, err := Train(ctx, randomData(1, 20, 3, 2), nil, o); err != context.Canceled {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

// TestLBFGSWarmStart: from the optimum of a nearby strength L-BFGS reaches
// the same optimum as from zero, in fewer iterations; a head of another
// shape is refused.
func TestLBFGSWarmStart(t *testing.T) {
	data := classData(400, 64, 5)
	o := DefaultOptions()
	o.Solver, o.L2, o.Tol = SolverLBFGS, 1e-3, 1e-7
	near, _, err := Train(context.Background(), data, nil, o)
	if err != nil {
		t.Fatal(err)
	}
	o.L2 = 1e-4
	cold, coldHist, err := Train(context.Background(), data, nil, o)
	if err != nil {
		t.Fatal(err)
	}
	o.Init = near
	warm, warmHist, err := Train(context.Background(), data, nil, o)
	if err != nil {
		t.Fatal(err)
	}
	// The same minimum: the objective agrees to what the tolerance leaves,
	// and so do the probabilities.
	fw, fc := batchLoss(warm, dense64(data.X), data.Y, nil, o.L2), batchLoss(cold, dense64(data.X), data.Y, nil, o.L2)
	pw, pc := warm.PredictRows(nil, data.X), cold.PredictRows(nil, data.X)
	if math.Abs(fw-fc) > 1e-8*fc || !mat.EqualApprox(pw, pc, 1e-4) {
		t.Errorf("warm start reached another optimum: loss %.12g, from zero %.12g", fw, fc)
	}
	if !(warmHist.Iterations < coldHist.Iterations) || !warmHist.Converged {
		t.Errorf("warm start took %d iterations (converged %v), from zero %d", warmHist.Iterations, warmHist.Converged, coldHist.Iterations)
	}
	o.Init = NewDense(5, 3, rand.New(rand.NewPCG(1, 1)))
	if _, _, err := Train(context.Background(), data, nil, o); err == nil || !strings.Contains(err.Error(), "starting head takes 5-d embeddings") {
		t.Errorf("a starting head of another shape: %v", err)
	}
}

// TestObjectiveFloat32Products pins what float32 products cost the
// objective (a tolerance of float32Tol or more): its value and gradient
// agree with the float64 products' to float32's rounding.
func TestObjectiveFloat32Products(t *testing.T) {
	data := classData(300, 200, 4)
	rng := rand.New(rand.NewPCG(3, 3))
	d, c := data.Dim(), data.Classes
	theta := make([]float64, d*c+c)
	for i := range theta {
		theta[i] = rng.NormFloat64() * 0.05
	}
	o64 := newObjective(data, Options{L2: 1e-3, Tol: 1e-6})
	o32 := newObjective(data, Options{L2: 1e-3, Tol: float32Tol})
	if o64.f32 || !o32.f32 {
		t.Fatalf("float32 products at tolerance 1e-6: %v, at %g: %v", o64.f32, float32Tol, o32.f32)
	}
	o64.eval(theta)
	o32.eval(theta)
	if math.Abs(o32.f-o64.f) > 1e-6*o64.f {
		t.Errorf("loss %v with float32 products, %v with float64", o32.f, o64.f)
	}
	var worst, scale float64
	for i := range o64.grad {
		worst = math.Max(worst, math.Abs(o32.grad[i]-o64.grad[i]))
		scale = math.Max(scale, math.Abs(o64.grad[i]))
	}
	if worst > 1e-5*scale || worst == 0 {
		t.Errorf("gradients differ by %g (largest component %g): want float32 rounding, not 0 and not more", worst, scale)
	}
}

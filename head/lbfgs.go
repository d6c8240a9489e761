package head

import (
	"context"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize"
)

// Solvers that Options.Solver names.
const (
	// SolverAdam is Keras' mini-batch Adam, the default.
	SolverAdam = "adam"
	// SolverLBFGS minimises the full-batch objective with L-BFGS: the
	// linear probe of CLIP (Radford et al. 2021, appendix A.3) and
	// scikit-learn's LogisticRegression.
	SolverLBFGS = "lbfgs"
)

// objective is the full-batch loss of a Dense head over one data set:
// Σ w_i·CE_i / n + L2·ΣW², the loss Adam's batches estimate, as a function of
// the parameters θ = (W row-major, b). Its buffers are allocated once; value
// and gradient come from one pass and are remembered for the last θ, since
// the optimiser asks for them separately at the same point.
type objective struct {
	data    Data
	l2      float64
	weights []float64 // class weights, or nil
	d, c    int

	z       []float64 // n×C logits, then their gradient
	wt, gwt []float64 // C×D: the kernel and its gradient, transposed (kernel.go)
	x       []float64 // the θ of the remembered values
	f       float64
	grad    []float64
	correct int
	evals   int
}

func newObjective(data Data, opts Options) *objective {
	d, c := data.Dim(), data.Classes
	return &objective{
		data: data, l2: opts.L2, weights: opts.ClassWeights, d: d, c: c,
		z: make([]float64, data.Len()*c), grad: make([]float64, d*c+c),
		wt: make([]float64, c*d), gwt: make([]float64, c*d),
	}
}

// eval computes the loss and its gradient at θ unless θ is the last point.
func (o *objective) eval(theta []float64) {
	if o.x != nil && slices.Equal(o.x, theta) {
		return
	}
	o.evals++
	d, c, n := o.d, o.c, o.data.Len()
	w, b := theta[:d*c], theta[d*c:]
	transpose(o.wt, w, d, c)
	x := o.data.X.RawMatrix()
	logitsT(o.z, x, nil, o.wt, b)
	lossSum, correct := crossEntropy(o.z, c, o.data.Y, o.weights)
	gw := o.grad[:d*c]
	gradT(o.gwt, o.grad[d*c:], o.z, x, nil)
	transpose(gw, o.gwt, c, d)
	f := lossSum / float64(n)
	if o.l2 > 0 {
		f += o.l2 * sumSquares(w)
		floats.AddScaled(gw, 2*o.l2, w)
	}
	o.f, o.correct = f, correct
	o.x = append(o.x[:0], theta...)
}

func (o *objective) problem() optimize.Problem {
	return optimize.Problem{
		Func: func(theta []float64) float64 { o.eval(theta); return o.f },
		Grad: func(grad, theta []float64) { o.eval(theta); copy(grad, o.grad) },
	}
}

// recorder turns the optimiser's major iterations into History epochs and
// stops it when ctx is cancelled.
type recorder struct {
	ctx  context.Context
	obj  *objective
	val  *Data
	opts Options
	hist *History
	err  error
}

func (r *recorder) Init() error { return nil }

func (r *recorder) Record(loc *optimize.Location, op optimize.Operation, _ *optimize.Stats) error {
	if err := r.ctx.Err(); err != nil {
		return err
	}
	if op != optimize.MajorIteration {
		return nil
	}
	if !finite([]float64{loc.F}) {
		r.err = fmt.Errorf("head: L-BFGS diverged at iteration %d (loss %v)", len(r.hist.Epochs)+1, loc.F)
		return r.err
	}
	r.obj.eval(loc.X)
	e := Epoch{Epoch: len(r.hist.Epochs) + 1, Loss: loc.F, Accuracy: float64(r.obj.correct) / float64(r.obj.data.Len())}
	if r.val != nil {
		layer := denseOf(loc.X, r.obj.d, r.obj.c)
		m := Evaluate(layer, *r.val)
		e.ValLoss = m.Loss + r.opts.L2*sumSquares(loc.X[:r.obj.d*r.obj.c])
		e.ValAccuracy, e.HasVal = m.Accuracy, true
	}
	r.hist.Epochs = append(r.hist.Epochs, e)
	if r.opts.OnEpoch != nil {
		r.opts.OnEpoch(e)
	}
	return nil
}

// denseOf returns a layer of a copy of θ.
func denseOf(theta []float64, d, c int) *Dense {
	return &Dense{W: mat.NewDense(d, c, slices.Clone(theta[:d*c])), B: slices.Clone(theta[d*c:])}
}

// trainLBFGS fits the head to the full-batch objective from zero weights
// (the problem is convex, so the start only changes the path), stopping when
// the gradient's largest component is below opts.Tol or after opts.MaxIter
// iterations. Each iteration is one epoch of the history.
func trainLBFGS(ctx context.Context, train Data, val *Data, opts Options) (*Dense, History, error) {
	obj := newObjective(train, opts)
	var hist History
	rec := &recorder{ctx: ctx, obj: obj, val: val, opts: opts, hist: &hist}
	settings := &optimize.Settings{
		GradientThreshold: opts.Tol,
		MajorIterations:   opts.MaxIter,
		// A flat stretch where the loss stops moving ends the run too:
		// without L2 on separable data the optimum is at infinity.
		Converger: &optimize.FunctionConverge{Absolute: 1e-15, Relative: 1e-15, Iterations: 50},
		Recorder:  rec,
	}
	theta := make([]float64, obj.d*obj.c+obj.c)
	res, err := optimize.Minimize(obj.problem(), theta, settings, &optimize.LBFGS{Linesearcher: &optimize.MoreThuente{}, Store: 10})
	if rec.err != nil {
		return nil, hist, rec.err
	}
	if cerr := ctx.Err(); cerr != nil {
		return nil, hist, cerr
	}
	if err != nil && res == nil {
		return nil, hist, fmt.Errorf("head: L-BFGS: %w", err)
	}
	// A line search that cannot improve further has reached the optimum
	// as closely as float64 allows; its error is no failure of the fit.
	if res == nil || !finite(res.X) {
		return nil, hist, fmt.Errorf("head: L-BFGS ended without a finite solution (%v)", err)
	}
	hist.Iterations, hist.GradNorm = len(hist.Epochs), infNorm(gradAt(obj, res.X))
	hist.Converged = hist.GradNorm <= opts.Tol
	return denseOf(res.X, obj.d, obj.c), hist, nil
}

func gradAt(o *objective, theta []float64) []float64 {
	o.eval(theta)
	return o.grad
}

func infNorm(v []float64) float64 {
	var m float64
	for _, x := range v {
		m = math.Max(m, math.Abs(x))
	}
	return m
}

package head

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/transfer-go/transfer/head/internal/kernel"
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
//
// Unlike Adam's steps, it computes the products in float64 (from the float32
// rows): its line search and its tolerance look at differences below
// float32's resolution. From a tolerance of float32Tol on it computes them
// in float32.
type objective struct {
	data    Data
	l2      float64
	weights []float64 // class weights, or nil
	d, c    int
	team    *team

	z    []float64   // n×C logits, then their gradient
	loss []float64   // each row's weighted loss
	hits []int       // each chunk's correct predictions
	wt   []float64   // C×D: the kernel, transposed (kernel.go)
	gwt  [][]float64 // each chunk's C×D share of the kernel's gradient

	// With float32 products (see float32Tol): the kernel in float32, and
	// per goroutine a block's products and gradient.
	f32     bool
	wt32    []float32
	z32     [][]float32
	g32     [][]float32
	rows    [][][]float32 // each part's block of rows
	b       []float64     // the bias being evaluated
	x       []float64     // the θ of the remembered values
	f       float64
	grad    []float64
	correct int
	evals   int

	chunk func(part int)
}

// objBlock is how many rows the objective takes at once: a block small
// enough to stay in the core's cache from its logits to its share of the
// gradient, so that an evaluation reads the rows from memory once.
const objBlock = 128

// float32Tol is the tolerance from which L-BFGS computes its products in
// float32, as Adam does: a gradient to 1e-5 is far above what float32
// products of 1280 values get wrong (about 1e-8 of the gradient here), and
// their kernels run three to four times faster. Tighter tolerances (the
// default 1e-6, and the tests' 1e-10) look below float32's resolution and
// get float64 products.
const float32Tol = 1e-5

// objChunks is how many runs of rows the objective splits the data into,
// each with its own share of the gradient, added in order at the end. The
// goroutines take whole chunks, so the sums do not depend on how many there
// are.
const objChunks = 8

func newObjective(data Data, opts Options) *objective {
	d, c := data.Dim(), data.Classes
	chunks := min(objChunks, (data.Len()+objBlock-1)/objBlock)
	o := &objective{
		data: data, l2: opts.L2, weights: opts.ClassWeights, d: d, c: c, team: newTeam(min(opts.Threads, chunks)),
		z: make([]float64, data.Len()*c), loss: make([]float64, data.Len()), grad: make([]float64, d*c+c),
		wt: make([]float64, c*d), hits: make([]int, chunks), gwt: make([][]float64, chunks),
	}
	for k := range o.gwt {
		o.gwt[k] = make([]float64, c*d)
	}
	if o.f32 = opts.Tol >= float32Tol; o.f32 {
		o.wt32 = make([]float32, c*d)
		for p := 0; p < o.team.n; p++ {
			o.z32 = append(o.z32, make([]float32, min(objBlock, data.Len())*c))
			o.g32 = append(o.g32, make([]float32, c*d))
		}
	}
	o.rows = make([][][]float32, o.team.n)
	for p := range o.rows {
		o.rows[p] = make([][]float32, min(objBlock, data.Len()))
	}
	o.chunk = o.chunkPart
	return o
}

// close stops the objective's team.
func (o *objective) close() { o.team.stop() }

// eval computes the loss and its gradient at θ unless θ is the last point.
func (o *objective) eval(theta []float64) {
	if o.x != nil && slices.Equal(o.x, theta) {
		return
	}
	o.evals++
	d, c, n := o.d, o.c, o.data.Len()
	w := theta[:d*c]
	o.b = theta[d*c:]
	transpose(o.wt, w, d, c)
	if o.f32 {
		narrow(o.wt32, o.wt)
	}
	o.team.run(o.chunk)
	var lossSum float64
	for _, l := range o.loss {
		lossSum += l
	}
	o.correct = 0
	for _, h := range o.hits {
		o.correct += h
	}
	for _, g := range o.gwt[1:] {
		floats.Add(o.gwt[0], g)
	}
	gw, gb := o.grad[:d*c], o.grad[d*c:]
	columnSums(gb, o.z, c)
	transpose(gw, o.gwt[0], c, d)
	f := lossSum / float64(n)
	if o.l2 > 0 {
		f += o.l2 * sumSquares(w)
		floats.AddScaled(gw, 2*o.l2, w)
	}
	o.f = f
	o.x = append(o.x[:0], theta...)
}

// chunkPart runs the goroutine p's chunks: block by block, the rows' logits,
// their loss and logits' gradient, and their share of the kernel's gradient.
func (o *objective) chunkPart(p int) {
	c, n := o.c, o.data.Len()
	lo, hi := span(len(o.gwt), o.team.n, p, 1)
	for k := lo; k < hi; k++ {
		gwt := o.gwt[k]
		clear(gwt)
		o.hits[k] = 0
		first, end := span(n, len(o.gwt), k, objBlock)
		for start := first; start < end; start += objBlock {
			rows := o.rows[p][:min(objBlock, end-start)]
			z := o.z[start*c : (start+len(rows))*c]
			for r := range rows {
				rows[r] = o.data.Row(start + r)
			}
			var z32 []float32
			if o.f32 {
				z32 = o.z32[p][:len(z)]
				kernel.DotsRows(z32, c, rows, o.wt32)
				addBias(z, z32, o.b)
			} else {
				for r := range rows {
					zr := z[r*c : (r+1)*c]
					kernel.Dots64(zr, rows[r], o.wt)
					floats.Add(zr, o.b)
				}
			}
			o.hits[k] += crossEntropyRows(z, c, o.data.Y[start:start+len(rows)], o.weights, 1/float64(n), o.loss[start:start+len(rows)])
			if !o.f32 {
				kernel.AddOuter64(gwt, z, c, rows)
				continue
			}
			narrow(z32, z)
			kernel.Outer(o.g32[p], z32, c, rows)
			for i, g := range o.g32[p] {
				gwt[i] += float64(g)
			}
		}
	}
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

// trainLBFGS fits the head to the full-batch objective from zero weights or
// from opts.Init (the problem is convex, so the start only changes the
// path), stopping when the gradient's largest component is below opts.Tol
// or after opts.MaxIter iterations. Each iteration is one epoch of the
// history.
func trainLBFGS(ctx context.Context, train Data, val *Data, opts Options) (*Dense, History, error) {
	obj := newObjective(train, opts)
	defer obj.close()
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
	if opts.Init != nil {
		copy(theta, opts.Init.W.RawMatrix().Data)
		copy(theta[obj.d*obj.c:], opts.Init.B)
	}
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
	hist.Evaluations = obj.evals
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

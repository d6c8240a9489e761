package head

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/transfer-go/transfer/head/internal/kernel"
)

// Options configure Train. DefaultOptions returns Keras' defaults.
type Options struct {
	// Epochs is the number of passes over the training data.
	Epochs int
	// BatchSize is the mini-batch size; the last batch of an epoch holds
	// the remainder.
	BatchSize int
	// LearningRate, Beta1, Beta2 and Epsilon configure Adam.
	LearningRate, Beta1, Beta2, Epsilon float64
	// L2 adds L2·ΣW² to the loss (Keras' kernel_regularizer=l2(L2)).
	L2 float64
	// ClassWeights multiplies each sample's loss by the weight of its
	// class (Keras' class_weight); nil weighs all classes 1.
	ClassWeights []float64
	// Balanced, when ClassWeights is nil, weighs classes by
	// BalancedClassWeights of the training data.
	Balanced bool
	// Patience enables early stopping on val_loss: training stops after
	// Patience epochs without improvement, and the best epoch's weights
	// are returned whether training stopped early or ran all its epochs,
	// as Keras 3's EarlyStopping(patience=Patience,
	// restore_best_weights=True). 0 disables it; it needs validation data.
	Patience int
	// Seed drives the initial weights and the shuffles.
	Seed uint64
	// Solver is SolverAdam (mini-batches; Epochs, BatchSize and the Adam
	// settings apply) or SolverLBFGS (full batch from zero weights; Tol
	// and MaxIter apply). Empty means Adam.
	Solver string
	// Tol stops L-BFGS when no component of the gradient exceeds it.
	Tol float64
	// MaxIter bounds L-BFGS's iterations.
	MaxIter int
	// Standardize scales each feature to zero mean and unit variance
	// with the training rows' statistics before training; the returned
	// layer has them folded into its kernel and bias, so it takes raw
	// embeddings like any other.
	Standardize bool
	// Init, if set, is where L-BFGS starts instead of zero weights (it
	// must take the data's dimension and classes): a warm start along a
	// path of L2 strengths, as scikit-learn's LogisticRegressionCV runs its
	// C grid. The problem is convex, so to the tolerance the optimum is the
	// same; what changes is how many iterations reach it. Adam and
	// Standardize ignore it.
	Init *Dense
	// Threads is how many goroutines one training run uses (0 means 1).
	// The weights do not depend on it: each goroutine takes fixed rows and
	// classes of a step, and the sums across them are taken in order.
	Threads int
	// OnEpoch, if set, is called after each epoch (for logging).
	OnEpoch func(Epoch)

	// at, if set, is called after each Adam epoch with the layer as it
	// stands (to be read, not kept): CrossValidateFoldsAt takes the heads
	// of shorter runs from one long one.
	at func(epoch int, layer *Dense)
}

// DefaultOptions returns Keras' defaults: Adam(0.001, 0.9, 0.999, 1e-7),
// batches of 32, and the tutorial's 20 epochs.
func DefaultOptions() Options {
	return Options{Epochs: 20, BatchSize: 32, LearningRate: 0.001, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-7, Seed: 1,
		Solver: SolverAdam, Tol: 1e-6, MaxIter: 1000}
}

// Epoch holds one epoch's metrics.
type Epoch struct {
	Epoch    int     `json:"epoch"` // from 1
	Loss     float64 `json:"loss"`
	Accuracy float64 `json:"accuracy"`
	// Validation metrics; valid when HasVal.
	ValLoss     float64 `json:"val_loss,omitempty"`
	ValAccuracy float64 `json:"val_accuracy,omitempty"`
	HasVal      bool    `json:"has_val,omitempty"`
}

// String formats the epoch as Keras' fit(verbose=2) does, without timings.
func (e Epoch) String() string {
	s := fmt.Sprintf("loss: %.4f - accuracy: %.4f", e.Loss, e.Accuracy)
	if e.HasVal {
		s += fmt.Sprintf(" - val_loss: %.4f - val_accuracy: %.4f", e.ValLoss, e.ValAccuracy)
	}
	return s
}

// History is the record of a training run.
type History struct {
	Epochs []Epoch `json:"epochs"`
	// StoppedEarly is set when early stopping ended the run. With early
	// stopping BestEpoch is the epoch whose weights were restored (the
	// lowest val_loss), whether it stopped early or not.
	StoppedEarly bool `json:"stopped_early,omitempty"`
	BestEpoch    int  `json:"best_epoch,omitempty"`
	// L-BFGS's account: its iterations (each an epoch above), the largest
	// gradient component at the solution, and whether that met Tol.
	Iterations int `json:"iterations,omitempty"`
	// Evaluations counts L-BFGS's passes over the data (value and
	// gradient), line searches included: what its time is made of.
	Evaluations int     `json:"evaluations,omitempty"`
	GradNorm    float64 `json:"grad_norm,omitempty"`
	Converged   bool    `json:"converged,omitempty"`
}

// Last returns the final epoch's metrics.
func (h History) Last() Epoch {
	if len(h.Epochs) == 0 {
		return Epoch{}
	}
	return h.Epochs[len(h.Epochs)-1]
}

// BalancedClassWeights returns n/(C·n_c) for each class c, scikit-learn's
// "balanced" weights, so that every class contributes equally to the loss.
// Classes absent from y get weight 0.
func BalancedClassWeights(y []int, classes int) []float64 {
	counts := make([]int, classes)
	for _, c := range y {
		counts[c]++
	}
	w := make([]float64, classes)
	for c, n := range counts {
		if n > 0 {
			w[c] = float64(len(y)) / float64(classes*n)
		}
	}
	return w
}

// Train fits a fresh head to train and returns it with its history. With
// val, each epoch also reports validation loss and accuracy. Train stops
// early, returning ctx's error, when ctx is cancelled.
func Train(ctx context.Context, train Data, val *Data, opts Options) (*Dense, History, error) {
	if err := checkOptions(train, val, opts); err != nil {
		return nil, History{}, err
	}
	train = train.withAugmented()
	if opts.ClassWeights == nil && opts.Balanced {
		opts.ClassWeights = BalancedClassWeights(train.Y, train.Classes)
	}
	if !opts.Standardize {
		return solve(ctx, train, val, opts)
	}
	opts.Init = nil // it takes raw embeddings, not standardised ones
	s := fitStandardizer(train)
	train = s.apply(train)
	if val != nil {
		v := s.apply(*val)
		val = &v
	}
	layer, hist, err := solve(ctx, train, val, opts)
	if err != nil {
		return nil, hist, err
	}
	s.fold(layer)
	return layer, hist, nil
}

func solve(ctx context.Context, train Data, val *Data, opts Options) (*Dense, History, error) {
	if opts.Solver == SolverLBFGS {
		return trainLBFGS(ctx, train, val, opts)
	}
	rng := rand.New(rand.NewPCG(opts.Seed, 0x5eed))
	layer := NewDense(train.Dim(), train.Classes, rng)
	t := newTrainer(layer, train, opts)
	defer t.close()
	var hist History
	var best *Dense
	bestLoss, wait := math.Inf(1), 0
	for epoch := 1; epoch <= opts.Epochs; epoch++ {
		if err := ctx.Err(); err != nil {
			return nil, hist, err
		}
		e := t.epoch(rng)
		e.Epoch = epoch
		if val != nil {
			m := Evaluate(layer, *val)
			e.ValLoss = m.Loss + opts.L2*sumSquares(layer.W.RawMatrix().Data)
			e.ValAccuracy, e.HasVal = m.Accuracy, true
		}
		if !finite([]float64{e.Loss}) {
			return nil, hist, fmt.Errorf("head: training diverged at epoch %d (loss %v); lower the learning rate", epoch, e.Loss)
		}
		hist.Epochs = append(hist.Epochs, e)
		if opts.OnEpoch != nil {
			opts.OnEpoch(e)
		}
		if opts.at != nil {
			opts.at(epoch, layer)
		}
		if opts.Patience > 0 {
			if e.ValLoss < bestLoss {
				bestLoss, wait, best, hist.BestEpoch = e.ValLoss, 0, layer.Clone(), epoch
			} else if wait++; wait >= opts.Patience && epoch > 1 {
				hist.StoppedEarly = true
				return best, hist, nil
			}
		}
	}
	// Keras 3 restores the best weights at the end of training too, not
	// only when patience runs out.
	if best != nil {
		return best, hist, nil
	}
	return layer, hist, nil
}

func checkOptions(train Data, val *Data, opts Options) error {
	if err := train.Validate(); err != nil {
		return err
	}
	if val != nil {
		if err := val.Validate(); err != nil {
			return fmt.Errorf("validation data: %w", err)
		}
		if val.Dim() != train.Dim() || val.Classes != train.Classes {
			return fmt.Errorf("head: validation data has %d-d embeddings and %d classes, training data %d and %d", val.Dim(), val.Classes, train.Dim(), train.Classes)
		}
	}
	if err := opts.Check(val != nil); err != nil {
		return err
	}
	if l := opts.Init; l != nil && opts.Solver == SolverLBFGS && (l.Inputs() != train.Dim() || l.Classes() != train.Classes) {
		return fmt.Errorf("head: the starting head takes %d-d embeddings and %d classes, the data %d and %d", l.Inputs(), l.Classes(), train.Dim(), train.Classes)
	}
	if opts.ClassWeights != nil && len(opts.ClassWeights) != train.Classes {
		return fmt.Errorf("head: %d class weights for %d classes", len(opts.ClassWeights), train.Classes)
	}
	return nil
}

// Check reports options that cannot train, before any data is at hand
// (validated says whether there will be validation data): a command
// checks them before it embeds an image. Train checks them again with the
// data.
func (opts Options) Check(validated bool) error {
	adam := opts.Solver != SolverLBFGS
	val := validated
	switch {
	case adam && opts.Epochs < 1:
		return errors.New("head: epochs must be at least 1")
	case adam && opts.BatchSize < 1:
		return errors.New("head: batch size must be at least 1")
	case adam && !(opts.LearningRate > 0):
		return errors.New("head: learning rate must be positive")
	case opts.L2 < 0:
		return errors.New("head: l2 must not be negative")
	case opts.Patience < 0:
		return errors.New("head: early-stopping patience must not be negative")
	case opts.Patience > 0 && !val:
		return errors.New("head: early stopping watches val_loss and needs validation data")
	case opts.Solver != "" && opts.Solver != SolverAdam && opts.Solver != SolverLBFGS:
		return fmt.Errorf("head: unknown solver %q (want %s or %s)", opts.Solver, SolverAdam, SolverLBFGS)
	case opts.Solver == SolverLBFGS && (!(opts.Tol >= 0) || opts.MaxIter < 1):
		return fmt.Errorf("head: L-BFGS needs a tolerance of at least 0 and at least 1 iteration (tol %v, max-iter %d)", opts.Tol, opts.MaxIter)
	case opts.Solver == SolverLBFGS && opts.Patience > 0:
		return errors.New("head: early stopping is for Adam's epochs; L-BFGS stops at its tolerance")
	}
	return nil
}

// trainer holds the buffers of one training run, allocated once. It
// trains the kernel transposed (see kernel.go) in float64, with a float32
// copy for the products that AdamStep rewrites as it updates; Adam is
// elementwise, so the layout changes no update, and the layer's kernel is
// written back after every epoch (sync).
//
// A step runs in three phases on the team: the products of the rows with
// each class's weights (the team splits the classes), the softmax and loss
// of each row (it splits the rows), then the gradient and Adam's update of
// each class (the classes again, as in the first phase, so that a class's
// weights stay with one core). Each is per row or per class, and the sums
// across them are taken in order afterwards, so the result does not depend
// on the team's size.
type trainer struct {
	layer *Dense
	data  Data
	opts  Options
	adam  *Adam
	team  *team
	order []int
	wt    []float64 // C×D, the kernel being trained
	wt32  []float32 // wt in float32
	zb    []float64 // BatchSize×C logits, then their gradient
	z32   []float32 // BatchSize×C: the products, then the gradient in float32
	yb    []int
	loss  []float64   // each row's weighted loss
	hits  []int       // each part's correct predictions
	sq    []float64   // each class's Σw² before the step
	rows  [][]float32 // the batch's rows
	gWt   []float32   // C×D
	gB    []float64   // C

	// The step being run, for the phases.
	bs          int
	alpha, l2x2 float64
	products    func(part int)
	losses      func(part int)
	backward    func(part int)
}

func newTrainer(layer *Dense, data Data, opts Options) *trainer {
	d, c := layer.Inputs(), layer.Classes()
	bs := min(opts.BatchSize, data.Len())
	t := &trainer{
		layer: layer, data: data, opts: opts,
		adam:  NewAdam(opts.LearningRate, opts.Beta1, opts.Beta2, opts.Epsilon, d*c, c),
		team:  newTeam(opts.Threads),
		order: make([]int, data.Len()),
		wt:    make([]float64, c*d),
		wt32:  make([]float32, c*d),
		zb:    make([]float64, bs*c),
		z32:   make([]float32, bs*c),
		yb:    make([]int, bs),
		loss:  make([]float64, bs),
		sq:    make([]float64, c),
		rows:  make([][]float32, bs),
		gWt:   make([]float32, c*d),
		gB:    make([]float64, c),
	}
	t.hits = make([]int, t.team.n)
	for i := range t.order {
		t.order[i] = i
	}
	transpose(t.wt, layer.W.RawMatrix().Data, d, c)
	narrow(t.wt32, t.wt)
	t.products, t.losses, t.backward = t.productsPart, t.lossPart, t.backwardPart
	return t
}

// close stops the trainer's team.
func (t *trainer) close() { t.team.stop() }

// sync writes the trained kernel into the layer.
func (t *trainer) sync() {
	w := t.layer.W.RawMatrix()
	transpose(w.Data, t.wt, w.Cols, w.Rows)
}

// epoch runs one shuffled pass and returns its running-average metrics.
func (t *trainer) epoch(rng *rand.Rand) Epoch {
	rng.Shuffle(len(t.order), func(i, j int) { t.order[i], t.order[j] = t.order[j], t.order[i] })
	n := len(t.order)
	var lossSum float64
	var correct int
	for start := 0; start < n; start += len(t.yb) {
		idx := t.order[start:min(start+len(t.yb), n)]
		l, c := t.step(idx)
		lossSum += l * float64(len(idx))
		correct += c
	}
	t.sync()
	return Epoch{Loss: lossSum / float64(n), Accuracy: float64(correct) / float64(n)}
}

// step trains on the rows idx and returns the batch's loss (mean, plus the
// L2 term) and correct count, both from before the update.
func (t *trainer) step(idx []int) (float64, int) {
	t.bs = len(idx)
	for k, i := range idx {
		t.rows[k] = t.data.Row(i)
		t.yb[k] = t.data.Y[i]
	}
	t.team.run(t.products)
	t.team.run(t.losses)
	var lossSum float64
	for _, l := range t.loss[:t.bs] {
		lossSum += l
	}
	correct := 0
	for _, h := range t.hits {
		correct += h
	}
	loss := lossSum / float64(t.bs)

	t.alpha = t.adam.next()
	t.l2x2 = 2 * t.opts.L2
	t.team.run(t.backward)
	if l2 := t.opts.L2; l2 > 0 {
		var sumSq float64
		for _, s := range t.sq {
			sumSq += s
		}
		loss += l2 * sumSq
	}
	return loss, correct
}

// productsPart computes the batch's products with the part's classes of
// the kernel: each goroutine keeps its classes' weights in its own cache,
// from these products to their update.
func (t *trainer) productsPart(p int) {
	c, d := len(t.gB), t.data.Dim()
	lo, hi := span(c, t.team.n, p, 1)
	if lo == hi {
		return
	}
	kernel.DotsRows(t.z32[lo:t.bs*c], c, t.rows[:t.bs], t.wt32[lo*d:hi*d])
}

// lossPart turns the part's rows of products into logits, their loss and
// the logits' gradient.
func (t *trainer) lossPart(p int) {
	c := len(t.gB)
	lo, hi := span(t.bs, t.team.n, p, 1)
	t.hits[p] = 0
	if lo == hi {
		return
	}
	z, z32 := t.zb[lo*c:hi*c], t.z32[lo*c:hi*c]
	addBias(z, z32, t.layer.B)
	t.hits[p] = crossEntropyRows(z, c, t.yb[lo:hi], t.opts.ClassWeights, 1/float64(t.bs), t.loss[lo:hi])
	narrow(z32, z)
}

// backwardPart computes the gradient of the part's classes and applies
// Adam to their weights and biases. The L2 term, 2·L2·W, is added inside
// AdamStep.
func (t *trainer) backwardPart(p int) {
	c, d := len(t.gB), t.data.Dim()
	lo, hi := span(c, t.team.n, p, 1)
	if lo == hi {
		return
	}
	columnSums(t.gB[lo:hi], t.zb[lo:t.bs*c], c)
	gw := t.gWt[lo*d : hi*d]
	kernel.Outer(gw, t.z32[lo:t.bs*c], c, t.rows[:t.bs])
	a := t.adam
	c1, c2 := 1-a.Beta1, 1-a.Beta2
	m, v := a.m[0], a.v[0]
	for j := lo; j < hi; j++ {
		r := j * d
		t.sq[j] = kernel.AdamStep(t.wt[r:r+d], t.wt32[r:r+d], t.gWt[r:r+d], m[r:r+d], v[r:r+d], t.alpha, c1, c2, a.Epsilon, t.l2x2)
	}
	adamScalar(t.layer.B[lo:hi], t.gB[lo:hi], a.m[1][lo:hi], a.v[1][lo:hi], t.alpha, c1, c2, a.Epsilon)
}

// gradW returns the last step's kernel gradient, D×C, without the L2 term.
func (t *trainer) gradW() []float64 {
	d, c := t.data.Dim(), len(t.gB)
	g := make([]float64, d*c)
	for j := 0; j < c; j++ {
		for k := 0; k < d; k++ {
			g[k*c+j] = float64(t.gWt[j*d+k])
		}
	}
	return g
}

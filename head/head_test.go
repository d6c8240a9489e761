package head_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/transfer-go/transfer/head"
)

// blobs returns n points per class around well-separated random centres in
// d dimensions: a linearly separable problem.
func blobs(seed uint64, classes, n, d int, spread float64) head.Data {
	rng := rand.New(rand.NewPCG(seed, 7))
	centres := make([][]float64, classes)
	for c := range centres {
		centres[c] = make([]float64, d)
		for j := range centres[c] {
			centres[c][j] = rng.NormFloat64() * 3
		}
	}
	x := head.NewMatrix(classes*n, d, nil)
	var y []int
	for c := 0; c < classes; c++ {
		for i := 0; i < n; i++ {
			r := len(y)
			for j := 0; j < d; j++ {
				x.Data[r*d+j] = float32(centres[c][j] + rng.NormFloat64()*spread)
			}
			y = append(y, c)
		}
	}
	return head.Data{X: x, Y: y, Classes: classes}
}

func TestTrainSeparable(t *testing.T) {
	data := blobs(1, 3, 40, 16, 0.5)
	opts := head.DefaultOptions()
	opts.Epochs, opts.LearningRate = 30, 0.01
	layer, hist, err := head.Train(context.Background(), data, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	if m := head.Evaluate(layer, data); m.Accuracy != 1 {
		t.Errorf("accuracy %v on a separable problem, want 1", m.Accuracy)
	}
	first, last := hist.Epochs[0], hist.Last()
	if len(hist.Epochs) != 30 || !(last.Loss < first.Loss/4) {
		t.Errorf("%d epochs, loss %v -> %v; want 30 epochs and a falling loss", len(hist.Epochs), first.Loss, last.Loss)
	}
}

func TestTrainReproducible(t *testing.T) {
	data := blobs(2, 2, 50, 8, 2)
	opts := head.DefaultOptions()
	opts.Epochs = 5
	a, _, _ := head.Train(context.Background(), data, nil, opts)
	b, _, _ := head.Train(context.Background(), data, nil, opts)
	if !mat.Equal(a.W, b.W) || a.B[0] != b.B[0] || a.B[1] != b.B[1] {
		t.Error("the same seed gave different weights")
	}
	opts.Seed = 2
	c, _, _ := head.Train(context.Background(), data, nil, opts)
	if mat.Equal(a.W, c.W) {
		t.Error("different seeds gave equal weights")
	}
}

// TestThreadsChangeNoBit trains with one, two and three goroutines, with
// both solvers and a batch that does not split evenly (45 rows in batches of
// 32: 32 then 13), over 11 classes (not a multiple of the kernels' groups of
// four) and with L2 and class weights, and wants the same bits every time.
func TestThreadsChangeNoBit(t *testing.T) {
	data := blobs(4, 11, 5, 70, 2)
	w := make([]float64, 11)
	for i := range w {
		w[i] = 0.5 + float64(i)/10
	}
	// L-BFGS twice: with float64 products (the default tolerance) and
	// float32 ones (1e-4).
	for _, run := range []struct {
		solver string
		tol    float64
	}{{head.SolverAdam, 1e-6}, {head.SolverLBFGS, 1e-6}, {head.SolverLBFGS, 1e-4}} {
		solver := run.solver
		var first *head.Dense
		var firstHist head.History
		for _, threads := range []int{1, 2, 3} {
			opts := head.DefaultOptions()
			opts.Solver, opts.Epochs, opts.MaxIter, opts.L2, opts.ClassWeights, opts.Threads = solver, 4, 15, 1e-3, w, threads
			opts.Tol = run.tol
			l, hist, err := head.Train(context.Background(), data, nil, opts)
			if err != nil {
				t.Fatal(err)
			}
			if first == nil {
				first, firstHist = l, hist
				continue
			}
			if !mat.Equal(l.W, first.W) || !slices.Equal(l.B, first.B) {
				t.Errorf("%s: %d threads gave other weights than 1", solver, threads)
			}
			for e := range hist.Epochs {
				if hist.Epochs[e] != firstHist.Epochs[e] {
					t.Errorf("%s: %d threads: epoch %d %+v, with 1 %+v", solver, threads, e+1, hist.Epochs[e], firstHist.Epochs[e])
				}
			}
		}
	}
}

// TestEpochMetricsAreSampleWeighted checks Keras' epoch averages: 40 rows in
// batches of 32 and 8 report the sample-weighted mean of the batch losses
// (TestStepsPerEpoch counts the steps).
func TestEpochMetricsAreSampleWeighted(t *testing.T) {
	data := blobs(3, 2, 20, 4, 1)
	opts := head.DefaultOptions()
	opts.Epochs = 1
	var seen head.Epoch
	opts.OnEpoch = func(e head.Epoch) { seen = e }
	layer0, _, _ := head.Train(context.Background(), data, nil, head.Options{Epochs: 1, BatchSize: 40, LearningRate: 1e-30, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-7, Seed: 1})
	// With a learning rate of 1e-30 the weights stay the initial ones, so
	// the epoch loss must equal the full-data loss at initialisation,
	// whatever the batch split.
	_, h, _ := head.Train(context.Background(), data, nil, head.Options{Epochs: 1, BatchSize: 32, LearningRate: 1e-30, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-7, Seed: 1})
	m := head.Evaluate(layer0, data)
	if math.Abs(h.Epochs[0].Loss-m.Loss) > 1e-12 || math.Abs(h.Epochs[0].Accuracy-m.Accuracy) > 1e-12 {
		t.Errorf("epoch loss %v accuracy %v; the data's %v and %v", h.Epochs[0].Loss, h.Epochs[0].Accuracy, m.Loss, m.Accuracy)
	}
	_, _, _ = head.Train(context.Background(), data, nil, opts)
	if seen.Epoch != 1 {
		t.Errorf("OnEpoch saw epoch %d", seen.Epoch)
	}
}

func TestEpochString(t *testing.T) {
	e := head.Epoch{Epoch: 3, Loss: 0.51234, Accuracy: 0.85, ValLoss: 0.693147, ValAccuracy: 0.7, HasVal: true}
	want := "loss: 0.5123 - accuracy: 0.8500 - val_loss: 0.6931 - val_accuracy: 0.7000"
	if e.String() != want {
		t.Errorf("got %q, want %q", e.String(), want)
	}
}

func TestEarlyStoppingRestoresBest(t *testing.T) {
	// Noisy, tiny, high-dimensional: validation loss soon rises.
	train := blobs(4, 2, 10, 200, 6)
	val := blobs(5, 2, 20, 200, 6)
	opts := head.DefaultOptions()
	opts.Epochs, opts.Patience, opts.LearningRate = 200, 3, 0.01
	layer, hist, err := head.Train(context.Background(), train, &val, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !hist.StoppedEarly || len(hist.Epochs) != hist.BestEpoch+3 {
		t.Fatalf("stopped early %v after %d epochs, best %d; want a stop 3 epochs after the best", hist.StoppedEarly, len(hist.Epochs), hist.BestEpoch)
	}
	best := hist.Epochs[hist.BestEpoch-1].ValLoss
	if got := head.Evaluate(layer, val).Loss; math.Abs(got-best) > 1e-12 {
		t.Errorf("restored weights give val_loss %v, the best epoch had %v", got, best)
	}
}

// TestEarlyStoppingRestoresBestAtTheEnd: when the last epoch comes before
// patience runs out, the best epoch's weights are still the ones returned
// (Keras 3), and that best epoch is neither the last nor a stopping one.
func TestEarlyStoppingRestoresBestAtTheEnd(t *testing.T) {
	train := blobs(4, 2, 10, 200, 6)
	val := blobs(5, 2, 20, 200, 6)
	opts := head.DefaultOptions()
	opts.LearningRate = 0.0005
	// Find where val_loss is lowest without early stopping, then end
	// training a few epochs after it with a patience that cannot run out.
	opts.Epochs = 200
	_, free, err := head.Train(context.Background(), train, &val, opts)
	if err != nil {
		t.Fatal(err)
	}
	bestEpoch := 1
	for i, e := range free.Epochs {
		if e.ValLoss < free.Epochs[bestEpoch-1].ValLoss {
			bestEpoch = i + 1
		}
	}
	opts.Epochs, opts.Patience = min(bestEpoch+4, 200), 50
	layer, hist, err := head.Train(context.Background(), train, &val, opts)
	if err != nil {
		t.Fatal(err)
	}
	if hist.StoppedEarly || len(hist.Epochs) != opts.Epochs || hist.BestEpoch == len(hist.Epochs) || hist.BestEpoch < 2 {
		t.Fatalf("stopped early %v after %d epochs, best %d; want all %d epochs with an earlier best", hist.StoppedEarly, len(hist.Epochs), hist.BestEpoch, opts.Epochs)
	}
	best := hist.Epochs[hist.BestEpoch-1].ValLoss
	last := hist.Last().ValLoss
	if got := head.Evaluate(layer, val).Loss; math.Abs(got-best) > 1e-12 || math.Abs(got-last) < 1e-9 {
		t.Errorf("returned weights give val_loss %v; the best epoch %d had %v, the last %v", got, hist.BestEpoch, best, last)
	}
	opts.Patience = -1
	if _, _, err := head.Train(context.Background(), train, &val, opts); err == nil || !strings.Contains(err.Error(), "must not be negative") {
		t.Errorf("negative patience: %v", err)
	}
}

func TestTrainCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := head.Train(ctx, blobs(1, 2, 5, 3, 1), nil, head.DefaultOptions())
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v", err)
	}
}

func TestTrainRejectsBadInput(t *testing.T) {
	good := blobs(1, 2, 5, 3, 1)
	nan := blobs(1, 2, 5, 3, 1)
	nan.X.Data[2*nan.X.Stride+1] = float32(math.NaN())
	badLabel := blobs(1, 2, 5, 3, 1)
	badLabel.Y[0] = 7
	cases := []struct {
		name string
		data head.Data
		opts func(*head.Options)
		want string
	}{
		{"nan", nan, nil, "embedding 2 has a NaN"},
		{"label", badLabel, nil, "label 7 of row 0 is outside [0, 2)"},
		{"epochs", good, func(o *head.Options) { o.Epochs = 0 }, "epochs must be at least 1"},
		{"patience without val", good, func(o *head.Options) { o.Patience = 2 }, "needs validation data"},
		{"weights", good, func(o *head.Options) { o.ClassWeights = []float64{1} }, "1 class weights for 2 classes"},
	}
	for _, tc := range cases {
		opts := head.DefaultOptions()
		if tc.opts != nil {
			tc.opts(&opts)
		}
		_, _, err := head.Train(context.Background(), tc.data, nil, opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestTinyAndHugeInputsStayFinite(t *testing.T) {
	for _, scale := range []float64{1e-30, 1e6} {
		data := blobs(6, 2, 10, 5, 1)
		for i, v := range data.X.Data {
			data.X.Data[i] = float32(float64(v) * scale)
		}
		layer, hist, err := head.Train(context.Background(), data, nil, head.DefaultOptions())
		if err != nil {
			t.Fatalf("scale %g: %v", scale, err)
		}
		m := head.Evaluate(layer, data)
		if math.IsNaN(m.Loss) || math.IsInf(m.Loss, 0) || math.IsNaN(hist.Last().Loss) {
			t.Errorf("scale %g: loss %v", scale, m.Loss)
		}
		p := layer.PredictRows(nil, data.X)
		for i := 0; i < data.Len(); i++ {
			if s := p.At(i, 0) + p.At(i, 1); math.Abs(s-1) > 1e-12 {
				t.Errorf("scale %g: probabilities of row %d sum to %v", scale, i, s)
			}
		}
	}
}

func TestBalancedClassWeights(t *testing.T) {
	w := head.BalancedClassWeights([]int{0, 0, 0, 1}, 3)
	want := []float64{4.0 / 9, 4.0 / 3, 0}
	for i := range want {
		if math.Abs(w[i]-want[i]) > 1e-15 {
			t.Fatalf("got %v, want %v", w, want)
		}
	}
}

func TestMetrics(t *testing.T) {
	// Two classes; a head that predicts class 0 for the first three rows.
	x := head.NewMatrix(4, 1, []float32{1, 1, 1, -1})
	layer := &head.Dense{W: mat.NewDense(1, 2, []float64{1, -1}), B: []float64{0, 0}}
	m := head.Evaluate(layer, head.Data{X: x, Y: []int{0, 0, 1, 1}, Classes: 2})
	if m.Accuracy != 0.75 || m.Confusion[0][0] != 2 || m.Confusion[1][0] != 1 || m.Confusion[1][1] != 1 {
		t.Fatalf("accuracy %v confusion %v", m.Accuracy, m.Confusion)
	}
	// class 0: precision 2/3, recall 1, F1 0.8; class 1: precision 1, recall 0.5, F1 2/3.
	if math.Abs(m.Precision[0]-2.0/3) > 1e-15 || m.Recall[0] != 1 || math.Abs(m.F1[0]-0.8) > 1e-15 ||
		m.Precision[1] != 1 || m.Recall[1] != 0.5 || math.Abs(m.F1[1]-2.0/3) > 1e-15 {
		t.Errorf("precision %v recall %v f1 %v", m.Precision, m.Recall, m.F1)
	}
	// loss: rows with logit margin 2: log(1+e^-2) for right, log(1+e^2) for wrong.
	want := (3*math.Log1p(math.Exp(-2)) + math.Log1p(math.Exp(2))) / 4
	if math.Abs(m.Loss-want) > 1e-12 {
		t.Errorf("loss %v, want %v", m.Loss, want)
	}
}

func TestSplits(t *testing.T) {
	y := []int{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}
	s, err := head.LastPerClass(y, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{7, 8, 9, 17, 18, 19}; !equalInts(s.Val, want) || len(s.Train) != 14 {
		t.Errorf("LastPerClass val %v, want %v", s.Val, want)
	}
	if _, err := head.LastPerClass(y, 2, 10); err == nil {
		t.Error("LastPerClass held out a whole class")
	}
	s, err = head.StratifiedSplit(y, 2, 0.2, 9)
	if err != nil {
		t.Fatal(err)
	}
	val := map[int]int{}
	for _, i := range s.Val {
		val[y[i]]++
	}
	if val[0] != 2 || val[1] != 2 || len(s.Train) != 16 {
		t.Errorf("StratifiedSplit validation per class %v, train %d", val, len(s.Train))
	}
	folds, err := head.StratifiedFolds(y, 2, 5, 1)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]int{}
	for _, f := range folds {
		per := map[int]int{}
		for _, i := range f.Val {
			seen[i]++
			per[y[i]]++
		}
		if per[0] != 2 || per[1] != 2 || len(f.Train) != 16 {
			t.Errorf("fold validates %v per class, trains on %d", per, len(f.Train))
		}
	}
	if len(seen) != 20 {
		t.Errorf("%d rows validated, want all 20 exactly once", len(seen))
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestCrossValidate(t *testing.T) {
	data := blobs(7, 2, 20, 6, 0.3)
	opts := head.DefaultOptions()
	opts.Epochs, opts.LearningRate = 100, 0.01
	res, err := head.CrossValidate(context.Background(), data, 5, opts)
	if err != nil {
		t.Fatal(err)
	}
	v := res.Judge(head.Used{})
	if len(res.Folds) != 5 || res.MeanValAccuracy != 1 || res.SDValAccuracy != 0 || v.Diagnosis != head.Fits {
		t.Errorf("folds %d mean %v sd %v verdict %+v", len(res.Folds), res.MeanValAccuracy, res.SDValAccuracy, v)
	}
	if acc, n := res.PooledValAccuracy(); acc != 1 || n != 40 || len(res.MeanHistory().Epochs) != 100 {
		t.Errorf("pooled %v over %d, mean history of %d epochs", acc, n, len(res.MeanHistory().Epochs))
	}
	total := 0
	for _, row := range res.Confusion {
		for _, n := range row {
			total += n
		}
	}
	if total != 40 {
		t.Errorf("confusion counts %d predictions, want each of 40 rows once", total)
	}
	// Pure noise with many dimensions: training accuracy reaches 1 while
	// validation stays near chance; the verdict must say so.
	noise := blobs(8, 2, 20, 500, 50)
	res, err = head.CrossValidate(context.Background(), noise, 5, opts)
	if err != nil {
		t.Fatal(err)
	}
	if v := res.Judge(head.Used{}); v.Diagnosis != head.Overfitting || res.MeanTrainAccuracy != 1 {
		t.Errorf("noise: train %v val %v, verdict %+v; want train 1 and an overfitting verdict", res.MeanTrainAccuracy, res.MeanValAccuracy, v)
	}
}

func testModel(t *testing.T) *head.Model {
	data := blobs(9, 3, 10, 5, 1)
	opts := head.DefaultOptions()
	opts.Epochs = 3
	layer, hist, err := head.Train(context.Background(), data, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	return &head.Model{Layer: layer, Classes: []string{"a", "b", "c"}, Options: opts, History: hist, Created: time.Unix(1700000000, 0),
		Source: head.Provenance{Fingerprint: "f1", Pixels: "stretch/bilinear/224x224", Model: "m.onnx", Preprocess: "keras", Layout: "NHWC", InputSize: [2]int{224, 224}}}
}

func TestSaveLoad(t *testing.T) {
	m := testModel(t)
	path := filepath.Join(t.TempDir(), "head.json")
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	got, err := head.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !mat.Equal(got.Layer.W, m.Layer.W) || got.Layer.B[2] != m.Layer.B[2] || got.Classes[1] != "b" ||
		got.Source != m.Source || len(got.History.Epochs) != 3 || got.Options.Epochs != 3 || got.Options.LearningRate != 0.001 {
		t.Error("round trip changed the head")
	}
	if err := got.Source.Check(m.Source); err != nil {
		t.Error(err)
	}
	other := m.Source
	other.Fingerprint = "f2"
	if err := got.Source.Check(other); !errors.Is(err, head.ErrBackboneMismatch) || !strings.Contains(err.Error(), "retrain the head") {
		t.Errorf("mismatch error %v", err)
	}
	other = m.Source
	other.Pixels = "crop/bilinear/224x224"
	if err := got.Source.Check(other); !errors.Is(err, head.ErrBackboneMismatch) || !strings.Contains(err.Error(), "resized as stretch/bilinear/224x224, not crop/bilinear/224x224") {
		t.Errorf("resize mismatch error %v", err)
	}
}

func TestLoadRejectsDamagedFiles(t *testing.T) {
	m := testModel(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "head.json")
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(path)
	edit := func(old, new string) []byte { return []byte(strings.Replace(string(good), old, new, 1)) }
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"truncated", good[:len(good)/2], "is it truncated?"},
		{"empty", nil, "is it truncated?"},
		{"other format", edit(`"format": "transfer-head"`, `"format": "keras"`), `format "keras"`},
		{"newer version", edit(`"version": 1`, `"version": 9`), "newer transfer"},
		{"renamed class", edit(`"b"`, `"x"`), "checksum mismatch"},
		{"bad shape", edit(`"embedding_dim": 5`, `"embedding_dim": 6`), "do not fit 6-d embeddings"},
	}
	for _, tc := range cases {
		p := filepath.Join(dir, tc.name+".json")
		os.WriteFile(p, tc.data, 0o644)
		_, err := head.Load(p)
		if !errors.Is(err, head.ErrBadHeadFile) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %v, want ErrBadHeadFile naming the file and %q", tc.name, err, tc.want)
		}
	}
}

// TestCrossValidateFoldsAtIsSeparateRuns: one long run per fold gives, for
// each shorter epoch count, exactly what a cross-validation with that
// count gives, for Adam (heads taken mid-run) and L-BFGS (no epochs).
func TestCrossValidateFoldsAtIsSeparateRuns(t *testing.T) {
	data := blobs(8, 3, 20, 6, 2.5)
	folds, err := head.StratifiedFolds(data.Y, data.Classes, 3, 4)
	if err != nil {
		t.Fatal(err)
	}
	epochs := []int{3, 7, 5, 7}
	for _, solver := range []string{head.SolverAdam, head.SolverLBFGS} {
		opts := head.DefaultOptions()
		opts.Solver, opts.L2, opts.MaxIter = solver, 1e-3, 20
		got, err := head.CrossValidateFoldsAt(context.Background(), data, folds, opts, epochs)
		if err != nil {
			t.Fatal(err)
		}
		for k, e := range epochs {
			o := opts
			o.Epochs = e
			want, err := head.CrossValidateFolds(context.Background(), data, folds, o)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got[k], want) {
				t.Errorf("%s, %d epochs: shared run\n%+v\nseparate run\n%+v", solver, e, got[k], want)
			}
		}
		if solver == head.SolverAdam && got[0].MeanValAccuracy == got[1].MeanValAccuracy && got[0].Folds[0].ValLoss == got[1].Folds[0].ValLoss {
			t.Errorf("3 and 7 epochs scored the same: the counts were not told apart")
		}
	}
}

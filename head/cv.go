package head

import (
	"context"
	"fmt"
	"slices"

	"gonum.org/v1/gonum/stat"
)

// Fold is one cross-validation fold's outcome.
type Fold struct {
	TrainAccuracy float64 `json:"train_accuracy"`
	ValAccuracy   float64 `json:"val_accuracy"`
	ValLoss       float64 `json:"val_loss"`
	ValMacroF1    float64 `json:"val_macro_f1"`
	TrainRows     int     `json:"train_rows"`
	ValRows       int     `json:"val_rows"`
	// History is the fold's per-epoch record, validation included.
	History History `json:"history"`
}

// CVResult summarises a cross-validation.
type CVResult struct {
	Folds []Fold `json:"folds"`
	// Means and sample standard deviations (n−1) over folds.
	MeanTrainAccuracy float64 `json:"mean_train_accuracy"`
	MeanValAccuracy   float64 `json:"mean_val_accuracy"`
	SDValAccuracy     float64 `json:"sd_val_accuracy"`
	// Confusion sums the held-out predictions of every fold: each row is
	// predicted exactly once, by the head that did not train on it.
	Confusion [][]int `json:"confusion"`
}

// PooledValAccuracy is the accuracy of every held-out prediction together:
// each row predicted once, by the head that did not train on it.
func (r CVResult) PooledValAccuracy() (float64, int) {
	var right, all int
	for t, row := range r.Confusion {
		for p, n := range row {
			all += n
			if p == t {
				right += n
			}
		}
	}
	if all == 0 {
		return 0, 0
	}
	return float64(right) / float64(all), all
}

// MeanHistory averages the folds' curves epoch by epoch.
func (r CVResult) MeanHistory() History {
	var h History
	if len(r.Folds) == 0 {
		return h
	}
	n := len(r.Folds[0].History.Epochs)
	for _, f := range r.Folds {
		n = min(n, len(f.History.Epochs))
	}
	for i := 0; i < n; i++ {
		e := Epoch{Epoch: i + 1, HasVal: true}
		for _, f := range r.Folds {
			fe := f.History.Epochs[i]
			e.Loss += fe.Loss / float64(len(r.Folds))
			e.Accuracy += fe.Accuracy / float64(len(r.Folds))
			e.ValLoss += fe.ValLoss / float64(len(r.Folds))
			e.ValAccuracy += fe.ValAccuracy / float64(len(r.Folds))
			e.HasVal = e.HasVal && fe.HasVal
		}
		h.Epochs = append(h.Epochs, e)
	}
	return h
}

// Judge reads the cross-validation as Judge reads one run: the mean
// training accuracy against the pooled validation accuracy of all rows, on
// the folds' mean curves.
func (r CVResult) Judge(used Used) Verdict {
	used.CV = true
	acc, n := r.PooledValAccuracy()
	return Judge(Evidence{History: r.MeanHistory(), TrainAccuracy: r.MeanTrainAccuracy, ValAccuracy: acc, ValImages: n, Used: used})
}

// CrossValidate trains a fresh head on each of k stratified folds' training
// rows and evaluates it on the fold's held-out rows. Fold assignment uses
// opts.Seed; every fold trains with the same options, except that early
// stopping is off (see below).
func CrossValidate(ctx context.Context, data Data, k int, opts Options) (CVResult, error) {
	splits, err := StratifiedFolds(data.Y, data.Classes, k, opts.Seed, data.Keys...)
	if err != nil {
		return CVResult{}, err
	}
	return CrossValidateFolds(ctx, data, splits, opts)
}

// CrossValidateFolds is CrossValidate on given folds, e.g. folds shared by
// several configurations so that they are compared on the same rows.
func CrossValidateFolds(ctx context.Context, data Data, splits []Split, opts Options) (CVResult, error) {
	res, err := CrossValidateFoldsAt(ctx, data, splits, opts, []int{opts.Epochs})
	if len(res) == 0 {
		return CVResult{}, err
	}
	return res[0], err
}

// CrossValidateFoldsAt is CrossValidateFolds for several epoch counts at
// once: res[i] is what CrossValidateFolds gives with opts.Epochs = epochs[i],
// to the bit, from one run per fold of the largest count. Adam's first e
// epochs do not depend on how many follow (folds train without early
// stopping), so the run's head after epoch e is the head of e epochs.
// L-BFGS takes no epochs: it trains once, and every count gets its result.
func CrossValidateFoldsAt(ctx context.Context, data Data, splits []Split, opts Options, epochs []int) ([]CVResult, error) {
	if len(epochs) == 0 {
		return nil, fmt.Errorf("head: no epoch counts to cross-validate")
	}
	longest := slices.Max(epochs)
	res := make([]CVResult, len(epochs))
	for k := range res {
		res[k].Confusion = make([][]int, data.Classes)
		for i := range res[k].Confusion {
			res[k].Confusion[i] = make([]int, data.Classes)
		}
	}
	trainAcc, valAcc := make([][]float64, len(epochs)), make([][]float64, len(epochs))
	for f, s := range splits {
		train, val := data.Subset(s.Train), data.Subset(s.Val)
		o := opts
		// Early stopping would choose epochs on the held-out fold and so
		// leak it into the estimate; folds train for the full Epochs.
		o.OnEpoch, o.Patience = nil, 0
		o.Epochs = longest
		record := func(k int, layer *Dense, hist History) {
			tm, vm := Evaluate(layer, train), Evaluate(layer, val)
			r := &res[k]
			r.Folds = append(r.Folds, Fold{TrainAccuracy: tm.Accuracy, ValAccuracy: vm.Accuracy, ValLoss: vm.Loss, ValMacroF1: vm.MacroF1, TrainRows: train.Len(), ValRows: val.Len(), History: hist})
			trainAcc[k] = append(trainAcc[k], tm.Accuracy)
			valAcc[k] = append(valAcc[k], vm.Accuracy)
			for t := range vm.Confusion {
				for p, n := range vm.Confusion[t] {
					r.Confusion[t][p] += n
				}
			}
		}
		o.at = func(epoch int, layer *Dense) {
			for k, e := range epochs {
				if e == epoch && e < longest {
					// The history so far is Train's, filled in below.
					record(k, layer, History{Epochs: make([]Epoch, e)})
				}
			}
		}
		layer, hist, err := Train(ctx, train, &val, o)
		if err != nil {
			return res, fmt.Errorf("fold %d: %w", f+1, err)
		}
		for k, e := range epochs {
			if e == longest || opts.Solver == SolverLBFGS {
				record(k, layer, hist)
				continue
			}
			folds := res[k].Folds
			copy(folds[len(folds)-1].History.Epochs, hist.Epochs[:e])
		}
	}
	for k := range res {
		res[k].MeanTrainAccuracy = stat.Mean(trainAcc[k], nil)
		res[k].MeanValAccuracy, res[k].SDValAccuracy = stat.MeanStdDev(valAcc[k], nil)
	}
	return res, nil
}

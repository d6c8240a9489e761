package head

import (
	"context"
	"fmt"

	"gonum.org/v1/gonum/stat"
)

// OverfitGap is the gap between training and validation accuracy from which
// reports call a model overfitted: 10 percentage points.
const OverfitGap = 0.10

// Fold is one cross-validation fold's outcome.
type Fold struct {
	TrainAccuracy float64 `json:"train_accuracy"`
	ValAccuracy   float64 `json:"val_accuracy"`
	ValLoss       float64 `json:"val_loss"`
	TrainRows     int     `json:"train_rows"`
	ValRows       int     `json:"val_rows"`
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

// Overfitting reports whether mean training accuracy exceeds mean
// validation accuracy by OverfitGap or more.
func (r CVResult) Overfitting() bool {
	return r.MeanTrainAccuracy-r.MeanValAccuracy >= OverfitGap
}

// CrossValidate trains a fresh head on each of k stratified folds' training
// rows and evaluates it on the fold's held-out rows. Fold assignment uses
// opts.Seed; every fold trains with the same options, except that early
// stopping is off (see below).
func CrossValidate(ctx context.Context, data Data, k int, opts Options) (CVResult, error) {
	splits, err := StratifiedFolds(data.Y, data.Classes, k, opts.Seed)
	if err != nil {
		return CVResult{}, err
	}
	res := CVResult{Confusion: make([][]int, data.Classes)}
	for i := range res.Confusion {
		res.Confusion[i] = make([]int, data.Classes)
	}
	var trainAcc, valAcc []float64
	for f, s := range splits {
		train, val := data.Subset(s.Train), data.Subset(s.Val)
		o := opts
		// Early stopping would choose epochs on the held-out fold and so
		// leak it into the estimate; folds train for the full Epochs.
		o.OnEpoch, o.Patience = nil, 0
		layer, _, err := Train(ctx, train, &val, o)
		if err != nil {
			return res, fmt.Errorf("fold %d: %w", f+1, err)
		}
		tm, vm := Evaluate(layer, train), Evaluate(layer, val)
		res.Folds = append(res.Folds, Fold{TrainAccuracy: tm.Accuracy, ValAccuracy: vm.Accuracy, ValLoss: vm.Loss, TrainRows: train.Len(), ValRows: val.Len()})
		trainAcc = append(trainAcc, tm.Accuracy)
		valAcc = append(valAcc, vm.Accuracy)
		for t := range vm.Confusion {
			for p, n := range vm.Confusion[t] {
				res.Confusion[t][p] += n
			}
		}
	}
	res.MeanTrainAccuracy = stat.Mean(trainAcc, nil)
	res.MeanValAccuracy, res.SDValAccuracy = stat.MeanStdDev(valAcc, nil)
	return res, nil
}

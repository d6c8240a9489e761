package experiment_test

import (
	"context"
	"fmt"

	"github.com/transfer-go/transfer/experiment"
	"github.com/transfer-go/transfer/head"
)

// separable returns 20 rows of two well separated classes.
func separable() head.Data {
	x := head.NewMatrix(20, 2, nil)
	y := make([]int, 20)
	for i := range y {
		y[i] = i % 2
		x.Data[2*i] = float32(4*y[i]) + float32(i%5)*0.1
		x.Data[2*i+1] = float32(i%3) * 0.1
	}
	return head.Data{X: x, Y: y, Classes: 2}
}

// Cross-validate a head on embeddings already computed (from the cache, in
// transfer's commands).
func ExampleRun() {
	opts := head.DefaultOptions()
	opts.Solver, opts.L2 = head.SolverLBFGS, 1e-3
	r, err := experiment.Run(context.Background(), separable(), experiment.Config{
		Protocol: experiment.Protocol{Kind: experiment.CrossValidation, Folds: 4},
		Options:  opts,
	})
	if err != nil {
		panic(err)
	}
	acc, _ := r.Score(experiment.Accuracy)
	fmt.Printf("%s: %d folds, validation accuracy %.2f\n", r.Protocol, len(r.CV.Folds), acc)
	// Output: cv=4: 4 folds, validation accuracy 1.00
}

// Score a grid of options by a held-out split and rank it.
func ExampleSweep() {
	grid := experiment.Grid{
		{Name: "solver", Values: []string{"adam", "lbfgs"}},
		{Name: "l2", Values: []string{"0", "0.01"}},
	}
	trials, err := experiment.Sweep(context.Background(), separable(), experiment.SweepConfig{
		Grid: grid, Points: grid.Points(0, 0), Base: head.DefaultOptions(), Metric: experiment.Accuracy,
		Protocol: experiment.Protocol{Kind: experiment.HoldOut, Fraction: 0.25},
	})
	if err != nil {
		panic(err)
	}
	experiment.Rank(trials, experiment.Accuracy)
	fmt.Printf("%d configurations; the best, %s, scores %.2f\n", len(trials), grid.Label(trials[0].Point), trials[0].Score)
	// Output: 4 configurations; the best, --solver lbfgs --l2 0, scores 1.00
}

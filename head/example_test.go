package head_test

import (
	"context"
	"fmt"

	"gonum.org/v1/gonum/mat"

	"github.com/transfer-go/transfer/head"
)

// Train a head on four 2-d embeddings of two classes and classify a new one.
func ExampleTrain() {
	data := head.Data{
		X:       head.NewMatrix(4, 2, []float32{1, 0, 0.9, 0.1, 0, 1, 0.1, 0.9}),
		Y:       []int{0, 0, 1, 1},
		Classes: 2,
	}
	opts := head.DefaultOptions()
	opts.Epochs, opts.LearningRate = 200, 0.05
	layer, hist, err := head.Train(context.Background(), data, nil, opts)
	if err != nil {
		panic(err)
	}
	p := layer.Predict(nil, mat.NewDense(1, 2, []float64{0.8, 0.2}))
	fmt.Printf("epochs %d, final accuracy %.2f\n", len(hist.Epochs), hist.Last().Accuracy)
	fmt.Printf("P(class 0) > 0.9: %v\n", p.At(0, 0) > 0.9)
	// Output:
	// epochs 200, final accuracy 1.00
	// P(class 0) > 0.9: true
}

// Estimate accuracy on a tiny data set with stratified 2-fold
// cross-validation.
func ExampleCrossValidate() {
	data := head.Data{
		X:       head.NewMatrix(8, 1, []float32{-2, -1.5, -1, -0.5, 0.5, 1, 1.5, 2}),
		Y:       []int{0, 0, 0, 0, 1, 1, 1, 1},
		Classes: 2,
	}
	opts := head.DefaultOptions()
	opts.Epochs, opts.LearningRate = 100, 0.1
	res, err := head.CrossValidate(context.Background(), data, 2, opts)
	if err != nil {
		panic(err)
	}
	fmt.Printf("validation accuracy %.2f ± %.2f over %d folds\n", res.MeanValAccuracy, res.SDValAccuracy, len(res.Folds))
	// Output:
	// validation accuracy 1.00 ± 0.00 over 2 folds
}

package head

import "math"

// crossEntropy turns the logits in z (n rows of C, row-major) into the
// gradient of the batch loss with respect to them, in place, and returns the
// sum of the weighted per-sample losses and the number of correct argmax
// predictions.
//
// The gradient of sample i is w_i·(p_i − onehot(y_i))/n, where p_i is the
// softmax of its logits and w_i its class weight (1 without weights): the
// derivative of Σ w_i·loss_i / n, Keras' "sum over batch size" reduction.
func crossEntropy(z []float64, c int, y []int, classWeight []float64) (lossSum float64, correct int) {
	correct = crossEntropyRows(z, c, y, classWeight, 1/float64(len(y)), func(_ int, l float64) { lossSum += l })
	return lossSum, correct
}

// crossEntropyRows is crossEntropy for rows of a batch of 1/inv rows: it
// hands each row's weighted loss to loss, in order, so that goroutines that
// share a batch can leave the summing to one of them.
func crossEntropyRows(z []float64, c int, y []int, classWeight []float64, inv float64, loss func(i int, l float64)) (correct int) {
	for i, label := range y {
		row := z[i*c : (i+1)*c]
		if argmax(row) == label {
			correct++
		}
		zy := row[label]
		lse := softmaxRow(row)
		w := 1.0
		if classWeight != nil {
			w = classWeight[label]
		}
		loss(i, w*(lse-zy))
		scale := w * inv
		for j := range row {
			row[j] *= scale
		}
		row[label] -= scale
	}
	return correct
}

// sumSquares returns Σ x².
func sumSquares(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v * v
	}
	return s
}

// finite reports whether every value is neither NaN nor infinite.
func finite(x []float64) bool {
	for _, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

package head

import "math"

// crossEntropyRows turns the logits in z (n rows of C, row-major) into the
// gradient of a batch's loss with respect to them, in place, writes each
// row's weighted loss into loss, and returns the number of correct argmax
// predictions. The rows may be part of a batch of 1/inv rows: goroutines
// that share a batch each take their rows and leave the summing, in order,
// to one of them.
//
// The gradient of sample i is w_i·(p_i − onehot(y_i))·inv, where p_i is the
// softmax of its logits and w_i its class weight (1 without weights): the
// derivative of Σ w_i·loss_i / n, Keras' "sum over batch size" reduction.
func crossEntropyRows(z []float64, c int, y []int, classWeight []float64, inv float64, loss []float64) (correct int) {
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
		loss[i] = w * (lse - zy)
		scale := w * inv
		for j := range row {
			row[j] *= scale
		}
		row[label] -= scale
	}
	return correct
}

// columnSums sets dst[j] to the sum of column j of z, rows of c values,
// taken row after row: the bias's gradient from the logits'. With dst
// shorter than c and z starting at a later column, it sums those columns
// only.
func columnSums(dst, z []float64, c int) {
	for j := range dst {
		var g float64
		for k := j; k < len(z); k += c {
			g += z[k]
		}
		dst[j] = g
	}
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

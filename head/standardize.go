package head

import "math"

// standardizer maps each feature to zero mean and unit standard deviation,
// with the statistics of the training rows only.
type standardizer struct {
	mean, scale []float64 // scale is 1/sd, or 1 for a constant feature
}

func fitStandardizer(data Data) standardizer {
	n, d := data.Len(), data.Dim()
	s := standardizer{mean: make([]float64, d), scale: make([]float64, d)}
	for i := 0; i < n; i++ {
		for j, v := range data.Row(i) {
			s.mean[j] += float64(v)
		}
	}
	for j := range s.mean {
		s.mean[j] /= float64(n)
	}
	for i := 0; i < n; i++ {
		for j, v := range data.Row(i) {
			dv := float64(v) - s.mean[j]
			s.scale[j] += dv * dv
		}
	}
	for j, ss := range s.scale {
		if sd := math.Sqrt(ss / float64(n)); sd > 0 {
			s.scale[j] = 1 / sd
		} else {
			s.scale[j] = 1
		}
	}
	return s
}

// apply returns a standardised copy of data (of its distinct embeddings,
// which an index goes on sharing).
func (s standardizer) apply(data Data) Data {
	x := NewMatrix(data.X.Rows, data.X.Cols, nil)
	for i := 0; i < x.Rows; i++ {
		dst := row(x, i)
		for j, v := range row(data.X, i) {
			dst[j] = float32((float64(v) - s.mean[j]) * s.scale[j])
		}
	}
	out := data
	out.X = x
	return out
}

// fold rewrites a layer trained on standardised features into one that
// takes raw embeddings: (x−μ)/σ·W + b = x·(W/σ) + (b − Σ μ/σ·W). Every user
// of the head (predict, eval, export, a service) then applies the
// standardisation without knowing of it.
func (s standardizer) fold(l *Dense) {
	raw := l.W.RawMatrix()
	for j := 0; j < raw.Rows; j++ {
		row := raw.Data[j*raw.Stride : j*raw.Stride+raw.Cols]
		for k := range row {
			row[k] *= s.scale[j]
			l.B[k] -= s.mean[j] * row[k]
		}
	}
}

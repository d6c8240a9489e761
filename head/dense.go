package head

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"
)

// Dense is a dense layer with a softmax output.
type Dense struct {
	// W is the kernel, D×C.
	W *mat.Dense
	// B is the bias, length C.
	B []float64
}

// NewDense returns a layer of d inputs and c outputs with Glorot-uniform
// kernel and zero bias, drawn from rng.
func NewDense(d, c int, rng *rand.Rand) *Dense {
	if d <= 0 || c <= 0 {
		panic(fmt.Sprintf("head: NewDense(%d, %d): dimensions must be positive", d, c))
	}
	limit := math.Sqrt(6 / float64(d+c))
	w := make([]float64, d*c)
	for i := range w {
		w[i] = (rng.Float64()*2 - 1) * limit
	}
	return &Dense{W: mat.NewDense(d, c, w), B: make([]float64, c)}
}

// Inputs returns D, the embedding dimension.
func (l *Dense) Inputs() int { r, _ := l.W.Dims(); return r }

// Classes returns C, the number of outputs.
func (l *Dense) Classes() int { _, c := l.W.Dims(); return c }

// Clone returns a deep copy.
func (l *Dense) Clone() *Dense {
	return &Dense{W: mat.DenseCopyOf(l.W), B: append([]float64(nil), l.B...)}
}

// logits writes x·W + b into z. x is n×D and z n×C, both row-major blocks.
func (l *Dense) logits(z, x blas64.General) {
	blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, x, l.W.RawMatrix(), 0, z)
	for i := 0; i < z.Rows; i++ {
		row := z.Data[i*z.Stride : i*z.Stride+z.Cols]
		for j, b := range l.B {
			row[j] += b
		}
	}
}

// Predict returns the class probabilities for the rows of x (n×D) as an n×C
// matrix. If dst is non-nil and n×C it is reused.
func (l *Dense) Predict(dst *mat.Dense, x mat.Matrix) *mat.Dense {
	n, d := x.Dims()
	if d != l.Inputs() {
		panic(fmt.Sprintf("head: Predict: embeddings have %d values, the head takes %d", d, l.Inputs()))
	}
	c := l.Classes()
	if dst == nil {
		dst = mat.NewDense(n, c, nil)
	} else if r, cc := dst.Dims(); r != n || cc != c {
		panic(mat.ErrShape)
	}
	// A *mat.Dense (what Matrix and Data hold) is read in place; any
	// other Matrix is copied once.
	xd, ok := x.(*mat.Dense)
	if !ok {
		xd = mat.DenseCopyOf(x)
	}
	l.logits(dst.RawMatrix(), xd.RawMatrix())
	for i := 0; i < n; i++ {
		softmaxRow(dst.RawRowView(i))
	}
	return dst
}

// PredictRows returns the class probabilities for the float32 rows of x
// (n×D, as Data.X holds them) as an n×C matrix, with the products in
// float32 as training computes them. If dst is non-nil and n×C it is
// reused.
func (l *Dense) PredictRows(dst *mat.Dense, x blas32.General) *mat.Dense {
	if x.Cols != l.Inputs() {
		panic(fmt.Sprintf("head: PredictRows: embeddings have %d values, the head takes %d", x.Cols, l.Inputs()))
	}
	c := l.Classes()
	if dst == nil {
		if x.Rows == 0 {
			return &mat.Dense{}
		}
		dst = mat.NewDense(x.Rows, c, nil)
	} else if r, cc := dst.Dims(); r != x.Rows || cc != c {
		panic(mat.ErrShape)
	}
	wt, z32 := l.kernel32(), make([]float32, c)
	for i := 0; i < x.Rows; i++ {
		z := dst.RawRowView(i)
		logits(z, z32, row(x, i), wt, l.B)
		softmaxRow(z)
	}
	return dst
}

// Probabilities returns the class probabilities of float32 embeddings (as
// backbones and caches give them), one row per embedding.
func (l *Dense) Probabilities(emb [][]float32) ([][]float64, error) {
	wt, z32 := l.kernel32(), make([]float32, l.Classes())
	out := make([][]float64, len(emb))
	for i, e := range emb {
		if len(e) != l.Inputs() {
			return nil, fmt.Errorf("head: embeddings have %d values, the head takes %d", len(e), l.Inputs())
		}
		out[i] = make([]float64, l.Classes())
		logits(out[i], z32, e, wt, l.B)
		softmaxRow(out[i])
		for _, v := range out[i] {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("%w: embedding %d gives %v; the weights are too large to compute with (largest |w| %.3g): retrain the head", ErrNonFiniteOutput, i, out[i], l.maxAbs())
			}
		}
	}
	return out, nil
}

// ErrNonFiniteOutput reports a head whose weights, finite as they are,
// overflow on real embeddings: its probabilities are NaN.
var ErrNonFiniteOutput = errors.New("head: the head's probabilities are not finite")

func (l *Dense) maxAbs() float64 {
	m := 0.0
	for _, v := range l.W.RawMatrix().Data {
		m = math.Max(m, math.Abs(v))
	}
	for _, v := range l.B {
		m = math.Max(m, math.Abs(v))
	}
	return m
}

// Softmax replaces the logits z by probabilities, in place: exp(z - max z)
// normalised, so that logits of ±1000 neither overflow nor vanish.
func Softmax(z []float64) { softmaxRow(z) }

// softmaxRow replaces logits by probabilities and returns log Σ exp(logits).
func softmaxRow(z []float64) float64 {
	m := math.Inf(-1)
	for _, v := range z {
		if v > m {
			m = v
		}
	}
	var sum float64
	for j, v := range z {
		e := math.Exp(v - m)
		z[j] = e
		sum += e
	}
	inv := 1 / sum
	for j := range z {
		z[j] *= inv
	}
	return m + math.Log(sum)
}

// argmax returns the index of the largest value, the first one on ties.
func argmax(v []float64) int {
	best := 0
	for j, x := range v {
		if x > v[best] {
			best = j
		}
	}
	return best
}

// Top returns the indices of the k largest of p, largest first; equal
// values keep their order. k is capped at len(p).
func Top(p []float64, k int) []int {
	order := make([]int, len(p))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return p[order[a]] > p[order[b]] })
	return order[:min(k, len(p))]
}

package head

import "github.com/transfer-go/transfer/head/internal/kernel"

// Both solvers keep the kernel transposed, C×D, while they train: a row's
// logits are then C dot products of D values, and its share of the kernel's
// gradient C scaled additions of the row, long unit-stride loops that
// package kernel runs at the machine's speed. A GEMM of a batch by a D×10
// kernel instead spends its time in calls of length 10.
//
// Adam's products run in float32, as Keras computes; the parameters, the
// logits' softmax, the loss and Adam's moments stay float64, since they
// are few and hold what the rounding of many small steps would lose.
// L-BFGS's products are float64 (see objective).

// logits writes the logits of the row x into z: z = x·Wᵀᵀ + b, with the
// transposed kernel wt in float32. z32 is scratch of C values.
func logits(z []float64, z32, x, wt []float32, b []float64) {
	kernel.Dots(z32, x, wt)
	addBias(z, z32, b)
}

// addBias sets z, rows of len(b) logits, to the float32 products plus the
// bias.
func addBias(z []float64, products []float32, b []float64) {
	for i, v := range products {
		z[i] = float64(v) + b[i%len(b)]
	}
}

// narrow writes src into dst in float32.
func narrow(dst []float32, src []float64) {
	for i, v := range src {
		dst[i] = float32(v)
	}
}

// transpose writes the r×c row-major src into dst as c×r.
func transpose(dst, src []float64, r, c int) {
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			dst[j*r+i] = src[i*c+j]
		}
	}
}

// kernel32 returns l's kernel transposed, C×D, in float32.
func (l *Dense) kernel32() []float32 {
	w := l.W.RawMatrix()
	wt := make([]float32, w.Rows*w.Cols)
	for i := 0; i < w.Rows; i++ {
		for j := 0; j < w.Cols; j++ {
			wt[j*w.Rows+i] = float32(w.Data[i*w.Stride+j])
		}
	}
	return wt
}

// Kernels names the products' implementation on this machine and build:
// "avx512" or "avx2" (amd64 assembly) or "go" (plain Go, also what the build
// tag purego forces).
func Kernels() string { return kernel.Name() }

package head

import (
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/floats"
)

// Both solvers keep the kernel transposed, C×D, while they train: a row's
// logits are then C dot products of D values, and its share of the kernel's
// gradient C scaled additions of the row, long unit-stride loops in gonum's
// assembly. A GEMM of a batch by a D×10 kernel instead spends its time in
// calls of length 10.

// logitsT writes the logits of the rows of x (all of them when rows is nil,
// else those listed, in that order) into z, C a row: z = x·Wᵀᵀ + b.
func logitsT(z []float64, x blas64.General, rows []int, wt, b []float64) {
	d, c := x.Cols, len(b)
	n := len(rows)
	if rows == nil {
		n = x.Rows
	}
	for k := 0; k < n; k++ {
		i := k
		if rows != nil {
			i = rows[k]
		}
		xi := x.Data[i*x.Stride : i*x.Stride+d]
		zr := z[k*c : (k+1)*c]
		for j := range zr {
			zr[j] = floats.Dot(xi, wt[j*d:(j+1)*d]) + b[j]
		}
	}
}

// gradT sets gwt (C×D) and gb to the gradients of the rows' logits dz
// (as logitsT lays them out): dWᵀ = dZᵀ·x, db = Σ dZ.
func gradT(gwt, gb, dz []float64, x blas64.General, rows []int) {
	d, c := x.Cols, len(gb)
	clear(gwt)
	clear(gb)
	n := len(rows)
	if rows == nil {
		n = x.Rows
	}
	for k := 0; k < n; k++ {
		i := k
		if rows != nil {
			i = rows[k]
		}
		xi := x.Data[i*x.Stride : i*x.Stride+d]
		for j, g := range dz[k*c : (k+1)*c] {
			floats.AddScaled(gwt[j*d:(j+1)*d], g, xi)
			gb[j] += g
		}
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

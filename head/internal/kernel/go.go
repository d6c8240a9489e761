package kernel

import "math"

// The plain Go kernels: the fallback everywhere, and the reference the
// assembly is tested against. They also finish what the assembly leaves:
// the classes beyond the last group of four and the values beyond the last
// block.

func dotsGo(z, x, w []float32) {
	d := len(x)
	for j := range z {
		z[j] = dot(x, w[j*d:(j+1)*d])
	}
}

// dot sums in four lanes, which is faster than one chain and keeps the
// fallback's error near the assembly's.
func dot(x, w []float32) float32 {
	w = w[:len(x)]
	var s0, s1, s2, s3 float32
	k := 0
	for ; k+4 <= len(x); k += 4 {
		s0 += x[k] * w[k]
		s1 += x[k+1] * w[k+1]
		s2 += x[k+2] * w[k+2]
		s3 += x[k+3] * w[k+3]
	}
	for ; k < len(x); k++ {
		s0 += x[k] * w[k]
	}
	return (s0 + s1) + (s2 + s3)
}

func outerGo(g, a []float32, lda int, rows [][]float32) {
	d := len(rows[0])
	clear(g)
	for r, x := range rows {
		for j := 0; j < len(g)/d; j++ {
			axpy(g[j*d:(j+1)*d], a[r*lda+j], x)
		}
	}
}

func axpy(dst []float32, s float32, x []float32) {
	x = x[:len(dst)]
	for k, v := range x {
		dst[k] += s * v
	}
}

// adamGo sums Σw² in eight lanes, reduced as the assembly reduces its
// vector, so that both return the same bits. The float64 conversions stop
// the compiler from fusing a multiply and an add (the spec allows it), which
// the assembly does not do either.
func adamGo(w []float64, w32, g []float32, m, v []float64, alpha, c1, c2, eps, l2x2 float64) float64 {
	var lane [8]float64
	n8 := len(w) &^ 7
	var tail float64
	for i, wi := range w {
		sq := float64(wi * wi)
		if i < n8 {
			lane[i&7] += sq
		} else {
			tail += sq
		}
		// Keras' expressions, in its order, so rounding follows it.
		gi := float64(g[i]) + float64(l2x2*wi)
		mi := m[i] + float64((gi-m[i])*c1)
		vi := v[i] + float64((float64(gi*gi)-v[i])*c2)
		m[i], v[i] = mi, vi
		wi -= mi * alpha / (math.Sqrt(vi) + eps)
		w[i], w32[i] = wi, float32(wi)
	}
	return reduce8(&lane) + tail
}

// reduce8 adds eight lanes in the order of the assembly's reduction: the
// upper half onto the lower, then again, then the last two.
func reduce8(l *[8]float64) float64 {
	a := [4]float64{l[0] + l[4], l[1] + l[5], l[2] + l[6], l[3] + l[7]}
	return (a[0] + a[2]) + (a[1] + a[3])
}

func dots64Go(z []float64, x []float32, w []float64) {
	d := len(x)
	for j := range z {
		z[j] = dot64(x, w[j*d:(j+1)*d])
	}
}

func dot64(x []float32, w []float64) float64 {
	w = w[:len(x)]
	var s0, s1, s2, s3 float64
	k := 0
	for ; k+4 <= len(x); k += 4 {
		s0 += float64(x[k]) * w[k]
		s1 += float64(x[k+1]) * w[k+1]
		s2 += float64(x[k+2]) * w[k+2]
		s3 += float64(x[k+3]) * w[k+3]
	}
	for ; k < len(x); k++ {
		s0 += float64(x[k]) * w[k]
	}
	return (s0 + s1) + (s2 + s3)
}

func addOuter64Go(g, a []float64, lda int, rows [][]float32) {
	d := len(rows[0])
	for r, x := range rows {
		for j := 0; j < len(g)/d; j++ {
			axpy64(g[j*d:(j+1)*d], a[r*lda+j], x)
		}
	}
}

func axpy64(dst []float64, s float64, x []float32) {
	x = x[:len(dst)]
	for k, v := range x {
		dst[k] += s * float64(v)
	}
}

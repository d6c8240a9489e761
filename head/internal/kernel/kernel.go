package kernel

import "fmt"

// Dots sets z[j] to the dot product of x with row j of w, for each j <
// len(z); w holds len(z) rows of len(x) values, one after the other.
func Dots(z, x, w []float32) {
	d := len(x)
	if len(w) < len(z)*d {
		panic(fmt.Sprintf("kernel: Dots: %d weights for %d rows of %d", len(w), len(z), d))
	}
	if !fast || d < block {
		dotsGo(z, x, w)
		return
	}
	dotsFast(z, x, w)
}

// Outer sets g, k rows of d values, to the sum over the rows r of the
// outer product of a's row r with rows[r]: g[j·d+i] = Σ_r a[r·lda+j]·rows[r][i]
// for j < k. Each of rows has d values; g is overwritten, not added to. With
// lda larger than k, a's rows hold more classes than g: a caller gives each
// goroutine its own classes of one gradient.
func Outer(g, a []float32, lda int, rows [][]float32) {
	if len(rows) == 0 {
		clear(g)
		return
	}
	d := checkOuter("Outer", len(g), len(a), lda, rows)
	if !fast || d < block || len(g) == 0 {
		outerGo(g, a, lda, rows)
		return
	}
	outerFast(g, a, lda, rows)
}

// AdamStep is one Adam update of the float64 master weights w from the
// float32 gradient g, as Keras writes it:
//
//	g' = g + l2x2·w
//	m  = m + (g' − m)·c1
//	v  = v + (g'² − v)·c2
//	w  = w − m·alpha/(√v + eps)
//
// w32 receives the updated weights in float32, for the next Dots and
// Outer. It returns Σw² of the weights before the update, the L2 term the
// step's loss adds.
func AdamStep(w []float64, w32, g []float32, m, v []float64, alpha, c1, c2, eps, l2x2 float64) (sumSq float64) {
	n := len(w)
	if len(w32) != n || len(g) != n || len(m) != n || len(v) != n {
		panic(fmt.Sprintf("kernel: AdamStep: lengths %d, %d, %d, %d, %d", n, len(w32), len(g), len(m), len(v)))
	}
	if !fast {
		return adamGo(w, w32, g, m, v, alpha, c1, c2, eps, l2x2)
	}
	return adamFast(w, w32, g, m, v, alpha, c1, c2, eps, l2x2)
}

// Fast reports whether the assembly kernels are in use.
func Fast() bool { return fast }

// SetFast turns the assembly kernels off (false) or back on where the
// machine has them, and returns the previous setting. It is for tests and
// benchmarks that compare the two; it must not race with a kernel call.
func SetFast(on bool) (was bool) {
	was = fast
	fast = on && available
	if fast {
		use(best())
	}
	return was
}

// fast is whether the kernels use assembly; available is whether they can.
var fast = available

// Dots64 is Dots against float64 weights, summed in float64: the rows stay
// float32 and the products lose nothing to them. L-BFGS needs it at tight
// tolerances, where its line search sees differences below float32's
// resolution.
func Dots64(z []float64, x []float32, w []float64) {
	d := len(x)
	if len(w) < len(z)*d {
		panic(fmt.Sprintf("kernel: Dots64: %d weights for %d rows of %d", len(w), len(z), d))
	}
	if !fast || d < block64 {
		dots64Go(z, x, w)
		return
	}
	dots64Fast(z, x, w)
}

// AddOuter64 is Outer in float64 that adds to g instead of overwriting it:
// g[j·d+i] += Σ_r a[r·lda+j]·rows[r][i].
func AddOuter64(g, a []float64, lda int, rows [][]float32) {
	if len(rows) == 0 {
		return
	}
	d := checkOuter("AddOuter64", len(g), len(a), lda, rows)
	if !fast || d < block64 || len(g) == 0 {
		addOuter64Go(g, a, lda, rows)
		return
	}
	addOuter64Fast(g, a, lda, rows)
}

// DotsRows is Dots for several rows and some classes: w holds k rows of
// d = len(rows[0]) values, and z[r·ldz+j] is set to the dot product of
// rows[r] with row j of w, for j < k. Rows are taken four at a time, which
// reads w once for four of them. With ldz larger than k, z's rows hold more
// classes than w: a caller gives each goroutine its own classes.
func DotsRows(z []float32, ldz int, rows [][]float32, w []float32) {
	if len(rows) == 0 {
		return
	}
	d := len(rows[0])
	k := len(w) / max(d, 1)
	if len(w) != k*d || k > ldz || len(z) < (len(rows)-1)*ldz+k {
		panic(fmt.Sprintf("kernel: DotsRows: %d logits with stride %d for %d rows, %d weights for rows of %d", len(z), ldz, len(rows), len(w), d))
	}
	for _, r := range rows {
		if len(r) != d {
			panic(fmt.Sprintf("kernel: DotsRows: rows of %d and %d values", d, len(r)))
		}
	}
	if !fast || d < block || k == 0 {
		for r, x := range rows {
			dotsGo(z[r*ldz:r*ldz+k], x, w)
		}
		return
	}
	dotsRowsFast(z, ldz, rows, w)
}

// checkOuter panics unless g (n values), a (na values, rows of lda) and rows
// fit one another, and returns the rows' length.
func checkOuter(name string, n, na, lda int, rows [][]float32) int {
	d := len(rows[0])
	k := n / max(d, 1)
	if n != k*d || k > lda || na < (len(rows)-1)*lda+k {
		panic(fmt.Sprintf("kernel: %s: g of %d for rows of %d, a of %d with stride %d for %d rows", name, n, d, na, lda, len(rows)))
	}
	for _, r := range rows {
		if len(r) != d {
			panic(fmt.Sprintf("kernel: %s: rows of %d and %d values", name, d, len(r)))
		}
	}
	return d
}

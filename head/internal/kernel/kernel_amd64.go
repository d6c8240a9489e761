//go:build !purego

package kernel

import "golang.org/x/sys/cpu"

// The assembly comes in two sets with the same contracts: AVX-512 (F and
// DQ; cpu reports them only where the operating system saves the ZMM
// registers too) and AVX2 with FMA. asm is the set in use.
var (
	hasAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ
	hasAVX2   = cpu.X86.HasAVX2 && cpu.X86.HasFMA

	available = hasAVX512 || hasAVX2

	avx512 = set{"avx512", dots4, dots1, outer4, outer2, outer1, adam8, dots4r4, dots2r4, dots1r4, dots4x64, dots1x64, outer4x64, outer1x64}
	avx2   = set{"avx2", dots4AVX2, dots1AVX2, outer4AVX2, nil, outer1AVX2, adam8AVX2, dots4r4AVX2, nil, dots1r4AVX2, dots4x64AVX2, dots1x64AVX2, outer4x64AVX2, outer1x64AVX2}
	asm    = best()
)

// set is one set of assembly kernels.
type set struct {
	name      string
	dots4     func(z, x, w *float32, ld, n int)
	dots1     func(x, w *float32, n int) float32
	outer4    func(gp *float32, ld int, a *float32, c int, rows *[]float32, nrows, n int)
	outer2    func(gp *float32, ld int, a *float32, c int, rows *[]float32, nrows, n int) // nil: two outer1
	outer1    func(gp, a *float32, c int, rows *[]float32, nrows, n int)
	adam8     func(w *float64, w32, gp *float32, m, v *float64, n int, alpha, c1, c2, eps, l2x2 float64) float64
	dots4r4   func(z *float32, c int, rows *[]float32, w *float32, ld, n int)
	dots2r4   func(z *float32, c int, rows *[]float32, w *float32, ld, n int) // nil: two dots1r4
	dots1r4   func(z *float32, c int, rows *[]float32, w *float32, n int)
	dots4x64  func(z *float64, x *float32, w *float64, ld, n int)
	dots1x64  func(x *float32, w *float64, n int) float64
	outer4x64 func(gp *float64, ld int, a *float64, c int, rows *[]float32, nrows, n int)
	outer1x64 func(gp, a *float64, c int, rows *[]float32, nrows, n int)
}

func best() set {
	if hasAVX512 {
		return avx512
	}
	return avx2
}

// sets lists the sets this machine runs, best first.
func sets() []set {
	var s []set
	if hasAVX512 {
		s = append(s, avx512)
	}
	if hasAVX2 {
		s = append(s, avx2)
	}
	return s
}

// use makes s the set in use and turns the assembly on.
func use(s set) { asm, fast = s, true }

// Name returns the kernels in use: "avx512", "avx2" or "go".
func Name() string {
	if !fast {
		return "go"
	}
	return asm.name
}

// block is how many values the assembly takes at once.
const block = 32

//go:noescape
func dots4(z, x, w *float32, ld, n int)

//go:noescape
func dots1(x, w *float32, n int) float32

//go:noescape
func outer4(gp *float32, ld int, a *float32, c int, rows *[]float32, nrows, n int)

//go:noescape
func outer2(gp *float32, ld int, a *float32, c int, rows *[]float32, nrows, n int)

//go:noescape
func outer1(gp, a *float32, c int, rows *[]float32, nrows, n int)

//go:noescape
func adam8(w *float64, w32, gp *float32, m, v *float64, n int, alpha, c1, c2, eps, l2x2 float64) float64

//go:noescape
func dots4AVX2(z, x, w *float32, ld, n int)

//go:noescape
func dots1AVX2(x, w *float32, n int) float32

//go:noescape
func outer4AVX2(gp *float32, ld int, a *float32, c int, rows *[]float32, nrows, n int)

//go:noescape
func outer1AVX2(gp, a *float32, c int, rows *[]float32, nrows, n int)

//go:noescape
func adam8AVX2(w *float64, w32, gp *float32, m, v *float64, n int, alpha, c1, c2, eps, l2x2 float64) float64

//go:noescape
func dots4r4AVX2(z *float32, c int, rows *[]float32, w *float32, ld, n int)

//go:noescape
func dots1r4AVX2(z *float32, c int, rows *[]float32, w *float32, n int)

//go:noescape
func dots4x64AVX2(z *float64, x *float32, w *float64, ld, n int)

//go:noescape
func dots1x64AVX2(x *float32, w *float64, n int) float64

//go:noescape
func outer4x64AVX2(gp *float64, ld int, a *float64, c int, rows *[]float32, nrows, n int)

//go:noescape
func outer1x64AVX2(gp, a *float64, c int, rows *[]float32, nrows, n int)

func dotsFast(z, x, w []float32) {
	d := len(x)
	n := d &^ (block - 1)
	c := len(z)
	j := 0
	for ; j+4 <= c; j += 4 {
		asm.dots4(&z[j], &x[0], &w[j*d], d, n)
	}
	for ; j < c; j++ {
		z[j] = asm.dots1(&x[0], &w[j*d], n)
	}
	if n < d {
		for j := range z {
			z[j] += dot(x[n:], w[j*d+n:(j+1)*d])
		}
	}
}

func outerFast(g, a []float32, lda int, rows [][]float32) {
	d := len(rows[0])
	c := len(g) / d
	n := d &^ (block - 1)
	j := 0
	for ; j+4 <= c; j += 4 {
		asm.outer4(&g[j*d], d, &a[j], lda, &rows[0], len(rows), n)
	}
	if j+2 <= c && asm.outer2 != nil && n%64 == 0 {
		asm.outer2(&g[j*d], d, &a[j], lda, &rows[0], len(rows), n)
		j += 2
	}
	for ; j < c; j++ {
		asm.outer1(&g[j*d], &a[j], lda, &rows[0], len(rows), n)
	}
	if n < d {
		for j := 0; j < c; j++ {
			gj := g[j*d+n : (j+1)*d]
			clear(gj)
			for r, x := range rows {
				axpy(gj, a[r*lda+j], x[n:])
			}
		}
	}
}

func adamFast(w []float64, w32, g []float32, m, v []float64, alpha, c1, c2, eps, l2x2 float64) float64 {
	n8 := len(w) &^ 7
	var sum float64
	if n8 > 0 {
		sum = asm.adam8(&w[0], &w32[0], &g[0], &m[0], &v[0], n8, alpha, c1, c2, eps, l2x2)
	}
	if n8 == len(w) {
		return sum
	}
	// Fewer than 8 values leave adamGo's lanes empty: it returns their
	// plain sum, the tail adamGo would add over the whole.
	return sum + adamGo(w[n8:], w32[n8:], g[n8:], m[n8:], v[n8:], alpha, c1, c2, eps, l2x2)
}

// block64 is how many values the mixed assembly takes at once.
const block64 = 16

//go:noescape
func dots4x64(z *float64, x *float32, w *float64, ld, n int)

//go:noescape
func dots1x64(x *float32, w *float64, n int) float64

//go:noescape
func outer4x64(gp *float64, ld int, a *float64, c int, rows *[]float32, nrows, n int)

//go:noescape
func outer1x64(gp, a *float64, c int, rows *[]float32, nrows, n int)

func dots64Fast(z []float64, x []float32, w []float64) {
	d := len(x)
	n := d &^ (block64 - 1)
	c := len(z)
	j := 0
	for ; j+4 <= c; j += 4 {
		asm.dots4x64(&z[j], &x[0], &w[j*d], d, n)
	}
	for ; j < c; j++ {
		z[j] = asm.dots1x64(&x[0], &w[j*d], n)
	}
	if n < d {
		for j := range z {
			z[j] += dot64(x[n:], w[j*d+n:(j+1)*d])
		}
	}
}

func addOuter64Fast(g, a []float64, lda int, rows [][]float32) {
	d := len(rows[0])
	c := len(g) / d
	n := d &^ (block64 - 1)
	j := 0
	for ; j+4 <= c; j += 4 {
		asm.outer4x64(&g[j*d], d, &a[j], lda, &rows[0], len(rows), n)
	}
	for ; j < c; j++ {
		asm.outer1x64(&g[j*d], &a[j], lda, &rows[0], len(rows), n)
	}
	if n < d {
		for j := 0; j < c; j++ {
			gj := g[j*d+n : (j+1)*d]
			for r, x := range rows {
				axpy64(gj, a[r*lda+j], x[n:])
			}
		}
	}
}

//go:noescape
func dots4r4(z *float32, c int, rows *[]float32, w *float32, ld, n int)

//go:noescape
func dots2r4(z *float32, c int, rows *[]float32, w *float32, ld, n int)

//go:noescape
func dots1r4(z *float32, c int, rows *[]float32, w *float32, n int)

func dotsRowsFast(z []float32, ldz int, rows [][]float32, w []float32) {
	d := len(rows[0])
	c := len(w) / d
	n := d &^ (block - 1)
	r := 0
	for ; r+4 <= len(rows); r += 4 {
		zr := z[r*ldz:]
		j := 0
		for ; j+4 <= c; j += 4 {
			asm.dots4r4(&zr[j], ldz, &rows[r], &w[j*d], d, n)
		}
		if j+2 <= c && asm.dots2r4 != nil {
			asm.dots2r4(&zr[j], ldz, &rows[r], &w[j*d], d, n)
			j += 2
		}
		for ; j < c; j++ {
			asm.dots1r4(&zr[j], ldz, &rows[r], &w[j*d], n)
		}
		if n < d {
			for k := 0; k < 4; k++ {
				x := rows[r+k]
				for j := 0; j < c; j++ {
					zr[k*ldz+j] += dot(x[n:], w[j*d+n:(j+1)*d])
				}
			}
		}
	}
	for ; r < len(rows); r++ {
		dotsFast(z[r*ldz:r*ldz+c], rows[r], w)
	}
}

package kernel

import (
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
)

// both runs f with each set of assembly kernels the machine runs (AVX-512
// and AVX2 on an AVX-512 machine) and with the Go ones, so that every build
// tests what it can run.
func both(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	was := SetFast(true)
	defer SetFast(was)
	if len(sets()) == 0 {
		t.Logf("no assembly kernels on this machine or build; testing the Go ones only")
	}
	for _, s := range sets() {
		use(s)
		t.Run(s.name, f)
	}
	SetFast(false)
	t.Run("go", f)
}

func randomF32(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

// The shapes cover a kernel's blocks and what is left of them: classes
// beyond a group of four, values beyond a block of 32.
var shapes = []struct{ c, d, rows int }{
	{1, 1, 1}, {2, 31, 3}, {3, 32, 1}, {4, 64, 2}, {5, 65, 7}, {10, 1280, 32}, {10, 1000, 5}, {16, 96, 33}, {7, 2048, 1},
}

func TestDots(t *testing.T) {
	both(t, func(t *testing.T) {
		for _, s := range shapes {
			rng := rand.New(rand.NewPCG(uint64(s.c), uint64(s.d)))
			x, w := randomF32(rng, s.d), randomF32(rng, s.c*s.d)
			z := make([]float32, s.c)
			Dots(z, x, w)
			for j := range z {
				var want, mag float64
				for k := 0; k < s.d; k++ {
					p := float64(x[k]) * float64(w[j*s.d+k])
					want += p
					mag += math.Abs(p)
				}
				// float32 sums of d products: a few units of rounding
				// of the sum of magnitudes.
				if tol := 4 * float64(s.d) * 6e-8 * mag / math.Sqrt(float64(s.d)); math.Abs(float64(z[j])-want) > tol+1e-6 {
					t.Errorf("c=%d d=%d: z[%d] = %v, want %v (tolerance %.2g)", s.c, s.d, j, z[j], want, tol)
				}
			}
		}
	})
}

func TestDotsRows(t *testing.T) {
	both(t, func(t *testing.T) {
		for _, s := range shapes {
			rng := rand.New(rand.NewPCG(uint64(s.c), uint64(s.rows)))
			rows := make([][]float32, s.rows)
			for r := range rows {
				rows[r] = randomF32(rng, s.d)
			}
			w := randomF32(rng, s.c*s.d)
			z := make([]float32, s.rows*s.c)
			DotsRows(z, s.c, rows, w)
			// Rows from a multiple of four on, and any range of classes,
			// are what the whole gives for them, bit for bit, which lets
			// goroutines split a batch.
			if s.rows > 4 {
				part := make([]float32, (s.rows-4)*s.c)
				DotsRows(part, s.c, rows[4:], w)
				if !slices.Equal(part, z[4*s.c:]) {
					t.Errorf("c=%d d=%d rows=%d: rows 4… alone differ from the whole", s.c, s.d, s.rows)
				}
			}
			if s.c > 1 {
				part := make([]float32, len(z))
				DotsRows(part[1:], s.c, rows, w[s.d:])
				for r := range rows {
					if !slices.Equal(part[r*s.c+1:(r+1)*s.c], z[r*s.c+1:(r+1)*s.c]) {
						t.Errorf("c=%d d=%d rows=%d: classes 1… alone differ from the whole in row %d", s.c, s.d, s.rows, r)
					}
				}
			}
			one := make([]float32, s.c)
			for r, x := range rows {
				Dots(one, x, w)
				for j := range one {
					got := z[r*s.c+j]
					var mag float64
					for k := 0; k < s.d; k++ {
						mag += math.Abs(float64(x[k]) * float64(w[j*s.d+k]))
					}
					// Two float32 sums of the same products, in different
					// orders.
					if math.Abs(float64(got-one[j])) > 8*6e-8*mag+1e-6 {
						t.Errorf("c=%d d=%d rows=%d: row %d class %d: %v, one row at a time %v", s.c, s.d, s.rows, r, j, got, one[j])
					}
				}
			}
		}
	})
}

func TestOuter(t *testing.T) {
	both(t, func(t *testing.T) {
		for _, s := range shapes {
			rng := rand.New(rand.NewPCG(uint64(s.rows), uint64(s.d)))
			rows := make([][]float32, s.rows)
			for r := range rows {
				rows[r] = randomF32(rng, s.d)
			}
			a := randomF32(rng, s.rows*s.c)
			g := randomF32(rng, s.c*s.d) // overwritten, not added to
			Outer(g, a, s.c, rows)
			// Any range of classes is what the whole gives for them, bit
			// for bit: goroutines that split the classes change nothing.
			if s.c > 1 {
				part := make([]float32, (s.c-1)*s.d)
				Outer(part, a[1:], s.c, rows)
				if !slices.Equal(part, g[s.d:]) {
					t.Errorf("c=%d d=%d rows=%d: classes 1… alone differ from the whole", s.c, s.d, s.rows)
				}
			}
			for j := 0; j < s.c; j++ {
				for k := 0; k < s.d; k++ {
					var want, mag float64
					for r := range rows {
						p := float64(a[r*s.c+j]) * float64(rows[r][k])
						want += p
						mag += math.Abs(p)
					}
					if tol := 4 * float64(s.rows) * 6e-8 * mag; math.Abs(float64(g[j*s.d+k])-want) > tol+1e-6 {
						t.Fatalf("c=%d d=%d rows=%d: g[%d][%d] = %v, want %v", s.c, s.d, s.rows, j, k, g[j*s.d+k], want)
					}
				}
			}
		}
	})
}

func randomF64(rng *rand.Rand, n int) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	return x
}

// The mixed kernels sum in float64: what is left against a plain float64
// sum is the order of the additions, ~1e-16 of the sum of magnitudes.
func TestDots64(t *testing.T) {
	both(t, func(t *testing.T) {
		for _, s := range shapes {
			rng := rand.New(rand.NewPCG(uint64(s.c), uint64(s.d)))
			x, w := randomF32(rng, s.d), randomF64(rng, s.c*s.d)
			z := randomF64(rng, s.c) // overwritten
			Dots64(z, x, w)
			for j := range z {
				var want, mag float64
				for k := 0; k < s.d; k++ {
					p := float64(x[k]) * w[j*s.d+k]
					want += p
					mag += math.Abs(p)
				}
				if math.Abs(z[j]-want) > 1e-14*mag {
					t.Errorf("c=%d d=%d: z[%d] = %v, want %v", s.c, s.d, j, z[j], want)
				}
			}
		}
	})
}

func TestAddOuter64(t *testing.T) {
	both(t, func(t *testing.T) {
		for _, s := range shapes {
			rng := rand.New(rand.NewPCG(uint64(s.rows), uint64(s.d)))
			rows := make([][]float32, s.rows)
			for r := range rows {
				rows[r] = randomF32(rng, s.d)
			}
			a := randomF64(rng, s.rows*s.c)
			g0 := randomF64(rng, s.c*s.d)
			g := append([]float64(nil), g0...) // added to
			AddOuter64(g, a, s.c, rows)
			if s.c > 1 {
				part := append([]float64(nil), g0[s.d:]...)
				AddOuter64(part, a[1:], s.c, rows)
				if !slices.Equal(part, g[s.d:]) {
					t.Errorf("c=%d d=%d rows=%d: classes 1… alone differ from the whole", s.c, s.d, s.rows)
				}
			}
			for j := 0; j < s.c; j++ {
				for k := 0; k < s.d; k++ {
					want, mag := g0[j*s.d+k], math.Abs(g0[j*s.d+k])
					for r := range rows {
						p := a[r*s.c+j] * float64(rows[r][k])
						want += p
						mag += math.Abs(p)
					}
					if math.Abs(g[j*s.d+k]-want) > 1e-14*mag {
						t.Fatalf("c=%d d=%d rows=%d: g[%d][%d] = %v, want %v", s.c, s.d, s.rows, j, k, g[j*s.d+k], want)
					}
				}
			}
		}
	})
}

// TestAdamStepBitwise holds the assembly to the Go update bit for bit: it
// uses no fused operation, and Σw² is reduced in the same order.
func TestAdamStepBitwise(t *testing.T) {
	was := SetFast(true)
	defer SetFast(was)
	if len(sets()) == 0 {
		t.Skip("no assembly kernels on this machine or build")
	}
	for _, s := range sets() {
		t.Run(s.name, func(t *testing.T) { adamBitwise(t, s) })
	}
}

func adamBitwise(t *testing.T, s set) {
	for _, n := range []int{1, 7, 8, 9, 12810, 20490} {
		rng := rand.New(rand.NewPCG(uint64(n), 9))
		w := make([]float64, n)
		m := make([]float64, n)
		v := make([]float64, n)
		for i := range w {
			w[i], m[i], v[i] = rng.NormFloat64(), rng.NormFloat64()*0.01, rng.Float64()*0.01
		}
		g := randomF32(rng, n)
		type state struct {
			w, m, v []float64
			w32     []float32
			sum     float64
		}
		run := func(fast bool) state {
			SetFast(fast)
			if fast {
				use(s)
			}
			s := state{w: append([]float64(nil), w...), m: append([]float64(nil), m...), v: append([]float64(nil), v...), w32: make([]float32, n)}
			for step := 0; step < 3; step++ {
				s.sum = AdamStep(s.w, s.w32, g, s.m, s.v, 0.001, 0.1, 0.001, 1e-7, 2e-4)
			}
			return s
		}
		a, b := run(true), run(false)
		if a.sum != b.sum {
			t.Errorf("n=%d: Σw² %v (asm) and %v (Go)", n, a.sum, b.sum)
		}
		for i := range w {
			if a.w[i] != b.w[i] || a.m[i] != b.m[i] || a.v[i] != b.v[i] || a.w32[i] != b.w32[i] {
				t.Fatalf("n=%d: value %d differs: w %v/%v m %v/%v v %v/%v", n, i, a.w[i], b.w[i], a.m[i], b.m[i], a.v[i], b.v[i])
			}
		}
	}
}

// TestAdamStepValues pins one update against the formula, written out.
func TestAdamStepValues(t *testing.T) {
	both(t, func(t *testing.T) {
		n := 11
		w, m, v := make([]float64, n), make([]float64, n), make([]float64, n)
		g := make([]float32, n)
		for i := range w {
			w[i], m[i], v[i], g[i] = float64(i)-5, 0.1*float64(i), 0.01*float64(i+1), float32(i%3)-1
		}
		w0, m0, v0 := append([]float64(nil), w...), append([]float64(nil), m...), append([]float64(nil), v...)
		w32 := make([]float32, n)
		sum := AdamStep(w, w32, g, m, v, 0.01, 0.1, 0.001, 1e-7, 0.5)
		var wantSum float64
		for i := range w0 {
			wantSum += w0[i] * w0[i]
			gi := float64(g[i]) + 0.5*w0[i]
			mi := m0[i] + (gi-m0[i])*0.1
			vi := v0[i] + (gi*gi-v0[i])*0.001
			wi := w0[i] - mi*0.01/(math.Sqrt(vi)+1e-7)
			if math.Abs(m[i]-mi) > 1e-15 || math.Abs(v[i]-vi) > 1e-15 || math.Abs(w[i]-wi) > 1e-13 || w32[i] != float32(w[i]) {
				t.Errorf("value %d: w %v m %v v %v w32 %v, want %v %v %v", i, w[i], m[i], v[i], w32[i], wi, mi, vi)
			}
		}
		if sum != wantSum { // integers squared sum exactly
			t.Errorf("Σw² = %v, want %v", sum, wantSum)
		}
	})
}

func TestShapesRefused(t *testing.T) {
	for name, f := range map[string]func(){
		"dots":  func() { Dots(make([]float32, 3), make([]float32, 4), make([]float32, 11)) },
		"outer": func() { Outer(make([]float32, 8), make([]float32, 2), 2, [][]float32{make([]float32, 5)}) },
		"adam": func() {
			AdamStep(make([]float64, 3), make([]float32, 3), make([]float32, 2), make([]float64, 3), make([]float64, 3), 1, 1, 1, 1, 0)
		},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: a mismatched shape did not panic", name)
				}
			}()
			f()
		}()
	}
}

// eachSet runs the benchmark f once with the assembly (the set in
// $KERNEL_SET, e.g. avx2, or the best) and once with the Go kernels, each
// under its name; flops is the work of one call, for GFLOP/s.
func eachSet(b *testing.B, flops float64, f func()) {
	for _, fast := range []bool{true, false} {
		was := SetFast(fast)
		if name := os.Getenv("KERNEL_SET"); fast && name != "" {
			for _, s := range sets() {
				if s.name == name {
					use(s)
				}
			}
		}
		b.Run(Name(), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				f()
			}
			if flops > 0 {
				b.ReportMetric(float64(b.N)*flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			}
		})
		SetFast(was)
	}
}

func benchRows(rng *rand.Rand, n int) [][]float32 {
	rows := make([][]float32, n)
	for r := range rows {
		rows[r] = randomF32(rng, 1280)
	}
	return rows
}

func BenchmarkDots(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	x, w, z := randomF32(rng, 1280), randomF32(rng, 10*1280), make([]float32, 10)
	eachSet(b, 2*1280*10, func() { Dots(z, x, w) })
}

func BenchmarkDotsRows(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	rows := benchRows(rng, 32)
	w, z := randomF32(rng, 10*1280), make([]float32, 32*10)
	eachSet(b, 2*32*1280*10, func() { DotsRows(z, 10, rows, w) })
}

func BenchmarkOuter(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	rows := benchRows(rng, 32)
	a, g := randomF32(rng, 32*10), make([]float32, 10*1280)
	eachSet(b, 2*32*1280*10, func() { Outer(g, a, 10, rows) })
}

func BenchmarkDots64(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	x, w, z := randomF32(rng, 1280), randomF64(rng, 10*1280), make([]float64, 10)
	eachSet(b, 2*1280*10, func() { Dots64(z, x, w) })
}

func BenchmarkAddOuter64(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	rows := benchRows(rng, 256)
	a, g := randomF64(rng, 256*10), make([]float64, 10*1280)
	eachSet(b, 2*256*1280*10, func() { AddOuter64(g, a, 10, rows) })
}

func BenchmarkAdamStep(b *testing.B) {
	n := 12800
	w, m, v := make([]float64, n), make([]float64, n), make([]float64, n)
	w32, g := make([]float32, n), randomF32(rand.New(rand.NewPCG(1, 2)), n)
	eachSet(b, 0, func() { AdamStep(w, w32, g, m, v, 0.001, 0.1, 0.001, 1e-7, 0) })
}

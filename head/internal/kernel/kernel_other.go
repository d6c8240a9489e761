//go:build !amd64 || purego

package kernel

const (
	available = false
	block     = 32
)

// set is one set of assembly kernels; there are none here.
type set struct{ name string }

func sets() []set { return nil }

func use(set) {}

func best() set { return set{name: "go"} }

// Name returns the kernels in use: "go" here.
func Name() string { return "go" }

func dotsFast(z, x, w []float32) { dotsGo(z, x, w) }

func outerFast(g, a []float32, lda int, rows [][]float32) { outerGo(g, a, lda, rows) }

func adamFast(w []float64, w32, g []float32, m, v []float64, alpha, c1, c2, eps, l2x2 float64) float64 {
	return adamGo(w, w32, g, m, v, alpha, c1, c2, eps, l2x2)
}

const block64 = 16

func dots64Fast(z []float64, x []float32, w []float64) { dots64Go(z, x, w) }

func addOuter64Fast(g, a []float64, lda int, rows [][]float32) { addOuter64Go(g, a, lda, rows) }

func dotsRowsFast(z []float32, ldz int, rows [][]float32, w []float32) {
	k := len(w) / len(rows[0])
	for r, x := range rows {
		dotsGo(z[r*ldz:r*ldz+k], x, w)
	}
}

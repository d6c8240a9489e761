package head

import "math"

// Adam is the Adam optimiser with Keras' update rule (see the package doc).
// Its zero value is not usable; use NewAdam.
type Adam struct {
	LearningRate, Beta1, Beta2, Epsilon float64

	t    int
	m, v [][]float64
}

// NewAdam returns an optimiser for parameter blocks of the given sizes.
func NewAdam(lr, beta1, beta2, eps float64, sizes ...int) *Adam {
	a := &Adam{LearningRate: lr, Beta1: beta1, Beta2: beta2, Epsilon: eps}
	for _, n := range sizes {
		a.m = append(a.m, make([]float64, n))
		a.v = append(a.v, make([]float64, n))
	}
	return a
}

// Step applies one update to params given grads; both are parallel lists of
// blocks with the sizes NewAdam was given. grads are not modified.
func (a *Adam) Step(params, grads [][]float64) {
	a.t++
	t := float64(a.t)
	alpha := a.LearningRate * math.Sqrt(1-math.Pow(a.Beta2, t)) / (1 - math.Pow(a.Beta1, t))
	eps := a.Epsilon
	c1, c2 := 1-a.Beta1, 1-a.Beta2
	for k, p := range params {
		g, m, v := grads[k], a.m[k], a.v[k]
		_ = g[len(p)-1]
		_ = m[len(p)-1]
		_ = v[len(p)-1]
		for i := range p {
			// Keras' exact expressions, so rounding follows it too.
			gi := g[i]
			mi := m[i] + (gi-m[i])*c1
			vi := v[i] + (gi*gi-v[i])*c2
			m[i], v[i] = mi, vi
			p[i] -= mi * alpha / (math.Sqrt(vi) + eps)
		}
	}
}

// Steps returns how many updates were applied.
func (a *Adam) Steps() int { return a.t }

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
	alpha := a.next()
	c1, c2 := 1-a.Beta1, 1-a.Beta2
	for k, p := range params {
		g, m, v := grads[k], a.m[k], a.v[k]
		_ = g[len(p)-1]
		_ = m[len(p)-1]
		_ = v[len(p)-1]
		adamScalar(p, g[:len(p)], m, v, alpha, c1, c2, a.Epsilon)
	}
}

// next counts a step and returns its bias-corrected rate,
// lr·√(1−β2^t)/(1−β1^t).
func (a *Adam) next() float64 {
	a.t++
	t := float64(a.t)
	return a.LearningRate * math.Sqrt(1-math.Pow(a.Beta2, t)) / (1 - math.Pow(a.Beta1, t))
}

// Steps returns how many updates were applied.
func (a *Adam) Steps() int { return a.t }

// adamScalar is Step's update of one block, for the few parameters (the
// bias) that the kernel's AdamStep does not take.
func adamScalar(p, g, m, v []float64, alpha, c1, c2, eps float64) {
	for i, gi := range g {
		mi := m[i] + (gi-m[i])*c1
		vi := v[i] + (gi*gi-v[i])*c2
		m[i], v[i] = mi, vi
		// Keras' exact expressions, so rounding follows it too.
		p[i] -= mi * alpha / (math.Sqrt(vi) + eps)
	}
}

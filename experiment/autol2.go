package experiment

import (
	"context"
	"errors"
	"math"
	"slices"

	"github.com/transfer-go/transfer/head"
)

// L2Trial is one L2 strength tried by AutoL2 and its validation score.
type L2Trial struct {
	L2    float64 `json:"l2"`
	Score float64 `json:"score"`
	Loss  float64 `json:"val_loss"`
}

// searchTol is the L-BFGS tolerance the search ranks strengths at, scikit-
// learn's default (LogisticRegression and LogisticRegressionCV, tol=1e-4):
// beyond it the validation score of a weak strength no longer moves, while
// its iterations run on to the limit. The kept head trains to Options.Tol.
const searchTol = 1e-4

// AutoL2 chooses the L2 strength by the protocol's validation score, as
// CLIP's linear probes do: every decade from 1e-6 to 1e2, then two
// refinements around the best (half and a quarter of a decade on either
// side, within that range). Ties go to the better loss, then the larger strength, the simpler
// head. It returns the chosen strength and every trial, weakest first.
func AutoL2(ctx context.Context, data head.Data, cfg Config, m Metric) (float64, []L2Trial, error) {
	if !cfg.Protocol.Validates() {
		return 0, nil, errors.New("choosing the L2 strength needs validation: a held-out split, a validation set or cross-validation")
	}
	cfg.Final, cfg.OnTrain = false, nil
	cfg.Options.OnEpoch = nil
	var trials []L2Trial
	tried := map[float64]L2Trial{}
	// L-BFGS starts each strength from the head of the nearest one tried
	// (the strongest first, where the optimum is near zero), as
	// scikit-learn's LogisticRegressionCV walks its C grid: the heads are
	// the same to the tolerance, reached in fewer iterations. A kept head
	// (train --l2 auto) trains again from zero, as --l2 with the chosen
	// strength would.
	heads := map[float64]*head.Dense{}
	nearest := func(l2 float64) *head.Dense {
		var best *head.Dense
		d := math.Inf(1)
		for s, h := range heads {
			if dd := math.Abs(math.Log(s / l2)); dd < d || (dd == d && s > l2) {
				best, d = h, dd
			}
		}
		return best
	}
	try := func(l2 float64) (L2Trial, error) {
		if t, ok := tried[l2]; ok {
			return t, nil
		}
		c := cfg
		c.Options.L2 = l2
		if c.Options.Solver == head.SolverLBFGS {
			c.Options.Init = nearest(l2)
			c.Options.Tol = max(c.Options.Tol, searchTol)
		}
		r, err := Run(ctx, data, c)
		if err != nil {
			return L2Trial{}, err
		}
		if r.Head != nil {
			heads[l2] = r.Head
		}
		s, _ := r.Score(m)
		loss, _ := r.Score(Loss)
		t := L2Trial{L2: l2, Score: s, Loss: loss}
		tried[l2] = t
		trials = append(trials, t)
		return t, nil
	}
	better := func(a, b L2Trial) bool {
		if a.Score != b.Score {
			return m.Better(a.Score, b.Score)
		}
		if m != Loss && a.Loss != b.Loss {
			return a.Loss < b.Loss
		}
		return a.L2 > b.L2
	}
	var best L2Trial
	for e := 2; e >= -6; e-- {
		t, err := try(math.Pow(10, float64(e)))
		if err != nil {
			return 0, trials, err
		}
		if e == 2 || better(t, best) {
			best = t
		}
	}
	for _, step := range []float64{0.5, 0.25} {
		centre := best.L2
		for _, l2 := range []float64{centre * math.Pow(10, step), centre / math.Pow(10, step)} {
			if l2 > 1e2*(1+1e-9) || l2 < 1e-6*(1-1e-9) {
				continue // the search stays within its range
			}
			t, err := try(l2)
			if err != nil {
				return 0, trials, err
			}
			if better(t, best) {
				best = t
			}
		}
	}
	slices.SortStableFunc(trials, func(a, b L2Trial) int {
		switch {
		case a.L2 < b.L2:
			return -1
		case a.L2 > b.L2:
			return 1
		}
		return 0
	})
	return best.L2, trials, nil
}

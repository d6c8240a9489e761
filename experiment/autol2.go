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
	try := func(l2 float64) (L2Trial, error) {
		if t, ok := tried[l2]; ok {
			return t, nil
		}
		c := cfg
		c.Options.L2 = l2
		r, err := Run(ctx, data, c)
		if err != nil {
			return L2Trial{}, err
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

package head

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Split holds the row indices of a training and a validation part.
type Split struct {
	Train, Val []int
}

// byClass groups row indices by label, each group in row order.
func byClass(y []int, classes int) [][]int {
	g := make([][]int, classes)
	for i, c := range y {
		g[c] = append(g[c], i)
	}
	return g
}

// StratifiedSplit puts round(frac·n_c) rows of each class c into validation,
// drawn at random from seed, and the rest into training, so both parts keep
// the class proportions. A class with at least two rows keeps at least one on
// each side. Indices come out in ascending order.
func StratifiedSplit(y []int, classes int, frac float64, seed uint64) (Split, error) {
	if !(frac > 0 && frac < 1) {
		return Split{}, fmt.Errorf("validation fraction %v is not between 0 and 1", frac)
	}
	rng := rand.New(rand.NewPCG(seed, 0x5711))
	var s Split
	inVal := make([]bool, len(y))
	for _, rows := range byClass(y, classes) {
		k := int(math.Round(frac * float64(len(rows))))
		if len(rows) >= 2 {
			k = min(max(k, 1), len(rows)-1)
		}
		perm := rng.Perm(len(rows))
		for _, p := range perm[:k] {
			inVal[rows[p]] = true
		}
	}
	for i := range y {
		if inVal[i] {
			s.Val = append(s.Val, i)
		} else {
			s.Train = append(s.Train, i)
		}
	}
	if len(s.Val) == 0 {
		return s, fmt.Errorf("validation fraction %v leaves no validation rows out of %d", frac, len(y))
	}
	return s, nil
}

// LastPerClass puts the last k rows of each class (in row order) into
// validation. On the tutorial's cats, sorted by file name with k=5, this is
// its 30/10 split: f16–f20 and m16–m20 validate.
func LastPerClass(y []int, classes, k int) (Split, error) {
	if k < 1 {
		return Split{}, fmt.Errorf("holding out the last %d rows of each class: need at least 1", k)
	}
	inVal := make([]bool, len(y))
	for c, rows := range byClass(y, classes) {
		if len(rows) == 0 {
			continue
		}
		if len(rows) <= k {
			return Split{}, fmt.Errorf("class %d has %d rows; holding out the last %d would leave none to train on", c, len(rows), k)
		}
		for _, i := range rows[len(rows)-k:] {
			inVal[i] = true
		}
	}
	var s Split
	for i := range y {
		if inVal[i] {
			s.Val = append(s.Val, i)
		} else {
			s.Train = append(s.Train, i)
		}
	}
	return s, nil
}

// StratifiedFolds splits the rows into k folds with the class proportions
// kept: each class's rows are shuffled (from seed) and dealt to the folds in
// turn, continuing where the previous class stopped, so fold sizes differ by
// at most one. Fold f validates on its rows and trains on all others.
func StratifiedFolds(y []int, classes, k int, seed uint64) ([]Split, error) {
	if k < 2 {
		return nil, fmt.Errorf("cross-validation needs at least 2 folds, got %d", k)
	}
	if len(y) < k {
		return nil, fmt.Errorf("%d-fold cross-validation needs at least %d rows, got %d", k, k, len(y))
	}
	rng := rand.New(rand.NewPCG(seed, 0xf01d))
	fold := make([]int, len(y))
	next := 0
	for _, rows := range byClass(y, classes) {
		for _, p := range rng.Perm(len(rows)) {
			fold[rows[p]] = next
			next = (next + 1) % k
		}
	}
	splits := make([]Split, k)
	for i, f := range fold {
		for j := range splits {
			if j == f {
				splits[j].Val = append(splits[j].Val, i)
			} else {
				splits[j].Train = append(splits[j].Train, i)
			}
		}
	}
	return splits, nil
}

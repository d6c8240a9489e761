package head

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
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
//
// With keys (one per row, e.g. content hashes; nil for none), rows of equal
// key share the fold of the first one dealt, so an image and its copies
// never sit on both sides of a fold.
func StratifiedFolds(y []int, classes, k int, seed uint64, keys ...string) ([]Split, error) {
	if k < 2 {
		return nil, fmt.Errorf("cross-validation needs at least 2 folds, got %d", k)
	}
	if len(y) < k {
		return nil, fmt.Errorf("%d-fold cross-validation needs at least %d rows, got %d", k, k, len(y))
	}
	if keys != nil && len(keys) != len(y) {
		return nil, fmt.Errorf("%d keys for %d rows", len(keys), len(y))
	}
	rng := rand.New(rand.NewPCG(seed, 0xf01d))
	fold := make([]int, len(y))
	dealt := map[string]int{}
	next := 0
	for _, rows := range byClass(y, classes) {
		for _, p := range rng.Perm(len(rows)) {
			i := rows[p]
			if keys != nil {
				if f, ok := dealt[keys[i]]; ok {
					fold[i] = f
					continue
				}
				dealt[keys[i]] = next
			}
			fold[i] = next
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
	for j, s := range splits {
		if len(s.Val) == 0 || len(s.Train) == 0 {
			return nil, fmt.Errorf("fold %d of %d is empty: too few distinct images for %d folds", j+1, k, k)
		}
	}
	return splits, nil
}

// ContentSplit assigns rows to validation by their keys (content hashes),
// so that a row's side depends on its content and seed, not on what else is
// in the set. Rows of one key go to one side. prior holds sides already
// given (key → true for validation), e.g. by an earlier run on fewer
// images; those keys keep them, and new keys fill each class towards
// round(frac·n) validation keys, in the order of a hash of seed and key.
// Without prior, each class gets exactly that many (a class of two or more
// keys keeps one on each side). It returns the split and every key's side.
func ContentSplit(y []int, keys []string, classes int, frac float64, seed uint64, prior map[string]bool) (Split, map[string]bool, error) {
	if !(frac > 0 && frac < 1) {
		return Split{}, nil, fmt.Errorf("validation fraction %v is not between 0 and 1", frac)
	}
	if len(keys) != len(y) {
		return Split{}, nil, fmt.Errorf("%d keys for %d rows", len(keys), len(y))
	}
	// Each key counts once, in the class of its first row.
	classOf := map[string]int{}
	perClass := make([][]string, classes)
	for i, k := range keys {
		if _, ok := classOf[k]; !ok {
			classOf[k] = y[i]
			perClass[y[i]] = append(perClass[y[i]], k)
		}
	}
	side := make(map[string]bool, len(classOf))
	for _, ks := range perClass {
		target := int(math.Round(frac * float64(len(ks))))
		if len(ks) >= 2 {
			target = min(max(target, 1), len(ks)-1)
		}
		var fresh []string
		have := 0
		for _, k := range ks {
			if v, ok := prior[k]; ok {
				side[k] = v
				if v {
					have++
				}
			} else {
				fresh = append(fresh, k)
			}
		}
		slices.SortFunc(fresh, func(a, b string) int { return cmp.Compare(rank(seed, a), rank(seed, b)) })
		need := min(max(target-have, 0), len(fresh))
		for i, k := range fresh {
			side[k] = i < need
		}
	}
	var s Split
	for i, k := range keys {
		if side[k] {
			s.Val = append(s.Val, i)
		} else {
			s.Train = append(s.Train, i)
		}
	}
	if len(s.Val) == 0 {
		return s, side, fmt.Errorf("validation fraction %v leaves no validation rows out of %d", frac, len(y))
	}
	return s, side, nil
}

// rank orders keys for ContentSplit: a hash of the seed and the key, the
// same on every machine and for every set the key is in.
func rank(seed uint64, key string) uint64 {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], seed)
	h := sha256.New()
	h.Write(b[:])
	h.Write([]byte(key))
	return binary.BigEndian.Uint64(h.Sum(nil))
}

// Duplicates groups the rows whose keys are equal, each group in row order,
// the groups in order of their first row. Rows without a key ("") are never
// duplicates.
func Duplicates(keys []string) [][]int {
	first := map[string]int{}
	var groups [][]int
	for i, k := range keys {
		if k == "" {
			continue
		}
		if g, ok := first[k]; ok {
			groups[g] = append(groups[g], i)
			continue
		}
		first[k] = len(groups)
		groups = append(groups, []int{i})
	}
	return slices.DeleteFunc(groups, func(g []int) bool { return len(g) < 2 })
}

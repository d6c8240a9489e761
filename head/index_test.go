package head

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// TestSharedRows: rows that name one embedding (one slice given twice to
// NewData) are stored once, and every solver, the standardisation, the
// augmented copies, subsets and the metrics give bit for bit what the same
// rows stored one by one give.
func TestSharedRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const distinct, rows, dim, classes = 7, 60, 5, 3
	base := make([][]float32, distinct)
	for i := range base {
		base[i] = make([]float32, dim)
		for j := range base[i] {
			base[i][j] = float32(rng.NormFloat64()) + float32(i%classes)
		}
	}
	emb, copies, y := make([][]float32, rows), make([][]float32, rows), make([]int, rows)
	for r := range emb {
		k := rng.IntN(distinct)
		emb[r], copies[r], y[r] = base[k], slices.Clone(base[k]), k%classes
	}
	shared, err := NewData(emb, y, classes)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := NewData(copies, y, classes)
	if err != nil {
		t.Fatal(err)
	}
	if shared.X.Rows != distinct || len(shared.Index) != rows || plain.Index != nil || plain.X.Rows != rows {
		t.Fatalf("shared: %d embeddings, index %d; plain: %d, index %d", shared.X.Rows, len(shared.Index), plain.X.Rows, len(plain.Index))
	}
	flip := func(d Data) Data { // an augmented copy of every embedding
		a := NewMatrix(d.X.Rows, dim, nil)
		for i := range a.Data {
			a.Data[i] = -d.X.Data[i]
		}
		d.Augmented = append(d.Augmented, a)
		return d
	}
	idx := rng.Perm(rows)[:40]
	for _, tc := range []struct {
		name string
		opts func(*Options)
		aug  bool
	}{
		{"adam", func(*Options) {}, false},
		{"adam standardized, weighted", func(o *Options) { o.Standardize, o.Balanced, o.L2 = true, true, 1e-3 }, false},
		{"adam augmented", func(*Options) {}, true},
		{"lbfgs", func(o *Options) { o.Solver, o.L2 = SolverLBFGS, 1e-2 }, false},
	} {
		opts := DefaultOptions()
		opts.Epochs, opts.BatchSize = 4, 8
		tc.opts(&opts)
		s, p := shared.Subset(idx), plain.Subset(idx)
		if s.X.Rows != distinct {
			t.Fatalf("%s: a subset of shared rows copied them (%d embeddings)", tc.name, s.X.Rows)
		}
		if tc.aug {
			s, p = flip(shared).Subset(idx), flip(plain).Subset(idx)
		}
		ls, hs, err := Train(context.Background(), s, nil, opts)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		lp, hp, err := Train(context.Background(), p, nil, opts)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !mat.Equal(ls.W, lp.W) || !slices.Equal(ls.B, lp.B) || hs.Epochs[len(hs.Epochs)-1] != hp.Epochs[len(hp.Epochs)-1] {
			t.Errorf("%s: the shared rows trained another head", tc.name)
		}
		if ms, mp := Evaluate(ls, shared), Evaluate(lp, plain); ms.Loss != mp.Loss || ms.Accuracy != mp.Accuracy || !slices.Equal(ms.Predicted, mp.Predicted) {
			t.Errorf("%s: metrics %v against %v", tc.name, ms.Loss, mp.Loss)
		}
	}
	bad := shared
	bad.Index = slices.Clone(shared.Index)
	bad.Index[3] = distinct
	if bad.Validate() == nil {
		t.Error("an index past the embeddings validated")
	}
}

package experiment_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/transfer-go/transfer/experiment"
	"github.com/transfer-go/transfer/head"
)

// blobs returns n rows of d features in c noisy, overlapping classes, keyed.
func blobs(seed uint64, n, d, c int) head.Data {
	rng := rand.New(rand.NewPCG(seed, 9))
	x := head.NewMatrix(n, d, nil)
	y := make([]int, n)
	keys := make([]string, n)
	for i := range y {
		y[i] = i % c
		keys[i] = fmt.Sprintf("img%04d", i)
		for j := 0; j < d; j++ {
			x.Data[i*d+j] = float32(rng.NormFloat64()*1.5 + float64((y[i]+j)%c))
		}
	}
	return head.Data{X: x, Y: y, Classes: c, Keys: keys}
}

func TestSweepDoesNotDependOnWorkers(t *testing.T) {
	data := blobs(1, 90, 6, 3)
	grid := experiment.Grid{{Name: "lr", Values: []string{"0.001", "0.01"}}, {Name: "l2", Values: []string{"0", "0.01"}}, {Name: "solver", Values: []string{"adam", "lbfgs"}}}
	cfg := experiment.SweepConfig{Grid: grid, Points: grid.Points(0, 0), Protocol: experiment.Protocol{Kind: experiment.CrossValidation, Folds: 3},
		Base: head.DefaultOptions(), Metric: experiment.Accuracy}
	var runs [][]experiment.Trial
	for _, w := range []int{1, 2} {
		cfg.Workers = w
		trials, err := experiment.Sweep(context.Background(), data, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if len(trials) != 8 {
			t.Fatalf("%d trials", len(trials))
		}
		runs = append(runs, trials)
	}
	for i := range runs[0] {
		a, b := runs[0][i], runs[1][i]
		if a.Score != b.Score || a.SD != b.SD || a.Options.Seed != b.Options.Seed || a.Result.CV.MeanTrainAccuracy != b.Result.CV.MeanTrainAccuracy {
			t.Errorf("point %v: 1 worker %v±%v, 2 workers %v±%v", a.Point, a.Score, a.SD, b.Score, b.SD)
		}
	}
	// Seeds differ between configurations but the folds are shared.
	if runs[0][0].Options.Seed == runs[0][1].Options.Seed {
		t.Error("two configurations got one seed")
	}
	f0, f1 := runs[0][0].Result.CV.Folds, runs[0][1].Result.CV.Folds
	for k := range f0 {
		if f0[k].ValRows != f1[k].ValRows {
			t.Error("configurations were scored on different folds")
		}
	}
	ranked := append([]experiment.Trial(nil), runs[0]...)
	experiment.Rank(ranked, experiment.Accuracy)
	for i := 1; i < len(ranked); i++ {
		if ranked[i].Score > ranked[i-1].Score {
			t.Fatalf("rank %d scores %v above rank %d's %v", i+1, ranked[i].Score, i, ranked[i-1].Score)
		}
	}
}

// TestSweepReplaysAsTrain: a configuration's result is what one Run with
// its options and the sweep's split seed gives, to the bit, also where the
// sweep trained configurations that differ in epochs alone together.
func TestSweepReplaysAsTrain(t *testing.T) {
	data := blobs(2, 60, 5, 2)
	grid := experiment.Grid{{Name: "epochs", Values: []string{"5", "15", "10"}}, {Name: "l2", Values: []string{"0", "0.01"}}}
	split := uint64(7)
	base := head.DefaultOptions()
	base.Seed = 7
	p := experiment.Protocol{Kind: experiment.CrossValidation, Folds: 4}
	trials, err := experiment.Sweep(context.Background(), data, experiment.SweepConfig{Grid: grid, Points: grid.Points(0, 0), Protocol: p, Base: base, Metric: experiment.Loss, SplitSeed: &split})
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range trials {
		r, err := experiment.Run(context.Background(), data, experiment.Config{Protocol: p, Options: tr.Options, SplitSeed: &split})
		if err != nil {
			t.Fatal(err)
		}
		if s, _ := r.Score(experiment.Loss); s != tr.Score || !reflect.DeepEqual(r.CV, tr.Result.CV) || !reflect.DeepEqual(r.Verdict, tr.Result.Verdict) {
			t.Errorf("%v: sweep %v, replay %v", tr.Point, tr.Score, s)
		}
	}
	// Epochs alone do not change the seed: 5 epochs are the first 5 of 15.
	if trials[0].Options.Seed != trials[2].Options.Seed || trials[0].Options.Seed == trials[1].Options.Seed {
		t.Errorf("seeds %d, %d, %d for epochs 5 and 15 at l2 0 and epochs 5 at l2 0.01", trials[0].Options.Seed, trials[2].Options.Seed, trials[1].Options.Seed)
	}
	if h5, h15 := trials[0].Result.CV.Folds[0].History.Epochs, trials[2].Result.CV.Folds[0].History.Epochs; !reflect.DeepEqual(h5, h15[:5]) {
		t.Errorf("5 epochs' history is not the start of 15's")
	}
}

func TestGridPoints(t *testing.T) {
	g := experiment.Grid{{Name: "lr", Values: []string{"a", "b", "c"}}, {Name: "l2", Values: []string{"x", "y"}}}
	all := g.Points(0, 1)
	if len(all) != 6 || fmt.Sprint(all[0]) != "[a x]" || fmt.Sprint(all[5]) != "[c y]" {
		t.Fatalf("points %v", all)
	}
	some := g.Points(4, 3)
	if len(some) != 4 || fmt.Sprint(some) != fmt.Sprint(g.Points(4, 3)) {
		t.Fatalf("sample %v", some)
	}
	seen := map[string]bool{}
	for _, p := range some {
		seen[fmt.Sprint(p)] = true
	}
	if len(seen) != 4 {
		t.Errorf("sample repeats a point: %v", some)
	}
	var o head.Options
	for _, bad := range [][2]string{{"lr", "-1"}, {"epochs", "0"}, {"class-weight", "cat=2"}, {"solver", "sgd"}, {"momentum", "0.9"}, {"l2", "NaN"}} {
		if err := experiment.Set(&o, bad[0], bad[1]); err == nil {
			t.Errorf("Set(%s, %s) accepted", bad[0], bad[1])
		}
	}
}

func TestAutoL2(t *testing.T) {
	// Few rows, many noisy features: without L2 the probe overfits, so
	// validation should choose a clearly positive strength.
	data := blobs(3, 80, 40, 2)
	o := head.DefaultOptions()
	o.Solver = head.SolverLBFGS
	cfg := experiment.Config{Protocol: experiment.Protocol{Kind: experiment.CrossValidation, Folds: 4}, Options: o}
	l2, trials, err := experiment.AutoL2(context.Background(), data, cfg, experiment.Accuracy)
	if err != nil {
		t.Fatal(err)
	}
	if len(trials) < 9 || len(trials) > 13 {
		t.Errorf("%d trials", len(trials))
	}
	var best experiment.L2Trial
	for _, tr := range trials {
		if tr.L2 == l2 {
			best = tr
		}
	}
	for _, tr := range trials {
		if tr.Score > best.Score {
			t.Errorf("chose l2 %g scoring %v, but %g scored %v", l2, best.Score, tr.L2, tr.Score)
		}
	}
	if !(l2 > 1e-6 && l2 < 100) || math.IsNaN(best.Score) {
		t.Errorf("chose l2 %g (score %v)", l2, best.Score)
	}
	if _, _, err := experiment.AutoL2(context.Background(), data, experiment.Config{Options: o}, experiment.Accuracy); err == nil {
		t.Error("AutoL2 without validation was accepted")
	}
}

func TestRunWithholdsDuplicatedValidation(t *testing.T) {
	data := blobs(4, 20, 3, 2)
	// The last row of each class repeats the first one's content.
	data.Keys[18], data.Keys[19] = data.Keys[0], data.Keys[1]
	r, err := experiment.Run(context.Background(), data, experiment.Config{Protocol: experiment.Protocol{Kind: experiment.LastPerClass, Last: 2}, Options: head.DefaultOptions()})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(r.Withheld) != "[18 19]" || r.ValRows != 2 || r.TrainRows != 18 {
		t.Errorf("withheld %v, %d validation and %d training rows", r.Withheld, r.ValRows, r.TrainRows)
	}
	val := blobs(5, 6, 3, 2)
	for i := range val.Keys {
		val.Keys[i] = "val" + val.Keys[i]
	}
	val.Keys[2] = data.Keys[5]
	r, err = experiment.Run(context.Background(), data, experiment.Config{Protocol: experiment.Protocol{Kind: experiment.Separate, Val: &val}, Options: head.DefaultOptions()})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(r.Withheld) != "[2]" || r.ValRows != 5 {
		t.Errorf("withheld %v, %d validation rows", r.Withheld, r.ValRows)
	}
}

func TestDataFingerprint(t *testing.T) {
	data := blobs(6, 10, 2, 2)
	classes := []string{"a", "b"}
	fp := experiment.DataFingerprint(classes, data, nil)
	perm := data.Subset([]int{9, 8, 7, 6, 5, 4, 3, 2, 1, 0})
	if experiment.DataFingerprint(classes, perm, nil) != fp {
		t.Error("row order changed the fingerprint")
	}
	perm.Y[0] = 1 - perm.Y[0]
	if experiment.DataFingerprint(classes, perm, nil) == fp {
		t.Error("a changed label kept the fingerprint")
	}
}

package experiment

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/transfer-go/transfer/head"
)

// Axis is one swept parameter and its values, as its flag spells them.
type Axis struct {
	Name   string
	Values []string
}

// Grid is the swept parameters; its points are their product.
type Grid []Axis

// Point is one configuration: a value per axis, in the grid's order.
type Point []string

// Size is the number of points.
func (g Grid) Size() int {
	n := 1
	for _, a := range g {
		n *= len(a.Values)
	}
	return n
}

// Point returns the i-th point of the product, the last axis varying
// fastest.
func (g Grid) Point(i int) Point {
	p := make(Point, len(g))
	for k := len(g) - 1; k >= 0; k-- {
		n := len(g[k].Values)
		p[k] = g[k].Values[i%n]
		i /= n
	}
	return p
}

// Points returns every point, or n of them drawn without replacement from
// seed when 0 < n < Size (in grid order).
func (g Grid) Points(n int, seed uint64) []Point {
	size := g.Size()
	idx := make([]int, size)
	for i := range idx {
		idx[i] = i
	}
	if n > 0 && n < size {
		rng := rand.New(rand.NewPCG(seed, 0x5e1ec7))
		perm := rng.Perm(size)[:n]
		idx = idx[:0]
		chosen := make([]bool, size)
		for _, i := range perm {
			chosen[i] = true
		}
		for i, ok := range chosen {
			if ok {
				idx = append(idx, i)
			}
		}
	}
	pts := make([]Point, len(idx))
	for k, i := range idx {
		pts[k] = g.Point(i)
	}
	return pts
}

// Label spells a point as flags: "--lr 0.001 --l2 1e-05".
func (g Grid) Label(p Point) string {
	var parts []string
	for k, a := range g {
		parts = append(parts, "--"+a.Name+" "+p[k])
	}
	return strings.Join(parts, " ")
}

// Options returns base with the point's values set, and the point's seed:
// derived from base.Seed and the point's values, so a configuration trains
// the same whichever worker runs it and whatever else is swept beside it.
func (g Grid) Options(base head.Options, p Point) (head.Options, error) {
	o := base
	for k, a := range g {
		if err := Set(&o, a.Name, p[k]); err != nil {
			return o, err
		}
	}
	o.Seed = PointSeed(base.Seed, g, p)
	return o, nil
}

// PointSeed derives a configuration's training seed from the sweep's.
func PointSeed(seed uint64, g Grid, p Point) uint64 {
	h := sha256.New()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], seed)
	h.Write(b[:])
	for k, a := range g {
		// Epochs are left out: configurations that differ in epochs alone
		// follow one training path for as long as they both run, which
		// compares the counts without the noise of other seeds, and lets a
		// sweep train them together (see SweepConfig.shared).
		if a.Name != "epochs" {
			fmt.Fprintf(h, "\x00%s=%s", a.Name, p[k])
		}
	}
	// 31 bits: short enough to read and type back as --seed.
	return binary.LittleEndian.Uint64(h.Sum(nil)) >> 33
}

// Trial is one configuration's outcome.
type Trial struct {
	Index   int          `json:"index"`
	Point   Point        `json:"values"`
	Options head.Options `json:"-"`
	Result  *Result      `json:"-"`
	// Score and SD are the validation metric's mean and standard
	// deviation over folds.
	Score   float64       `json:"score"`
	SD      float64       `json:"sd"`
	Elapsed time.Duration `json:"elapsed_ns"`
	Err     error         `json:"-"`
}

// SweepConfig is a sweep over one data set.
type SweepConfig struct {
	Grid     Grid
	Points   []Point
	Protocol Protocol
	// Base holds the options no axis sets; its Seed derives each
	// configuration's (PointSeed) and, unless SplitSeed says otherwise,
	// drives the folds that every configuration shares.
	Base      head.Options
	SplitSeed *uint64
	Metric    Metric
	// Workers bounds the configurations run at once; 0 means a core each.
	Workers int
	// OnTrial, if set, is called (from one goroutine at a time) as each
	// configuration finishes.
	OnTrial func(Trial)
}

// Sweep scores every point by the protocol, several at once. Results do
// not depend on Workers. When ctx is cancelled it returns the trials that
// finished, with ctx's error; a configuration that fails (e.g. diverges)
// is a trial with Err set, not the end of the sweep.
func Sweep(ctx context.Context, data head.Data, cfg SweepConfig) ([]Trial, error) {
	workers := cfg.Workers
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	split := cfg.Base.Seed
	if cfg.SplitSeed != nil {
		split = *cfg.SplitSeed
	}
	trials := make([]Trial, len(cfg.Points))
	done := make([]bool, len(cfg.Points))
	var mu sync.Mutex
	groups := cfg.shared()
	jobs := make(chan []int)
	var wg sync.WaitGroup
	for w := 0; w < min(workers, len(groups)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for g := range jobs {
				ts := cfg.run(ctx, data, g, split, workers)
				if ctx.Err() != nil {
					return // an interrupted configuration is no result
				}
				mu.Lock()
				for _, t := range ts {
					trials[t.Index], done[t.Index] = t, true
					if cfg.OnTrial != nil {
						cfg.OnTrial(t)
					}
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for _, g := range groups {
		select {
		case jobs <- g:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	var out []Trial
	for i, t := range trials {
		if done[i] {
			out = append(out, t)
		}
	}
	return out, ctx.Err()
}

// shared groups the points that one training run can score together: under
// cross-validation, points that differ in epochs alone (their seeds do not
// depend on epochs, see PointSeed) train each fold once, for the most
// epochs, and take the shorter runs' heads on the way. Each other point is
// a group of its own. Groups keep grid order, inside and between them.
func (cfg SweepConfig) shared() [][]int {
	epochs := slices.IndexFunc(cfg.Grid, func(a Axis) bool { return a.Name == "epochs" })
	var groups [][]int
	at := map[string]int{}
	for i, p := range cfg.Points {
		if cfg.Protocol.Kind != CrossValidation || epochs < 0 {
			groups = append(groups, []int{i})
			continue
		}
		key := slices.Clone(p)
		key[epochs] = ""
		k := strings.Join(key, "\x00")
		if g, ok := at[k]; ok {
			groups[g] = append(groups[g], i)
			continue
		}
		at[k] = len(groups)
		groups = append(groups, []int{i})
	}
	return groups
}

// run scores the points of one group (see shared): together when they are
// several, each alone when they are one, or when their shared run fails (a
// longer run can diverge where a shorter would not).
func (cfg SweepConfig) run(ctx context.Context, data head.Data, group []int, split uint64, workers int) []Trial {
	ts := make([]Trial, len(group))
	var errs []error
	for k, i := range group {
		ts[k] = Trial{Index: i, Point: cfg.Points[i]}
		o, err := cfg.Grid.Options(cfg.Base, ts[k].Point)
		// The workers share the cores; a fit's weights do not depend on
		// how many it takes.
		o.Threads = max(1, runtime.GOMAXPROCS(0)/workers)
		ts[k].Options = o
		errs = append(errs, err)
	}
	if len(group) > 1 && errors.Join(errs...) == nil {
		epochs := make([]int, len(group))
		for k := range ts {
			epochs[k] = ts[k].Options.Epochs
		}
		rs, err := crossValidateAt(ctx, data, Config{Protocol: cfg.Protocol, Options: ts[0].Options, SplitSeed: &split}, epochs)
		if err == nil {
			for k := range ts {
				ts[k].Result, ts[k].Elapsed = rs[k], rs[k].Elapsed
				ts[k].Score, ts[k].SD = rs[k].Score(cfg.Metric)
			}
			return ts
		}
	}
	for k := range ts {
		start := time.Now()
		err := errs[k]
		if err == nil {
			ts[k].Result, err = Run(ctx, data, Config{Protocol: cfg.Protocol, Options: ts[k].Options, SplitSeed: &split})
		}
		ts[k].Elapsed, ts[k].Err = time.Since(start), err
		if ctx.Err() != nil {
			return nil
		}
		if err == nil {
			ts[k].Score, ts[k].SD = ts[k].Result.Score(cfg.Metric)
		}
	}
	return ts
}

// Rank orders trials best first by m; failed trials go last, ties keep
// grid order.
func Rank(trials []Trial, m Metric) {
	slices.SortStableFunc(trials, func(a, b Trial) int {
		switch {
		case (a.Err == nil) != (b.Err == nil):
			if a.Err == nil {
				return -1
			}
			return 1
		case a.Err != nil:
			return a.Index - b.Index
		case m.Better(a.Score, b.Score):
			return -1
		case m.Better(b.Score, a.Score):
			return 1
		}
		return a.Index - b.Index
	})
}

package head

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// A team runs the parts of one training step on several goroutines. The
// parts are fixed by the data, never by how many goroutines there are or
// which finishes first: each part writes its own outputs, and whatever is
// summed across parts is summed afterwards, in order. So a head is the same
// to the bit whatever Options.Threads is.
//
// A step's phases last tens of microseconds, about what waking a parked
// goroutine costs, so the helpers spin for the next phase a while before
// they park, and the caller spins for them to finish.
type team struct {
	n    int
	f    func(part int) // the parts being run
	gen  atomic.Uint64  // counts the phases started
	left atomic.Int64   // the helpers' parts not yet done in this phase
	quit atomic.Bool

	parked []atomic.Bool
	wake   []chan struct{}
	wg     sync.WaitGroup
}

// spins is how many times a goroutine looks before it parks (helpers) or
// yields (the caller): some tens of microseconds.
const spins = 1 << 14

// newTeam starts n−1 helpers beside the caller's goroutine; n < 2 makes a
// team of one, which runs everything in the caller.
func newTeam(n int) *team {
	t := &team{n: max(n, 1)}
	t.parked = make([]atomic.Bool, t.n)
	t.wake = make([]chan struct{}, t.n)
	for p := 1; p < t.n; p++ {
		t.wake[p] = make(chan struct{}, 1)
		t.wg.Add(1)
		go t.help(p)
	}
	return t
}

func (t *team) help(p int) {
	defer t.wg.Done()
	var seen uint64
	for {
		for i := 0; t.gen.Load() == seen; i++ {
			if i < spins {
				continue
			}
			// Park, unless a phase began after the last look; run sees
			// parked and wakes it otherwise (a wake that finds the helper
			// awake is only looked at once more).
			t.parked[p].Store(true)
			if t.gen.Load() == seen {
				<-t.wake[p]
			}
			t.parked[p].Store(false)
			i = 0
		}
		seen++
		if t.quit.Load() {
			return
		}
		t.f(p)
		t.left.Add(-1)
	}
}

// run calls f(0), …, f(t.n−1), one on each goroutine, and returns when all
// have returned.
func (t *team) run(f func(part int)) {
	if t.n == 1 {
		f(0)
		return
	}
	t.f = f
	t.left.Store(int64(t.n - 1))
	t.gen.Add(1)
	t.wakeParked()
	f(0)
	for i := 0; t.left.Load() > 0; i++ {
		if i >= spins {
			runtime.Gosched()
		}
	}
}

func (t *team) wakeParked() {
	for p := 1; p < t.n; p++ {
		if t.parked[p].Load() {
			select {
			case t.wake[p] <- struct{}{}:
			default:
			}
		}
	}
}

// stop ends the helpers.
func (t *team) stop() {
	if t.n == 1 {
		return
	}
	t.quit.Store(true)
	t.gen.Add(1)
	t.wakeParked()
	t.wg.Wait()
}

// span returns part p of n of [0, total) as [lo, hi), with lo and hi
// multiples of unit (but for hi = total): parts that keep groups of unit
// together.
func span(total, n, p, unit int) (lo, hi int) {
	groups := (total + unit - 1) / unit
	lo = min(groups*p/n*unit, total)
	hi = min(groups*(p+1)/n*unit, total)
	return lo, hi
}

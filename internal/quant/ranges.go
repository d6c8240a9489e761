package quant

import (
	"fmt"
	"math"
)

// Method is how a Collector turns observed activations into ranges.
type Method int

const (
	// MinMax takes the smallest and largest value seen.
	MinMax Method = iota
	// Percentile clips the rarest values of each tail (Collector.Tail), so
	// that a few outliers do not stretch the eight bits over a range most
	// values never use. It needs a second pass over the images.
	Percentile
)

func (m Method) String() string {
	if m == Percentile {
		return "percentile"
	}
	return "minmax"
}

// ParseMethod parses "minmax" or "percentile".
func ParseMethod(s string) (Method, error) {
	switch s {
	case "minmax":
		return MinMax, nil
	case "percentile":
		return Percentile, nil
	}
	return 0, fmt.Errorf("calibration method %q: want minmax or percentile", s)
}

// Range is a calibrated activation range.
type Range struct{ Lo, Hi float32 }

// histBins resolves a tensor's range to 1/4096 of its min-max span.
const histBins = 4096

// Collector gathers activation statistics over one or two passes of the
// calibration images. Add the values of every planned tensor for every
// batch, then call NextPass; repeat while it returns true.
type Collector struct {
	Method Method
	// Tail is the fraction of values Percentile clips from each end
	// (default 1e-5).
	Tail float64

	lo, hi []float32
	hist   [][]uint64
	pass   int
}

// NewCollector returns a Collector for n tensors, indexed as in
// Plan.Tensors.
func NewCollector(n int, m Method) *Collector {
	c := &Collector{Method: m, Tail: 1e-5, lo: make([]float32, n), hi: make([]float32, n)}
	for i := range c.lo {
		c.lo[i], c.hi[i] = float32(math.Inf(1)), float32(math.Inf(-1))
	}
	return c
}

// Add observes values of tensor i.
func (c *Collector) Add(i int, values []float32) {
	if c.pass == 0 {
		lo, hi := c.lo[i], c.hi[i]
		for _, v := range values {
			lo, hi = min(lo, v), max(hi, v)
		}
		c.lo[i], c.hi[i] = lo, hi
		return
	}
	h := c.hist[i]
	lo, span := c.lo[i], c.hi[i]-c.lo[i]
	if span <= 0 {
		h[0] += uint64(len(values))
		return
	}
	k := float32(histBins) / span
	for _, v := range values {
		b := int((v - lo) * k)
		h[min(max(b, 0), histBins-1)]++
	}
}

// NextPass ends a pass and reports whether another is needed.
func (c *Collector) NextPass() bool {
	if c.pass > 0 || c.Method == MinMax {
		c.pass = 2
		return false
	}
	c.pass = 1
	c.hist = make([][]uint64, len(c.lo))
	for i := range c.hist {
		c.hist[i] = make([]uint64, histBins)
	}
	return true
}

// Range returns tensor i's calibrated range. A tensor never observed (no
// calibration image) has an empty range, which Apply refuses.
func (c *Collector) Range(i int) Range {
	lo, hi := c.lo[i], c.hi[i]
	if c.Method != Percentile || c.hist == nil || hi <= lo {
		return Range{lo, hi}
	}
	h := c.hist[i]
	var total uint64
	for _, n := range h {
		total += n
	}
	cut := uint64(c.Tail * float64(total))
	width := (hi - lo) / histBins
	var acc uint64
	first, last := 0, histBins-1
	for first < histBins-1 && acc+h[first] <= cut {
		acc += h[first]
		first++
	}
	acc = 0
	for last > first && acc+h[last] <= cut {
		acc += h[last]
		last--
	}
	return Range{lo + float32(first)*width, lo + float32(last+1)*width}
}

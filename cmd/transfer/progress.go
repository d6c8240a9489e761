package main

import (
	"fmt"
	"io"
	"time"
)

// byteProgress prints download progress to stderr at most once a second:
// megabytes so far, of how many, and the rate.
type byteProgress struct {
	w     io.Writer
	label string
	start time.Time
	last  time.Time
	n     int64
	total int64
}

func newByteProgress(w io.Writer, label string) *byteProgress {
	return &byteProgress{w: w, label: label, start: time.Now()}
}

func (p *byteProgress) update(done, total int64) {
	p.n, p.total = done, total
	if time.Since(p.last) < time.Second {
		return
	}
	p.last = time.Now()
	p.print()
}

func (p *byteProgress) print() {
	rate := float64(p.n) / 1e6 / max(time.Since(p.start).Seconds(), 1e-3)
	if p.total > 0 {
		fmt.Fprintf(p.w, "%s: %.1f of %.1f MB, %.1f MB/s\n", p.label, float64(p.n)/1e6, float64(p.total)/1e6, rate)
	} else {
		fmt.Fprintf(p.w, "%s: %.1f MB, %.1f MB/s\n", p.label, float64(p.n)/1e6, rate)
	}
}

func (p *byteProgress) done() {
	if !p.last.IsZero() {
		p.print()
	}
}

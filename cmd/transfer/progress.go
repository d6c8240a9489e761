package main

import (
	"fmt"
	"io"
	"time"
)

// byteProgress prints download progress to stderr at most once a second.
type byteProgress struct {
	w     io.Writer
	label string
	last  time.Time
	n     int64
}

func newByteProgress(w io.Writer, label string) *byteProgress {
	return &byteProgress{w: w, label: label}
}

func (p *byteProgress) update(done, total int64) {
	p.n = done
	if time.Since(p.last) < time.Second {
		return
	}
	p.last = time.Now()
	if total > 0 {
		fmt.Fprintf(p.w, "%s: %.1f of %.1f MB\n", p.label, float64(done)/1e6, float64(total)/1e6)
	} else {
		fmt.Fprintf(p.w, "%s: %.1f MB\n", p.label, float64(done)/1e6)
	}
}

func (p *byteProgress) done() {
	if !p.last.IsZero() {
		fmt.Fprintf(p.w, "%s: %.1f MB\n", p.label, float64(p.n)/1e6)
	}
}

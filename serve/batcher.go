package serve

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// ErrOverloaded reports a full queue: the request is answered 503 at once.
var ErrOverloaded = errors.New("serve: overloaded, the queue is full")

// job is one preprocessed image waiting for a batch.
type job struct {
	ctx    context.Context
	tensor []float32
	done   chan jobResult
	queued time.Time // when submit queued it
}

type jobResult struct {
	heads []Head
	probs [][]float64 // per head, this image's probabilities
	err   error
}

// batcher gathers jobs into batches of up to maxBatch images, waiting at
// most maxDelay after the first for more, and runs them one at a time.
type batcher struct {
	jobs     chan *job
	maxBatch int
	maxDelay time.Duration
	engine   *Engine
	metrics  *metrics
	stats    *stats
	buf      []float32 // the batch, reused
	// preparing counts images being decoded for the queue: when none is
	// and the queue is empty, a batch waits no longer, so a lone client
	// pays no MaxDelay.
	preparing atomic.Int64
	admitMu   sync.Mutex
}

func newBatcher(e *Engine, maxBatch, maxQueue int, maxDelay time.Duration, m *metrics, st *stats) *batcher {
	return &batcher{jobs: make(chan *job, maxQueue), maxBatch: maxBatch, maxDelay: maxDelay, engine: e, metrics: m, stats: st}
}

// admit reserves room for n images before they are decoded: when the queue
// and the images already admitted would exceed the queue's capacity, the
// request is refused at once, before any decoding, so that overload costs
// the server next to nothing. Each admitted image is released by done
// once it is queued or has failed.
func (b *batcher) admit(n int) bool {
	b.admitMu.Lock()
	defer b.admitMu.Unlock()
	if len(b.jobs)+int(b.preparing.Load())+n > cap(b.jobs) {
		return false
	}
	b.preparing.Add(int64(n))
	return true
}

// done releases one admitted image.
func (b *batcher) done() { b.preparing.Add(-1) }

// submit queues j without waiting: a full queue is ErrOverloaded.
func (b *batcher) submit(j *job) error {
	j.queued = time.Now()
	select {
	case b.jobs <- j:
		b.metrics.queue.Set(float64(len(b.jobs)))
		return nil
	default:
		return ErrOverloaded
	}
}

// loop runs batches until ctx is done and the queue is drained.
func (b *batcher) loop(ctx context.Context) {
	for {
		var first *job
		select {
		case first = <-b.jobs:
		case <-ctx.Done():
			return
		}
		batch := []*job{first}
		timer := time.NewTimer(b.maxDelay)
	gather:
		for len(batch) < b.maxBatch {
			if len(b.jobs) == 0 && b.preparing.Load() == 0 {
				break
			}
			select {
			case j := <-b.jobs:
				batch = append(batch, j)
			case <-timer.C:
				break gather
			}
		}
		timer.Stop()
		b.metrics.queue.Set(float64(len(b.jobs)))
		b.run(batch)
	}
}

// run answers every job of the batch; jobs whose client went away are
// answered with their context's error and left out of the batch.
func (b *batcher) run(batch []*job) {
	live := batch[:0]
	for _, j := range batch {
		if err := j.ctx.Err(); err != nil {
			j.done <- jobResult{err: err}
			continue
		}
		live = append(live, j)
	}
	if len(live) == 0 {
		return
	}
	start := time.Now()
	queued := make([]time.Duration, len(live))
	for i, j := range live {
		queued[i] = start.Sub(j.queued)
	}
	il := b.engine.InputLen()
	if cap(b.buf) < len(live)*il {
		b.buf = make([]float32, len(live)*il)
	}
	buf := b.buf[:len(live)*il]
	for i, j := range live {
		copy(buf[i*il:], j.tensor)
	}
	b.metrics.batch.Observe(float64(len(live)))
	inferStart := time.Now()
	heads, probs, rowErr, err := b.engine.run(context.Background(), buf)
	outStart := time.Now()
	defer func() {
		if err == nil {
			b.stats.batch(heads, len(live), queued, inferStart.Sub(start), outStart.Sub(inferStart), time.Since(outStart))
		}
	}()
	for i, j := range live {
		if err == nil && rowErr[i] != nil {
			j.done <- jobResult{err: rowErr[i]}
			continue
		}
		if err != nil {
			j.done <- jobResult{err: err}
			continue
		}
		r := jobResult{heads: heads, probs: make([][]float64, len(heads))}
		for h := range heads {
			r.probs[h] = probs[h][i]
		}
		j.done <- r
	}
}

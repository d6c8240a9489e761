package serve

import (
	"net/http"
	"slices"
	"sync"
	"time"
)

// Triton's statistics extension: per model (head) the count and
// cumulative time of successful and failed requests, of images waiting in
// the queue, and of the batches' input, inference and output, overall and
// by batch size.

// DurationStat is a count and its cumulative time in nanoseconds.
type DurationStat struct {
	Count int64 `json:"count"`
	Ns    int64 `json:"ns"`
}

func (d *DurationStat) add(n int64, dur time.Duration) {
	d.Count += n
	d.Ns += int64(dur) * n
}

// InferenceStats are a model's aggregate figures. Success and Fail count
// requests; Queue and the Compute figures count images (an image's time is
// that of its batch); this server has no response cache, so CacheHit and
// CacheMiss stay zero.
type InferenceStats struct {
	Success       DurationStat `json:"success"`
	Fail          DurationStat `json:"fail"`
	Queue         DurationStat `json:"queue"`
	ComputeInput  DurationStat `json:"compute_input"`
	ComputeInfer  DurationStat `json:"compute_infer"`
	ComputeOutput DurationStat `json:"compute_output"`
	CacheHit      DurationStat `json:"cache_hit"`
	CacheMiss     DurationStat `json:"cache_miss"`
}

// BatchStats are the figures of the batches of one size; each count is
// of batches.
type BatchStats struct {
	BatchSize     int          `json:"batch_size"`
	ComputeInput  DurationStat `json:"compute_input"`
	ComputeInfer  DurationStat `json:"compute_infer"`
	ComputeOutput DurationStat `json:"compute_output"`
}

// ModelStats is one model's entry of GET /v2/models/{name}/stats.
type ModelStats struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	// LastInference is in milliseconds since the epoch, 0 before any.
	LastInference  int64          `json:"last_inference"`
	InferenceCount int64          `json:"inference_count"`
	ExecutionCount int64          `json:"execution_count"`
	InferenceStats InferenceStats `json:"inference_stats"`
	BatchStats     []BatchStats   `json:"batch_stats"`
}

// stats holds every head's figures under one lock: a few additions per
// batch and per request.
type stats struct {
	mu     sync.Mutex
	models map[string]*ModelStats
}

func newStats() *stats { return &stats{models: map[string]*ModelStats{}} }

func (s *stats) model(name string) *ModelStats {
	m, ok := s.models[name]
	if !ok {
		m = &ModelStats{Name: name, Version: modelVersion, BatchStats: []BatchStats{}}
		s.models[name] = m
	}
	return m
}

// batch records a batch of n images that every head in heads read, and
// the queue time of each image.
func (s *stats) batch(heads []Head, n int, queued []time.Duration, in, infer, out time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now().UnixMilli()
	for _, h := range heads {
		m := s.model(h.Name)
		m.LastInference = now
		m.InferenceCount += int64(n)
		m.ExecutionCount++
		for _, q := range queued {
			m.InferenceStats.Queue.add(1, q)
		}
		m.InferenceStats.ComputeInput.add(int64(n), in)
		m.InferenceStats.ComputeInfer.add(int64(n), infer)
		m.InferenceStats.ComputeOutput.add(int64(n), out)
		i := slices.IndexFunc(m.BatchStats, func(b BatchStats) bool { return b.BatchSize == n })
		if i < 0 {
			m.BatchStats = append(m.BatchStats, BatchStats{BatchSize: n})
			slices.SortFunc(m.BatchStats, func(a, b BatchStats) int { return a.BatchSize - b.BatchSize })
			i = slices.IndexFunc(m.BatchStats, func(b BatchStats) bool { return b.BatchSize == n })
		}
		b := &m.BatchStats[i]
		b.ComputeInput.add(1, in)
		b.ComputeInfer.add(1, infer)
		b.ComputeOutput.add(1, out)
	}
}

// request records one request of the named heads, answered or failed,
// that took d.
func (s *stats) request(names []string, ok bool, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, name := range names {
		m := s.model(name)
		if ok {
			m.InferenceStats.Success.add(1, d)
		} else {
			m.InferenceStats.Fail.add(1, d)
		}
	}
}

// snapshot copies the figures of the named heads (every head served when
// names is nil).
func (s *stats) snapshot(names []string) []ModelStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []ModelStats{}
	for _, n := range names {
		m := *s.model(n)
		m.BatchStats = slices.Clone(m.BatchStats)
		out = append(out, m)
	}
	return out
}

// modelStats answers GET /v2/models/stats (every head) and
// /v2/models/{name}[/versions/{version}]/stats.
func (s *Server) modelStats(w http.ResponseWriter, r *http.Request) {
	var names []string
	if r.PathValue("name") != "" {
		h, ok := s.model(w, r)
		if !ok {
			return
		}
		names = []string{h.Name}
	} else {
		for _, h := range s.engine.Heads() {
			names = append(names, h.Name)
		}
	}
	writeJSON(w, http.StatusOK, map[string][]ModelStats{"model_stats": s.stats.snapshot(names)})
}

package serve

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the server's Prometheus series, on a registry of its own.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	batch    prometheus.Histogram
	queue    prometheus.Gauge
	decoded  prometheus.Counter
	failures prometheus.Counter
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "transfer_requests_total", Help: "HTTP requests by route and status code."},
			[]string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "transfer_request_duration_seconds", Help: "Request latency by route.",
			Buckets: prometheus.ExponentialBuckets(0.002, 2, 13)}, []string{"route"}),
		batch: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "transfer_batch_size", Help: "Images per backbone batch.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128}}),
		queue:    prometheus.NewGauge(prometheus.GaugeOpts{Name: "transfer_queue_depth", Help: "Images waiting for a batch."}),
		decoded:  prometheus.NewCounter(prometheus.CounterOpts{Name: "transfer_images_decoded_total", Help: "Images decoded and prepared."}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{Name: "transfer_decode_failures_total", Help: "Images that could not be decoded."}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.batch, m.queue, m.decoded, m.failures)
	return m
}

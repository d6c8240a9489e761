package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/transfer-go/transfer/dataset"
)

// Options configure a Server. Zero values take the defaults in brackets.
type Options struct {
	// MaxBatch bounds a backbone batch [8]; MaxDelay is how long the
	// first image of a batch waits for more [5 ms].
	MaxBatch int
	MaxDelay time.Duration
	// MaxQueue bounds the images waiting for a batch; beyond it requests
	// are answered 503 with Retry-After [64].
	MaxQueue int
	// MaxBody bounds a request body [32 MB]; MaxImages the images of one
	// request [64].
	MaxBody   int64
	MaxImages int
	// MaxBodies bounds the bytes of the bodies of all requests being
	// read or answered at once [4 × MaxBody]; a request beyond it is
	// answered 503 with Retry-After before its body is read.
	MaxBodies int64
	// Workers bounds the images decoded at once [one per core].
	Workers int
	// Decode holds the decoding limits (file size, pixels, memory budget).
	Decode dataset.DecodeOptions
	// Model names the service in answers ("transfer"); Version is its
	// version string.
	Model, Version string
	Logger         *slog.Logger
}

func (o *Options) defaults() {
	if o.MaxBatch <= 0 {
		o.MaxBatch = 8
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = 5 * time.Millisecond
	}
	if o.MaxQueue <= 0 {
		o.MaxQueue = 64
	}
	if o.MaxBody <= 0 {
		o.MaxBody = 32 << 20
	}
	if o.MaxBodies <= 0 {
		o.MaxBodies = 4 * o.MaxBody
	}
	o.MaxBodies = max(o.MaxBodies, o.MaxBody)
	if o.MaxImages <= 0 {
		o.MaxImages = 64
	}
	if o.Workers <= 0 {
		o.Workers = runtime.NumCPU()
	}
	if o.Model == "" {
		o.Model = "transfer"
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Decode.Budget == nil {
		o.Decode.Budget = dataset.NewMemoryBudget(0)
	}
}

// Server answers the routes. Start its batcher with Run.
type Server struct {
	engine  *Engine
	opts    Options
	batcher *batcher
	metrics *metrics
	decode  chan struct{} // a token per decoding image
	mux     *http.ServeMux
	ready   chan struct{}
	bodies  *bodyBudget
	stats   *stats
}

// New returns a server over e.
func New(e *Engine, opts Options) *Server {
	opts.defaults()
	m, st := newMetrics(), newStats()
	s := &Server{engine: e, opts: opts, metrics: m, stats: st, batcher: newBatcher(e, opts.MaxBatch, opts.MaxQueue, opts.MaxDelay, m, st),
		decode: make(chan struct{}, opts.Workers), mux: http.NewServeMux(), ready: make(chan struct{}), bodies: newBodyBudget(opts.MaxBodies)}
	s.route("GET /{$}", "/", s.page)
	s.route("POST /v1/classify", "/v1/classify", s.classify)
	s.route("GET /v2/health/live", "/v2/health/live", s.live)
	s.route("GET /v2/health/ready", "/v2/health/ready", s.readyz)
	s.route("GET /v2", "/v2", s.serverMeta)
	s.route("GET /v2/{$}", "/v2", s.serverMeta)
	s.route("GET /v2/models/{name}", "/v2/models", s.modelMeta)
	s.route("GET /v2/models/{name}/versions/{version}", "/v2/models", s.modelMeta)
	s.route("GET /v2/models/{name}/ready", "/v2/models/ready", s.modelReady)
	s.route("GET /v2/models/{name}/versions/{version}/ready", "/v2/models/ready", s.modelReady)
	s.route("POST /v2/models/{name}/infer", "/v2/models/infer", s.inferHTTP)
	s.route("POST /v2/models/{name}/versions/{version}/infer", "/v2/models/infer", s.inferHTTP)
	s.route("POST /v2/repository/index", "/v2/repository/index", s.repositoryIndex)
	s.route("GET /v2/models/stats", "/v2/models/stats", s.modelStats)
	s.route("GET /v2/models/{name}/stats", "/v2/models/stats", s.modelStats)
	s.route("GET /v2/models/{name}/versions/{version}/stats", "/v2/models/stats", s.modelStats)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	return s
}

// Run runs the batcher until ctx is done. The server is ready (health,
// requests) once Run has started. Run returns only after the batch in
// progress, if any, has finished: destroy the engine's session after Run
// returns, never when ctx is cancelled or the HTTP server has shut down.
func (s *Server) Run(ctx context.Context) {
	close(s.ready)
	s.batcher.loop(ctx)
}

// Ready is closed once Run has started: announce the address only after
// it, or a client told where to connect may be answered 503 "starting".
func (s *Server) Ready() <-chan struct{} { return s.ready }

// ServeHTTP makes the server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := s.mux.Handler(r); pattern == "" {
		s.unmatched(w, r)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// unmatched answers a request no route takes: 404, or 405 with Allow,
// in JSON as every other answer, and counted in the metrics.
func (s *Server) unmatched(w http.ResponseWriter, r *http.Request) {
	h, _ := s.mux.Handler(r)
	probe := &codeWriter{header: w.Header()}
	h.ServeHTTP(probe, r)
	switch probe.code {
	case http.StatusMethodNotAllowed:
		writeError(w, probe.code, fmt.Sprintf("%s is not allowed on %s; use %s", r.Method, r.URL.Path, w.Header().Get("Allow")))
	case http.StatusNotFound:
		writeError(w, probe.code, fmt.Sprintf("no route %s %s: the routes are POST /v1/classify, the Open Inference Protocol under /v2 and GET /metrics", r.Method, r.URL.Path))
	default: // a redirect to the clean path
		s.mux.ServeHTTP(w, r)
	}
	s.metrics.requests.WithLabelValues("unmatched", strconv.Itoa(probe.code)).Inc()
}

// codeWriter records the status a handler writes and drops its body.
type codeWriter struct {
	header http.Header
	code   int
}

func (c *codeWriter) Header() http.Header { return c.header }
func (c *codeWriter) WriteHeader(code int) {
	if c.code == 0 {
		c.code = code
	}
}
func (c *codeWriter) Write(b []byte) (int, error) {
	c.WriteHeader(http.StatusOK)
	return len(b), nil
}

// statusWriter records the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// route registers h with metrics, a body limit, and a recover that turns
// a panic into a 500 with a JSON error and a log line.
func (s *Server) route(pattern, name string, h http.HandlerFunc) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				s.opts.Logger.Error("handler panic", "route", name, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				if sw.code == 0 {
					writeError(sw, http.StatusInternalServerError, "internal error (a bug in transfer; it is logged)")
				}
			}
			s.metrics.requests.WithLabelValues(name, strconv.Itoa(sw.code)).Inc()
			s.metrics.latency.WithLabelValues(name).Observe(time.Since(start).Seconds())
		}()
		if r.ContentLength > s.opts.MaxBody {
			writeError(sw, http.StatusRequestEntityTooLarge, fmt.Sprintf("the request body is over the limit of %d bytes", s.opts.MaxBody))
			return
		}
		n := r.ContentLength
		if n < 0 {
			n = s.opts.MaxBody // no length given: the most it may be
		}
		if !s.bodies.take(n) {
			writeError(sw, http.StatusServiceUnavailable, "overloaded: the server holds as many request bodies as it may; retry shortly")
			return
		}
		defer s.bodies.give(n)
		r.Body = http.MaxBytesReader(sw, r.Body, s.opts.MaxBody)
		h(sw, r)
	})
}

type errorBody struct {
	Error string `json:"error"`
}

// writeJSON encodes v before the status is sent: a value that cannot be
// encoded (a NaN) is answered 500 with the reason, never 200 with an
// empty body.
func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		code = http.StatusInternalServerError
		b, _ = json.Marshal(errorBody{Error: "the answer could not be encoded (a bug in transfer; it is logged): " + err.Error()})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}

func writeError(w http.ResponseWriter, code int, msg string) {
	if code == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, code, errorBody{Error: msg})
}

// bodyError answers a body that could not be read: too large (413) or
// malformed (400).
func bodyError(w http.ResponseWriter, err error) {
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the request body is over the limit of %d bytes", mb.Limit))
		return
	}
	writeError(w, http.StatusBadRequest, "the request body could not be read: "+err.Error())
}

func (s *Server) isReady() bool {
	select {
	case <-s.ready:
		return true
	default:
		return false
	}
}

func (s *Server) live(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]bool{"live": true})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if !s.isReady() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]bool{"ready": false})
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ready": true})
}

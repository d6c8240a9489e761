package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/transfer-go/transfer/backbone"
	"github.com/transfer-go/transfer/dataset"
	"github.com/transfer-go/transfer/head"
	"github.com/transfer-go/transfer/models"
)

func embedFlags() []cli.Flag {
	return []cli.Flag{cacheFlag, cachePrecisionFlag, rehashFlag, batchFlag, oldBatchFlag, workersFlag, strictFlag, maxFileSizeFlag, decodeMemoryFlag, quietFlag, debugFlag}
}

// checkRuntimeFlags refuses counts that cannot be meant.
func checkRuntimeFlags(c *cli.Context) error {
	for _, f := range []struct {
		name string
		min  int
	}{{batchFlag.Name, 1}, {oldBatchFlag.Name, 1}, {workersFlag.Name, 0}, {threadsFlag.Name, 0}, {maxFileSizeFlag.Name, 1}, {decodeMemoryFlag.Name, 1}} {
		if c.IsSet(f.name) && c.Int(f.name) < f.min {
			return usageError{fmt.Errorf("--%s %d: must be at least %d", f.name, c.Int(f.name), max(f.min, 1))}
		}
	}
	return nil
}

// session is an opened backbone with its cache, for the commands that embed
// images.
type session struct {
	c       *cli.Context
	b       *backbone.Backbone
	model   *models.Resolved
	resizer dataset.Resizer
	decoder dataset.Decoder
	cache   *dataset.Cache
	// needMost makes embed refuse a set of which more than half failed,
	// unless --allow-failures: train and eval would otherwise report
	// results for a set the user never meant.
	needMost bool
	// mustSave makes a cache that cannot be written an error; without
	// it (every command but extract) the embeddings are computed for the
	// run, used, and the user is told they were not saved.
	mustSave bool
}

// openSession opens the backbone and cache for a command that embeds
// images. Only extract, whose whole point is the cache, needs to write it:
// for the others a cache that cannot be opened for writing (a read-only
// mount) is read as it is.
func openSession(c *cli.Context) (*session, error) {
	return openSessionFor(c, false)
}

func openSessionFor(c *cli.Context, mustSave bool) (*session, error) {
	if err := checkRuntimeFlags(c); err != nil {
		return nil, err
	}
	b, r, resizer, err := openBackbone(c)
	if err != nil {
		return nil, err
	}
	decoder, err := dataset.ParseDecoder(c.String(decoderFlag.Name))
	if err != nil {
		b.Destroy()
		return nil, usageError{err}
	}
	path := c.String(cacheFlag.Name)
	var precision dataset.Precision
	if v := c.String(cachePrecisionFlag.Name); c.IsSet(cachePrecisionFlag.Name) {
		if precision, err = dataset.ParsePrecision(v); err != nil {
			b.Destroy()
			return nil, usageError{fmt.Errorf("--cache-precision: %w", err)}
		}
	}
	cache, err := dataset.OpenCacheWith(path, dataset.CacheOptions{Precision: precision})
	if errors.Is(err, dataset.ErrPrecision) {
		b.Destroy()
		return nil, usageError{err}
	}
	if err != nil && !mustSave && !errors.Is(err, dataset.ErrNotCache) && !errors.Is(err, dataset.ErrCacheTooNew) {
		if ro, rerr := dataset.OpenCacheReadOnly(path); rerr == nil {
			fmt.Fprintf(c.App.ErrWriter, "warning: %v\nreading the cache as it is: embeddings it lacks are computed for this run and not saved\n", err)
			cache, err = ro, nil
		}
	}
	if err != nil {
		b.Destroy()
		if errors.Is(err, dataset.ErrNotCache) || errors.Is(err, dataset.ErrCacheTooNew) {
			return nil, usageError{fmt.Errorf("%w; pass another --cache path", err)}
		}
		return nil, err
	}
	return &session{c: c, b: b, model: r, resizer: resizer, decoder: decoder, cache: cache, mustSave: mustSave}, nil
}

func (s *session) close() {
	s.cache.Close()
	s.b.Destroy()
}

// pixels is the session's pixel specification.
func (s *session) pixels() dataset.PixelSpec {
	return dataset.PixelSpec{Resizer: s.resizer, Decoder: s.decoder}
}

// provenance describes the session's embeddings for head files.
func (s *session) provenance() head.Provenance {
	return models.Provenance(s.b.Info(), s.pixels(), absPath(s.model.Path), catalogueName(s.model))
}

// embed extracts set's embeddings through the cache, reporting progress and
// failures on stderr. Without --strict failed images are reported and left
// out; with it any failure is an error.
func (s *session) embed(ctx context.Context, set *dataset.Set, collect, keepLogits bool) (*dataset.Extraction, error) {
	c := s.c
	stderr := c.App.ErrWriter
	progress := newProgress(stderr, len(set.Items), c.Bool(quietFlag.Name))
	x, err := dataset.Extract(ctx, set, s.b, s.cache, dataset.ExtractOptions{
		Batch: inferBatch(c), Workers: c.Int(workersFlag.Name), Resizer: s.resizer,
		Decode:     decodeOptions(c, s.decoder),
		KeepLogits: keepLogits, Collect: collect, Abort: abortContext(ctx), Progress: progress.update,
		Model: s.model.Path, Rehash: c.Bool(rehashFlag.Name), ContinueWithoutSaving: !s.mustSave,
	})
	progress.finish()
	if x != nil {
		for _, f := range x.Failures {
			fmt.Fprintf(stderr, "skipped %s\n", terminalSafe(f.Err.Error()))
			var pe *dataset.PanicError
			if errors.As(f.Err, &pe) && c.Bool(debugFlag.Name) {
				fmt.Fprintf(stderr, "%s\n", pe.Stack)
			}
		}
		if !c.Bool(quietFlag.Name) || err != nil {
			fmt.Fprintf(stderr, "%s (%s)\n", x.Summary(), x.Elapsed.Round(time.Millisecond))
		}
		if n := s.cache.Overflows(); n > 0 {
			fmt.Fprintf(stderr, "warning: %d embedding values were beyond float16's ±%d and are stored as ±%d in the float16 cache; use a float32 cache (the default) for this model\n", n, dataset.MaxFloat16, dataset.MaxFloat16)
		}
		if x.SaveErr != nil {
			fmt.Fprintf(stderr, "warning: %d embeddings could not be saved to the cache (%v); they are used for this run only: free space, or pass a writable --cache to keep them\n", x.Unsaved, x.SaveErr)
		}
	}
	if errors.Is(err, context.Canceled) {
		return x, reworded{fmt.Sprintf("interrupted: every finished batch is committed to %s; rerun the same command to resume", s.cache.Path()), err}
	}
	if err != nil {
		return x, err
	}
	if x.Failed > 0 && c.Bool(strictFlag.Name) {
		return x, usageError{fmt.Errorf("%d of %d images could not be used (--strict)", x.Failed, x.Total)}
	}
	if x.Failed == x.Total && x.Total > 0 {
		return x, usageError{fmt.Errorf("none of the %d images could be used", x.Total)}
	}
	if 2*x.Failed > x.Total {
		fmt.Fprintf(stderr, "\nWARNING: %d of %d images (%.0f%%) could not be used; the reasons are listed above.\n\n",
			x.Failed, x.Total, 100*float64(x.Failed)/float64(x.Total))
		if s.needMost && !c.Bool(allowFailuresFlag.Name) {
			return x, usageError{fmt.Errorf("%d of %d images could not be used: fix or remove them, or pass --allow-failures to go on with the %d that could",
				x.Failed, x.Total, x.Total-x.Failed)}
		}
	}
	return x, nil
}

// progress shows a bar on a terminal and periodic lines elsewhere.
type progress struct {
	bar   *progressbar.ProgressBar
	w     io.Writer
	total int
	quiet bool
	last  time.Time
	done  int
}

// plainEvery is the interval of progress lines when stderr is not a terminal.
const plainEvery = 10 * time.Second

func newProgress(w io.Writer, total int, quiet bool) *progress {
	p := &progress{w: w, total: total, quiet: quiet, last: time.Now()}
	if f, ok := w.(*os.File); ok && !quiet && term.IsTerminal(int(f.Fd())) {
		// The bar's own rate and time estimate count cache hits, which
		// finish at once ("787285 img/s", "[0s:0s]"): the description
		// carries a rate of embedded images instead, once there is one.
		p.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(w), progressbar.OptionSetDescription("embedding"),
			progressbar.OptionShowCount(), progressbar.OptionSetElapsedTime(false), progressbar.OptionSetPredictTime(false),
			progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
	}
	return p
}

func (p *progress) update(pr dataset.Progress) {
	p.done = pr.Done()
	if p.quiet {
		return
	}
	if p.bar != nil {
		if rate, eta, ok := embedRate(pr); ok {
			p.bar.Describe(fmt.Sprintf("embedding, %.0f images/s, %s left", rate, eta))
		}
		p.bar.Set(p.done)
		return
	}
	if time.Since(p.last) >= plainEvery {
		p.last = time.Now()
		rate, eta, ok := embedRate(pr)
		speed := "no rate yet"
		if ok {
			speed = fmt.Sprintf("%.1f images/s, %s left", rate, eta)
		}
		fmt.Fprintf(p.w, "embedding: %d/%d images (%d embedded, %d from cache, %d failed), %s\n",
			p.done, p.total, pr.Embedded, pr.Cached, pr.Failed, speed)
	}
}

// embedRate is the rate of images actually embedded, and the time the rest
// will take at it; there is none before a second of work and a first batch.
func embedRate(pr dataset.Progress) (rate float64, eta time.Duration, ok bool) {
	if pr.Embedded == 0 || pr.Elapsed < time.Second {
		return 0, 0, false
	}
	rate = float64(pr.Embedded) / pr.Elapsed.Seconds()
	eta = (time.Duration(float64(pr.Total-pr.Done())/rate) * time.Second).Round(time.Second)
	return rate, eta, true
}

func (p *progress) finish() {
	if p.bar != nil {
		p.bar.Finish()
	}
}

// decodeOptions are the limits the flags set for reading images.
func decodeOptions(c *cli.Context, d dataset.Decoder) dataset.DecodeOptions {
	return dataset.DecodeOptions{
		Decoder: d, MaxFileSize: int64(c.Int(maxFileSizeFlag.Name)) << 20,
		Budget: dataset.NewMemoryBudget(int64(c.Int(decodeMemoryFlag.Name)) << 20),
	}
}

func catalogueName(r *models.Resolved) string {
	if r.Known {
		return r.Entry.Name
	}
	return ""
}

// inferBatch is --infer-batch, or --batch where an older command line
// gives it.
func inferBatch(c *cli.Context) int {
	if c.IsSet(oldBatchFlag.Name) && !c.IsSet(batchFlag.Name) {
		return c.Int(oldBatchFlag.Name)
	}
	if !c.IsSet(batchFlag.Name) {
		if d, err := backbone.ParseDevice(c.String(deviceFlag.Name)); err == nil && d.CUDA {
			return defaults.GPUBatch
		}
	}
	return c.Int(batchFlag.Name)
}

// begin is the preamble of the commands that embed a set: every check that
// needs no file (model flags, output paths, plot format) runs before the
// set is read, so that a typo fails at once; then load reads the set, and
// the session (backbone and cache) opens. mustSave is openSessionFor's.
// The caller closes the session.
func begin(c *cli.Context, load func(*cli.Context) (*dataset.Set, error), mustSave bool, outputs ...string) (*dataset.Set, *session, error) {
	if err := checkModelFlags(c); err != nil {
		return nil, nil, err
	}
	if err := checkOutputs(c, outputs...); err != nil {
		return nil, nil, err
	}
	if slices.Contains(outputs, plotFlag.Name) {
		if err := checkPlot(c); err != nil {
			return nil, nil, err
		}
	}
	set, err := load(c)
	if err != nil {
		return nil, nil, err
	}
	sess, err := openSessionFor(c, mustSave)
	return set, sess, err
}

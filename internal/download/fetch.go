// Package download fetches files whose SHA-256 is known in advance, from
// their origin or a mirror, into place atomically, and unpacks zip archives
// without trusting their entries.
package download

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// ErrChecksum reports a file whose size or digest is not the expected one.
var ErrChecksum = errors.New("checksum mismatch")

// ErrTooLarge reports a server that sends more than the size ceiling of a
// file whose size is not recorded (Options.MaxSize).
var ErrTooLarge = errors.New("larger than the download ceiling")

// ErrStalled reports a server that sent nothing for Options.StallTimeout.
var ErrStalled = errors.New("stalled")

// The bounds a download has unless Options set others: a mirror that
// sends an endless body, or headers and then nothing, must end in an
// error, never fill the disk or hang.
const (
	DefaultMaxSize      = 2 << 30
	DefaultStallTimeout = 30 * time.Second
	DefaultTimeout      = 30 * time.Minute
)

// File is a file to fetch: where from, and what it must be.
type File struct {
	// Name is the file's name on a mirror and in messages.
	Name string
	URL  string
	// SHA256 is the hex digest; Size the length in bytes, 0 when unknown.
	SHA256 string
	Size   int64
}

// Options configure Fetch.
type Options struct {
	// Mirror, when set, replaces the origin: the file is fetched from
	// Mirror/Name.
	Mirror string
	// Client makes the requests; nil means http.DefaultClient, which
	// honours HTTPS_PROXY, HTTP_PROXY and NO_PROXY.
	Client *http.Client
	// Progress, when set, is called as bytes arrive with the count so far
	// and the expected total (0 when unknown).
	Progress func(done, total int64)
	// MaxSize bounds a file whose Size is not recorded [DefaultMaxSize];
	// a file of recorded Size is held to it exactly.
	MaxSize int64
	// StallTimeout ends a download when no byte (nor the headers) has
	// come for that long [DefaultStallTimeout]; Timeout ends one that
	// has not finished in that long, all attempts together
	// [DefaultTimeout].
	StallTimeout, Timeout time.Duration
}

func (o Options) withDefaults() Options {
	if o.MaxSize <= 0 {
		o.MaxSize = DefaultMaxSize
	}
	if o.StallTimeout <= 0 {
		o.StallTimeout = DefaultStallTimeout
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	return o
}

// Source returns the URL f is fetched from under opts.
func (f File) Source(opts Options) string {
	if opts.Mirror != "" {
		return strings.TrimSuffix(opts.Mirror, "/") + "/" + f.mirrorName()
	}
	return f.URL
}

func (f File) mirrorName() string {
	if f.Name != "" {
		return f.Name
	}
	return path.Base(f.URL)
}

// Verify reports whether the file at p has f's size and digest.
func (f File) Verify(p string) (bool, error) {
	fh, err := os.Open(p)
	if err != nil {
		return false, err
	}
	defer fh.Close()
	h := sha256.New()
	n, err := io.Copy(h, fh)
	if err != nil {
		return false, err
	}
	return (f.Size == 0 || n == f.Size) && hex.EncodeToString(h.Sum(nil)) == f.SHA256, nil
}

// Fetch downloads f to dest. A file already at dest with the right digest
// is kept and nothing is downloaded. The bytes go to a temporary file beside
// dest that is renamed into place only once its digest matched, so a failed,
// refused or interrupted download never leaves a file under dest, nor a
// temporary one. A transfer that breaks off mid-file is tried once more.
// A download is bounded in size, in the time between bytes and in total
// (Options); each bound ends it with an error that says which.
func Fetch(ctx context.Context, f File, dest string, opts Options) error {
	if ok, err := f.Verify(dest); err == nil && ok {
		return nil
	}
	opts = opts.withDefaults()
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return err
	}
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		var retry bool
		retry, err = fetchOnce(ctx, f, dest, opts)
		if err == nil || !retry || ctx.Err() != nil {
			break
		}
	}
	return err
}

// fetchOnce makes one attempt and says whether a failure is worth another:
// a connection that broke, not an answer or a checksum.
func fetchOnce(ctx context.Context, f File, dest string, opts Options) (retry bool, err error) {
	src := f.Source(opts)
	tmp, err := os.CreateTemp(filepath.Dir(dest), "."+filepath.Base(dest)+".partial-*")
	if err != nil {
		return false, err
	}
	committed := false
	defer func() {
		if !committed {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	client := opts.Client
	if client == nil {
		client = http.DefaultClient
	}
	// The stall watch: every byte (and the headers) pushes it back;
	// when it fires the request is cancelled with ErrStalled as cause.
	reqCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	watch := newStallWatch(opts.StallTimeout, func() { stop(ErrStalled) })
	defer watch.stop()
	fail := func(what string, err error) error {
		switch {
		case errors.Is(context.Cause(reqCtx), ErrStalled):
			return fmt.Errorf("download of %s from %s %w: nothing came for %s%s", f.mirrorName(), src, ErrStalled, opts.StallTimeout, what)
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			return fmt.Errorf("download of %s from %s did not finish in %s%s: %w", f.mirrorName(), src, opts.Timeout, what, context.DeadlineExceeded)
		}
		return fmt.Errorf("download of %s from %s %s: %w", f.mirrorName(), src, strings.TrimPrefix(what, ", "), err)
	}
	req, err := http.NewRequestWithContext(reqCtx, http.MethodGet, src, nil)
	if err != nil {
		return false, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return ctx.Err() == nil && reqCtx.Err() == nil, fail(", failed", err)
	}
	defer resp.Body.Close()
	watch.poke()
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("download of %s: %s answered %s", f.mirrorName(), src, resp.Status)
	}
	limit := opts.MaxSize
	if f.Size > 0 {
		limit = f.Size // a server sending more than the file is not sending the file
	}
	if resp.ContentLength > limit {
		if f.Size > 0 {
			return false, fmt.Errorf("download of %s from %s: %w: it is %d bytes, want %d", f.mirrorName(), src, ErrChecksum, resp.ContentLength, f.Size)
		}
		return false, fmt.Errorf("download of %s from %s: %w: it says %d bytes, over the ceiling of %d", f.mirrorName(), src, ErrTooLarge, resp.ContentLength, limit)
	}
	total := resp.ContentLength
	if total < 0 {
		total = f.Size
	}
	h := sha256.New()
	var body io.Reader = &pokeReader{r: io.LimitReader(resp.Body, limit+1), watch: watch}
	if opts.Progress != nil {
		body = &progressReader{r: body, total: total, fn: opts.Progress}
	}
	n, err := io.Copy(io.MultiWriter(tmp, h), body)
	if err != nil {
		return ctx.Err() == nil && reqCtx.Err() == nil, fail(fmt.Sprintf(", broke off after %d bytes", n), err)
	}
	if f.Size == 0 && n > limit {
		return false, fmt.Errorf("download of %s from %s: %w: it sent more than %d bytes", f.mirrorName(), src, ErrTooLarge, limit)
	}
	if f.Size > 0 && n != f.Size {
		// Short: the connection ended early without saying so; long: the
		// server sends something else.
		return n < f.Size, fmt.Errorf("download of %s from %s: %w: got %d bytes, want %d", f.mirrorName(), src, ErrChecksum, n, f.Size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != f.SHA256 {
		return false, fmt.Errorf("download of %s from %s: %w: its sha256 is %s, want %s", f.mirrorName(), src, ErrChecksum, got, f.SHA256)
	}
	if err := tmp.Sync(); err != nil {
		return false, err
	}
	if err := tmp.Close(); err != nil {
		return false, err
	}
	if err := os.Rename(tmp.Name(), dest); err != nil {
		return false, err
	}
	committed = true
	return false, nil
}

type progressReader struct {
	r           io.Reader
	done, total int64
	fn          func(done, total int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.done += int64(n)
	p.fn(p.done, p.total)
	return n, err
}

// stallWatch calls fire when poke has not been called for d.
type stallWatch struct {
	mu    sync.Mutex
	timer *time.Timer
	d     time.Duration
}

func newStallWatch(d time.Duration, fire func()) *stallWatch {
	return &stallWatch{timer: time.AfterFunc(d, fire), d: d}
}

func (w *stallWatch) poke() {
	w.mu.Lock()
	w.timer.Reset(w.d)
	w.mu.Unlock()
}

func (w *stallWatch) stop() { w.timer.Stop() }

// pokeReader pokes the watch for every read that brought bytes.
type pokeReader struct {
	r     io.Reader
	watch *stallWatch
}

func (p *pokeReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.watch.poke()
	}
	return n, err
}

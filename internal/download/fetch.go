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
)

// ErrChecksum reports a file whose size or digest is not the expected one.
var ErrChecksum = errors.New("checksum mismatch")

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
func Fetch(ctx context.Context, f File, dest string, opts Options) error {
	if ok, err := f.Verify(dest); err == nil && ok {
		return nil
	}
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
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
	if err != nil {
		return false, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return ctx.Err() == nil, fmt.Errorf("download of %s from %s failed: %w", f.mirrorName(), src, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("download of %s: %s answered %s", f.mirrorName(), src, resp.Status)
	}
	total := resp.ContentLength
	if total < 0 {
		total = f.Size
	}
	h := sha256.New()
	var body io.Reader = resp.Body
	if f.Size > 0 {
		// A server sending more than the file is not sending the file.
		body = io.LimitReader(body, f.Size+1)
	}
	if opts.Progress != nil {
		body = &progressReader{r: body, total: total, fn: opts.Progress}
	}
	n, err := io.Copy(io.MultiWriter(tmp, h), body)
	if err != nil {
		return ctx.Err() == nil, fmt.Errorf("download of %s from %s broke off after %d bytes: %w", f.mirrorName(), src, n, err)
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

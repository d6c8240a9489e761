package models

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
)

// ErrChecksum reports a downloaded or local file whose digest is not the
// catalogue's.
var ErrChecksum = errors.New("checksum mismatch")

// ErrNoModelsDir reports a machine without a per-user cache directory, where
// the models folder must be given.
var ErrNoModelsDir = errors.New("no per-user cache directory for the models folder")

// Dir returns the per-user directory that Pull downloads into:
// <user cache dir>/transfer/models.
func Dir() (string, error) {
	c, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("%w (%v)", ErrNoModelsDir, err)
	}
	return filepath.Join(c, "transfer", "models"), nil
}

// Path returns where entry e lives inside dir.
func (e Entry) Path(dir string) string { return filepath.Join(dir, e.Name+".onnx") }

// PullOptions configure Pull.
type PullOptions struct {
	// Client makes the request; nil means http.DefaultClient.
	Client *http.Client
	// Progress, when set, is called as bytes arrive with the count so far
	// and the expected total (0 when unknown).
	Progress func(done, total int64)
}

// Pull downloads e into dir and returns the file's path. A file already there
// with the right checksum is kept and nothing is downloaded. The download
// goes to a temporary file in dir that is renamed into place only after its
// checksum matched, so an interrupted or failed pull never leaves a partial
// model under the final name.
func Pull(ctx context.Context, e Entry, dir string, opts PullOptions) (string, error) {
	dest := e.Path(dir)
	if ok, err := verify(dest, e.SHA256); err == nil && ok {
		return dest, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("pull %s: %w", e.Name, err)
	}
	tmp, err := os.CreateTemp(dir, "."+e.Name+".partial-*")
	if err != nil {
		return "", fmt.Errorf("pull %s: %w", e.Name, err)
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
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.URL, nil)
	if err != nil {
		return "", fmt.Errorf("pull %s: %w", e.Name, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("pull %s: download from %s failed: %w; without network access, fetch the file elsewhere, check its sha256 is %s and place it at %s (or use any ONNX file by its path instead)", e.Name, e.URL, err, e.SHA256, dest)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("pull %s: %s answered %s", e.Name, e.URL, resp.Status)
	}
	total := resp.ContentLength
	if total < 0 {
		total = e.Size
	}
	h := sha256.New()
	var body io.Reader = resp.Body
	if opts.Progress != nil {
		body = &progressReader{r: body, total: total, fn: opts.Progress}
	}
	n, err := io.Copy(io.MultiWriter(tmp, h), body)
	if err != nil {
		return "", fmt.Errorf("pull %s: download interrupted after %d bytes: %w", e.Name, n, err)
	}
	if e.Size > 0 && n != e.Size {
		return "", fmt.Errorf("pull %s: %w: got %d bytes, want %d", e.Name, ErrChecksum, n, e.Size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != e.SHA256 {
		return "", fmt.Errorf("pull %s: %w: downloaded file has sha256 %s, want %s", e.Name, ErrChecksum, got, e.SHA256)
	}
	if err := tmp.Sync(); err != nil {
		return "", fmt.Errorf("pull %s: %w", e.Name, err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("pull %s: %w", e.Name, err)
	}
	if err := os.Rename(tmp.Name(), dest); err != nil {
		return "", fmt.Errorf("pull %s: %w", e.Name, err)
	}
	committed = true
	return dest, nil
}

// verify reports whether the file at path has the given sha256.
func verify(path, want string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return false, err
	}
	return hex.EncodeToString(h.Sum(nil)) == want, nil
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

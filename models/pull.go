package models

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"

	"github.com/transfer-go/transfer/internal/download"
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
	// Mirror, when set, is fetched from instead of the catalogue's
	// origin: Mirror/<name>.onnx, with the same checksum (see URLs).
	Mirror string
	// Client makes the request; nil means http.DefaultClient, which
	// honours HTTPS_PROXY and NO_PROXY.
	Client *http.Client
	// Progress, when set, is called as bytes arrive with the count so far
	// and the expected total (0 when unknown).
	Progress func(done, total int64)
}

// File is what Pull fetches for e: its name on a mirror, origin and
// checksum.
func (e Entry) File() download.File {
	return download.File{Name: e.Name + ".onnx", URL: e.URL, SHA256: e.SHA256, Size: e.Size}
}

// Pull downloads e into dir and returns the file's path. A file already there
// with the right checksum is kept and nothing is downloaded. The download
// goes to a temporary file in dir that is renamed into place only after its
// checksum matched, so an interrupted or failed pull never leaves a partial
// model under the final name; a transfer that breaks off is tried once more.
func Pull(ctx context.Context, e Entry, dir string, opts PullOptions) (string, error) {
	dest := e.Path(dir)
	f := e.File()
	err := download.Fetch(ctx, f, dest, download.Options{Mirror: opts.Mirror, Client: opts.Client, Progress: opts.Progress})
	switch {
	case err == nil:
		return dest, nil
	case errors.Is(err, download.ErrChecksum):
		return "", fmt.Errorf("pull %s: %w: %v", e.Name, ErrChecksum, err)
	case ctx.Err() != nil:
		return "", fmt.Errorf("pull %s: %w", e.Name, err)
	}
	return "", fmt.Errorf("pull %s: %w; without network access, fetch %s elsewhere (or put it on a mirror: --mirror URL), check its sha256 is %s and place it at %s (or use any ONNX file by its path instead)",
		e.Name, err, f.Source(download.Options{Mirror: opts.Mirror}), e.SHA256, dest)
}

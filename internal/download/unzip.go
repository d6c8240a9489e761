package download

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// ErrUnsafeArchive reports a zip entry that would write outside the target
// folder, a link, or more bytes than allowed.
var ErrUnsafeArchive = errors.New("unsafe archive")

// Unzip extracts the regular files of the zip at src into dir, refusing the
// whole archive, before writing anything, when an entry has an absolute
// path or "..", is a symbolic link or other special file, or the entries
// declare more than limit bytes together; the bytes written are counted
// too, so an entry that inflates beyond its declared size is refused. It
// extracts into a temporary folder beside dir and renames it into place, so
// dir holds a whole archive or nothing.
func Unzip(src, dir string, limit int64) error {
	r, err := zip.OpenReader(src)
	if err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	defer r.Close()
	var total uint64
	for _, f := range r.File {
		name := f.Name
		switch {
		case strings.HasPrefix(name, "/") || strings.HasPrefix(name, `\`) || filepath.IsAbs(name) || strings.Contains(name, ":"):
			return fmt.Errorf("%s: %w: entry %q has an absolute path", src, ErrUnsafeArchive, name)
		case hasDotDot(name):
			return fmt.Errorf("%s: %w: entry %q climbs out of the folder (..)", src, ErrUnsafeArchive, name)
		case f.Mode()&os.ModeSymlink != 0:
			return fmt.Errorf("%s: %w: entry %q is a symbolic link", src, ErrUnsafeArchive, name)
		case !f.Mode().IsRegular() && !f.FileInfo().IsDir():
			return fmt.Errorf("%s: %w: entry %q is not a regular file", src, ErrUnsafeArchive, name)
		}
		total += f.UncompressedSize64
		if total > uint64(limit) {
			return fmt.Errorf("%s: %w: its entries hold more than %d MB", src, ErrUnsafeArchive, limit>>20)
		}
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".partial-*")
	if err != nil {
		return err
	}
	done := false
	defer func() {
		if !done {
			os.RemoveAll(tmp)
		}
	}()
	budget := limit
	for _, f := range r.File {
		if f.FileInfo().IsDir() {
			continue
		}
		dst := filepath.Join(tmp, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		n, err := extract(f, dst, budget)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", src, f.Name, err)
		}
		budget -= n
	}
	os.RemoveAll(dir) // an earlier, partial or stale copy
	if err := os.Rename(tmp, dir); err != nil {
		return err
	}
	done = true
	return nil
}

func hasDotDot(name string) bool {
	for _, part := range strings.FieldsFunc(name, func(r rune) bool { return r == '/' || r == '\\' }) {
		if part == ".." {
			return true
		}
	}
	return false
}

func extract(f *zip.File, dst string, budget int64) (int64, error) {
	rc, err := f.Open()
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, io.LimitReader(rc, budget+1))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil && n > budget {
		err = fmt.Errorf("%w: it inflates beyond the archive's limit", ErrUnsafeArchive)
	}
	return n, err
}

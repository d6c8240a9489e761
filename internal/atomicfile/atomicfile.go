// Package atomicfile replaces files whole or not at all.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// WriteFile writes data to a temporary file in path's folder, flushes it to
// the disk, renames it over path and flushes the folder, so that readers,
// and a crash or power cut, see the old file or the new one, never a part.
// Errors name path, not the temporary file.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return wrap(path, err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing left to remove
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return wrap(path, err)
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return wrap(path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return wrap(path, err)
	}
	if err := tmp.Close(); err != nil {
		return wrap(path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return wrap(path, err)
	}
	// The rename is durable once the folder's entry is on the disk.
	if dir, err := os.Open(filepath.Dir(path)); err == nil {
		dir.Sync()
		dir.Close()
	}
	return nil
}

// wrap names the file being written instead of the temporary one.
func wrap(path string, err error) error {
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		err = pe.Err
	case errors.As(err, &le):
		err = le.Err
	}
	return fmt.Errorf("write %s: %w", path, err)
}

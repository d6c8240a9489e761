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
	f, err := Create(path, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Abort()
		return wrap(path, err)
	}
	return f.Commit()
}

// File is a file being written under a temporary name beside the path it
// will replace. Write to it, then Commit to put it in place, or Abort to
// leave the old file as it was; an uncommitted File must be aborted.
type File struct {
	*os.File
	path string
	perm os.FileMode
	done bool
}

// Create starts a replacement of the file at path.
func Create(path string, perm os.FileMode) (*File, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, wrap(path, err)
	}
	return &File{File: tmp, path: path, perm: perm}, nil
}

// Path is the path the file will have once committed.
func (f *File) Path() string { return f.path }

// Sync flushes the temporary file to the disk, so that a set of files can
// all be written out before any of them is renamed into place.
func (f *File) Sync() error {
	if err := f.File.Chmod(f.perm); err != nil {
		return wrap(f.path, err)
	}
	if err := f.File.Sync(); err != nil {
		return wrap(f.path, err)
	}
	return nil
}

// Commit flushes the file to the disk, renames it over its path and
// flushes the folder. On failure the old file is left as it was.
func (f *File) Commit() error {
	if f.done {
		return nil
	}
	f.done = true
	defer os.Remove(f.File.Name()) // after a successful rename there is nothing left to remove
	if err := f.Sync(); err != nil {
		f.File.Close()
		return err
	}
	if err := f.File.Close(); err != nil {
		return wrap(f.path, err)
	}
	if err := os.Rename(f.File.Name(), f.path); err != nil {
		return wrap(f.path, err)
	}
	// The rename is durable once the folder's entry is on the disk.
	if dir, err := os.Open(filepath.Dir(f.path)); err == nil {
		dir.Sync()
		dir.Close()
	}
	return nil
}

// Abort removes the temporary file. It does nothing after Commit.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.File.Close()
	os.Remove(f.File.Name())
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

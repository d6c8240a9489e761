//go:build unix

package dataset_test

import (
	"os"
	"syscall"

	"github.com/transfer-go/transfer/dataset"
)

// specialFiles are paths that are no regular files: reading them would
// block forever or never end.
func specialFiles() []struct {
	name string
	make func(path string) error
	want error
} {
	return []struct {
		name string
		make func(path string) error
		want error
	}{
		{"fifo.jpg", func(p string) error { return syscall.Mkfifo(p, 0o644) }, dataset.ErrNotRegular},
		{"zero.jpg", func(p string) error { return os.Symlink("/dev/zero", p) }, dataset.ErrNotRegular},
	}
}

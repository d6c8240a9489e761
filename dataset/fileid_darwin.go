package dataset

import (
	"io/fs"
	"syscall"
)

// fileIdentity returns the inode and status-change time of a file (see the
// Linux version).
func fileIdentity(st fs.FileInfo) (inode, ctimeNS int64) {
	s, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0
	}
	return int64(s.Ino), s.Ctimespec.Sec*1e9 + s.Ctimespec.Nsec
}

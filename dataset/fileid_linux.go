package dataset

import (
	"io/fs"
	"syscall"
)

// fileIdentity returns the inode and status-change time of a file: writing
// a file changes its ctime, which no program can set back, so a rewrite
// with the old size and modification time restored is still noticed.
func fileIdentity(st fs.FileInfo) (inode, ctimeNS int64) {
	s, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0
	}
	return int64(s.Ino), s.Ctim.Sec*1e9 + s.Ctim.Nsec
}

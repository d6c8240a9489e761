//go:build !linux && !darwin

package dataset

import "io/fs"

// fileIdentity is unknown here: path records then rely on size and
// modification time alone.
func fileIdentity(fs.FileInfo) (inode, ctimeNS int64) { return 0, 0 }

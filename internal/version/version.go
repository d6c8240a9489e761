// Package version says which build of transfer this is, for --version,
// the server's metadata and the producer_version of the files it writes.
package version

import (
	"fmt"
	"runtime/debug"
)

// String is the module version transfer was built at ("(devel)" in a
// checkout), with the commit when the build recorded one.
func String() string {
	v, commit, modified := "(devel)", "", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if commit != "" {
		v += fmt.Sprintf(" (commit %.12s", commit)
		if modified {
			v += ", modified"
		}
		v += ")"
	}
	return v
}

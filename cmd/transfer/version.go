package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/urfave/cli/v2"

	"github.com/transfer-go/transfer/backbone"
)

// version is the module version transfer was built at ("(devel)" in a
// checkout), with the commit when the build recorded one.
func version() string {
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

func init() {
	// --version also says which ONNX Runtime this transfer would load.
	cli.VersionPrinter = func(c *cli.Context) {
		w := c.App.Writer
		fmt.Fprintf(w, "transfer %s, %s, %s/%s\n", c.App.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		path, err := backbone.LoadRuntime("")
		if err != nil {
			fmt.Fprintf(w, "ONNX Runtime: not found (%v)\n", err)
			return
		}
		_, v := backbone.RuntimeInfo()
		fmt.Fprintf(w, "ONNX Runtime %s: %s\n", v, path)
	}
}

package main

import (
	"fmt"
	"runtime"

	"github.com/urfave/cli/v2"

	"github.com/transfer-go/transfer/backbone"
	buildversion "github.com/transfer-go/transfer/internal/version"
)

// version is the build's version (internal/version).
func version() string { return buildversion.String() }

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

package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/transfer-go/transfer/cmd/transfer/internal/report"
)

// requireFlag fails, in one line, when a command's required flag is
// missing.
func requireFlag(c *cli.Context, name, what string) error {
	if c.String(name) == "" {
		return usageError{fmt.Errorf("%s: --%s is required: %s", c.Command.Name, name, what)}
	}
	return nil
}

// checkOutputs checks, before any work, that every output flag that is set
// names a file that can be written: its folder exists and takes a new
// file, and the path is not a folder. Training for minutes and then
// failing to save is the worst time to learn of a typo.
func checkOutputs(c *cli.Context, names ...string) error {
	for _, name := range names {
		p := c.String(name)
		if p == "" {
			continue
		}
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			return usageError{fmt.Errorf("--%s %s is a folder; give a file path", name, p)}
		}
		dir := filepath.Dir(p)
		tmp, err := os.CreateTemp(dir, ".transfer-check-*")
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return usageError{fmt.Errorf("--%s %s cannot be written: its folder %s: %v", name, p, dir, err)}
		}
		tmp.Close()
		os.Remove(tmp.Name())
	}
	return nil
}

// checkPlot refuses a --plot file of a format no plot is written in.
func checkPlot(c *cli.Context) error {
	if p := c.String(plotFlag.Name); p != "" {
		if err := report.CheckPath(p); err != nil {
			return usageError{fmt.Errorf("--plot %s: a plot is written as PNG, SVG or PDF: give the file the extension .png, .svg or .pdf", p)}
		}
	}
	return nil
}

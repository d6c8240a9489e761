// Command transfer does transfer learning on images: a frozen ONNX backbone
// turns each image into an embedding once, the embeddings are cached, and
// small softmax heads are trained on them in pure Go.
//
// Run `transfer --help` for the commands and `transfer COMMAND --help` for
// each command's flags.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"slices"

	"github.com/urfave/cli/v2"
)

func main() {
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}

// run executes the command line and returns the process exit code. It is
// main without os.Exit, so that deferred Destroy calls in the commands run
// and tests can call it.
func run(args []string, stdout, stderr io.Writer) (code int) {
	ctx, stop := interruptible(context.Background())
	defer stop()
	// A panic is a bug, never an answer to bad input (those are errors):
	// report it as one, with the stack when --debug asks for it.
	defer func() {
		if p := recover(); p != nil {
			fmt.Fprintf(stderr, "transfer: internal error (a bug in transfer; please report it): %v\n", p)
			if slices.Contains(args, "--"+debugFlag.Name) || os.Getenv(debugFlag.EnvVars[0]) != "" {
				fmt.Fprintf(stderr, "%s", debug.Stack())
			} else {
				fmt.Fprintln(stderr, "transfer: rerun with --debug for the stack trace")
			}
			code = exitFailure
		}
	}()
	app := newApp(stdout, stderr)
	app.Metadata = map[string]any{"args": args}
	err := app.RunContext(ctx, normalizeArgs(app, args))
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "transfer: %v\n", withHint(err))
	return exitCode(err)
}

func newApp(stdout, stderr io.Writer) *cli.App {
	return &cli.App{
		Name:      "transfer",
		Usage:     "transfer learning on images with a frozen ONNX backbone and a pure-Go head",
		UsageText: "transfer COMMAND [flags] [arguments]",
		Description: "Embeddings are computed once per image and model and kept in a cache " +
			"(.transfer/cache.db by default), so that every later experiment on the same images runs without inference.",
		Writer:                 stdout,
		ErrWriter:              stderr,
		HideHelpCommand:        true,
		UseShortOptionHandling: true,
		Suggest:                true,
		ExitErrHandler:         func(*cli.Context, error) {}, // run maps errors to exit codes
		Commands:               commands(),
		Flags:                  []cli.Flag{debugFlag},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return unknownCommand(c.Args().First(), c.App.Commands)
			}
			return cli.ShowAppHelp(c)
		},
		OnUsageError: func(c *cli.Context, err error, _ bool) error { return usageErrorWithHint(c.App.Flags, err) },
		Version:      version(),
		HideVersion:  false,
	}
}

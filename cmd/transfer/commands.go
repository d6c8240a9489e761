package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

func commands() []*cli.Command {
	cmds := []*cli.Command{
		tutorialCommand(),
		extractCommand(),
		trainCommand(),
		sweepCommand(),
		runsCommand(),
		serveCommand(),
		doctorCommand(),
		evalCommand(),
		predictCommand(),
		exportCommand(),
		cacheCommand(),
		modelsCommand(),
	}
	for _, c := range cmds {
		markUsageErrors(c)
		refuseStrayArguments(c, "transfer")
	}
	withEnvVars(nil, cmds)
	return cmds
}

// markUsageErrors makes flag-parsing errors of c and its subcommands exit
// with the bad-input code.
func markUsageErrors(c *cli.Command) {
	c.OnUsageError = func(_ *cli.Context, err error, _ bool) error { return usageErrorWithHint(c.Flags, err) }
	for _, s := range c.Subcommands {
		markUsageErrors(s)
	}
}

// refuseStrayArguments makes every command that takes no arguments (no
// ArgsUsage) refuse one, before its flags' checks and its work:
// "extract --data cats photos2/" ignored photos2/ and exited 0. A command
// with subcommands refuses, with a suggestion, a word that names none
// ("runs lsit" printed urfave's "No help topic" and exited 1).
func refuseStrayArguments(c *cli.Command, parent string) {
	full := parent + " " + c.Name
	for _, s := range c.Subcommands {
		refuseStrayArguments(s, full)
	}
	if len(c.Subcommands) > 0 {
		c.Action = func(ctx *cli.Context) error {
			if ctx.NArg() > 0 {
				return unknownSubcommand(full, ctx.Args().First(), c.Subcommands)
			}
			return cli.ShowSubcommandHelp(ctx)
		}
		return
	}
	if c.ArgsUsage != "" {
		return
	}
	before := c.Before
	c.Before = func(ctx *cli.Context) error {
		if ctx.NArg() > 0 {
			return usageError{fmt.Errorf("unexpected argument %q: %s takes no file arguments, only flags (see %s --help)", ctx.Args().First(), full, full)}
		}
		if before != nil {
			return before(ctx)
		}
		return nil
	}
}

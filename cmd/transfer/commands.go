package main

import (
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

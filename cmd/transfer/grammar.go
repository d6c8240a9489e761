package main

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// normalizeArgs turns the command line users type into the one urfave/cli
// parses: "help" and "help COMMAND" become --help, and a command's flags
// may come after its file arguments ("predict new/ --format csv"), as they
// are moved in front of them. "--" ends the flags; what follows stays an
// argument.
func normalizeArgs(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	if args[1] == "help" {
		return append(append([]string{args[0]}, args[2:]...), "--help")
	}
	// Find the command (and subcommand) the arguments name.
	i := 1
	for i < len(args) && strings.HasPrefix(args[i], "-") && args[i] != "--" {
		i++ // global flags, which take no value
	}
	var cmd *cli.Command
	cmds := app.Commands
	for i < len(args) {
		next := findCommand(cmds, args[i])
		if next == nil {
			break
		}
		cmd, cmds, i = next, next.Subcommands, i+1
	}
	if cmd == nil || len(cmd.Subcommands) > 0 {
		return args
	}
	var flags, rest []string
	dashes := false
	for j := i; j < len(args); j++ {
		a := args[j]
		switch {
		case a == "--":
			rest, dashes = append(rest, args[j+1:]...), true
			j = len(args)
		case strings.HasPrefix(a, "-") && len(a) > 1:
			flags = append(flags, a)
			if takesValue(cmd, a) && !strings.Contains(a, "=") && j+1 < len(args) {
				flags = append(flags, args[j+1])
				j++
			}
		default:
			rest = append(rest, a)
		}
	}
	if dashes {
		rest = append([]string{"--"}, rest...)
	}
	out := append([]string{}, args[:i]...)
	return append(append(out, flags...), rest...)
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.Name == name || slices.Contains(c.Aliases, name) {
			return c
		}
	}
	return nil
}

// takesValue reports whether the flag a (as typed, "--cache" or "-o")
// of cmd takes a value in the next argument.
func takesValue(cmd *cli.Command, a string) bool {
	name := strings.TrimLeft(a, "-")
	for _, f := range cmd.Flags {
		if !slices.Contains(f.Names(), name) {
			continue
		}
		_, isBool := f.(*cli.BoolFlag)
		return !isBool
	}
	return false
}

// suggest returns the candidate closest to what was typed, when it is
// close enough to be a typo: an edit distance of at most a third of its
// length (and at least 1), or a prefix.
func suggest(typed string, candidates []string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		d := editDistance(typed, c)
		if strings.HasPrefix(c, typed) && len(typed) >= 3 {
			d = min(d, 1)
		}
		if d < bestD {
			best, bestD = c, d
		}
	}
	if bestD <= max(1, len(typed)/3) {
		return best
	}
	return ""
}

// editDistance is the optimal-string-alignment distance: insertions,
// deletions, substitutions and swaps of two neighbours each cost 1, so
// that "trian", "modle" and "lsit" are one edit from what was meant.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

var undefinedFlag = regexp.MustCompile(`flag provided but not defined: -+(\S+)`)

// usageErrorWithHint returns a command's flag-parsing error as a usage
// error, with the flag it probably meant.
func usageErrorWithHint(flags []cli.Flag, err error) error {
	if m := undefinedFlag.FindStringSubmatch(err.Error()); m != nil {
		var names []string
		for _, f := range flags {
			if vf, ok := f.(cli.VisibleFlag); ok && !vf.IsVisible() {
				continue
			}
			names = append(names, f.Names()...)
		}
		msg := fmt.Sprintf("unknown flag --%s", m[1])
		if s := suggest(m[1], names); s != "" {
			return usageError{fmt.Errorf("%s; did you mean --%s?", msg, s)}
		}
		return usageError{fmt.Errorf("%s; see the command's --help", msg)}
	}
	return usageError{err}
}

// unknownSubcommand is the error for a word after parent that names
// none of its subcommands.
func unknownSubcommand(parent, name string, cmds []*cli.Command) error {
	var names []string
	for _, c := range cmds {
		if !c.Hidden {
			names = append(names, c.Name)
		}
	}
	if s := suggest(name, names); s != "" {
		return usageError{fmt.Errorf("%s has no command %q; did you mean %q? (see %s --help)", parent, name, s, parent)}
	}
	return usageError{fmt.Errorf("%s has no command %q; its commands are %s", parent, name, strings.Join(names, ", "))}
}

// unknownCommand is the error for a command name transfer does not have.
func unknownCommand(name string, cmds []*cli.Command) error {
	var names []string
	for _, c := range cmds {
		if !c.Hidden {
			names = append(names, c.Name)
		}
	}
	if s := suggest(name, names); s != "" {
		return usageError{fmt.Errorf("unknown command %q; did you mean %q? (see transfer --help)", name, s)}
	}
	return usageError{fmt.Errorf("unknown command %q; see transfer --help", name)}
}

package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/transfer-go/transfer/internal/safecsv"
)

// Output formats, one switch across commands.
const (
	formatText = "text"
	formatJSON = "json"
	formatCSV  = "csv"
)

func formatFlags() []cli.Flag { return []cli.Flag{formatFlag, jsonFlag} }

// outputFormat returns the format the command prints in, checked against
// the ones it supports. "table", predict's older name, is text.
func outputFormat(c *cli.Context, supported ...string) (string, error) {
	f := c.String(formatFlag.Name)
	if f == "table" {
		f = formatText
	}
	if c.Bool(jsonFlag.Name) {
		if c.IsSet(formatFlag.Name) && f != formatJSON {
			return "", usageError{fmt.Errorf("--json and --format %s contradict each other", f)}
		}
		f = formatJSON
	}
	if !slices.Contains(supported, f) {
		return "", usageError{fmt.Errorf("--format %q: %s prints %s", c.String(formatFlag.Name), c.Command.Name, strings.Join(supported, ", "))}
	}
	return f, nil
}

// printJSONIf prints v as indented JSON when the output format is JSON.
func printJSONIf(c *cli.Context, v any) error {
	if f, _ := outputFormat(c, formatText, formatJSON, formatCSV); f != formatJSON {
		return nil
	}
	enc := json.NewEncoder(c.App.Writer)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func isJSON(c *cli.Context) bool {
	f, _ := outputFormat(c, formatText, formatJSON, formatCSV)
	return f == formatJSON
}

// writeCSV writes rows (the first one the header) with every cell made safe.
func writeCSV(c *cli.Context, rows [][]string) error {
	return safecsv.Write(c.App.Writer, rows)
}

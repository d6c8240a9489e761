package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/transfer-go/transfer/cmd/transfer/internal/tutorial"
	"github.com/transfer-go/transfer/internal/download"
	"github.com/transfer-go/transfer/models"
)

func modelsCommand() *cli.Command {
	return &cli.Command{
		Name:  "models",
		Usage: "list, download and inspect backbones",
		Subcommands: []*cli.Command{
			{
				Name:   "list",
				Usage:  "list the catalogue of known backbones and whether each is downloaded",
				Flags:  []cli.Flag{modelsDirFlag, urlsFlag},
				Action: modelsList,
			},
			{
				Name:      "pull",
				Usage:     "download a catalogue backbone, verifying its sha256",
				ArgsUsage: "NAME...",
				Flags:     []cli.Flag{modelsDirFlag, mirrorFlag},
				Action:    modelsPull,
			},
			{
				Name:      "inspect",
				Usage:     "show what transfer sees in a model: inputs, layout, preprocessing, embedding tensor",
				ArgsUsage: "FILE|NAME",
				Flags: []cli.Flag{preprocessFlag, layoutFlag, inputSizeFlag, embeddingOutputFlag, resizeFlag,
					modelsDirFlag, deviceFlag, threadsFlag, ortLibFlag},
				Action: modelsInspect,
			},
			quantizeCommand(),
		},
	}
}

// catalogueEntry looks a model up in the catalogue. TRANSFER_TEST_CATALOGUE
// ("name=sha256:size") replaces an entry's checksum, so that tests can
// serve a generated model under a catalogue name; it is read by tests only.
func catalogueEntry(name string) (models.Entry, bool) {
	e, ok := models.Lookup(name)
	if v := os.Getenv("TRANSFER_TEST_CATALOGUE"); ok && v != "" {
		if n, sum, found := strings.Cut(v, "="); found && n == name {
			sha, size, _ := strings.Cut(sum, ":")
			e.SHA256 = sha
			e.Size, _ = strconv.ParseInt(size, 10, 64)
		}
	}
	return e, ok
}

// listURLs prints what a mirror must serve: each file's name, origin,
// sha256 and size.
func listURLs(c *cli.Context) error {
	tw := tabwriter.NewWriter(c.App.Writer, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FILE\tSHA256\tBYTES\tORIGIN")
	files := []download.File{}
	for _, e := range models.Catalogue {
		files = append(files, e.File())
	}
	files = append(files, tutorial.Photos)
	for _, f := range files {
		size := "?"
		if f.Size > 0 {
			size = strconv.FormatInt(f.Size, 10)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", f.Name, f.SHA256, size, f.URL)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(c.App.ErrWriter, "put these files in one folder served over HTTP(S) and pass its URL as --mirror (or TRANSFER_MIRROR)")
	return nil
}

func modelsList(c *cli.Context) error {
	if c.Bool(urlsFlag.Name) {
		return listURLs(c)
	}
	dir, err := modelsDir(c)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(c.App.Writer, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATUS\tDESCRIPTION")
	for _, e := range models.Catalogue {
		status := "not pulled"
		if _, err := os.Stat(e.Path(dir)); err == nil {
			status = "pulled"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", e.Name, status, e.Description)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "\nmodels directory: %s\nany other ONNX CNN file works too: --model path/to/model.onnx\n", dir)
	return nil
}

func modelsPull(c *cli.Context) error {
	if c.NArg() == 0 {
		return usageError{fmt.Errorf("models pull: name a model to download (see transfer models list)")}
	}
	dir, err := modelsDir(c)
	if err != nil {
		return err
	}
	for _, name := range c.Args().Slice() {
		e, ok := catalogueEntry(name)
		if !ok {
			return usageError{fmt.Errorf("models pull: no catalogue model %q (see transfer models list)", name)}
		}
		progress := newByteProgress(c.App.ErrWriter, "pull "+name)
		path, err := models.Pull(c.Context, e, dir, models.PullOptions{Mirror: c.String(mirrorFlag.Name), Progress: progress.update})
		progress.done()
		if err != nil {
			return err
		}
		fmt.Fprintf(c.App.Writer, "%s\t%s\n", name, path)
	}
	return nil
}

func modelsInspect(c *cli.Context) error {
	if c.NArg() != 1 {
		return usageError{fmt.Errorf("models inspect: give one model file or catalogue name")}
	}
	r, err := resolveModel(c, c.Args().First())
	if err != nil {
		return err
	}
	rep, err := models.Inspect(r)
	if err != nil {
		return err
	}
	return rep.WriteText(c.App.Writer)
}

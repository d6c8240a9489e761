package main

import (
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

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
				Flags:  []cli.Flag{modelsDirFlag},
				Action: modelsList,
			},
			{
				Name:      "pull",
				Usage:     "download a catalogue backbone, verifying its sha256",
				ArgsUsage: "NAME...",
				Flags:     []cli.Flag{modelsDirFlag},
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
		},
	}
}

func modelsList(c *cli.Context) error {
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
		e, ok := models.Lookup(name)
		if !ok {
			return usageError{fmt.Errorf("models pull: no catalogue model %q (see transfer models list)", name)}
		}
		progress := newByteProgress(c.App.ErrWriter, "pull "+name)
		path, err := models.Pull(c.Context, e, dir, models.PullOptions{Progress: progress.update})
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

package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/transfer-go/transfer/backbone"
	"github.com/transfer-go/transfer/head"
	"github.com/transfer-go/transfer/internal/atomicfile"
	"github.com/transfer-go/transfer/internal/onnxgraph"
	"github.com/transfer-go/transfer/models"
)

func exportCommand() *cli.Command {
	return &cli.Command{
		Name:  "export",
		Usage: "write the backbone and a trained head as one ONNX classifier with output \"probabilities\"",
		Description: "The file runs in any ONNX Runtime (Python, C#, JavaScript, mobile) without transfer. Class names, the backbone fingerprint " +
			"and the preprocessing are in its metadata_props. Unless --no-verify, the exported model is run on sample images and compared with the backbone and head.",
		Flags: slices.Concat(backboneFlags(), []cli.Flag{headFlag,
			onnxOutputFlag,
			withPreprocessingFlag, pixelTypeFlag, noVerifyFlag}),
		Action: export,
	}
}

func export(c *cli.Context) error {
	if err := requireFlag(c, onnxOutputFlag.Name, "the ONNX file to write"); err != nil {
		return err
	}
	if err := checkOutputs(c, onnxOutputFlag.Name); err != nil {
		return err
	}
	h, err := readHead(c)
	if err != nil {
		return err
	}
	hp := c.String(headFlag.Name)
	r, err := resolveModel(c, c.String(modelFlag.Name))
	if err != nil {
		return err
	}
	info, err := backbone.Analyze(r.Model, r.Path, r.Options)
	if err != nil {
		return err
	}
	var opts models.ExportOptions
	if c.Bool(withPreprocessingFlag.Name) {
		opts.Pixels = models.PixelType(c.String(pixelTypeFlag.Name))
		if opts.Pixels != models.PixelsUint8 && opts.Pixels != models.PixelsFloat {
			return usageError{fmt.Errorf("--pixel-type %q: want uint8 or float", opts.Pixels)}
		}
	}
	// labels.txt holds one class a line: a name with a line break would
	// shift every class after it.
	for _, cl := range h.Classes {
		if strings.ContainsAny(cl, "\n\r") {
			return usageError{fmt.Errorf("head %s: class %q holds a line break, which the one-class-a-line %s cannot hold; rename the class and train again", hp, cl, filepath.Base(labelsPath(c.String(onnxOutputFlag.Name))))}
		}
	}
	out, err := models.Export(r.Model, info, h, opts)
	if err != nil {
		return usageError{fmt.Errorf("head %s: %w", hp, err)}
	}
	// Verified before it is written: a failed export never replaces a
	// good file.
	path := c.String(onnxOutputFlag.Name)
	var diff float64
	var n int
	verified := false
	if !c.Bool(noVerifyFlag.Name) {
		diff, n, err = verifyExport(c.Context, r, out, h)
		switch {
		case errors.Is(err, backbone.ErrRuntimeUnavailable):
			fmt.Fprintf(c.App.ErrWriter, "not verified: %v\n", err)
		case errors.Is(err, head.ErrNonFiniteOutput):
			return usageError{fmt.Errorf("head %s: %w; nothing was written to %s", hp, err, path)}
		case err != nil:
			return fmt.Errorf("verify the export: %w; nothing was written to %s", err, path)
		case !(diff <= 1e-4): // NaN too
			return fmt.Errorf("verify the export: probabilities differ by %g; the export is wrong, please report it; nothing was written to %s", diff, path)
		default:
			verified = true
		}
	}
	if err := atomicfile.WriteFile(path, out.Bytes, 0o644); err != nil {
		return err
	}
	// Some runtimes (onnxruntime-node 1.30 among them) cannot read custom
	// metadata: the class names also go beside the model, one per line.
	labels := labelsPath(path)
	if err := atomicfile.WriteFile(labels, []byte(strings.Join(h.Classes, "\n")+"\n"), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "wrote %s (%.1f MB): %d classes %v, output %q; class names also in %s\n", path, float64(len(out.Bytes))/1e6, len(h.Classes), h.Classes, models.ProbabilitiesOutput, labels)
	if verified {
		fmt.Fprintf(c.App.Writer, "verified on %d sample images: the exported model and backbone+head differ by at most %.2g in probability\n", n, diff)
	}
	return nil
}

// verifyExport runs sample images through the exported classifier and
// through backbone + head (see models.Verify).
func verifyExport(ctx context.Context, r *models.Resolved, exported *onnxgraph.Model, h *head.Model) (float64, int, error) {
	b, err := backbone.OpenModel(r.Model, r.Path, r.Options)
	if err != nil {
		return 0, 0, err
	}
	defer b.Destroy()
	return models.Verify(ctx, b, exported, h, backbone.Options{LibraryPath: r.Options.LibraryPath, Threads: r.Options.Threads})
}

// labelsPath is the class-name file beside an exported model:
// classifier.onnx → classifier.labels.txt.
func labelsPath(model string) string {
	return strings.TrimSuffix(model, filepath.Ext(model)) + ".labels.txt"
}

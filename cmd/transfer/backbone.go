package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/transfer-go/transfer/backbone"
	"github.com/transfer-go/transfer/dataset"
	"github.com/transfer-go/transfer/models"
)

// modelsDir returns --models-dir or the per-user default.
func modelsDir(c *cli.Context) (string, error) {
	if d := c.String(modelsDirFlag.Name); d != "" {
		return d, nil
	}
	return models.Dir()
}

// resolveModel reads --model and the settings flags into a resolved model.
func resolveModel(c *cli.Context, ref string) (*models.Resolved, error) {
	if ref == "" {
		return nil, usageError{fmt.Errorf("no model: pass --model FILE.onnx (or a name from `transfer models list`)")}
	}
	layout, err := backbone.ParseLayout(c.String(layoutFlag.Name))
	if err != nil {
		return nil, usageError{err}
	}
	dir, err := modelsDir(c)
	if err != nil {
		return nil, err
	}
	r, err := models.Resolve(ref, models.Settings{
		Preprocess:      c.String(preprocessFlag.Name),
		Layout:          layout,
		InputSize:       c.Int(inputSizeFlag.Name),
		EmbeddingOutput: c.String(embeddingOutputFlag.Name),
		Resize:          c.String(resizeFlag.Name),
	}, dir)
	if err != nil {
		return nil, usageError{err}
	}
	dev, err := backbone.ParseDevice(c.String(deviceFlag.Name))
	if err != nil {
		return nil, usageError{err}
	}
	r.Options.Device = dev
	r.Options.Threads = c.Int(threadsFlag.Name)
	r.Options.LibraryPath = c.String(ortLibFlag.Name)
	return r, nil
}

// checkModelFlags validates the backbone flags that need no file access, so
// that a typo fails before any data is read.
func checkModelFlags(c *cli.Context) error {
	if c.String(modelFlag.Name) == "" {
		return usageError{fmt.Errorf("no model: pass --model FILE.onnx (or a name from `transfer models list`)")}
	}
	for _, check := range []func() error{
		func() error { _, err := backbone.ParseDevice(c.String(deviceFlag.Name)); return err },
		func() error { _, err := backbone.ParseLayout(c.String(layoutFlag.Name)); return err },
		func() error { _, err := dataset.ParseFilter(c.String(filterFlag.Name)); return err },
		func() error { _, err := dataset.ParseDecoder(c.String(decoderFlag.Name)); return err },
		func() error {
			if p := c.String(preprocessFlag.Name); p != "" {
				_, err := backbone.ParsePreprocess(p)
				return err
			}
			return nil
		},
		func() error {
			if r := c.String(resizeFlag.Name); r != "" {
				_, err := dataset.ParseResizeMode(r)
				return err
			}
			return nil
		},
	} {
		if err := check(); err != nil {
			return usageError{err}
		}
	}
	return nil
}

// openBackbone opens the model named by --model and returns it with the
// resizer its images need. The caller must Destroy the backbone.
func openBackbone(c *cli.Context) (*backbone.Backbone, *models.Resolved, dataset.Resizer, error) {
	r, err := resolveModel(c, c.String(modelFlag.Name))
	if err != nil {
		return nil, nil, dataset.Resizer{}, err
	}
	filter, err := dataset.ParseFilter(c.String(filterFlag.Name))
	if err != nil {
		return nil, nil, dataset.Resizer{}, usageError{err}
	}
	b, err := backbone.OpenModel(r.Model, r.Path, r.Options)
	if err != nil {
		return nil, nil, dataset.Resizer{}, err
	}
	info := b.Info()
	return b, r, dataset.Resizer{Width: info.Width, Height: info.Height, Mode: r.Resize, Filter: filter}, nil
}

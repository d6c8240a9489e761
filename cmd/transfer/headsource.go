package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/transfer-go/transfer/dataset"
	"github.com/transfer-go/transfer/head"
	"github.com/transfer-go/transfer/models"
)

// readHead loads --head and fills every backbone and pixel flag the user
// left unset from what the head records, so that predict, eval and export
// need only the head: the model (its catalogue name when it is pulled
// here, else the recorded path), preprocessing, layout, input size,
// embedding tensor, resize mode, filter and decoder. A flag the user gives
// wins, and is checked against the head when the session opens (the model
// by its bytes, through the backbone fingerprint).
func readHead(c *cli.Context) (*head.Model, error) {
	p := c.String(headFlag.Name)
	if p == "" {
		return nil, usageError{fmt.Errorf("no head: pass --head FILE (made by transfer train -o FILE)")}
	}
	return applyHead(c, p)
}

// applyHead loads the head at p and fills the backbone flags the command
// line leaves open from what the head records.
func applyHead(c *cli.Context, p string) (*head.Model, error) {
	m, err := head.Load(p)
	if err != nil {
		return nil, usageError{err}
	}
	src := m.Source
	if !c.IsSet(modelFlag.Name) {
		ref, err := headModel(c, p, src)
		if err != nil {
			return nil, err
		}
		c.Set(modelFlag.Name, ref)
	}
	set := func(name, value string) {
		if !c.IsSet(name) && value != "" {
			c.Set(name, value)
		}
	}
	set(preprocessFlag.Name, src.Preprocess)
	set(layoutFlag.Name, strings.ToLower(src.Layout))
	set(embeddingOutputFlag.Name, src.EmbeddingTensor)
	if w, h := src.InputSize[0], src.InputSize[1]; w > 0 && w == h {
		set(inputSizeFlag.Name, strconv.Itoa(w))
	}
	if ps, err := dataset.ParsePixelSpec(src.Pixels); err == nil {
		set(resizeFlag.Name, ps.Mode.String())
		set(filterFlag.Name, ps.Filter.String())
		if d := ps.Decoder; !c.IsSet(decoderFlag.Name) {
			if _, err := dataset.ParseDecoder(d.String()); err != nil {
				return nil, usageError{fmt.Errorf("head %s was trained on JPEG pixels decoded by libjpeg-turbo, which cannot be loaded here (%v). "+
					"Install it (Debian/Ubuntu: apt-get install libturbojpeg0; macOS: brew install jpeg-turbo), or pass --decoder go to accept Go's slightly different JPEG pixels",
					p, errors.Unwrap(err))}
			}
			c.Set(decoderFlag.Name, d.String())
		}
	}
	return m, nil
}

// headModel finds the backbone a head was trained on: its catalogue model
// when it is pulled here, else the file at the recorded path.
func headModel(c *cli.Context, headPath string, src head.Provenance) (string, error) {
	if src.Catalogue != "" {
		if e, ok := models.Lookup(src.Catalogue); ok {
			if dir, err := modelsDir(c); err == nil {
				if _, err := os.Stat(e.Path(dir)); err == nil {
					return src.Catalogue, nil
				}
			}
		}
	}
	if src.Model == "" {
		return "", usageError{fmt.Errorf("head %s does not record its model: pass --model", headPath)}
	}
	if _, err := os.Stat(src.Model); err == nil {
		return src.Model, nil
	}
	hint := ""
	if src.Catalogue != "" {
		hint = fmt.Sprintf(" or `transfer models pull %s`", src.Catalogue)
	}
	return "", usageError{fmt.Errorf("head %s was trained on the model %s (sha256 %.12s…), which is no longer there: pass --model with its new path%s; it is checked against the head",
		headPath, src.Model, src.ModelSHA256, hint)}
}

// absPath makes a recorded path usable from another working directory.
func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

package report

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgpdf"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/transfer-go/transfer/internal/atomicfile"
)

// canvas is a drawing surface that writes itself in one file format.
type canvas interface {
	vg.CanvasSizer
	io.WriterTo
}

// Formats lists the plot file formats, by extension.
var Formats = []string{".png", ".svg", ".pdf"}

// newCanvas returns a w x h canvas for the format path's extension names.
func newCanvas(path string, w, h vg.Length) (canvas, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".png":
		return vgimg.PngCanvas{Canvas: vgimg.New(w, h)}, nil
	case ".svg":
		return vgsvg.New(w, h), nil
	case ".pdf":
		return vgpdf.New(w, h), nil
	}
	return nil, formatError(path)
}

// CheckPath reports whether a plot can be written to path, by its
// extension, before any work is done.
func CheckPath(path string) error {
	if !slices.Contains(Formats, strings.ToLower(filepath.Ext(path))) {
		return formatError(path)
	}
	return nil
}

func formatError(path string) error {
	return fmt.Errorf("report: %s: a plot is written as PNG, SVG or PDF (give the file one of the extensions %s)", path, strings.Join(Formats, ", "))
}

// save draws with paint on a canvas of the path's format and writes it
// whole (a temporary file renamed over path).
func save(path string, w, h vg.Length, paint func(draw.Canvas)) error {
	c, err := newCanvas(path, w, h)
	if err != nil {
		return err
	}
	paint(draw.New(c))
	var b strings.Builder
	if _, err := c.WriteTo(&b); err != nil {
		return err
	}
	return atomicfile.WriteFile(path, []byte(b.String()), 0o644)
}

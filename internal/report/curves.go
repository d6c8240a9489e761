package report

import (
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/transfer-go/transfer/head"
)

var (
	trainColor = color.RGBA{R: 31, G: 119, B: 180, A: 255}
	valColor   = color.RGBA{R: 255, G: 127, B: 14, A: 255}
)

// LearningCurves writes a PNG with two panels, loss and accuracy per epoch,
// each with the training curve and (when the history has them) the
// validation curve.
func LearningCurves(path, title string, h head.History) error {
	if len(h.Epochs) == 0 {
		return fmt.Errorf("report: no epochs to plot")
	}
	loss, err := panel(title+": loss", "loss", h, func(e head.Epoch) (float64, float64) { return e.Loss, e.ValLoss })
	if err != nil {
		return err
	}
	acc, err := panel(title+": accuracy", "accuracy", h, func(e head.Epoch) (float64, float64) { return e.Accuracy, e.ValAccuracy })
	if err != nil {
		return err
	}
	acc.Y.Min, acc.Y.Max = 0, 1.02
	// Losses start high and fall, accuracies start low and rise: the
	// bottom left and the bottom right stay free of curves.
	loss.Legend.Top, loss.Legend.Left = false, true
	acc.Legend.Top = false
	const w, ht = 10 * vg.Inch, 4 * vg.Inch
	img := vgimg.New(w, ht)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 2, PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	canvases := plot.Align([][]*plot.Plot{{loss, acc}}, tiles, dc)
	loss.Draw(canvases[0][0])
	acc.Draw(canvases[0][1])
	return savePNG(img, path)
}

func panel(title, ylabel string, h head.History, get func(head.Epoch) (train, val float64)) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "epoch"
	p.Y.Label.Text = ylabel
	p.Add(plotter.NewGrid())
	var tr, va plotter.XYs
	for _, e := range h.Epochs {
		t, v := get(e)
		tr = append(tr, plotter.XY{X: float64(e.Epoch), Y: t})
		if e.HasVal {
			va = append(va, plotter.XY{X: float64(e.Epoch), Y: v})
		}
	}
	if err := addLine(p, tr, trainColor, "training"); err != nil {
		return nil, err
	}
	if len(va) > 0 {
		if err := addLine(p, va, valColor, "validation"); err != nil {
			return nil, err
		}
	}
	p.Legend.Top = true
	p.X.Min = 0
	return p, nil
}

func addLine(p *plot.Plot, xys plotter.XYs, c color.Color, name string) error {
	l, pts, err := plotter.NewLinePoints(xys)
	if err != nil {
		return err
	}
	l.Color, pts.Color = c, c
	l.Width = vg.Points(1.5)
	pts.Radius = vg.Points(2)
	p.Add(l, pts)
	p.Legend.Add(name, l, pts)
	return nil
}

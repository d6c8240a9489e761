package report

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

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
	return savePanels(path, loss, acc)
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
	if h.BestEpoch > 0 {
		if err := markEpoch(p, h, get, h.BestEpoch, fmt.Sprintf("restored: epoch %d", h.BestEpoch)); err != nil {
			return nil, err
		}
	}
	p.Legend.Top = true
	p.X.Min = 0
	p.X.Tick.Marker = epochTicks{}
	return p, nil
}

// markEpoch draws a dashed vertical line at epoch across the curves'
// range, for the epoch whose weights early stopping restored.
func markEpoch(p *plot.Plot, h head.History, get func(head.Epoch) (float64, float64), epoch int, name string) error {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, e := range h.Epochs {
		t, v := get(e)
		lo, hi = math.Min(lo, t), math.Max(hi, t)
		if e.HasVal {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	l, err := plotter.NewLine(plotter.XYs{{X: float64(epoch), Y: lo}, {X: float64(epoch), Y: hi}})
	if err != nil {
		return err
	}
	l.Color = color.Gray{Y: 90}
	l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(l)
	p.Legend.Add(name, l)
	return nil
}

// epochTicks puts ticks on whole epochs only, about ten of them.
type epochTicks struct{}

func (epochTicks) Ticks(min, max float64) []plot.Tick {
	lo, hi := int(math.Ceil(min)), int(math.Floor(max))
	step := 1
	for (hi-lo)/step > 10 {
		switch {
		case step%5 == 0:
			step *= 2
		case step == 2:
			step = 5
		default:
			step *= 2
		}
	}
	var ticks []plot.Tick
	for v := lo - lo%step; v <= hi; v += step {
		if v >= lo {
			ticks = append(ticks, plot.Tick{Value: float64(v), Label: fmt.Sprint(v)})
		}
	}
	return ticks
}

// FoldCurves writes the learning curves of every cross-validation fold, thin,
// with their mean, thick: loss and accuracy, training and validation.
func FoldCurves(path, title string, cv head.CVResult) error {
	if len(cv.Folds) == 0 {
		return fmt.Errorf("report: no folds to plot")
	}
	mean := cv.MeanHistory()
	loss, err := panel(title+": loss", "loss", mean, func(e head.Epoch) (float64, float64) { return e.Loss, e.ValLoss })
	if err != nil {
		return err
	}
	acc, err := panel(title+": accuracy", "accuracy", mean, func(e head.Epoch) (float64, float64) { return e.Accuracy, e.ValAccuracy })
	if err != nil {
		return err
	}
	for _, fold := range cv.Folds {
		f := fold.History
		if err := addFold(loss, f, func(e head.Epoch) (float64, float64) { return e.Loss, e.ValLoss }); err != nil {
			return err
		}
		if err := addFold(acc, f, func(e head.Epoch) (float64, float64) { return e.Accuracy, e.ValAccuracy }); err != nil {
			return err
		}
	}
	return savePanels(path, loss, acc)
}

// addFold draws one fold's curves thin and pale, without a legend entry.
func addFold(p *plot.Plot, h head.History, get func(head.Epoch) (float64, float64)) error {
	var tr, va plotter.XYs
	for _, e := range h.Epochs {
		t, v := get(e)
		tr = append(tr, plotter.XY{X: float64(e.Epoch), Y: t})
		va = append(va, plotter.XY{X: float64(e.Epoch), Y: v})
	}
	for _, c := range []struct {
		xys plotter.XYs
		col color.RGBA
	}{{tr, trainColor}, {va, valColor}} {
		l, err := plotter.NewLine(c.xys)
		if err != nil {
			return err
		}
		pale := c.col
		pale.A = 90
		l.Color, l.Width = pale, vg.Points(0.8)
		p.Add(l)
	}
	return nil
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

// savePanels writes the loss and accuracy panels side by side.
func savePanels(path string, loss, acc *plot.Plot) error {
	acc.Y.Min, acc.Y.Max = 0, 1.02
	// Losses start high and fall, accuracies start low and rise: the
	// bottom left and the bottom right stay free of curves.
	loss.Legend.Top, loss.Legend.Left = false, true
	acc.Legend.Top = false
	const w, ht = 10 * vg.Inch, 4 * vg.Inch
	return save(path, w, ht, func(dc draw.Canvas) {
		tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 2, PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
		canvases := plot.Align([][]*plot.Plot{{loss, acc}}, tiles, dc)
		loss.Draw(canvases[0][0])
		acc.Draw(canvases[0][1])
	})
}

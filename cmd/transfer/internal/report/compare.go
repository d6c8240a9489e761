package report

import (
	"fmt"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/transfer-go/transfer/head"
)

// Curve is one run's history under a name.
type Curve struct {
	Name    string
	History head.History
}

// CompareCurves overlays the validation curves of several runs (their
// training curves where they have no validation): loss and accuracy panels,
// a colour per run.
func CompareCurves(path, title string, curves []Curve) error {
	if len(curves) == 0 {
		return fmt.Errorf("report: no runs with a history to plot")
	}
	loss, acc := plot.New(), plot.New()
	for _, p := range []*plot.Plot{loss, acc} {
		p.X.Label.Text = "epoch"
		p.Add(plotter.NewGrid())
		p.X.Tick.Marker = epochTicks{}
	}
	loss.Title.Text, loss.Y.Label.Text = title+": loss", "loss"
	acc.Title.Text, acc.Y.Label.Text = title+": accuracy", "accuracy"
	for i, c := range curves {
		var l, a plotter.XYs
		for _, e := range c.History.Epochs {
			lv, av := e.Loss, e.Accuracy
			if e.HasVal {
				lv, av = e.ValLoss, e.ValAccuracy
			}
			l = append(l, plotter.XY{X: float64(e.Epoch), Y: lv})
			a = append(a, plotter.XY{X: float64(e.Epoch), Y: av})
		}
		col := plotutil.Color(i)
		name := c.Name
		if len(c.History.Epochs) > 0 && c.History.Epochs[0].HasVal {
			name += " (validation)"
		} else {
			name += " (training)"
		}
		if err := addLine(loss, l, col, name); err != nil {
			return err
		}
		if err := addLine(acc, a, col, name); err != nil {
			return err
		}
	}
	return savePanels(path, loss, acc)
}

// Sweep is a swept parameter's values and each configuration's score.
type Sweep struct {
	Param string
	// Values are the parameter's values, one per configuration, as text;
	// numeric ones are plotted on a numeric axis.
	Values []string
	Scores []float64
	Log    bool
}

// SweepScores draws one panel per swept parameter: the validation metric of
// every configuration against that parameter's value (log axes for
// parameters like lr and l2; zero, which a log axis cannot show, is drawn
// a decade below the smallest positive value), the best marked.
func SweepScores(path, metric string, sweeps []Sweep, best int) error {
	if len(sweeps) == 0 {
		return fmt.Errorf("report: nothing swept to plot")
	}
	var plots []*plot.Plot
	for _, s := range sweeps {
		p := plot.New()
		p.Title.Text = metric + " against " + s.Param
		p.X.Label.Text, p.Y.Label.Text = s.Param, "validation "+metric
		p.Add(plotter.NewGrid())
		xs, labels, numeric := positions(s)
		var pts, top plotter.XYs
		for i, v := range s.Scores {
			if math.IsNaN(v) {
				continue
			}
			pts = append(pts, plotter.XY{X: xs[i], Y: v})
			if i == best {
				top = append(top, plotter.XY{X: xs[i], Y: v})
			}
		}
		sc, err := plotter.NewScatter(pts)
		if err != nil {
			return err
		}
		sc.Color = trainColor
		sc.Radius = vg.Points(3)
		p.Add(sc)
		if len(top) > 0 {
			b, err := plotter.NewScatter(top)
			if err != nil {
				return err
			}
			b.Color, b.Shape, b.Radius = valColor, draw.PyramidGlyph{}, vg.Points(5)
			p.Add(b)
			p.Legend.Add("chosen", b)
		}
		switch {
		case s.Log && numeric && xs[0] > 0:
			p.X.Scale = plot.LogScale{}
			p.X.Tick.Marker = plot.LogTicks{Prec: -1}
		case !numeric:
			p.NominalX(labels...)
		}
		plots = append(plots, p)
	}
	cols := min(len(plots), 3)
	rows := (len(plots) + cols - 1) / cols
	grid := make([][]*plot.Plot, rows)
	for i := range grid {
		grid[i] = make([]*plot.Plot, cols)
		for j := range grid[i] {
			if k := i*cols + j; k < len(plots) {
				grid[i][j] = plots[k]
			}
		}
	}
	w, h := vg.Length(cols)*4.5*vg.Inch, vg.Length(rows)*3.5*vg.Inch
	return save(path, w, h, func(dc draw.Canvas) {
		tiles := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 4, PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
		canvases := plot.Align(grid, tiles, dc)
		for i := range grid {
			for j, p := range grid[i] {
				if p != nil {
					p.Draw(canvases[i][j])
				}
			}
		}
	})
}

// positions places a sweep's values on the x axis: numbers at their value
// (zero a decade below the smallest positive on a log axis), anything else
// at the index of its first appearance.
func positions(s Sweep) (xs []float64, labels []string, numeric bool) {
	xs = make([]float64, len(s.Values))
	numeric = true
	smallest := math.Inf(1)
	for i, v := range s.Values {
		x, err := strconv.ParseFloat(v, 64)
		if err != nil {
			numeric = false
			break
		}
		xs[i] = x
		if x > 0 {
			smallest = math.Min(smallest, x)
		}
	}
	if numeric {
		if s.Log && !math.IsInf(smallest, 1) {
			for i, x := range xs {
				if x <= 0 {
					xs[i] = smallest / 10
				}
			}
		}
		return xs, nil, true
	}
	index := map[string]int{}
	for i, v := range s.Values {
		if _, ok := index[v]; !ok {
			index[v] = len(labels)
			labels = append(labels, v)
		}
		xs[i] = float64(index[v])
	}
	return xs, labels, false
}

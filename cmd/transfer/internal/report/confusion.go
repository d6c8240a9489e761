package report

import (
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// confusionGrid presents a confusion matrix as a heat-map grid: column c is
// the predicted class, row r (from the top) the true class.
type confusionGrid struct{ m [][]int }

func (g confusionGrid) Dims() (c, r int) { return len(g.m), len(g.m) }
func (g confusionGrid) Z(c, r int) float64 {
	return float64(g.m[len(g.m)-1-r][c])
}
func (g confusionGrid) X(c int) float64 { return float64(c) }
func (g confusionGrid) Y(r int) float64 { return float64(r) }

// ConfusionMatrix writes a heat map of m (m[true][predicted]) with each
// cell's count, the classes named by names.
func ConfusionMatrix(path, title string, m [][]int, names []string) error {
	n := len(m)
	if n == 0 {
		return fmt.Errorf("report: empty confusion matrix")
	}
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "predicted"
	p.Y.Label.Text = "true"
	max := 0
	for _, row := range m {
		for _, v := range row {
			max = maxInt(max, v)
		}
	}
	hm := plotter.NewHeatMap(confusionGrid{m}, blues(64))
	hm.Min, hm.Max = 0, float64(maxInt(max, 1))
	p.Add(hm)
	var labels plotter.XYLabels
	for t := 0; t < n; t++ {
		for c := 0; c < n; c++ {
			labels.XYs = append(labels.XYs, plotter.XY{X: float64(c), Y: float64(n - 1 - t)})
			labels.Labels = append(labels.Labels, fmt.Sprint(m[t][c]))
		}
	}
	l, err := plotter.NewLabels(labels)
	if err != nil {
		return err
	}
	for i := range l.TextStyle {
		t, c := i/n, i%n
		if float64(m[t][c]) > 0.6*hm.Max {
			l.TextStyle[i].Color = color.White
		}
		l.TextStyle[i].XAlign = draw.XCenter
		l.TextStyle[i].YAlign = draw.YCenter
		l.TextStyle[i].Font.Size = vg.Points(14)
	}
	p.Add(l)
	xn, yn := make([]string, n), make([]string, n)
	for i := 0; i < n; i++ {
		name := fmt.Sprint(i)
		if i < len(names) {
			name = names[i]
		}
		xn[i], yn[n-1-i] = name, name
	}
	p.NominalX(xn...)
	p.NominalY(yn...)
	side := vg.Length(2.5+0.7*float64(n)) * vg.Inch
	return save(path, side, side, p.Draw)
}

// blues is a sequential palette from near white to dark blue, so that
// larger counts read as darker cells.
type blues int

func (b blues) Colors() []color.Color {
	lo, hi := [3]float64{247, 251, 255}, [3]float64{8, 48, 107}
	cs := make([]color.Color, int(b))
	for i := range cs {
		t := float64(i) / float64(len(cs)-1)
		cs[i] = color.RGBA{R: uint8(lo[0] + (hi[0]-lo[0])*t), G: uint8(lo[1] + (hi[1]-lo[1])*t), B: uint8(lo[2] + (hi[2]-lo[2])*t), A: 255}
	}
	return cs
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}

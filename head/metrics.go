package head

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// Metrics summarise a head's predictions on labelled data.
type Metrics struct {
	N int `json:"n"`
	// Loss is the mean cross-entropy (without any L2 term).
	Loss     float64 `json:"loss"`
	Accuracy float64 `json:"accuracy"`
	// Confusion[t][p] counts rows of true class t predicted as p.
	Confusion [][]int `json:"confusion"`
	// Per class: precision = TP/(TP+FP), recall = TP/(TP+FN), F1 their
	// harmonic mean; 0 when undefined (no predictions or no rows).
	Precision []float64 `json:"precision"`
	Recall    []float64 `json:"recall"`
	F1        []float64 `json:"f1"`
	Support   []int     `json:"support"`
	// MacroF1 is the unweighted mean of F1 over classes with support.
	MacroF1 float64 `json:"macro_f1"`
	// Predicted holds the argmax class of each row, in order.
	Predicted []int `json:"-"`
}

// Evaluate runs l on every row of data and returns the metrics.
func Evaluate(l *Dense, data Data) Metrics {
	c := l.Classes()
	m := Metrics{N: data.Len(), Confusion: make([][]int, c), Predicted: make([]int, data.Len())}
	for i := range m.Confusion {
		m.Confusion[i] = make([]int, c)
	}
	if m.N == 0 {
		return m.finish()
	}
	wt := l.kernel32()
	z, z32 := make([]float64, c), make([]float32, c)
	var lossSum float64
	for i := 0; i < m.N; i++ {
		logits(z, z32, data.Row(i), wt, l.B)
		y := data.Y[i]
		zy := z[y]
		lossSum += softmaxRow(z) - zy
		p := argmax(z)
		m.Predicted[i] = p
		m.Confusion[y][p]++
	}
	m.Loss = lossSum / float64(m.N)
	return m.finish()
}

func (m Metrics) finish() Metrics {
	c := len(m.Confusion)
	m.Precision, m.Recall, m.F1, m.Support = make([]float64, c), make([]float64, c), make([]float64, c), make([]int, c)
	correct, withSupport := 0, 0
	for k := 0; k < c; k++ {
		tp := m.Confusion[k][k]
		correct += tp
		predicted := 0
		for t := 0; t < c; t++ {
			predicted += m.Confusion[t][k]
			m.Support[k] += m.Confusion[k][t]
		}
		if predicted > 0 {
			m.Precision[k] = float64(tp) / float64(predicted)
		}
		if m.Support[k] > 0 {
			m.Recall[k] = float64(tp) / float64(m.Support[k])
			withSupport++
		}
		if p, r := m.Precision[k], m.Recall[k]; p+r > 0 {
			m.F1[k] = 2 * p * r / (p + r)
		}
		if m.Support[k] > 0 {
			m.MacroF1 += m.F1[k]
		}
	}
	if withSupport > 0 {
		m.MacroF1 /= float64(withSupport)
	}
	if m.N > 0 {
		m.Accuracy = float64(correct) / float64(m.N)
	}
	return m
}

// WriteText prints loss, accuracy, the confusion matrix and the per-class
// scores, naming classes by names (which may be nil).
func (m Metrics) WriteText(w io.Writer, names []string) error {
	name := func(k int) string {
		if k < len(names) {
			return names[k]
		}
		return fmt.Sprint(k)
	}
	fmt.Fprintf(w, "images: %d\nloss: %.4f\naccuracy: %.4f\n\nconfusion matrix (rows: true class, columns: predicted):\n", m.N, m.Loss, m.Accuracy)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "\t")
	for k := range m.Confusion {
		fmt.Fprintf(tw, "%s\t", name(k))
	}
	fmt.Fprintln(tw)
	for t, row := range m.Confusion {
		fmt.Fprintf(tw, "%s\t", name(t))
		for _, v := range row {
			fmt.Fprintf(tw, "%d\t", v)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "class\tprecision\trecall\tf1\tsupport\t")
	for k := range m.Confusion {
		fmt.Fprintf(tw, "%s\t%.4f\t%.4f\t%.4f\t%d\t\n", name(k), m.Precision[k], m.Recall[k], m.F1[k], m.Support[k])
	}
	fmt.Fprintf(tw, "macro avg\t\t\t%.4f\t%d\t\n", m.MacroF1, m.N)
	return tw.Flush()
}

package report

import (
	"cmp"
	"slices"
	"strconv"

	"github.com/transfer-go/transfer/internal/safecsv"
)

// Mistake is a misclassified image.
type Mistake struct {
	Path        string
	Truth       string
	Predicted   string
	Probability float64
}

// Errors writes mistakes to a CSV file (path, true class, predicted class,
// probability), the most confident first: those are the mislabelled images
// or the real confusions. It sorts ms in place.
func Errors(path string, ms []Mistake) error {
	SortMistakes(ms)
	rows := [][]string{{"path", "true_class", "predicted_class", "probability"}}
	for _, m := range ms {
		rows = append(rows, []string{m.Path, m.Truth, m.Predicted, strconv.FormatFloat(m.Probability, 'f', 6, 64)})
	}
	return safecsv.WriteFile(path, rows)
}

// SortMistakes orders mistakes most confident first; equal ones keep their
// order.
func SortMistakes(ms []Mistake) {
	slices.SortStableFunc(ms, func(a, b Mistake) int { return cmp.Compare(b.Probability, a.Probability) })
}

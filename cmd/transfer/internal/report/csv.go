package report

import (
	"bytes"
	"cmp"
	"encoding/csv"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/transfer-go/transfer/internal/atomicfile"
)

// SafeCell keeps a spreadsheet from evaluating a cell: one that starts with
// =, +, - or @ gets a leading single quote.
func SafeCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@", rune(s[0])) {
		return "'" + s
	}
	return s
}

// CSV writes rows (the first one the header) with every cell made safe.
func CSV(out io.Writer, rows [][]string) error {
	w := csv.NewWriter(out)
	for _, r := range rows {
		safe := make([]string, len(r))
		for i, v := range r {
			safe[i] = SafeCell(v)
		}
		w.Write(safe)
	}
	w.Flush()
	return w.Error()
}

// WriteCSV writes rows to the file at path, whole or not at all.
func WriteCSV(path string, rows [][]string) error {
	var b bytes.Buffer
	if err := CSV(&b, rows); err != nil {
		return err
	}
	return atomicfile.WriteFile(path, b.Bytes(), 0o644)
}

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
	return WriteCSV(path, rows)
}

// SortMistakes orders mistakes most confident first; equal ones keep their
// order.
func SortMistakes(ms []Mistake) {
	slices.SortStableFunc(ms, func(a, b Mistake) int { return cmp.Compare(b.Probability, a.Probability) })
}

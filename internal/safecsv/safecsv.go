package safecsv

import (
	"bytes"
	"encoding/csv"
	"io"
	"strconv"

	"github.com/transfer-go/transfer/internal/atomicfile"
)

// formulaStart holds the first characters OWASP lists as starting a
// formula: =, +, - and @, and tab and carriage return, after which some
// spreadsheets look again.
const formulaStart = "=+-@\t\r"

// Cell returns s as a cell no spreadsheet evaluates: one that starts with
// a formula character gets a leading single quote, which spreadsheets
// hide and do not evaluate. A number ("-1", "+0.5", "-3e-05") is left as
// it is, as it is data to every spreadsheet.
func Cell(s string) string {
	if s == "" || !bytes.ContainsRune([]byte(formulaStart), rune(s[0])) {
		return s
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return s
	}
	return "'" + s
}

// Writer writes CSV records with every cell made safe by Cell.
type Writer struct {
	w    *csv.Writer
	safe []string
}

// NewWriter returns a Writer that writes to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: csv.NewWriter(w)} }

// Write writes one record.
func (w *Writer) Write(record []string) error {
	w.safe = w.safe[:0]
	for _, v := range record {
		w.safe = append(w.safe, Cell(v))
	}
	return w.w.Write(w.safe)
}

// Flush writes any buffered data and returns the first error of any
// Write or Flush.
func (w *Writer) Flush() error {
	w.w.Flush()
	return w.w.Error()
}

// Write writes rows (the first one the header) to out.
func Write(out io.Writer, rows [][]string) error {
	w := NewWriter(out)
	for _, r := range rows {
		if err := w.Write(r); err != nil {
			return err
		}
	}
	return w.Flush()
}

// Encode returns rows as CSV bytes.
func Encode(rows [][]string) ([]byte, error) {
	var b bytes.Buffer
	if err := Write(&b, rows); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// WriteFile writes rows to the file at path, whole or not at all.
func WriteFile(path string, rows [][]string) error {
	b, err := Encode(rows)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, b, 0o644)
}

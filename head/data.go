package head

import (
	"fmt"

	"gonum.org/v1/gonum/mat"
)

// Data is a labelled set of embeddings.
type Data struct {
	// X holds one embedding per row, N×D.
	X *mat.Dense
	// Y holds the class of each row, in [0, Classes).
	Y []int
	// Classes is the number of classes, which may exceed the largest label
	// present (a subset can miss a class).
	Classes int
	// Keys, when set, name each row's content (its image's SHA-256): rows
	// of equal key are the same image, which splits keep on one side.
	Keys []string
}

// NewData builds a Data from float32 embeddings (as backbones and caches
// give them), converting once to the float64 that training uses.
func NewData(emb [][]float32, y []int, classes int) (Data, error) {
	if len(emb) != len(y) {
		return Data{}, fmt.Errorf("head: %d embeddings but %d labels", len(emb), len(y))
	}
	x, err := Matrix(emb)
	if err != nil {
		return Data{}, err
	}
	data := Data{X: x, Y: append([]int(nil), y...), Classes: classes}
	return data, data.Validate()
}

// Matrix returns float32 embeddings as the rows of an N×D float64 matrix.
func Matrix(emb [][]float32) (*mat.Dense, error) {
	if len(emb) == 0 {
		return nil, fmt.Errorf("head: no embeddings")
	}
	d := len(emb[0])
	x := mat.NewDense(len(emb), d, nil)
	raw := x.RawMatrix()
	for i, e := range emb {
		if len(e) != d {
			return nil, fmt.Errorf("head: embedding %d has %d values, the first has %d", i, len(e), d)
		}
		row := raw.Data[i*raw.Stride : i*raw.Stride+d]
		for j, v := range e {
			row[j] = float64(v)
		}
	}
	return x, nil
}

// Len returns N.
func (d Data) Len() int { return len(d.Y) }

// Dim returns D.
func (d Data) Dim() int { _, c := d.X.Dims(); return c }

// Validate checks shapes, labels and values.
func (d Data) Validate() error {
	if d.X == nil {
		return fmt.Errorf("head: data has no embeddings")
	}
	n, _ := d.X.Dims()
	if n != len(d.Y) {
		return fmt.Errorf("head: %d embeddings but %d labels", n, len(d.Y))
	}
	if d.Keys != nil && len(d.Keys) != len(d.Y) {
		return fmt.Errorf("head: %d keys for %d rows", len(d.Keys), len(d.Y))
	}
	if d.Classes < 1 {
		return fmt.Errorf("head: %d classes", d.Classes)
	}
	for i, y := range d.Y {
		if y < 0 || y >= d.Classes {
			return fmt.Errorf("head: label %d of row %d is outside [0, %d)", y, i, d.Classes)
		}
	}
	for i := 0; i < n; i++ {
		if !finite(d.X.RawRowView(i)) {
			return fmt.Errorf("head: embedding %d has a NaN or infinite value", i)
		}
	}
	return nil
}

// Subset returns the rows idx, in that order, as a new Data.
func (d Data) Subset(idx []int) Data {
	x := mat.NewDense(max(len(idx), 1), d.Dim(), nil)
	y := make([]int, len(idx))
	for k, i := range idx {
		copy(x.RawRowView(k), d.X.RawRowView(i))
		y[k] = d.Y[i]
	}
	var keys []string
	if d.Keys != nil {
		keys = make([]string, len(idx))
		for k, i := range idx {
			keys[k] = d.Keys[i]
		}
	}
	if len(idx) == 0 {
		return Data{X: nil, Y: y, Classes: d.Classes, Keys: keys}
	}
	return Data{X: x, Y: y, Classes: d.Classes, Keys: keys}
}

// Counts returns the number of rows of each class.
func (d Data) Counts() []int {
	c := make([]int, d.Classes)
	for _, y := range d.Y {
		c[y]++
	}
	return c
}

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
	// Augmented holds augmented copies of the rows (flipped, cropped),
	// each N×D and aligned row for row with X. Train adds them to its
	// training rows; evaluation ignores them, and splits keep each copy
	// with its row, so a copy never validates a head its original trained.
	Augmented []*mat.Dense
}

// withAugmented returns the rows followed by their augmented copies.
func (d Data) withAugmented() Data {
	if len(d.Augmented) == 0 {
		return d
	}
	n, dim := d.X.Dims()
	x := mat.NewDense(n*(1+len(d.Augmented)), dim, nil)
	out := Data{X: x, Classes: d.Classes}
	for k, m := range append([]*mat.Dense{d.X}, d.Augmented...) {
		for i := 0; i < n; i++ {
			copy(x.RawRowView(k*n+i), m.RawRowView(i))
		}
		out.Y = append(out.Y, d.Y...)
		if d.Keys != nil {
			out.Keys = append(out.Keys, d.Keys...)
		}
	}
	return out
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
	for k, m := range d.Augmented {
		if r, c := m.Dims(); r != n || c != d.Dim() {
			return fmt.Errorf("head: augmented copy %d is %dx%d, the data %dx%d", k+1, r, c, n, d.Dim())
		}
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
	var aug []*mat.Dense
	for _, m := range d.Augmented {
		if len(idx) == 0 {
			break
		}
		a := mat.NewDense(len(idx), d.Dim(), nil)
		for k, i := range idx {
			copy(a.RawRowView(k), m.RawRowView(i))
		}
		aug = append(aug, a)
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
	return Data{X: x, Y: y, Classes: d.Classes, Keys: keys, Augmented: aug}
}

// Counts returns the number of rows of each class.
func (d Data) Counts() []int {
	c := make([]int, d.Classes)
	for _, y := range d.Y {
		c[y]++
	}
	return c
}

package head

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas/blas32"
)

// Data is a labelled set of embeddings.
type Data struct {
	// X holds one embedding per row, N×D, in float32: the precision
	// backbones give and Keras trains in, at half the memory of float64.
	// With Index set it holds the distinct embeddings, which rows share.
	X blas32.General
	// Index, when set, maps each row to its embedding: row i is X's row
	// Index[i]. Rows of the same image (a manifest that names a file many
	// times, hard links) then share one embedding, so that memory follows
	// the distinct images, not the rows. Nil means row i is X's row i.
	Index []int
	// Y holds the class of each row, in [0, Classes).
	Y []int
	// Classes is the number of classes, which may exceed the largest label
	// present (a subset can miss a class).
	Classes int
	// Keys, when set, name each row's content (its image's SHA-256): rows
	// of equal key are the same image, which splits keep on one side.
	Keys []string
	// Augmented holds augmented copies of the rows (flipped, cropped),
	// each shaped as X and aligned row for row with it (Index applies).
	// Train adds them to its training rows; evaluation ignores them, and
	// splits keep each copy with its row, so a copy never validates a
	// head its original trained.
	Augmented []blas32.General
}

// NewMatrix returns an r×c row-major float32 matrix over data, which must
// hold r·c values; nil data allocates zeros. It is the float32 counterpart
// of mat.NewDense, for Data.X.
func NewMatrix(r, c int, data []float32) blas32.General {
	if r < 0 || c < 0 {
		panic(fmt.Sprintf("head: NewMatrix(%d, %d): negative dimension", r, c))
	}
	if data == nil {
		data = make([]float32, r*c)
	}
	if len(data) != r*c {
		panic(fmt.Sprintf("head: NewMatrix(%d, %d) over %d values", r, c, len(data)))
	}
	return blas32.General{Rows: r, Cols: c, Stride: c, Data: data}
}

// row returns row i of x.
func row(x blas32.General, i int) []float32 {
	return x.Data[i*x.Stride : i*x.Stride+x.Cols]
}

// Row returns the embedding of row i, which rows of one image share: it
// is X's memory, not a copy.
func (d Data) Row(i int) []float32 { return row(d.X, d.Embedding(i)) }

// Embedding returns the row of X (and of each augmented copy) that row i
// reads.
func (d Data) Embedding(i int) int {
	if d.Index != nil {
		return d.Index[i]
	}
	return i
}

// withAugmented returns the rows followed by their augmented copies.
func (d Data) withAugmented() Data {
	if len(d.Augmented) == 0 {
		return d
	}
	n, dim := d.X.Rows, d.X.Cols
	x := NewMatrix(n*(1+len(d.Augmented)), dim, nil)
	out := Data{X: x, Classes: d.Classes}
	for k, m := range append([]blas32.General{d.X}, d.Augmented...) {
		for i := 0; i < n; i++ {
			copy(row(x, k*n+i), row(m, i))
		}
		out.Y = append(out.Y, d.Y...)
		if d.Keys != nil {
			out.Keys = append(out.Keys, d.Keys...)
		}
		for _, i := range d.Index {
			out.Index = append(out.Index, k*n+i)
		}
	}
	return out
}

// NewData builds a Data from float32 embeddings (as backbones and caches
// give them), copied once into one contiguous matrix. Rows that are the
// same slice (one image named by several rows, as Extraction gives them)
// are stored once and shared through Index.
func NewData(emb [][]float32, y []int, classes int) (Data, error) {
	if len(emb) != len(y) {
		return Data{}, fmt.Errorf("head: %d embeddings but %d labels", len(emb), len(y))
	}
	distinct, index := shared(emb)
	x, err := Matrix(distinct)
	if err != nil {
		return Data{}, err
	}
	data := Data{X: x, Y: append([]int(nil), y...), Classes: classes, Index: index}
	return data, data.Validate()
}

// shared returns the distinct slices of emb, by identity, and each row's
// place among them; index is nil when every row is its own.
func shared(emb [][]float32) (distinct [][]float32, index []int) {
	first := make(map[*float32]int, len(emb))
	index = make([]int, len(emb))
	for i, e := range emb {
		if len(e) == 0 {
			index[i] = len(distinct)
			distinct = append(distinct, e)
			continue
		}
		k, ok := first[&e[0]]
		if !ok || len(distinct[k]) != len(e) {
			k = len(distinct)
			first[&e[0]] = k
			distinct = append(distinct, e)
		}
		index[i] = k
	}
	if len(distinct) == len(emb) {
		return emb, nil
	}
	return distinct, index
}

// Matrix returns float32 embeddings as the rows of one N×D matrix.
func Matrix(emb [][]float32) (blas32.General, error) {
	if len(emb) == 0 {
		return blas32.General{}, fmt.Errorf("head: no embeddings")
	}
	d := len(emb[0])
	x := NewMatrix(len(emb), d, nil)
	for i, e := range emb {
		if len(e) != d {
			return blas32.General{}, fmt.Errorf("head: embedding %d has %d values, the first has %d", i, len(e), d)
		}
		copy(row(x, i), e)
	}
	return x, nil
}

// Len returns N.
func (d Data) Len() int { return len(d.Y) }

// Dim returns D.
func (d Data) Dim() int { return d.X.Cols }

// Validate checks shapes, labels and values.
func (d Data) Validate() error {
	if d.X.Data == nil || d.X.Cols == 0 {
		return fmt.Errorf("head: data has no embeddings")
	}
	n := d.X.Rows
	if d.X.Stride < d.X.Cols || len(d.X.Data) < (n-1)*d.X.Stride+d.X.Cols {
		return fmt.Errorf("head: a %d×%d matrix of stride %d over %d values", n, d.X.Cols, d.X.Stride, len(d.X.Data))
	}
	if d.Index == nil {
		if n != len(d.Y) {
			return fmt.Errorf("head: %d embeddings but %d labels", n, len(d.Y))
		}
	} else {
		if len(d.Index) != len(d.Y) {
			return fmt.Errorf("head: an index of %d rows for %d labels", len(d.Index), len(d.Y))
		}
		for i, k := range d.Index {
			if k < 0 || k >= n {
				return fmt.Errorf("head: row %d is embedding %d of %d", i, k, n)
			}
		}
	}
	if d.Keys != nil && len(d.Keys) != len(d.Y) {
		return fmt.Errorf("head: %d keys for %d rows", len(d.Keys), len(d.Y))
	}
	for k, m := range d.Augmented {
		if m.Rows != n || m.Cols != d.Dim() {
			return fmt.Errorf("head: augmented copy %d is %dx%d, the data %dx%d", k+1, m.Rows, m.Cols, n, d.Dim())
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
		if !finite32(row(d.X, i)) {
			return fmt.Errorf("head: embedding %d has a NaN or infinite value", i)
		}
	}
	return nil
}

// Subset returns the rows idx, in that order, as a new Data. An indexed
// Data's subset shares its embeddings (only the index is new); a plain
// one's is a contiguous copy.
func (d Data) Subset(idx []int) Data {
	out := Data{Y: make([]int, len(idx)), Classes: d.Classes}
	for k, i := range idx {
		out.Y[k] = d.Y[i]
	}
	if d.Keys != nil {
		out.Keys = make([]string, len(idx))
		for k, i := range idx {
			out.Keys[k] = d.Keys[i]
		}
	}
	switch {
	case len(idx) == 0:
	case d.Index != nil:
		out.X, out.Augmented, out.Index = d.X, d.Augmented, make([]int, len(idx))
		for k, i := range idx {
			out.Index[k] = d.Index[i]
		}
	default:
		for _, m := range append([]blas32.General{d.X}, d.Augmented...) {
			a := NewMatrix(len(idx), d.Dim(), nil)
			for k, i := range idx {
				copy(row(a, k), row(m, i))
			}
			out.Augmented = append(out.Augmented, a)
		}
		out.X, out.Augmented = out.Augmented[0], out.Augmented[1:]
	}
	return out
}

// Counts returns the number of rows of each class.
func (d Data) Counts() []int {
	c := make([]int, d.Classes)
	for _, y := range d.Y {
		c[y]++
	}
	return c
}

// finite32 reports whether no value is NaN or infinite: those are the ones
// whose exponent bits are all set. Validate runs it on every embedding of a
// training run, so it reads bits, four values a step, without branches.
func finite32(x []float32) bool {
	const exp = 0x7f800000
	var bad uint32
	k := 0
	for ; k+4 <= len(x); k += 4 {
		a, b := math.Float32bits(x[k])&exp, math.Float32bits(x[k+1])&exp
		c, d := math.Float32bits(x[k+2])&exp, math.Float32bits(x[k+3])&exp
		bad |= (a + 0x800000) | (b + 0x800000) | (c + 0x800000) | (d + 0x800000)
	}
	for ; k < len(x); k++ {
		bad |= math.Float32bits(x[k])&exp + 0x800000
	}
	return bad&0x80000000 == 0
}

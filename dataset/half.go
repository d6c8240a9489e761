package dataset

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Precision is how a cache stores embedding values.
type Precision string

const (
	// Float32 stores IEEE single precision, 4 bytes a value: exact.
	Float32 Precision = "float32"
	// Float16 stores IEEE half precision, 2 bytes a value: each value
	// rounded to the nearest half (ties to even); magnitudes beyond
	// MaxFloat16 are stored as ±MaxFloat16 and counted.
	Float16 Precision = "float16"
)

// MaxFloat16 is the largest finite half-precision value.
const MaxFloat16 = 65504

// ParsePrecision reads "float32" or "float16".
func ParsePrecision(s string) (Precision, error) {
	switch p := Precision(s); p {
	case Float32, Float16:
		return p, nil
	}
	return "", fmt.Errorf("unknown cache precision %q: want float32 or float16", s)
}

// toHalf rounds x to the nearest half-precision value, ties to even. A
// finite x beyond the half range becomes ±MaxFloat16 and overflow is true.
func toHalf(x float32) (h uint16, overflow bool) {
	b := math.Float32bits(x)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	mant := b & 0x7fffff
	switch {
	case exp == 0xff: // Inf or NaN: kept as such (finite embeddings only reach here by a bug)
		if mant != 0 {
			return sign | 0x7e00, false
		}
		return sign | 0x7c00, false
	case exp-127 > 15:
		return sign | 0x7bff, true
	case exp-127 >= -14: // normal half
		e := uint32(exp - 127 + 15)
		m := mant >> 13
		rest := mant & 0x1fff
		v := e<<10 | m
		if rest > 0x1000 || (rest == 0x1000 && m&1 == 1) {
			v++ // may carry into the exponent, which is right
		}
		if v >= 0x7c00 {
			return sign | 0x7bff, true
		}
		return sign | uint16(v), false
	case exp-127 >= -25: // subnormal half
		m := mant | 0x800000 // the implicit bit
		shift := uint32(-14-(exp-127)) + 13
		v := m >> shift
		rest := m & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rest > half || (rest == half && v&1 == 1) {
			v++
		}
		return sign | uint16(v), false
	}
	return sign, false // underflows to zero
}

// fromHalf returns the float32 equal to a half-precision value.
func fromHalf(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp == 0:
		if mant == 0 {
			return math.Float32frombits(sign)
		}
		// Subnormal: normalise.
		e := uint32(127 - 15 + 1)
		for mant&0x400 == 0 {
			mant <<= 1
			e--
		}
		return math.Float32frombits(sign | e<<23 | (mant&0x3ff)<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}

// encodeHalf stores values as little-endian halves and returns how many
// overflowed.
func encodeHalf(v []float32) ([]byte, int) {
	b := make([]byte, 2*len(v))
	over := 0
	for i, x := range v {
		h, o := toHalf(x)
		if o {
			over++
		}
		binary.LittleEndian.PutUint16(b[2*i:], h)
	}
	return b, over
}

// decodeValues reads a stored vector of dim values, whichever precision
// stored it: the length tells (a cache may hold both, e.g. after a merge).
func decodeValues(b []byte, dim int) []float32 {
	if dim > 0 && len(b) == 2*dim {
		v := make([]float32, dim)
		for i := range v {
			v[i] = fromHalf(binary.LittleEndian.Uint16(b[2*i:]))
		}
		return v
	}
	return decodeVector(b)
}

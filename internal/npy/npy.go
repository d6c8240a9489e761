// Package npy writes NumPy's .npy format as numpy.save does: version 1.0,
// the header padded with spaces to a multiple of 64 bytes, so that the
// data that follows is aligned for memory mapping (np.load's mmap_mode)
// and for typed-array readers such as npyjs, which refuse misaligned
// data. Version 2.0 is written only when a header needs more than 65,535
// bytes, as numpy does.
package npy

import (
	"encoding/binary"
	"fmt"
	"strings"
)

const (
	align = 64
	// growthDigits is numpy's GROWTH_AXIS_MAX_DIGITS: numpy leaves room in
	// the header for the first dimension to grow to 21 digits in place.
	growthDigits = 21
)

// Descriptors of the little-endian types the project writes.
const (
	Float32 = "<f4"
	Float64 = "<f8"
	Int64   = "<i8"
)

// Header returns the bytes of a C-order .npy header for an array of type
// descr and the given shape, byte for byte what numpy.save writes.
func Header(descr string, shape []int) []byte {
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = fmt.Sprint(d)
	}
	tuple := "(" + strings.Join(dims, ", ") + ")"
	if len(shape) == 1 {
		tuple = "(" + dims[0] + ",)"
	}
	dict := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, tuple)
	if len(shape) > 0 {
		dict += strings.Repeat(" ", max(growthDigits-len(dims[0]), 0))
	}
	// magic (6) + version (2) + length (2 in 1.0, 4 in 2.0) + dict + '\n',
	// padded with spaces before the newline to the alignment; numpy pads
	// a whole 64 bytes where the header would end aligned already.
	hlen := len(dict) + 1
	major, pre := byte(1), 10
	pad := align - (pre+hlen)%align
	if hlen+pad > 0xffff {
		major, pre = 2, 12
		pad = align - (pre+hlen)%align
	}
	b := make([]byte, 0, pre+hlen+pad)
	b = append(b, "\x93NUMPY"...)
	b = append(b, major, 0)
	if major == 1 {
		b = binary.LittleEndian.AppendUint16(b, uint16(hlen+pad))
	} else {
		b = binary.LittleEndian.AppendUint32(b, uint32(hlen+pad))
	}
	b = append(b, dict...)
	for range pad {
		b = append(b, ' ')
	}
	return append(b, '\n')
}

package onnxgraph

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/transfer-go/transfer/internal/onnxgraph/onnx"
)

// ErrMalformed reports a tensor whose shape and data cannot be one
// tensor: a negative dimension, a count of elements past any memory, or
// data of another length than the shape says. Such a file is a bad
// model, never a bug of transfer.
var ErrMalformed = errors.New("malformed tensor")

// maxElements bounds a tensor's element count: a shape past it is
// malformed (its product overflowed, or no machine could hold it).
const maxElements = 1 << 40

// Floats decodes a FLOAT tensor's values, from raw_data or float_data.
func Floats(t *onnx.TensorProto) ([]float32, error) {
	if onnx.TensorProto_DataType(t.GetDataType()) != onnx.TensorProto_FLOAT {
		return nil, fmt.Errorf("tensor %q: %w: element type %v, want FLOAT", t.GetName(), ErrMalformed, onnx.TensorProto_DataType(t.GetDataType()))
	}
	n, err := elements(t)
	if err != nil {
		return nil, err
	}
	if raw := t.GetRawData(); raw != nil {
		if len(raw) != 4*n {
			return nil, fmt.Errorf("tensor %q: %w: %d raw bytes for %d floats (shape %v)", t.GetName(), ErrMalformed, len(raw), n, t.GetDims())
		}
		out := make([]float32, n)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		return out, nil
	}
	if len(t.GetFloatData()) != n {
		return nil, fmt.Errorf("tensor %q: %w: %d values for shape %v", t.GetName(), ErrMalformed, len(t.GetFloatData()), t.GetDims())
	}
	return append([]float32(nil), t.GetFloatData()...), nil
}

// Ints decodes an INT64 or INT32 tensor's values as int64.
func Ints(t *onnx.TensorProto) ([]int64, error) {
	n, err := elements(t)
	if err != nil {
		return nil, err
	}
	switch onnx.TensorProto_DataType(t.GetDataType()) {
	case onnx.TensorProto_INT64:
		if raw := t.GetRawData(); raw != nil {
			if len(raw) != 8*n {
				return nil, fmt.Errorf("tensor %q: %w: %d raw bytes for %d int64s (shape %v)", t.GetName(), ErrMalformed, len(raw), n, t.GetDims())
			}
			out := make([]int64, n)
			for i := range out {
				out[i] = int64(binary.LittleEndian.Uint64(raw[8*i:]))
			}
			return out, nil
		}
		return append([]int64(nil), t.GetInt64Data()...), nil
	case onnx.TensorProto_INT32:
		if raw := t.GetRawData(); raw != nil {
			if len(raw) != 4*n {
				return nil, fmt.Errorf("tensor %q: %w: %d raw bytes for %d int32s (shape %v)", t.GetName(), ErrMalformed, len(raw), n, t.GetDims())
			}
			out := make([]int64, n)
			for i := range out {
				out[i] = int64(int32(binary.LittleEndian.Uint32(raw[4*i:])))
			}
			return out, nil
		}
		out := make([]int64, len(t.GetInt32Data()))
		for i, v := range t.GetInt32Data() {
			out[i] = int64(v)
		}
		return out, nil
	}
	return nil, fmt.Errorf("tensor %q: %w: element type %v, want INT64 or INT32", t.GetName(), ErrMalformed, onnx.TensorProto_DataType(t.GetDataType()))
}

// elements is t's element count, checked: no negative dimension, no
// product past maxElements.
func elements(t *onnx.TensorProto) (int, error) {
	n := int64(1)
	for _, d := range t.GetDims() {
		if d < 0 || (d > 0 && n > maxElements/d) {
			return 0, fmt.Errorf("tensor %q: %w: shape %v is not a tensor any machine holds", t.GetName(), ErrMalformed, t.GetDims())
		}
		n *= d
	}
	return int(n), nil
}

func numElements(dims []int64) int {
	n := 1
	for _, d := range dims {
		n *= int(d)
	}
	return n
}

// FloatTensor returns a FLOAT initializer named name with the given shape;
// data is stored as raw little-endian bytes, as exporters do.
func FloatTensor(name string, dims []int64, data []float32) *onnx.TensorProto {
	if numElements(dims) != len(data) {
		panic(fmt.Sprintf("onnxgraph: %d values for shape %v", len(data), dims))
	}
	raw := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	return &onnx.TensorProto{Name: name, Dims: dims, DataType: int32(onnx.TensorProto_FLOAT), RawData: raw}
}

// Int64Tensor returns an INT64 initializer named name with the given shape.
func Int64Tensor(name string, dims []int64, data []int64) *onnx.TensorProto {
	if numElements(dims) != len(data) {
		panic(fmt.Sprintf("onnxgraph: %d values for shape %v", len(data), dims))
	}
	return &onnx.TensorProto{Name: name, Dims: dims, DataType: int32(onnx.TensorProto_INT64), Int64Data: data}
}

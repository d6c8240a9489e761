package serve

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
)

// A tensor's data arrives as JSON, flat or nested in the natural
// multi-dimensional form (the protocol allows both), or as the bytes of
// Triton's binary tensor data extension: little-endian values in row-major
// order, a BYTES element as a 4-byte length and its bytes.

// jsonNumbers reads a JSON tensor's numbers, flat or nested. bits is 32
// for FP32 (each value rounded once, from its decimal digits, as numpy's
// float32 parse does) and 8 for UINT8 (whole numbers 0 to 255).
func jsonNumbers(data json.RawMessage, bits int) ([]float32, error) {
	var flat []float32
	if bits == 32 && json.Unmarshal(data, &flat) == nil {
		return flat, nil // the common case, without a token per value
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var out []float32
	err := walkJSONArray(dec, func(tok json.Token) error {
		n, ok := tok.(json.Number)
		if !ok {
			return fmt.Errorf("%v is not a number", tok)
		}
		if bits == 8 {
			v, err := strconv.ParseUint(n.String(), 10, 8)
			if err != nil {
				return fmt.Errorf("%s is not a UINT8 (a whole number 0 to 255)", n)
			}
			out = append(out, float32(v))
			return nil
		}
		v, err := strconv.ParseFloat(n.String(), 32)
		if err != nil {
			return fmt.Errorf("%s is not an FP32 number", n)
		}
		out = append(out, float32(v))
		return nil
	})
	return out, err
}

// jsonStrings reads a JSON tensor's strings, flat or nested.
func jsonStrings(data json.RawMessage) ([]string, error) {
	var flat []string
	if json.Unmarshal(data, &flat) == nil {
		return flat, nil
	}
	var out []string
	err := walkJSONArray(json.NewDecoder(bytes.NewReader(data)), func(tok json.Token) error {
		s, ok := tok.(string)
		if !ok {
			return fmt.Errorf("%v is not a string", tok)
		}
		out = append(out, s)
		return nil
	})
	return out, err
}

// walkJSONArray calls f with every scalar of a JSON array of any depth, in
// row-major order.
func walkJSONArray(dec *json.Decoder, f func(json.Token) error) error {
	tok, err := dec.Token()
	if err != nil {
		return errors.New("data must be a JSON array")
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return errors.New("data must be a JSON array")
	}
	depth := 1
	for depth > 0 {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("data: %v", err)
		}
		switch tok {
		case json.Delim('['):
			depth++
		case json.Delim(']'):
			depth--
		case json.Delim('{'), json.Delim('}'):
			return errors.New("data holds an object; want numbers or strings")
		default:
			if err := f(tok); err != nil {
				return err
			}
		}
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data holds more than one JSON array")
	}
	return nil
}

// binaryNumbers reads little-endian FP32 (bits 32) or UINT8 (bits 8)
// values.
func binaryNumbers(b []byte, bits int) ([]float32, error) {
	if bits == 8 {
		out := make([]float32, len(b))
		for i, v := range b {
			out[i] = float32(v)
		}
		return out, nil
	}
	if len(b)%4 != 0 {
		return nil, fmt.Errorf("%d bytes of FP32 data is not a whole number of 4-byte values", len(b))
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out, nil
}

// binaryElements splits BYTES data into its elements, each a 4-byte
// little-endian length and that many bytes.
func binaryElements(b []byte) ([][]byte, error) {
	var out [][]byte
	for len(b) > 0 {
		if len(b) < 4 {
			return nil, fmt.Errorf("BYTES data ends inside an element's 4-byte length")
		}
		n := binary.LittleEndian.Uint32(b)
		b = b[4:]
		if uint64(n) > uint64(len(b)) {
			return nil, fmt.Errorf("a BYTES element of %d bytes where %d are left", n, len(b))
		}
		out = append(out, b[:n])
		b = b[n:]
	}
	return out, nil
}

// appendFloat32s appends v as little-endian FP32.
func appendFloat32s(dst []byte, v []float32) []byte {
	for _, x := range v {
		dst = binary.LittleEndian.AppendUint32(dst, math.Float32bits(x))
	}
	return dst
}

// appendElements appends BYTES elements, each length-prefixed.
func appendElements(dst []byte, v []string) []byte {
	for _, s := range v {
		dst = binary.LittleEndian.AppendUint32(dst, uint32(len(s)))
		dst = append(dst, s...)
	}
	return dst
}

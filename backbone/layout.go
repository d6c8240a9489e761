package backbone

import (
	"errors"
	"fmt"
)

// Layout is the memory order of an image batch tensor.
type Layout int

const (
	// LayoutAuto asks Open to read the layout from the model's input shape.
	LayoutAuto Layout = iota
	// NCHW is channels-first: [batch][channel][row][column], as PyTorch,
	// MXNet and the ONNX Model Zoo use.
	NCHW
	// NHWC is channels-last: [batch][row][column][channel], as Keras and
	// TensorFlow use.
	NHWC
)

func (l Layout) String() string {
	switch l {
	case NCHW:
		return "NCHW"
	case NHWC:
		return "NHWC"
	}
	return "auto"
}

// ParseLayout reads "nchw", "nhwc" or "auto" (any case; "" means auto).
func ParseLayout(s string) (Layout, error) {
	switch s {
	case "", "auto", "AUTO":
		return LayoutAuto, nil
	case "nchw", "NCHW":
		return NCHW, nil
	case "nhwc", "NHWC":
		return NHWC, nil
	}
	return LayoutAuto, fmt.Errorf("unknown layout %q: want nchw, nhwc or auto", s)
}

// detectLayout tells NCHW from NHWC by where the 3 colour channels sit in a
// rank-4 input shape (0 marks a dynamic dimension). It fails when both or
// neither of axes 1 and 3 could hold the channels.
// ErrUnknownLayout reports an input shape that does not say whether the
// model takes NCHW or NHWC images; Options.Layout must then say it.
var ErrUnknownLayout = errors.New("unknown input layout")

func detectLayout(dims []int64) (Layout, error) {
	c1, c3 := dims[1] == 3, dims[3] == 3
	switch {
	case c1 && !c3:
		return NCHW, nil
	case c3 && !c1:
		return NHWC, nil
	}
	return LayoutAuto, fmt.Errorf("%w: cannot tell the input layout from shape %s", ErrUnknownLayout, shapeString(dims))
}

func shapeString(dims []int64) string {
	s := "["
	for i, d := range dims {
		if i > 0 {
			s += ","
		}
		if d <= 0 {
			s += "?"
		} else {
			s += fmt.Sprint(d)
		}
	}
	return s + "]"
}

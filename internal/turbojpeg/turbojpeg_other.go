//go:build !cgo || !(linux || darwin)

package turbojpeg

import (
	"errors"
	"image"
)

// ErrUnavailable reports that no TurboJPEG library could be loaded.
var ErrUnavailable = errors.New("libturbojpeg is not supported on this build (needs cgo on Linux or macOS)")

// ErrUnsupported reports a JPEG that TurboJPEG cannot decode to RGB.
var ErrUnsupported = errors.New("TurboJPEG cannot decode this JPEG to RGB")

// Load fails: this build cannot load libraries.
func Load() error { return ErrUnavailable }

// Available reports false.
func Available() bool { return false }

// Decode fails with ErrUnavailable.
func Decode(data []byte, minW, minH int) (*image.NRGBA, error) { return nil, ErrUnavailable }

// ScaledSize returns the full size: nothing is decoded here.
func ScaledSize(w, h, minW, minH int) (int, int) { return w, h }

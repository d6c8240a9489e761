package dataset

import (
	"context"
	"fmt"
	"image"
	"runtime/debug"
)

// PanicError is a panic in the code that prepared one image: a bug, which
// Prepare reports as that image's failure instead of ending the run and
// losing the work of every other image.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("internal error while preparing this image (a bug in transfer; please report it with the file): %v", e.Value)
}

// Prepare decodes an image file's bytes and brings the image to r: the
// first half of the path from a file to an embedding, shared by extraction
// and by everything else that classifies image files. It reserves the
// image's decoding memory from opts.Budget (when set) for the whole time,
// and turns a panic into a *PanicError.
func Prepare(ctx context.Context, data []byte, r Resizer, opts DecodeOptions) (img *image.NRGBA, err error) {
	defer func() {
		if p := recover(); p != nil {
			img, err = nil, &PanicError{Value: p, Stack: debug.Stack()}
		}
	}()
	opts.For = &r
	h, err := inspect(data, opts)
	if err != nil {
		return nil, err
	}
	if opts.Budget != nil {
		release, err := opts.Budget.reserve(ctx, h.cost, h.what)
		if err != nil {
			return nil, err
		}
		defer release()
	}
	src, err := h.decode(data, opts)
	if err != nil {
		return nil, err
	}
	return r.Resize(src), nil
}

package dataset

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"runtime"

	"golang.org/x/sync/semaphore"

	"github.com/transfer-go/transfer/internal/turbojpeg"
)

// DefaultDecodeMemory is the memory that the images being decoded at once
// may take together: 1 GiB. It admits a 100-megapixel 8-bit photo (about
// 700 MB while it is decoded and converted) and refuses a 16-bit one of the
// same size (1.2 GB), which is a decompression bomb more often than a photo.
const DefaultDecodeMemory = 1 << 30

// ErrDecodeMemory reports an image that would need more memory to decode
// than the whole decode budget.
var ErrDecodeMemory = errors.New("image needs too much memory to decode")

// MemoryBudget bounds the memory that concurrent decodes hold at once:
// each image reserves what its header says it will take before a pixel is
// decoded, and waits while the others hold the rest. One budget is shared
// by all the workers of an extraction (or of a server), so a folder of
// decompression bombs is decoded one at a time instead of all at once.
type MemoryBudget struct {
	size int64
	sem  *semaphore.Weighted
}

// NewMemoryBudget returns a budget of size bytes (DefaultDecodeMemory when
// size <= 0).
func NewMemoryBudget(size int64) *MemoryBudget {
	if size <= 0 {
		size = DefaultDecodeMemory
	}
	return &MemoryBudget{size: size, sem: semaphore.NewWeighted(size)}
}

// Size returns the budget in bytes.
func (b *MemoryBudget) Size() int64 { return b.size }

// bigRelease is the reservation above which releasing it runs the garbage
// collector: the next large decode then reuses the freed memory instead of
// growing the heap to twice the budget before the collector runs by itself.
const bigRelease = 64 << 20

// reserve takes n bytes of the budget, waiting for them, and returns the
// function that gives them back. It fails at once when n exceeds the whole
// budget.
func (b *MemoryBudget) reserve(ctx context.Context, n int64, what string) (release func(), err error) {
	if n > b.size {
		return nil, overBudget(what, n, b.size)
	}
	if err := b.sem.Acquire(ctx, n); err != nil {
		return nil, err
	}
	return func() {
		// Collected before the next decode may start: during a
		// collection that runs beside it, the memory just dropped is
		// not yet free, and the next image would take as much again.
		if n >= bigRelease {
			runtime.GC()
		}
		b.sem.Release(n)
	}, nil
}

// overBudget is the error for an image that needs more than the whole
// budget: Decode refuses it from its header, and reserve as a guard, since
// the semaphore would wait for it forever.
func overBudget(what string, cost, size int64) error {
	return fmt.Errorf("%w: %s needs about %s, more than the decode budget of %s", ErrDecodeMemory, what, byteSize(cost), byteSize(size))
}

// decodeCost estimates the peak memory of decoding an image of cfg and
// bringing it to r: the decoder's own pixels (by colour model), TIFF's
// whole decompressed strip data (twice, for the buffer's growth), the 8-bit RGBA copy that orientation or
// resizing makes, and the resampler's filter weights (built, then laid
// out flat: 16 bytes per sample of the longer source side).
func decodeCost(cfg image.Config, format string, data []byte, opts DecodeOptions) (cost int64, what string) {
	w, h := int64(cfg.Width), int64(cfg.Height)
	px := w * h
	bpp := bytesPerPixel(cfg.ColorModel)
	what = fmt.Sprintf("a %dx%d %s", w, h, format)
	if bpp >= 8 {
		what = fmt.Sprintf("a 16-bit %dx%d %s", w, h, format)
	}
	if format == "jpeg" && opts.Decoder == TurboJPEG {
		// TurboJPEG decodes straight into RGBA at the reduced scale.
		minW, minH := cfg.Width, cfg.Height
		if opts.For != nil {
			minW, minH = opts.For.need(cfg.Width, cfg.Height)
			minW, minH = max(minW, minH), max(minW, minH) // orientation-proof
		}
		sw, sh := turbojpeg.ScaledSize(cfg.Width, cfg.Height, minW, minH)
		spx := int64(sw) * int64(sh)
		return 4*spx + 4*spx + 16*max(int64(sw), int64(sh)), what
	}
	cost = bpp*px + 4*px
	switch format {
	case "tiff":
		// The decompressed strips are held whole, read with io.ReadAll,
		// whose doubling leaves up to as much again behind.
		cost += 2 * bpp * px
	case "jpeg":
		if jpegOrientation(data) > 1 {
			cost += 4 * px // the turned copy
		}
	}
	return cost + 16*max(w, h), what
}

// bytesPerPixel is what a decoder allocates per pixel for images of m.
func bytesPerPixel(m color.Model) int64 {
	switch m {
	case color.GrayModel, color.AlphaModel:
		return 1
	case color.Gray16Model, color.Alpha16Model:
		return 2
	case color.YCbCrModel:
		return 3 // 4:4:4 at worst
	case color.NYCbCrAModel, color.CMYKModel, color.RGBAModel, color.NRGBAModel:
		return 4
	case color.RGBA64Model, color.NRGBA64Model:
		return 8
	}
	if _, ok := m.(color.Palette); ok {
		return 1
	}
	return 8
}

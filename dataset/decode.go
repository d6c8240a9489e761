package dataset

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
	"os"

	// The formats Decode accepts: JPEG, PNG and GIF from the standard
	// library, BMP, TIFF and WebP from golang.org/x/image.
	_ "image/gif"
	_ "image/jpeg"
	_ "image/png"

	"github.com/disintegration/imaging"
	_ "golang.org/x/image/bmp"
	_ "golang.org/x/image/tiff"
	_ "golang.org/x/image/webp"
)

// Errors that describe why an image could not be used. Decode wraps them in
// an *ImageError naming the file.
var (
	ErrEmptyImage        = errors.New("empty file")
	ErrUnsupportedFormat = errors.New("not a supported image format (JPEG, PNG, GIF, BMP, TIFF, WebP)")
	ErrImageTooLarge     = errors.New("image too large")
	ErrCorruptImage      = errors.New("corrupt or truncated image")
)

// DefaultMaxPixels bounds width*height of an image before its pixels are
// decoded: 100 megapixels, which a 10000x10000 photo reaches and which costs
// 400 MB as RGBA. Larger images are refused rather than risking a
// decompression bomb (a small file declaring enormous dimensions).
const DefaultMaxPixels = 100_000_000

// ImageError reports a file that could not be turned into an image.
type ImageError struct {
	Path string
	Err  error
}

func (e *ImageError) Error() string { return e.Path + ": " + e.Err.Error() }
func (e *ImageError) Unwrap() error { return e.Err }

// DecodeOptions control Decode.
type DecodeOptions struct {
	// MaxPixels bounds width*height; 0 means DefaultMaxPixels.
	MaxPixels int
}

// ReadImage reads and decodes the image file at path. See Decode.
func ReadImage(path string, opts DecodeOptions) (image.Image, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &ImageError{Path: path, Err: err}
	}
	img, err := Decode(data, opts)
	if err != nil {
		return nil, &ImageError{Path: path, Err: err}
	}
	return img, nil
}

// Decode decodes an image file's bytes and applies its EXIF orientation. It
// reads the header first and refuses images larger than opts.MaxPixels before
// decoding any pixel. The result keeps the decoded colour model (YCbCr for
// most JPEGs, paletted for GIFs, 16-bit for some PNGs); Resize converts it to
// 8-bit RGB.
func Decode(data []byte, opts DecodeOptions) (image.Image, error) {
	if len(data) == 0 {
		return nil, ErrEmptyImage
	}
	maxPixels := opts.MaxPixels
	if maxPixels <= 0 {
		maxPixels = DefaultMaxPixels
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		if errors.Is(err, image.ErrFormat) {
			return nil, ErrUnsupportedFormat
		}
		return nil, fmt.Errorf("%w: %v", ErrCorruptImage, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("%w: %s declares %dx%d pixels", ErrCorruptImage, format, cfg.Width, cfg.Height)
	}
	if int64(cfg.Width)*int64(cfg.Height) > int64(maxPixels) {
		return nil, fmt.Errorf("%w: %s of %dx%d pixels exceeds the limit of %d pixels", ErrImageTooLarge, format, cfg.Width, cfg.Height, maxPixels)
	}
	img, err := imaging.Decode(bytes.NewReader(data), imaging.AutoOrientation(true))
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: %s ends early (truncated file)", ErrCorruptImage, format)
		}
		return nil, fmt.Errorf("%w: %s: %v", ErrCorruptImage, format, err)
	}
	return img, nil
}

// flattenAlpha composites img onto black in place, leaving every pixel
// opaque. For the usual transparent pixels (stored as black with alpha 0)
// this equals PIL's convert("RGB"), which Keras' load_img applies.
func flattenAlpha(img *image.NRGBA) {
	b := img.Bounds()
	w := b.Dx()
	for y := 0; y < b.Dy(); y++ {
		row := img.Pix[y*img.Stride : y*img.Stride+4*w]
		for x := 0; x < 4*w; x += 4 {
			a := uint32(row[x+3])
			if a == 255 {
				continue
			}
			row[x] = uint8((uint32(row[x])*a + 127) / 255)
			row[x+1] = uint8((uint32(row[x+1])*a + 127) / 255)
			row[x+2] = uint8((uint32(row[x+2])*a + 127) / 255)
			row[x+3] = 255
		}
	}
}

// opaque reports whether the colour model can carry transparency; models
// that cannot need no alpha pass.
func opaque(m color.Model) bool {
	return m == color.YCbCrModel || m == color.GrayModel || m == color.Gray16Model || m == color.CMYKModel
}

package dataset

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"

	// The formats Decode accepts: JPEG, PNG and GIF from the standard
	// library, BMP, TIFF and WebP from golang.org/x/image.
	_ "image/gif"
	_ "image/jpeg"
	_ "image/png"

	"github.com/disintegration/imaging"
	_ "golang.org/x/image/bmp"
	_ "golang.org/x/image/tiff"
	_ "golang.org/x/image/webp"

	"github.com/transfer-go/transfer/internal/turbojpeg"
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

// DecodeOptions control reading and decoding images.
type DecodeOptions struct {
	// MaxPixels bounds width*height; 0 means DefaultMaxPixels.
	MaxPixels int
	// MaxFileSize bounds the size of an image file; 0 means
	// DefaultMaxFileSize.
	MaxFileSize int64
	// Budget bounds the memory of the decodes that share it (see
	// MemoryBudget); nil refuses only images larger than
	// DefaultDecodeMemory on their own.
	Budget *MemoryBudget
	// Decoder decodes JPEG files; the other formats always use Go's.
	Decoder Decoder
	// For, when set, is the resize that follows: with TurboJPEG a JPEG
	// larger than that resize needs is decoded at a reduced scale in the
	// DCT domain, to the smallest multiple of 1/8 that still covers it.
	For *Resizer
}

// Decoder is the JPEG decoder.
type Decoder int

const (
	// GoDecoder is Go's image/jpeg: the same pixels on every machine.
	GoDecoder Decoder = iota
	// TurboJPEG is libjpeg-turbo, loaded at run time: several times
	// faster, with DCT-domain downscaling of large images. Its pixels
	// differ slightly from Go's (it upsamples chroma with a triangle
	// filter), so caches key its embeddings apart. CMYK JPEGs still go
	// through Go's decoder.
	TurboJPEG
)

func (d Decoder) String() string {
	if d == TurboJPEG {
		return "turbojpeg"
	}
	return "go"
}

// ParseDecoder reads "go", "turbojpeg", or "auto", which picks TurboJPEG
// when libturbojpeg loads and Go's decoder otherwise.
func ParseDecoder(s string) (Decoder, error) {
	switch s {
	case "go":
		return GoDecoder, nil
	case "turbojpeg":
		if err := turbojpeg.Load(); err != nil {
			return GoDecoder, fmt.Errorf("decoder turbojpeg: %w", err)
		}
		return TurboJPEG, nil
	case "", "auto":
		if turbojpeg.Available() {
			return TurboJPEG, nil
		}
		return GoDecoder, nil
	}
	return GoDecoder, fmt.Errorf("unknown decoder %q: want auto, go or turbojpeg", s)
}

// ReadImage reads and decodes the image file at path (see ReadFile and
// Decode).
func ReadImage(path string, opts DecodeOptions) (image.Image, error) {
	data, err := ReadFile(path, opts.MaxFileSize)
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
// reads the header first and refuses, before decoding any pixel, images
// larger than opts.MaxPixels and images whose decoding would take more
// memory than the whole budget (opts.Budget, else DefaultDecodeMemory). An
// image that decodes to no pixels at all (a GIF whose first frame is 0
// pixels wide, say) is an error too. The result keeps the decoded colour
// model (YCbCr for most JPEGs, paletted for GIFs, 16-bit for some PNGs);
// Resize converts it to 8-bit RGB.
func Decode(data []byte, opts DecodeOptions) (image.Image, error) {
	h, err := inspect(data, opts)
	if err != nil {
		return nil, err
	}
	return h.decode(data, opts)
}

// header is what inspect learnt from an image's header.
type header struct {
	cfg    image.Config
	format string
	cost   int64  // estimated peak memory of decoding and resizing
	what   string // "a 16-bit 10000x10000 png", for messages
}

// inspect reads an image's header and applies the limits that need no
// pixel: format, size and memory.
func inspect(data []byte, opts DecodeOptions) (*header, error) {
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
	h := &header{cfg: cfg, format: format}
	h.cost, h.what = decodeCost(cfg, format, data, opts)
	size := int64(DefaultDecodeMemory)
	if opts.Budget != nil {
		size = opts.Budget.Size()
	}
	if h.cost > size {
		return nil, overBudget(h.what, h.cost, size)
	}
	return h, nil
}

// decode decodes the pixels of an inspected image.
func (h *header) decode(data []byte, opts DecodeOptions) (image.Image, error) {
	img, err := h.decodePixels(data, opts)
	if err != nil {
		return nil, err
	}
	if b := img.Bounds(); b.Dx() < 1 || b.Dy() < 1 {
		return nil, fmt.Errorf("%w: %s decodes to an empty %dx%d image (its header says %dx%d)", ErrCorruptImage, h.format, b.Dx(), b.Dy(), h.cfg.Width, h.cfg.Height)
	}
	return img, nil
}

func (h *header) decodePixels(data []byte, opts DecodeOptions) (image.Image, error) {
	format, cfg := h.format, h.cfg
	if format == "jpeg" && opts.Decoder == TurboJPEG {
		o := jpegOrientation(data)
		minW, minH := cfg.Width, cfg.Height // full size unless a resize follows
		if opts.For != nil {
			minW, minH = opts.For.need(cfg.Width, cfg.Height)
			if o >= 5 { // the image turns by 90 degrees after decoding
				minW, minH = minH, minW
			}
		}
		img, err := turbojpeg.Decode(data, minW, minH)
		switch {
		case err == nil:
			return jpegRGB{orient(img, o)}, nil
		case !errors.Is(err, turbojpeg.ErrUnsupported):
			return nil, fmt.Errorf("%w: %v", ErrCorruptImage, err)
		}
		// CMYK and YCCK files: Go's decoder handles them.
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

// opaque reports whether images of the colour model are always opaque, so
// that they need no alpha pass.
func opaque(m color.Model) bool {
	return m == color.YCbCrModel || m == color.GrayModel || m == color.Gray16Model || m == color.CMYKModel || m == jpegRGBModel
}

// jpegRGB is a JPEG that TurboJPEG decoded into RGBA memory: an NRGBA whose
// colour model says it is opaque, so that Resize skips scanning its alpha.
type jpegRGB struct{ *image.NRGBA }

var jpegRGBModel = color.ModelFunc(color.NRGBAModel.Convert)

func (jpegRGB) ColorModel() color.Model { return jpegRGBModel }

//go:build cgo && (linux || darwin)

// Package turbojpeg decodes JPEG files with libjpeg-turbo's TurboJPEG
// library when the machine has it, loading it at run time so that building
// needs neither its headers nor the library.
//
// It decodes straight into 8-bit RGBA memory (an *image.NRGBA, alpha 0xFF)
// and can decode at a reduced scale in the DCT domain (num/8 of the size),
// which skips most of the work for images much larger than a model's input.
// TurboJPEG's fancy (triangle) chroma upsampling and accurate integer IDCT
// differ slightly from Go's image/jpeg, so pixels decoded here are not equal
// to Go's; callers record which decoder made them.
package turbojpeg

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdlib.h>

typedef void *tjhandle;
typedef struct { int num; int denom; } tjscalingfactor;

static void *tj_lib;
static tjhandle (*tj_init_decompress)(void);
static int (*tj_header3)(tjhandle, const unsigned char *, unsigned long, int *, int *, int *, int *);
static int (*tj_decompress2)(tjhandle, const unsigned char *, unsigned long, unsigned char *, int, int, int, int, int);
static int (*tj_destroy)(tjhandle);
static char *(*tj_error_str2)(tjhandle);
static tjscalingfactor *(*tj_scaling_factors)(int *);

static const char *tj_load(const char *name) {
	if (tj_lib) return NULL;
	void *h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
	if (!h) return dlerror();
	tj_init_decompress = dlsym(h, "tjInitDecompress");
	tj_header3 = dlsym(h, "tjDecompressHeader3");
	tj_decompress2 = dlsym(h, "tjDecompress2");
	tj_destroy = dlsym(h, "tjDestroy");
	tj_error_str2 = dlsym(h, "tjGetErrorStr2");
	tj_scaling_factors = dlsym(h, "tjGetScalingFactors");
	if (!tj_init_decompress || !tj_header3 || !tj_decompress2 || !tj_destroy || !tj_error_str2 || !tj_scaling_factors) {
		dlclose(h);
		return "the library lacks TurboJPEG 1.4 functions";
	}
	tj_lib = h;
	return NULL;
}

static tjhandle tj_new(void) { return tj_init_decompress(); }
static int tj_free(tjhandle h) { return tj_destroy(h); }
static const char *tj_err(tjhandle h) { return tj_error_str2(h); }
static int tj_header(tjhandle h, const unsigned char *buf, unsigned long n, int *w, int *ht, int *samp, int *cs) {
	return tj_header3(h, buf, n, w, ht, samp, cs);
}
static int tj_decode(tjhandle h, const unsigned char *buf, unsigned long n, unsigned char *dst, int w, int pitch, int ht, int pf, int flags) {
	return tj_decompress2(h, buf, n, dst, w, pitch, ht, pf, flags);
}
static int tj_factor(int i, int *num, int *denom) {
	int count = 0;
	tjscalingfactor *f = tj_scaling_factors(&count);
	if (!f || i >= count) return 0;
	*num = f[i].num;
	*denom = f[i].denom;
	return count;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"image"
	"os"
	"runtime"
	"strings"
	"sync"
	"unsafe"
)

// TurboJPEG constants (turbojpeg.h).
const (
	pixelRGBA      = 7    // TJPF_RGBA: alpha filled with 0xFF
	flagAccurate   = 4096 // TJFLAG_ACCURATEDCT
	flagStopOnWarn = 8192 // TJFLAG_STOPONWARNING: a truncated file fails
	colorspaceCMYK = 3    // TJCS_CMYK
	colorspaceYCCK = 4    // TJCS_YCCK
)

// libraryNames are tried in order.
var libraryNames = []string{"libturbojpeg.so.0", "libturbojpeg.so", "libturbojpeg.0.dylib", "libturbojpeg.dylib"}

var (
	loadOnce sync.Once
	loadErr  error
	factors  []scale // supported scaling factors, as num/denom
	// handles holds decompressors for reuse: one is not safe for
	// concurrent use, and creating one per image costs an allocation of
	// libjpeg state. A dropped one is destroyed by its finalizer.
	handles = sync.Pool{New: func() any {
		h := C.tj_new()
		if h == nil {
			return nil
		}
		d := &decompressor{h: h}
		runtime.SetFinalizer(d, func(d *decompressor) { C.tj_free(d.h) })
		return d
	}}
)

type decompressor struct{ h C.tjhandle }

type scale struct{ num, denom int }

// ErrUnavailable reports that no TurboJPEG library could be loaded.
var ErrUnavailable = errors.New("libturbojpeg is not installed")

// ErrUnsupported reports a JPEG that TurboJPEG cannot decode to RGB (CMYK
// and YCCK files); callers decode those another way.
var ErrUnsupported = errors.New("TurboJPEG cannot decode this JPEG to RGB")

// LibraryEnv names the environment variable that points Load at one
// library file instead of the usual names.
const LibraryEnv = "TRANSFER_TURBOJPEG_LIB"

// Load loads the library once; later calls return the first result.
func Load() error {
	loadOnce.Do(func() {
		var msgs []string
		names := libraryNames
		if p := os.Getenv(LibraryEnv); p != "" {
			names = []string{p}
		}
		for _, name := range names {
			cname := C.CString(name)
			msg := C.tj_load(cname)
			C.free(unsafe.Pointer(cname))
			if msg == nil {
				loadErr = nil
				break
			}
			msgs = append(msgs, C.GoString(msg))
			loadErr = fmt.Errorf("%w (%s); install libturbojpeg0 (Debian, Ubuntu) or libjpeg-turbo", ErrUnavailable, msgs[0])
		}
		if loadErr != nil {
			return
		}
		for i := 0; ; i++ {
			var num, denom C.int
			if C.tj_factor(C.int(i), &num, &denom) == 0 {
				break
			}
			factors = append(factors, scale{int(num), int(denom)})
		}
	})
	return loadErr
}

// Available reports whether the library is loaded or loadable.
func Available() bool { return Load() == nil }

// Decode decodes a JPEG into an opaque *image.NRGBA, at the smallest DCT
// scale (a multiple of 1/8, at most 1) that keeps both sides at least minW
// and minH: the scaled IDCT is a proper low-pass filter and skips work in
// proportion. Give the image's own size for a full decode. Decoding stops at
// the first warning, so truncated files fail.
func Decode(data []byte, minW, minH int) (*image.NRGBA, error) {
	if err := Load(); err != nil {
		return nil, err
	}
	if len(data) == 0 {
		return nil, errors.New("empty JPEG")
	}
	d, _ := handles.Get().(*decompressor)
	if d == nil {
		return nil, errors.New("TurboJPEG could not allocate a decompressor")
	}
	img, err := d.decode(data, minW, minH)
	if err != nil {
		// libjpeg leaves a decompressor that failed mid-stream in the
		// state it stopped in, and the next file would be read as the
		// continuation of this one ("Bogus marker length" on good
		// files): a handle that failed is never reused.
		d.destroy()
		return nil, err
	}
	handles.Put(d)
	return img, nil
}

func (d *decompressor) decode(data []byte, minW, minH int) (*image.NRGBA, error) {
	h := d.h
	src := (*C.uchar)(unsafe.Pointer(&data[0]))
	n := C.ulong(len(data))
	var w, ht, samp, cs C.int
	if C.tj_header(h, src, n, &w, &ht, &samp, &cs) != 0 {
		return nil, fmt.Errorf("jpeg header: %s", d.reason())
	}
	if cs == colorspaceCMYK || cs == colorspaceYCCK {
		return nil, ErrUnsupported
	}
	if w <= 0 || ht <= 0 {
		return nil, fmt.Errorf("jpeg header: %dx%d pixels", int(w), int(ht))
	}
	sw, sh := scaled(int(w), int(ht), minW, minH)
	img := image.NewNRGBA(image.Rect(0, 0, sw, sh))
	if C.tj_decode(h, src, n, (*C.uchar)(unsafe.Pointer(&img.Pix[0])), C.int(sw), C.int(img.Stride), C.int(sh), pixelRGBA, flagAccurate|flagStopOnWarn) != 0 {
		return nil, fmt.Errorf("jpeg: %s", d.reason())
	}
	return img, nil
}

// reason is the handle's own error message. Some libjpeg-turbo versions
// leave it at "No error" when decoding stopped on a warning; a truncated or
// damaged file is what that means, and saying so keeps the message the same
// from run to run.
func (d *decompressor) reason() string {
	msg := C.GoString(C.tj_err(d.h))
	if msg == "" || strings.EqualFold(msg, "No error") {
		return "corrupt JPEG data (premature end of file or invalid data)"
	}
	return msg
}

// destroy frees the libjpeg state now rather than at a finalizer's whim.
func (d *decompressor) destroy() {
	runtime.SetFinalizer(d, nil)
	C.tj_free(d.h)
	d.h = nil
}

// scaled picks the decode size: the smallest supported factor of at most 1
// that keeps w and h at least minW and minH, else full size.
func scaled(w, h, minW, minH int) (int, int) {
	bw, bh := w, h
	for _, f := range factors {
		if f.num > f.denom {
			continue // never enlarge
		}
		fw, fh := (w*f.num+f.denom-1)/f.denom, (h*f.num+f.denom-1)/f.denom
		if fw >= minW && fh >= minH && fw*fh < bw*bh {
			bw, bh = fw, fh
		}
	}
	return bw, bh
}

// ScaledSize returns the size Decode would decode a w x h JPEG to for the
// given minimum size, so that callers can budget its memory beforehand.
func ScaledSize(w, h, minW, minH int) (int, int) {
	if Load() != nil {
		return w, h
	}
	return scaled(w, h, minW, minH)
}

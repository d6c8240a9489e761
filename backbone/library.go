package backbone

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// RuntimeVersion is the ONNX Runtime release that scripts/install-onnxruntime.sh
// installs and that FindLibrary looks for in the per-user cache.
const RuntimeVersion = "1.30.0"

// APIVersion is the ONNX Runtime C API version the bindings ask for; the
// library must offer it (ONNX Runtime 1.24 or newer).
const APIVersion = 24

// LibraryEnv is the environment variable that names the ONNX Runtime library.
const LibraryEnv = "ONNXRUNTIME_LIB"

// InstallHint tells a user how to get the library; errors about a missing or
// unusable library end with it.
const InstallHint = "install it with scripts/install-onnxruntime.sh from the transfer repository (or `make onnxruntime`), " +
	"or point " + LibraryEnv + " at an ONNX Runtime >= 1.24 shared library"

// ErrNoCgo reports a build without cgo, which cannot load ONNX Runtime.
var ErrNoCgo = errors.New("transfer was built without cgo; ONNX Runtime needs it: rebuild with CGO_ENABLED=1 and a C compiler")

// ErrRuntimeUnavailable reports that the ONNX Runtime library could not be
// found or loaded.
var ErrRuntimeUnavailable = errors.New("ONNX Runtime library unavailable")

// LibrarySource says where FindLibrary found the library.
type LibrarySource string

const (
	FromFlag   LibrarySource = "flag"
	FromEnv    LibrarySource = "environment (" + LibraryEnv + ")"
	FromCache  LibrarySource = "per-user cache"
	FromSystem LibrarySource = "system library path"
)

// FindLibrary resolves the ONNX Runtime shared library, in this order: the
// explicit path (the --ort-lib flag), the ONNXRUNTIME_LIB environment
// variable, the per-user cache that the install script fills
// (<user cache dir>/transfer/onnxruntime/<RuntimeVersion>/), and last the
// system's library search path, which it returns as a bare file name for the
// dynamic loader to look up.
//
// A path given by flag or environment must exist; FindLibrary does not fall
// through past a wrong explicit setting.
func FindLibrary(explicit string) (string, LibrarySource, error) {
	if explicit != "" {
		return checkLibrary(explicit, FromFlag, "the library path given")
	}
	if env := os.Getenv(LibraryEnv); env != "" {
		return checkLibrary(env, FromEnv, LibraryEnv)
	}
	if p := CachedLibraryPath(); p != "" {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, FromCache, nil
		}
	}
	return systemLibraryName(), FromSystem, nil
}

func checkLibrary(path string, src LibrarySource, what string) (string, LibrarySource, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", src, fmt.Errorf("%w: %s names %s: %v; %s", ErrRuntimeUnavailable, what, path, errors.Unwrap(err), InstallHint)
	}
	if st.IsDir() {
		return "", src, fmt.Errorf("%w: %s names %s, which is a directory; give the library file itself", ErrRuntimeUnavailable, what, path)
	}
	return path, src, nil
}

// CachedLibraryPath returns where the install script puts the library for
// this platform, or "" when the user has no cache directory.
func CachedLibraryPath() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	name := "libonnxruntime.so.1"
	if runtime.GOOS == "darwin" {
		name = "libonnxruntime." + RuntimeVersion + ".dylib"
	}
	return filepath.Join(dir, "transfer", "onnxruntime", RuntimeVersion, name)
}

func systemLibraryName() string {
	switch runtime.GOOS {
	case "darwin":
		return "libonnxruntime.dylib"
	case "windows":
		return "onnxruntime.dll"
	}
	return "libonnxruntime.so"
}

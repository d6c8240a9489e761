package backbone_test

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/transfer-go/transfer/backbone"
)

func TestFindLibraryOrder(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("cache layout checked on Linux")
	}
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	t.Setenv(backbone.LibraryEnv, "")
	flagLib := filepath.Join(t.TempDir(), "flag.so")
	envLib := filepath.Join(t.TempDir(), "env.so")
	cached := filepath.Join(cache, "transfer", "onnxruntime", backbone.RuntimeVersion, "libonnxruntime.so.1")
	for _, p := range []string{flagLib, envLib, cached} {
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte("lib"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	check := func(explicit, wantPath string, wantSrc backbone.LibrarySource) {
		t.Helper()
		p, src, err := backbone.FindLibrary(explicit)
		if err != nil || p != wantPath || src != wantSrc {
			t.Errorf("FindLibrary(%q) = %q, %q, %v; want %q from %q", explicit, p, src, err, wantPath, wantSrc)
		}
	}
	t.Setenv(backbone.LibraryEnv, envLib)
	check(flagLib, flagLib, backbone.FromFlag)
	check("", envLib, backbone.FromEnv)
	t.Setenv(backbone.LibraryEnv, "")
	check("", cached, backbone.FromCache)
	os.Remove(cached)
	check("", "libonnxruntime.so", backbone.FromSystem)

	// A wrong explicit setting is an error, never a silent fall-through.
	t.Setenv(backbone.LibraryEnv, filepath.Join(cache, "nope.so"))
	_, _, err := backbone.FindLibrary("")
	if !errors.Is(err, backbone.ErrRuntimeUnavailable) || !strings.Contains(err.Error(), "ONNXRUNTIME_LIB names") || !strings.Contains(err.Error(), "install-onnxruntime.sh") {
		t.Errorf("error %v", err)
	}
	_, _, err = backbone.FindLibrary(cache)
	if err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("directory as library: error %v", err)
	}
}

//go:build cgo

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/transfer-go/transfer/head"
	"github.com/transfer-go/transfer/internal/fixture/ortest"
	"github.com/transfer-go/transfer/internal/turbojpeg"
)

func doctorFindings(t *testing.T, dir string, env []string, args ...string) (map[string]finding, int) {
	t.Helper()
	r := transfer(t, dir, env, append([]string{"doctor", "--format", "json"}, args...)...)
	var fs []finding
	if err := json.Unmarshal([]byte(r.stdout), &fs); err != nil {
		t.Fatalf("doctor --format json: %v\n%s\n%s", err, r.stdout, r.stderr)
	}
	m := map[string]finding{}
	for _, f := range fs {
		m[f.Check] = f
	}
	return m, r.code
}

// TestDoctor: a true account with the library here, with a missing one and
// with a file that is no library, and with and without libjpeg-turbo.
func TestDoctor(t *testing.T) {
	ortest.Require(t)
	dir := t.TempDir()
	fs, code := doctorFindings(t, dir, nil)
	if code != 0 || fs["onnxruntime"].Status != findingOK || !strings.Contains(fs["onnxruntime"].Detail, "ONNX Runtime 1.") || fs["cores"].Status == "" {
		t.Errorf("healthy machine: exit %d, %+v", code, fs)
	}
	wantKernels := findingOK
	if head.Kernels() == "go" {
		wantKernels = findingWarn
	}
	if k := fs["head kernels"]; k.Status != wantKernels || !strings.HasPrefix(k.Detail, head.Kernels()+":") {
		t.Errorf("head kernels: %+v, want %s (%s)", k, head.Kernels(), wantKernels)
	}
	if fs["cache"].Status != findingOK || !strings.Contains(fs["cache"].Detail, "does not exist yet") {
		t.Errorf("cache: %+v", fs["cache"])
	}

	fs, code = doctorFindings(t, dir, nil, "--ort-lib", filepath.Join(dir, "missing.so"))
	if code != exitFailure || fs["onnxruntime"].Status != findingFail || !fs["onnxruntime"].Blocks {
		t.Errorf("missing library: exit %d, %+v", code, fs["onnxruntime"])
	}
	fake := filepath.Join(dir, "libonnxruntime.so.1")
	os.WriteFile(fake, []byte("not a shared library"), 0o644)
	fs, code = doctorFindings(t, dir, nil, "--ort-lib", fake)
	if code != exitFailure || fs["onnxruntime"].Status != findingFail || !strings.Contains(fs["onnxruntime"].Detail, "does not load") {
		t.Errorf("a file that is no library: exit %d, %+v", code, fs["onnxruntime"])
	}

	fs, _ = doctorFindings(t, dir, []string{turbojpeg.LibraryEnv + "=" + filepath.Join(dir, "no-libturbojpeg.so")})
	if f := fs["libjpeg-turbo"]; f.Status != findingWarn || !strings.Contains(f.Fix, "apt-get install libturbojpeg0") {
		t.Errorf("without libjpeg-turbo: %+v", f)
	}
	if turbojpeg.Available() {
		fs, _ = doctorFindings(t, dir, nil)
		if f := fs["libjpeg-turbo"]; f.Status != findingOK {
			t.Errorf("with libjpeg-turbo: %+v", f)
		}
	}

	// A cache and a damaged pulled model.
	folderSet(t, dir, 3)
	smallModel(t, dir, 0)
	mustRun(t, dir, "extract", "--model", "model.onnx", "--data", "images", "-q")
	os.MkdirAll(filepath.Join(dir, "models"), 0o755)
	os.WriteFile(filepath.Join(dir, "models", "mobilenetv2-12.onnx"), []byte("truncated"), 0o644)
	fs, code = doctorFindings(t, dir, nil, "--deep", "--models-dir", "models")
	if code != 0 || !strings.Contains(fs["cache"].Detail, "schema 3") || fs["cache check"].Status != findingOK || !strings.Contains(fs["cache rows"].Detail, "6 embeddings") {
		t.Errorf("cache: exit %d, %+v / %+v / %+v", code, fs["cache"], fs["cache check"], fs["cache rows"])
	}
	if f := fs["model mobilenetv2-12"]; f.Status != findingFail || !strings.Contains(f.Fix, "models pull mobilenetv2-12") {
		t.Errorf("damaged model: %+v", f)
	}
	// A cache that cannot be read keeps extract from running: exit 1.
	os.WriteFile(filepath.Join(dir, "zeros.db"), make([]byte, 8192), 0o644)
	fs, code = doctorFindings(t, dir, nil, "--cache", "zeros.db")
	if f := fs["cache"]; code != exitFailure || f.Status != findingFail || !f.Blocks {
		t.Errorf("a cache file of zeros: exit %d, %+v", code, f)
	}
	// A models folder pull cannot write to is said before pull fails.
	fs, _ = doctorFindings(t, dir, nil, "--models-dir", filepath.Join(dir, "zeros.db", "models"))
	if f := fs["models"]; f.Status != findingWarn || !strings.Contains(f.Detail, "cannot write") {
		t.Errorf("an unwritable models folder: %+v", f)
	}
	// A CPU build asked for CUDA.
	fs, code = doctorFindings(t, dir, nil, "--device", "cuda")
	if f := fs["cuda provider"]; f.Status == findingFail && code != exitFailure {
		t.Errorf("CUDA asked of a CPU build: exit %d, %+v", code, f)
	}
}

//go:build cgo

package backbone

import (
	"fmt"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// The ONNX Runtime environment is process-wide: onnxruntime_go loads one
// library and creates one environment. runtimeState records which library,
// so that a second Open asking for another one fails instead of silently
// using the first.
var runtimeState struct {
	mu     sync.Mutex
	path   string
	source LibrarySource
}

// LoadRuntime loads the ONNX Runtime library (resolved with FindLibrary from
// explicit) and initialises its environment, once per process. Open calls it;
// call it directly to check an installation. It returns the library's path.
func LoadRuntime(explicit string) (string, error) {
	path, src, err := FindLibrary(explicit)
	if err != nil {
		return "", err
	}
	runtimeState.mu.Lock()
	defer runtimeState.mu.Unlock()
	if ort.IsInitialized() {
		if explicit != "" && path != runtimeState.path {
			return "", fmt.Errorf("ONNX Runtime is already loaded from %s; one process can load only one library, not also %s", runtimeState.path, path)
		}
		return runtimeState.path, nil
	}
	ort.SetSharedLibraryPath(path)
	if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
		if strings.Contains(err.Error(), "API base") {
			// The library loaded but lacks the C API version the bindings
			// were built for: an ONNX Runtime older than 1.24.
			return "", fmt.Errorf("%w: %s (from the %s) is an ONNX Runtime older than 1.24, which transfer needs (%v); %s", ErrRuntimeUnavailable, path, src, err, InstallHint)
		}
		return "", fmt.Errorf("%w: loading %s (from the %s) failed: %v; %s", ErrRuntimeUnavailable, path, src, err, InstallHint)
	}
	runtimeState.path, runtimeState.source = path, src
	return path, nil
}

// RuntimeInfo returns the loaded library's path and ONNX Runtime version, or
// empty strings before LoadRuntime succeeded.
func RuntimeInfo() (path, version string) {
	runtimeState.mu.Lock()
	defer runtimeState.mu.Unlock()
	if !ort.IsInitialized() {
		return "", ""
	}
	return runtimeState.path, ort.GetVersion()
}

// UnloadRuntime destroys the ONNX Runtime environment. Every Backbone must
// be destroyed first. Programs need not call it at exit.
func UnloadRuntime() error {
	runtimeState.mu.Lock()
	defer runtimeState.mu.Unlock()
	if !ort.IsInitialized() {
		return nil
	}
	runtimeState.path = ""
	return ort.DestroyEnvironment()
}

// CUDAProvider reports whether the loaded ONNX Runtime library has the CUDA
// execution provider: nil when it has, else why not. It says nothing about
// GPUs; opening a backbone with Device CUDA does. LoadRuntime must have
// succeeded.
func CUDAProvider() error {
	so, err := ort.NewSessionOptions()
	if err != nil {
		return err
	}
	defer so.Destroy()
	// Creating CUDA options works in every build; appending them is where
	// a CPU build says it has no such provider.
	return appendCUDA(so, Device{CUDA: true}, runtimeState.path)
}

package backbone

import (
	"errors"
	"fmt"
	"strings"
)

// ErrCUDAUnavailable reports that CUDA was asked for and cannot be used.
// Open never falls back to the CPU on its own.
var ErrCUDAUnavailable = errors.New("CUDA unavailable")

// cudaError turns ONNX Runtime's message about a failed CUDA set-up into one
// that says which part is missing and what to do. ONNX Runtime reports all of
// them as generic failures; the text is all there is to go on.
func cudaError(d Device, libPath string, err error) error {
	msg := err.Error()
	has := func(subs ...string) bool {
		for _, s := range subs {
			if strings.Contains(msg, s) {
				return true
			}
		}
		return false
	}
	switch {
	case has("libonnxruntime_providers_shared", "libonnxruntime_providers_cuda", "CUDA execution provider is not enabled", "not built with CUDA"):
		return fmt.Errorf("%w: the ONNX Runtime library %s was built without the CUDA execution provider; "+
			"install the GPU build of ONNX Runtime (onnxruntime-gpu, which ships libonnxruntime_providers_cuda.so beside the library) "+
			"and use that library, or run on the CPU (ONNX Runtime said: %v)", ErrCUDAUnavailable, libPath, err)
	case has("libcudart", "libcublas", "libcudnn", "libcufft", "libcurand"):
		return fmt.Errorf("%w: the CUDA provider of %s is present but the CUDA or cuDNN libraries it needs are not; "+
			"install the CUDA and cuDNN versions that ONNX Runtime release requires, or run on the CPU (ONNX Runtime said: %v)", ErrCUDAUnavailable, libPath, err)
	case has("no CUDA-capable device", "cudaErrorNoDevice", "CUDA driver version is insufficient", "CUDA failure 100", "CUDA failure 35"):
		return fmt.Errorf("%w: no usable GPU for %v (no device, or a driver too old for this ONNX Runtime build); run on the CPU (ONNX Runtime said: %v)", ErrCUDAUnavailable, d, err)
	case has("invalid device ordinal", "cudaErrorInvalidDevice", "CUDA failure 101"):
		return fmt.Errorf("%w: there is no GPU number %d; list the GPUs with nvidia-smi (ONNX Runtime said: %v)", ErrCUDAUnavailable, d.ID, err)
	}
	return fmt.Errorf("%w: ONNX Runtime could not use %v with %s: %v", ErrCUDAUnavailable, d, libPath, err)
}

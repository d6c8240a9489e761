package backbone

import (
	"errors"
	"strings"
	"testing"
)

// ONNX Runtime's messages for each way a CUDA set-up fails, as its GPU and
// CPU builds print them.
func TestCUDAError(t *testing.T) {
	cases := []struct {
		ort  string
		want string
	}{
		{"Failed to load library /opt/ort/libonnxruntime_providers_shared.so with error: cannot open shared object file", "built without the CUDA execution provider"},
		{"libcudnn.so.9: cannot open shared object file: No such file or directory", "CUDA or cuDNN libraries it needs are not"},
		{"CUDA failure 100: no CUDA-capable device is detected ; GPU=0", "no usable GPU for cuda:1"},
		{"CUDA failure 101: invalid device ordinal ; GPU=1", "there is no GPU number 1"},
		{"something else", "could not use cuda:1"},
	}
	for _, tc := range cases {
		err := cudaError(Device{CUDA: true, ID: 1}, "/opt/ort/libonnxruntime.so", errors.New(tc.ort))
		if !errors.Is(err, ErrCUDAUnavailable) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.ort) {
			t.Errorf("%q: got %q, want mention of %q", tc.ort, err, tc.want)
		}
	}
}

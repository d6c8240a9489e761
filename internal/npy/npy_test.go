package npy

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestHeaderGolden pins Header against the headers numpy 1.24's np.save
// wrote for the same arrays (testdata, made with np.save).
func TestHeaderGolden(t *testing.T) {
	for _, c := range []struct {
		file  string
		descr string
		shape []int
	}{
		{"f4_2x3.npy", Float32, []int{2, 3}},
		{"i8_2.npy", Int64, []int{2}},
		{"f4_0x1280.npy", Float32, []int{0, 1280}},
		{"f8_1.npy", Float64, []int{1}},
	} {
		want, err := os.ReadFile(filepath.Join("testdata", c.file))
		if err != nil {
			t.Fatal(err)
		}
		h := Header(c.descr, c.shape)
		if len(h)%64 != 0 || !bytes.Equal(h, want[:len(h)]) {
			t.Errorf("%s: header %q\nnumpy's  %q", c.file, h, want[:min(len(h), len(want))])
		}
	}
}

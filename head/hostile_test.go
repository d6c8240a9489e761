package head_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/transfer-go/transfer/head"
)

// craftHead writes a head file with the given declared sizes and a valid
// checksum, as an attacker who read the format would.
func craftHead(dim int64, kernel []int64, bias []int64, classes int, kernelData, biasData string) []byte {
	names := make([]string, classes)
	for i := range names {
		names[i] = fmt.Sprintf("c%d", i)
	}
	h := sha256.New()
	h.Write([]byte(kernelData))
	h.Write([]byte{0})
	h.Write([]byte(biasData))
	for _, c := range names {
		h.Write([]byte{0})
		h.Write([]byte(c))
	}
	b, _ := json.Marshal(map[string]any{
		"format": head.FileFormat, "version": head.FileVersion, "classes": names, "embedding_dim": dim,
		"kernel":   map[string]any{"shape": kernel, "dtype": "float64", "data": kernelData},
		"bias":     map[string]any{"shape": bias, "dtype": "float64", "data": biasData},
		"checksum": hex.EncodeToString(h.Sum(nil)),
	})
	return b
}

// TestDecodeRefusesHugeDimensions: declared sizes whose product overflows
// or would allocate gigabytes are refused before any allocation.
func TestDecodeRefusesHugeDimensions(t *testing.T) {
	for _, tc := range []struct {
		name    string
		dim     int64
		kernel  []int64
		classes int
	}{
		{"2^61 x 8 overflows to 0", 1 << 61, []int64{1 << 61, 8}, 8},
		{"2^31 x 2^31 overflows", 1 << 31, []int64{1 << 31, 2}, 2},
		{"2^21 dimensions", 1 << 21, []int64{1 << 21, 2}, 2},
		{"negative", -8, []int64{-8, 2}, 2},
		{"2^62 x 4 overflows to 0", 1 << 62, []int64{1 << 62, 4}, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			zeros := base64.StdEncoding.EncodeToString(make([]byte, 8*tc.classes))
			b := craftHead(tc.dim, tc.kernel, []int64{int64(tc.classes)}, tc.classes, "", zeros)
			m, err := head.Decode(b)
			if m != nil || !errors.Is(err, head.ErrBadHeadFile) {
				t.Fatalf("%v, %v; want ErrBadHeadFile", m, err)
			}
		})
	}
}

// TestProbabilitiesRefuseOverflow: finite weights of 1e308 overflow to NaN
// probabilities, which are an error naming the cause, never "NaN%".
func TestProbabilitiesRefuseOverflow(t *testing.T) {
	l := &head.Dense{W: mat.NewDense(2, 2, []float64{1e308, -1e308, 1e308, 1e308}), B: []float64{0, 0}}
	p, err := l.Probabilities([][]float32{{1, 1}})
	if p != nil || !errors.Is(err, head.ErrNonFiniteOutput) || !strings.Contains(err.Error(), "1e+308") {
		t.Fatalf("%v, %v", p, err)
	}
	// Ordinary large logits are fine: softmax subtracts the maximum.
	l = &head.Dense{W: mat.NewDense(2, 2, []float64{1000, -1000, 0, 0}), B: []float64{0, 0}}
	p, err = l.Probabilities([][]float32{{1, 1}})
	if err != nil || p[0][0] != 1 || p[0][1] != 0 || math.IsNaN(p[0][1]) {
		t.Fatalf("%v, %v", p, err)
	}
}

// FuzzDecodeShapes builds head files with arbitrary declared sizes and a
// valid checksum, so that the fuzzer explores the size checks rather than
// stopping at the checksum.
func FuzzDecodeShapes(f *testing.F) {
	f.Add(int64(1<<61), int64(1<<61), int64(8), int64(8), uint8(8), "", "")
	f.Add(int64(3), int64(3), int64(2), int64(2), uint8(2), strings.Repeat("A", 64), strings.Repeat("A", 24))
	f.Add(int64(1<<31), int64(1<<31), int64(1<<31), int64(2), uint8(2), "", "AAAAAAAAAAAAAAAAAAAAAA==")
	f.Fuzz(func(t *testing.T, dim, k0, k1, b0 int64, classes uint8, kd, bd string) {
		m, err := head.Decode(craftHead(dim, []int64{k0, k1}, []int64{b0}, int(classes), kd, bd))
		if err != nil {
			return
		}
		d, c := m.Layer.W.Dims()
		if int64(d) != dim || c != int(classes) || len(m.Layer.B) != c {
			t.Fatalf("declared %d x %d, got %d x %d", dim, classes, d, c)
		}
	})
}

// TestDecodeRefusesBadClassNames: duplicate or empty class names make
// predictions ambiguous; such a head is refused.
func TestDecodeRefusesBadClassNames(t *testing.T) {
	zeros := base64.StdEncoding.EncodeToString(make([]byte, 16))
	for _, names := range [][]string{{"cat", "cat"}, {"cat", ""}} {
		b := craftHead(1, []int64{1, 2}, []int64{2}, 2, zeros, zeros)
		b = []byte(strings.Replace(strings.Replace(string(b), `"c0"`, fmt.Sprintf("%q", names[0]), 1), `"c1"`, fmt.Sprintf("%q", names[1]), 1))
		// Recompute the checksum over the edited names.
		var f map[string]any
		json.Unmarshal(b, &f)
		h := sha256.New()
		h.Write([]byte(zeros))
		h.Write([]byte{0})
		h.Write([]byte(zeros))
		for _, c := range names {
			h.Write([]byte{0})
			h.Write([]byte(c))
		}
		f["checksum"] = hex.EncodeToString(h.Sum(nil))
		b, _ = json.Marshal(f)
		if _, err := head.Decode(b); !errors.Is(err, head.ErrBadHeadFile) || !strings.Contains(err.Error(), "not distinct and non-empty") {
			t.Errorf("%q: %v", names, err)
		}
	}
}

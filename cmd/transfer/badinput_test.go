//go:build cgo

package main

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/transfer-go/transfer/internal/fixture/mobilenet"
	"github.com/transfer-go/transfer/internal/fixture/ortest"
	"github.com/transfer-go/transfer/internal/onnxgraph"
	"github.com/transfer-go/transfer/internal/onnxgraph/onnx"
)

// writeModel encodes mp into dir/name.
func writeModel(t *testing.T, dir, name string, mp *onnx.ModelProto) {
	t.Helper()
	b, err := (&onnxgraph.Model{Proto: mp}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBadModels: every broken model is a clear error with exit code 2.
func TestBadModels(t *testing.T) {
	ortest.Require(t)
	dir := t.TempDir()
	folderSet(t, dir, 2)
	good, _ := os.ReadFile(smallModel(t, dir, mobilenet.Torch))
	os.WriteFile(filepath.Join(dir, "truncated.onnx"), good[:len(good)*2/3], 0o644)
	noise := make([]byte, 4096)
	rand.Read(noise)
	os.WriteFile(filepath.Join(dir, "random.onnx"), noise, 0o644)

	text := mobilenet.New(mobilenet.Small(mobilenet.Torch, 1)).Model()
	text.Graph.Input[0] = onnxgraph.TensorInfo("input", onnx.TensorProto_FLOAT, onnxgraph.Dims(1, 77))
	writeModel(t, dir, "text.onnx", text)

	future := mobilenet.New(mobilenet.Small(mobilenet.Torch, 1)).Model()
	future.OpsetImport[0].Version = 99
	writeModel(t, dir, "opset99.onnx", future)

	flat := mobilenet.New(mobilenet.Small(mobilenet.Torch, 1)).Model()
	for _, n := range flat.Graph.Node {
		if n.OpType == "GlobalAveragePool" {
			n.OpType = "GlobalMaxPool"
		}
	}
	writeModel(t, dir, "nopool.onnx", flat)

	secret := mobilenet.New(mobilenet.Small(mobilenet.Torch, 1)).Model()
	secret.Graph.Node = append(secret.Graph.Node, onnxgraph.Node("Constant", "leak", nil, []string{"leaked"}, onnxgraph.TensorAttr("value", &onnx.TensorProto{
		Name: "leaked", Dims: []int64{4}, DataType: int32(onnx.TensorProto_FLOAT), DataLocation: onnx.TensorProto_EXTERNAL,
		ExternalData: []*onnx.StringStringEntryProto{{Key: "location", Value: "secret.bin"}},
	})))
	writeModel(t, dir, "secret.onnx", secret)
	os.WriteFile(filepath.Join(dir, "secret.bin"), []byte("0123456789abcdef"), 0o600)

	huge := mobilenet.New(mobilenet.Small(mobilenet.Torch, 1)).Model()
	huge.Graph.Input[0] = onnxgraph.TensorInfo("input", onnx.TensorProto_FLOAT, onnxgraph.Dims(0, 3, 100000, 100000))
	writeModel(t, dir, "huge.onnx", huge)
	batch := mobilenet.New(mobilenet.Small(mobilenet.Torch, 1)).Model()
	batch.Graph.Input[0] = onnxgraph.TensorInfo("input", onnx.TensorProto_FLOAT, onnxgraph.Dims(100000, 3, 32, 32))
	writeModel(t, dir, "batch.onnx", batch)

	cases := []struct {
		model, want string
	}{
		{"secret.onnx", `model stores tensors in external data files (tensor "leaked" in graph, node "leak" (Constant), attribute value, stored in "secret.bin")`},
		{"huge.onnx", "a side of 100000 pixels is absurd (at most 4096)"},
		{"batch.onnx", "a fixed batch of 100000 images is absurd (at most 1024)"},
		{"truncated.onnx", "not an ONNX model"},
		{"random.onnx", "not an ONNX model"},
		{"text.onnx", `input "input" has shape [1,77]; transfer needs a rank-4 image batch`},
		{"opset99.onnx", "ONNX Runtime rejected the model"},
		{"nopool.onnx", "no pooled feature tensor found"},
	}
	for _, tc := range cases {
		for _, args := range [][]string{
			{"extract", "--model", tc.model, "--data", "images"},
			{"models", "inspect", tc.model},
		} {
			r := transfer(t, dir, nil, args...)
			if r.code != 2 || !strings.Contains(r.stderr, tc.want) || strings.Contains(r.stderr, "panic") {
				t.Errorf("transfer %s: exit %d, stderr %q; want exit 2 and %q", strings.Join(args, " "), r.code, r.stderr, tc.want)
			}
		}
	}
	for _, args := range [][]string{
		{"extract", "--data", "images", "--input-size", "100000", "--model", "model.onnx"},
		{"models", "inspect", "--input-size", "100000", "model.onnx"},
	} {
		r := transfer(t, dir, nil, args...)
		if r.code != 2 || !strings.Contains(r.stderr, "an input size of 100000 pixels is absurd") {
			t.Errorf("transfer %s: exit %d, %q", strings.Join(args, " "), r.code, r.stderr)
		}
	}
	if r := transfer(t, dir, nil, "models", "inspect", "nopool.onnx"); !strings.Contains(r.stderr, "candidates: pooled (output of GlobalMaxPool)") || !strings.Contains(r.stderr, "; name the embedding tensor with --embedding-output") {
		t.Errorf("no candidates listed: %s", r.stderr)
	}
}

// TestBadHeadsAndCaches: broken heads and foreign caches are refused with
// exit code 2, and nothing is overwritten.
func TestBadHeadsAndCaches(t *testing.T) {
	ortest.Require(t)
	dir := t.TempDir()
	folderSet(t, dir, 4)
	smallModel(t, dir, mobilenet.TF2ONNX)
	mustRun(t, dir, "train", "--model", "model.onnx", "--data", "images", "--epochs", "2", "-o", "head.json", "-q")
	head, _ := os.ReadFile(filepath.Join(dir, "head.json"))
	os.WriteFile(filepath.Join(dir, "truncated.json"), head[:len(head)/2], 0o644)
	os.WriteFile(filepath.Join(dir, "edited.json"), []byte(strings.Replace(string(head), `"circles"`, `"squares"`, 1)), 0o644)
	other := filepath.Join(dir, "other.onnx")
	mobilenet.New(mobilenet.Small(mobilenet.TF2ONNX, 9)).WriteFile(other)
	os.WriteFile(filepath.Join(dir, "notes.db"), []byte("my notes, not a cache"), 0o644)

	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"eval", "--model", "model.onnx", "--head", "truncated.json", "--data", "images"}, 2, "is it truncated?"},
		{[]string{"eval", "--model", "model.onnx", "--head", "edited.json", "--data", "images"}, 2, "checksum mismatch"},
		{[]string{"predict", "--model", "other.onnx", "--head", "head.json", "images"}, 2, "head and backbone do not match"},
		{[]string{"export", "--model", "other.onnx", "--head", "head.json", "-o", "x.onnx"}, 2, "head and backbone do not match"},
		{[]string{"extract", "--model", "model.onnx", "--data", "images", "--cache", "notes.db"}, 2, "not a transfer embedding cache"},
		{[]string{"cache", "stats", "--cache", "notes.db"}, 2, "not a transfer embedding cache"},
		// An unwritable place is the machine's problem, not the input's.
		{[]string{"extract", "--model", "model.onnx", "--data", "images", "--cache", "/proc/no/such/cache.db"}, 1, "cannot create its folder (mkdir /proc/no: no such file or directory); choose a path in a writable folder"},
	}
	for _, tc := range cases {
		r := transfer(t, dir, nil, tc.args...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("transfer %s: exit %d, stderr %q; want exit %d and %q", strings.Join(tc.args, " "), r.code, r.stderr, tc.code, tc.want)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "notes.db")); string(b) != "my notes, not a cache" {
		t.Error("notes.db was modified")
	}
	if _, err := os.Stat(filepath.Join(dir, "x.onnx")); err == nil {
		t.Error("a refused export left a file")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "head.json")); string(b) != string(head) {
		t.Error("head.json was modified")
	}
}

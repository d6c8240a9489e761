//go:build cgo

package main

import (
	"bufio"
	"encoding/json"
	"io"
	"math"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/transfer-go/transfer/head"
	"github.com/transfer-go/transfer/internal/fixture/ortest"
)

// TestServeGRPCPython drives transfer serve --grpc-addr with a client
// independent of ours: Python's grpcio, its stubs generated from KServe's
// grpc_predict_v2.proto by grpcio-tools. Every RPC answers, and
// ModelInfer gives predict's probabilities. It skips without a python3
// that has grpc_tools (Debian's python3-grpc-tools) or without ../shared,
// which holds the proto.
func TestServeGRPCPython(t *testing.T) {
	shared := ortest.FindShared()
	if shared == "" {
		t.Skip("../shared is absent: it holds grpc_predict_v2.proto; skipping")
	}
	proto := filepath.Join(shared, "specs", "open-inference-protocol", "grpc_predict_v2.proto")
	py := ortest.Python(t, "grpc, grpc_tools", "python3-grpc-tools")
	client, _ := filepath.Abs(filepath.Join("testdata", "grpc_client.py"))
	dir := experimentDir(t)
	mustRun(t, dir, "train", "--model", "model.onnx", "--data", "images", "--epochs", "3", "-o", "h.json", "-q")
	imgs, _ := filepath.Glob(filepath.Join(dir, "images", "*", "*.jpg"))
	var preds []Prediction
	json.Unmarshal([]byte(mustRun(t, dir, "predict", "--head", "h.json", imgs[0], "--format", "json", "-q", "-k", "5").stdout), &preds)

	cmd := command(t, dir, nil, "serve", "--addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0", "--head", "shapes=h.json")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := bufio.NewScanner(stderr)
	addr := ""
	for addr == "" && lines.Scan() {
		if m := regexp.MustCompile(`gRPC .* on (\S+)`).FindStringSubmatch(lines.Text()); m != nil {
			addr = m[1]
		}
	}
	if addr == "" {
		t.Fatal("serve did not say where gRPC listens")
	}
	go io.Copy(io.Discard, stderrRest(lines))

	out, err := exec.Command(py, client, proto, addr, "shapes", imgs[0]).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("the Python client: %v\n%s", err, stderr)
	}
	var got struct {
		Server struct {
			Name       string   `json:"name"`
			Extensions []string `json:"extensions"`
		} `json:"server"`
		Model struct {
			Name   string  `json:"name"`
			Inputs [][]any `json:"inputs"`
		} `json:"model"`
		Probs        []float64 `json:"probs"`
		Top          string    `json:"top"`
		UnknownModel string    `json:"unknown_model"`
	}
	var flags map[string]any
	json.Unmarshal(out, &flags)
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if flags["live"] != true || flags["ready"] != true || flags["model_ready"] != true {
		t.Errorf("health: %s", out)
	}
	if got.Server.Name != "transfer" || got.Model.Name != "shapes" || len(got.Model.Inputs) != 2 || got.UnknownModel != "NOT_FOUND" {
		t.Errorf("metadata or errors: %s", out)
	}
	hm, err := head.Load(filepath.Join(dir, "h.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, cp := range preds[0].Top {
		i := -1
		for j, c := range hm.Classes {
			if c == cp.Class {
				i = j
			}
		}
		if i < 0 || i >= len(got.Probs) || math.Abs(got.Probs[i]-cp.Probability) > 1e-6 {
			t.Errorf("class %s: gRPC %v, predict %v", cp.Class, got.Probs, cp.Probability)
		}
	}
	f := strings.SplitN(got.Top, ":", 3)
	if score, _ := strconv.ParseFloat(f[0], 64); len(f) != 3 || f[2] != preds[0].Top[0].Class || math.Abs(score-preds[0].Top[0].Probability) > 1e-6 {
		t.Errorf("classification %q, predict's top %+v", got.Top, preds[0].Top[0])
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("after SIGTERM: %v", err)
	}
}

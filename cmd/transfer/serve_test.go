//go:build cgo

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/transfer-go/transfer/backbone"
	"github.com/transfer-go/transfer/dataset"
	"github.com/transfer-go/transfer/internal/onnxgraph"
	"github.com/transfer-go/transfer/models"
	"github.com/transfer-go/transfer/serve"
)

// TestServe runs transfer serve as users do: it answers /v1/classify with
// predict's probabilities, reloads its head on SIGHUP (refusing a broken
// file and keeping the old head), and exits 0 on SIGTERM.
func TestServe(t *testing.T) {
	dir := experimentDir(t)
	mustRun(t, dir, "train", "--model", "model.onnx", "--data", "images", "--epochs", "3", "-o", "h.json", "-q")
	imgs, _ := filepath.Glob(filepath.Join(dir, "images", "*", "*.jpg"))
	img, _ := os.ReadFile(imgs[0])
	var preds []Prediction
	json.Unmarshal([]byte(mustRun(t, dir, "predict", "--head", "h.json", imgs[0], "--format", "json", "-q").stdout), &preds)

	cmd, url := startServe(t, dir, "--head", "shapes=h.json")

	classify := func() serve.ClassifyResponse {
		t.Helper()
		resp, err := http.Post(url+"/v1/classify?k=2", "image/jpeg", bytes.NewReader(img))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var got serve.ClassifyResponse
		if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%d %v", resp.StatusCode, err)
		}
		return got
	}
	got := classify()
	top := got.Results[0].Heads[0].Top[0]
	if top.Class != preds[0].Top[0].Class || top.Probability != preds[0].Top[0].Probability || got.Results[0].Heads[0].Head != "shapes" {
		t.Errorf("serve says %+v, predict %+v", top, preds[0].Top[0])
	}

	// A broken head file is refused on SIGHUP; the old head serves on.
	good, _ := os.ReadFile(filepath.Join(dir, "h.json"))
	os.WriteFile(filepath.Join(dir, "h.json"), good[:len(good)/2], 0o644)
	cmd.Process.Signal(syscall.SIGHUP)
	time.Sleep(300 * time.Millisecond)
	if again := classify(); again.Results[0].Heads[0].Top[0] != top {
		t.Errorf("a refused reload changed the answer: %+v", again.Results[0].Heads[0].Top[0])
	}
	// A retrained head is taken.
	mustRun(t, dir, "train", "--model", "model.onnx", "--data", "images", "--epochs", "30", "--lr", "0.01", "-o", "h.json", "-q")
	cmd.Process.Signal(syscall.SIGHUP)
	deadline := time.Now().Add(5 * time.Second)
	for classify().Results[0].Heads[0].Top[0] == top {
		if time.Now().After(deadline) {
			t.Fatal("SIGHUP did not reload the retrained head")
		}
		time.Sleep(50 * time.Millisecond)
	}

	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("after SIGTERM: %v", err)
	}
}

// startServe starts transfer serve on a free port and returns it with its
// URL.
func startServe(t *testing.T, dir string, args ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd := command(t, dir, nil, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := bufio.NewScanner(stderr)
	var url string
	for url == "" && lines.Scan() {
		if m := regexp.MustCompile(`on (http://\S+)`).FindStringSubmatch(lines.Text()); m != nil {
			url = m[1]
		}
	}
	if url == "" {
		t.Fatal("serve did not say where it listens")
	}
	go io.Copy(io.Discard, stderrRest(lines)) // the pipe must not fill
	return cmd, url
}

// TestServeClassifier: an exported classifier, with and without its
// preprocessing inside, serves predict --classifier's probabilities.
func TestServeClassifier(t *testing.T) {
	dir := experimentDir(t)
	mustRun(t, dir, "train", "--model", "model.onnx", "--data", "images", "--epochs", "3", "-o", "h.json", "-q")
	imgs, _ := filepath.Glob(filepath.Join(dir, "images", "*", "*.jpg"))
	img, _ := os.ReadFile(imgs[1])
	for _, extra := range [][]string{nil, {"--with-preprocessing"}} {
		mustRun(t, dir, append([]string{"export", "--head", "h.json", "-o", "c.onnx"}, extra...)...)
		var preds []Prediction
		json.Unmarshal([]byte(mustRun(t, dir, "predict", "--classifier", "c.onnx", imgs[1], "--format", "json", "-q").stdout), &preds)
		cmd, url := startServe(t, dir, "--classifier", "c.onnx")
		resp, err := http.Post(url+"/v1/classify?k=1", "image/jpeg", bytes.NewReader(img))
		if err != nil {
			t.Fatal(err)
		}
		var got serve.ClassifyResponse
		json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if len(got.Results) != 1 || len(got.Results[0].Heads) != 1 || got.Results[0].Heads[0].Head != "c" {
			t.Fatalf("%v: %+v", extra, got)
		}
		top := got.Results[0].Heads[0].Top[0]
		if top.Class != preds[0].Top[0].Class || math.Abs(top.Probability-preds[0].Top[0].Probability) > 1e-6 {
			t.Errorf("%v: serve %+v, predict %+v", extra, top, preds[0].Top[0])
		}
		checkPixelsInput(t, url, filepath.Join(dir, "c.onnx"), img, top)
		cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			t.Errorf("%v: after SIGTERM: %v", extra, err)
		}
	}
	if r := transfer(t, dir, nil, "serve", "--classifier", "c.onnx", "--head", "h.json"); r.code != exitBadInput {
		t.Errorf("--classifier with --head: exit %d", r.code)
	}
}

// stderrRest returns what the scanner has not read yet.
func stderrRest(s *bufio.Scanner) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		for s.Scan() {
			pw.Write(append(s.Bytes(), '\n'))
		}
		pw.Close()
	}()
	return pr
}

// checkPixelsInput: the v2 "pixels" input of an exported classifier means
// what its metadata says (FP32 preprocessed values, or UINT8 pixel values
// for an export with the preprocessing inside) and gives /v1's answer;
// the other datatype is refused, never silently misread.
func checkPixelsInput(t *testing.T, url, classifier string, img []byte, top serve.ClassProb) {
	t.Helper()
	resp, err := http.Get(url + "/v2/models/c")
	if err != nil {
		t.Fatal(err)
	}
	var meta serve.ModelMetadata
	json.NewDecoder(resp.Body).Decode(&meta)
	resp.Body.Close()
	m, err := onnxgraph.ReadFile(classifier)
	if err != nil {
		t.Fatal(err)
	}
	cm, err := models.ReadClassifierMeta(m)
	if err != nil {
		t.Fatal(err)
	}
	want, other, p := "FP32", "UINT8", cm.Preprocess
	if cm.Input != "" {
		want, other, p = "UINT8", "FP32", backbone.Pixels
	}
	if len(meta.Inputs) != 2 || meta.Inputs[1].Name != "pixels" || meta.Inputs[1].Datatype != want {
		t.Fatalf("pixels input %+v, want %s", meta.Inputs, want)
	}
	prepared, err := dataset.Prepare(context.Background(), img, cm.Pixels.Resizer, dataset.DecodeOptions{Decoder: cm.Pixels.Decoder})
	if err != nil {
		t.Fatal(err)
	}
	values := make([]float32, 3*cm.Pixels.Width*cm.Pixels.Height)
	backbone.NewFiller(p, cm.Layout).Fill(values, prepared)
	for _, dt := range []string{want, other} {
		req, _ := json.Marshal(map[string]any{"inputs": []map[string]any{{"name": "pixels", "datatype": dt, "shape": append([]int64{1}, meta.Inputs[1].Shape[1:]...), "data": values}},
			"outputs": []map[string]any{{"name": "probabilities", "parameters": map[string]any{"classification": 1}}}})
		resp, err := http.Post(url+"/v2/models/c/infer", "application/json", bytes.NewReader(req))
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Outputs []struct {
				Data []string `json:"data"`
			} `json:"outputs"`
			Error string `json:"error"`
		}
		json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if dt == other {
			if resp.StatusCode != 400 || !strings.Contains(got.Error, "this model's pixels are "+want) {
				t.Errorf("pixels as %s: %d %q, want 400", dt, resp.StatusCode, got.Error)
			}
			continue
		}
		if resp.StatusCode != 200 || len(got.Outputs) != 1 || len(got.Outputs[0].Data) != 1 {
			t.Fatalf("pixels as %s: %d %+v", dt, resp.StatusCode, got)
		}
		f := strings.SplitN(got.Outputs[0].Data[0], ":", 3)
		score, _ := strconv.ParseFloat(f[0], 64)
		if len(f) != 3 || f[2] != top.Class || math.Abs(score-top.Probability) > 1e-5 {
			t.Errorf("pixels as %s: %q, /v1 says %+v", dt, got.Outputs[0].Data[0], top)
		}
	}
}

//go:build cgo

package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestEvalErrorsAndMinConfidence: eval --errors lists the misclassified
// images, most confident first, and the text names the worst; predict
// --min-confidence calls low-confidence images unknown.
func TestEvalErrorsAndMinConfidence(t *testing.T) {
	dir := experimentDir(t)
	mustRun(t, dir, "train", "--model", "model.onnx", "--data", "images", "--epochs", "2", "-o", "h.json", "-q")
	r := mustRun(t, dir, "eval", "--head", "h.json", "--data", "images", "--errors", "errors.csv")
	f, err := os.Open(filepath.Join(dir, "errors.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(rows) < 1 || strings.Join(rows[0], ",") != "path,true_class,predicted_class,probability" {
		t.Fatalf("errors.csv: %v %v", rows, err)
	}
	prev := 2.0
	for _, row := range rows[1:] {
		p, _ := strconv.ParseFloat(row[3], 64)
		if row[1] == row[2] || p > prev {
			t.Errorf("row %v: not a mistake, or out of order", row)
		}
		prev = p
	}
	if n := len(rows) - 1; n > 0 && !strings.Contains(r.stdout, strconv.Itoa(n)+" misclassified") {
		t.Errorf("eval text does not count %d mistakes:\n%s", n, r.stdout)
	}

	var preds []Prediction
	r = mustRun(t, dir, "predict", "--head", "h.json", "images", "--min-confidence", "1", "--format", "json")
	json.Unmarshal([]byte(r.stdout), &preds)
	if len(preds) != 24 || preds[0].Class != nil || len(preds[0].Top) == 0 {
		t.Errorf("--min-confidence 1: %+v", preds[:1])
	}
	r = mustRun(t, dir, "predict", "--head", "h.json", "images", "--min-confidence", "1")
	if strings.Count(r.stdout, "unknown (below 100%)") != 24 {
		t.Errorf("text:\n%s", r.stdout)
	}
	r = mustRun(t, dir, "predict", "--head", "h.json", "images", "--min-confidence", "0", "--format", "csv")
	if !strings.HasPrefix(r.stdout, "path,class,class_1") || strings.Contains(r.stdout, "unknown") {
		t.Errorf("csv:\n%s", r.stdout)
	}
	preds = nil
	r = mustRun(t, dir, "predict", "--head", "h.json", "images", "--format", "json")
	json.Unmarshal([]byte(r.stdout), &preds)
	if preds[0].Class == nil || *preds[0].Class != preds[0].Top[0].Class {
		t.Errorf("without --min-confidence the class is the top one: %+v", preds[0])
	}
	if r := transfer(t, dir, nil, "predict", "--head", "h.json", "images", "--min-confidence", "1.5"); r.code != exitBadInput {
		t.Errorf("--min-confidence 1.5: exit %d", r.code)
	}
}

// TestBadImageCorpusExtract: extracting the project's bad-image corpus
// names every file and why, panics on none, and says that nothing could be
// used.
func TestBadImageCorpusExtract(t *testing.T) {
	dir := experimentDir(t)
	corpus, err := filepath.Abs("../../testdata/bad-images")
	if err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(corpus)
	r := transfer(t, dir, nil, "extract", "--model", "model.onnx", "--data", corpus)
	if r.code != exitBadInput || !strings.Contains(r.stderr, "none of the") || strings.Contains(r.stderr, "internal error") {
		t.Errorf("exit %d\n%s", r.code, r.stderr)
	}
	for _, e := range ents {
		if !strings.Contains(r.stderr, "skipped "+filepath.Join(corpus, e.Name())) && !strings.Contains(r.stderr, e.Name()) {
			t.Errorf("%s is not reported:\n%s", e.Name(), r.stderr)
		}
	}
}

// TestFloat16CacheCLI: --cache-precision float16 makes a half-size cache
// that train, stats and export read as any other; asking float32 of it is
// refused.
func TestFloat16CacheCLI(t *testing.T) {
	dir := experimentDir(t)
	mustRun(t, dir, "extract", "--model", "model.onnx", "--data", "images", "--cache", "half.db", "--cache-precision", "float16", "-q")
	if r := mustRun(t, dir, "cache", "stats", "--cache", "half.db"); !strings.Contains(r.stdout, "float16 embeddings") {
		t.Errorf("stats:\n%s", r.stdout)
	}
	r := mustRun(t, dir, "train", "--model", "model.onnx", "--data", "images", "--cache", "half.db", "--cv", "3", "-q")
	if !strings.Contains(r.stdout, "validation accuracy") || strings.Contains(r.stderr, "24 embedded") {
		t.Errorf("train on the float16 cache:\n%s\n%s", r.stdout, r.stderr)
	}
	if r := transfer(t, dir, nil, "extract", "--model", "model.onnx", "--data", "images", "--cache", "half.db", "--cache-precision", "float32"); r.code != exitBadInput || !strings.Contains(r.stderr, "it stores float16") {
		t.Errorf("float32 asked of it: exit %d\n%s", r.code, r.stderr)
	}
}

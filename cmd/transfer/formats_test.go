//go:build cgo

package main

import (
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	_ "modernc.org/sqlite"
)

// schemas compiles the JSON Schemas of docs/schema.
func schemas(t *testing.T) map[string]*jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	dir, _ := filepath.Abs(filepath.Join("..", "..", "docs", "schema"))
	files, _ := filepath.Glob(filepath.Join(dir, "*.schema.json"))
	if len(files) != 3 {
		t.Fatalf("docs/schema holds %v", files)
	}
	// Each schema is added under its $id, which the others refer to.
	ids := map[string]string{}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(fh)
		fh.Close()
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		id, _ := doc.(map[string]any)["$id"].(string)
		if err := c.AddResource(id, doc); err != nil {
			t.Fatal(err)
		}
		ids[strings.TrimSuffix(filepath.Base(f), ".schema.json")] = id
	}
	out := map[string]*jsonschema.Schema{}
	for name, id := range ids {
		s, err := c.Compile(id)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = s
	}
	return out
}

func validate(t *testing.T, s *jsonschema.Schema, what string, b []byte) {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(string(b)))
	if err != nil {
		t.Errorf("%s is not JSON: %v\n%s", what, err, b)
		return
	}
	if err := s.Validate(v); err != nil {
		t.Errorf("%s against its schema: %v\n%.2000s", what, err, b)
	}
}

// TestFormatsAgainstSchemas: a head file, train --format json (a split,
// cross-validation) and the runs JSON (runs list, runs show) are what
// docs/schema says, format and version included; a damaged row of the
// registry is named in "unreadable" and the list is printed all the same.
func TestFormatsAgainstSchemas(t *testing.T) {
	sc := schemas(t)
	dir := experimentDir(t)
	r := mustRun(t, dir, "train", "--model", "model.onnx", "--data", "images", "--epochs", "3", "--val-split", "0.25", "-o", "h.json", "--format", "json", "-q")
	validate(t, sc["train-result"], "train --format json", []byte(r.stdout))
	r = mustRun(t, dir, "train", "--model", "model.onnx", "--data", "images", "--epochs", "2", "--cv", "3", "--format", "json", "-q")
	validate(t, sc["train-result"], "train --cv --format json", []byte(r.stdout))
	b, err := os.ReadFile(filepath.Join(dir, "h.json"))
	if err != nil {
		t.Fatal(err)
	}
	validate(t, sc["head"], "h.json", b)

	list := func() []json.RawMessage {
		r := mustRun(t, dir, "runs", "list", "--format", "json")
		var runs []json.RawMessage
		if err := json.Unmarshal([]byte(r.stdout), &runs); err != nil || len(runs) != 2 {
			t.Fatalf("runs list: %v\n%s", err, r.stdout)
		}
		for _, run := range runs {
			validate(t, sc["run"], "a run of runs list", run)
		}
		return runs
	}
	list()
	validate(t, sc["run"], "runs show", []byte(mustRun(t, dir, "runs", "show", "1", "--format", "json").stdout))

	db, err := sql.Open("sqlite", filepath.Join(dir, ".transfer", "cache.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE runs SET metrics = '{"train_accuracy": 0.9,' WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	runs := list()
	if !strings.Contains(string(runs[1]), `"unreadable": [`) || !strings.Contains(string(runs[1]), `"metrics": null`) {
		t.Errorf("the damaged run:\n%s", runs[1])
	}
}

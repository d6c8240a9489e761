package dataset_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/transfer-go/transfer/dataset"
)

// shard writes a cache at path holding the embeddings of set's shard
// index of count.
func shard(t *testing.T, path string, set *dataset.Set, index, count int) {
	t.Helper()
	c, err := dataset.OpenCache(path)
	if err != nil {
		t.Fatal(err)
	}
	extract(t, set.Shard(dataset.Shard{Index: index, Count: count}), newFake("fp"), c, nil)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestMergeNames merges inputs whose names hold URI syntax. Attached
// unescaped, "a#1.db" opened "a" (read-write: "?mode=ro" fell in the
// fragment), so a stray file appeared, or a cache named "a" was merged
// instead, and a '%' name did not open at all.
func TestMergeNames(t *testing.T) {
	_, set := catsLike(t, 4)
	for _, name := range []string{"shard#1.db", "shard%31.db", "shard?mode=rw.db", "shard 1.db", "shard%.db"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			in := filepath.Join(dir, name)
			shard(t, in, set, 0, 1)
			// A decoy that the unescaped URI would have opened instead.
			shard(t, filepath.Join(dir, "shard"), set, 0, 2)
			before := entries(t, dir)
			out := filepath.Join(dir, "out.db")
			st, err := dataset.MergeCaches(context.Background(), out, in)
			if err != nil || st.Embeddings != 8 {
				t.Fatalf("merge of %q: %+v, %v; want 8 embeddings", name, st, err)
			}
			after := entries(t, dir)
			delete(after, "out.db")
			if len(after) != len(before) {
				t.Errorf("files before %v, after %v", before, after)
			}
		})
	}
}

func entries(t *testing.T, dir string) map[string]bool {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]bool{}
	for _, e := range es {
		// Reading a WAL cache read-only leaves its -wal and -shm files,
		// as SQLite does for every reader.
		if n := e.Name(); !strings.HasSuffix(n, "-wal") && !strings.HasSuffix(n, "-shm") {
			m[n] = true
		}
	}
	return m
}

// TestMergePermutedColumns merges an input whose backbones table holds
// its columns in another order: copied by position, every embedding of
// the output named a backbone that was not recorded.
func TestMergePermutedColumns(t *testing.T) {
	ctx := context.Background()
	_, set := catsLike(t, 3)
	dir := t.TempDir()
	in := filepath.Join(dir, "in.db")
	shard(t, in, set, 0, 1)
	db, err := sql.Open("sqlite", in)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE TABLE b2 (dim INTEGER NOT NULL, first_seen TEXT NOT NULL, model TEXT NOT NULL, layout TEXT NOT NULL,
			input_size TEXT NOT NULL, preprocess TEXT NOT NULL, embedding_tensor TEXT NOT NULL, model_sha256 TEXT NOT NULL,
			fingerprint TEXT PRIMARY KEY)`,
		`INSERT INTO b2 (dim, first_seen, model, layout, input_size, preprocess, embedding_tensor, model_sha256, fingerprint)
			SELECT dim, first_seen, model, layout, input_size, preprocess, embedding_tensor, model_sha256, fingerprint FROM backbones`,
		`DROP TABLE backbones`,
		`ALTER TABLE b2 RENAME TO backbones`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()
	if err := dataset.VerifyCache(ctx, in); err != nil {
		t.Fatalf("the permuted input: %v", err)
	}
	out := filepath.Join(dir, "out.db")
	if st, err := dataset.MergeCaches(ctx, out, in); err != nil || st.Embeddings != 6 {
		t.Fatalf("merge: %+v, %v", st, err)
	}
	c, err := dataset.OpenCacheReadOnly(out)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	probs, rows, err := c.Check(ctx, 0)
	if err != nil || len(probs) != 0 || rows != 6 {
		t.Errorf("check of the output: %v, %d rows, %v", probs, rows, err)
	}
	s, err := c.Stats(ctx)
	if err != nil || len(s.Backbones) != 1 || s.Backbones[0].Fingerprint != "fp" || s.Backbones[0].Dim != 4 {
		t.Errorf("stats: %+v, %v", s, err)
	}
}

// TestMergeRuns carries the runs registry and the recorded split sides of
// every input, the runs under new IDs with their sweeps remapped, and
// merging again adds nothing.
func TestMergeRuns(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	write := func(name string, runs []dataset.Run, split map[string]bool) string {
		p := filepath.Join(dir, name)
		c, err := dataset.OpenCache(p)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		var first int64
		for _, r := range runs {
			id, err := c.AddRun(ctx, r)
			if err != nil {
				t.Fatal(err)
			}
			if r.Kind == "sweep" {
				if first == 0 {
					first = id
				}
				if err := c.SetRunSweep(ctx, id, first); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := c.RecordSplit(ctx, "val-split=0.25/seed=1", split); err != nil {
			t.Fatal(err)
		}
		return p
	}
	run := func(kind string, minute int, lr string) dataset.Run {
		return dataset.Run{Created: t0.Add(time.Duration(minute) * time.Minute), Kind: kind, Command: "transfer " + kind + " --lr " + lr,
			Fingerprint: "fp", Pixels: "resize=stretch", Model: "m.onnx", Data: "d1", DataPath: "photos", Protocol: "holdout",
			Options: []byte(`{"lr":` + lr + `}`), Metrics: []byte(`{"val_accuracy":0.5}`)}
	}
	a := write("a.db", []dataset.Run{run("train", 0, "0.1"), run("eval", 1, "0.1")}, map[string]bool{"x": true, "y": false})
	b := write("b.db", []dataset.Run{run("train", 2, "0.2"), run("sweep", 3, "0.3"), run("sweep", 4, "0.4"), run("sweep", 5, "0.5")},
		map[string]bool{"x": false, "z": true})
	out := filepath.Join(dir, "out.db")
	st, err := dataset.MergeCaches(ctx, out, a, b)
	if err != nil || st.Runs != 6 || st.Splits != 3 {
		t.Fatalf("merge: %+v, %v; want 6 runs and 3 split sides", st, err)
	}
	c, err := dataset.OpenCache(out)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	runs, err := c.Runs(ctx, dataset.RunFilter{})
	if err != nil || len(runs) != 6 {
		t.Fatalf("runs: %d, %v", len(runs), err)
	}
	byCommand := map[string]dataset.Run{}
	for _, r := range runs {
		byCommand[r.Command] = r
	}
	first := byCommand["transfer sweep --lr 0.3"]
	if first.ID != 4 || first.Sweep != 4 {
		t.Errorf("the sweep's first run: id %d sweep %d, want 4 and 4 (b's ID 2 remapped)", first.ID, first.Sweep)
	}
	for _, lr := range []string{"0.4", "0.5"} {
		if r := byCommand["transfer sweep --lr "+lr]; r.Sweep != first.ID {
			t.Errorf("sweep run %s: sweep %d, want %d", lr, r.Sweep, first.ID)
		}
	}
	if r := byCommand["transfer train --lr 0.2"]; r.Sweep != 0 || string(r.Metrics) != `{"val_accuracy":0.5}` || r.Protocol != "holdout" || !r.Created.Equal(t0.Add(2*time.Minute)) {
		t.Errorf("b's train run: %+v", r)
	}
	// x was recorded on the validation side in a, the first input: it
	// stays there.
	sides, err := c.SplitSides(ctx, "val-split=0.25/seed=1", []string{"x", "y", "z"})
	if err != nil || len(sides) != 3 || !sides["x"] || sides["y"] || !sides["z"] {
		t.Errorf("split sides %v, %v", sides, err)
	}
	if st, err := c.Merge(ctx, a, b); err != nil || st != (dataset.MergeStats{}) {
		t.Errorf("merging again: %+v, %v", st, err)
	}
}

// TestMergeFailureLeavesNothing: a merge into a new output that fails
// leaves no file behind (it left a 16 KB stub that `cache stats` then
// called "no such table").
func TestMergeFailureLeavesNothing(t *testing.T) {
	ctx := context.Background()
	_, set := catsLike(t, 2)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.db")
	shard(t, good, set, 0, 1)
	out := filepath.Join(dir, "out.db")
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := dataset.MergeCaches(cctx, out, good); err == nil {
		t.Fatal("a cancelled merge succeeded")
	}
	if got := entries(t, dir); len(got) != 1 || !got["good.db"] {
		t.Errorf("after a failed merge: %v", got)
	}
}

// TestMergePrecision: an output holds one precision, its label says which.
// A float16 input made a new output that said float32 and stored float16.
func TestMergePrecision(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	k := dataset.Key{Fingerprint: "fp", Pixels: "p"}
	write := func(name string, p dataset.Precision, sha string) string {
		path := filepath.Join(dir, name)
		c, err := dataset.OpenCacheWith(path, dataset.CacheOptions{Precision: p})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.AddBackbone(dataset.Backbone{Fingerprint: "fp", Model: "m", ModelSHA256: "s", Dim: 2}); err != nil {
			t.Fatal(err)
		}
		if err := c.Put(ctx, k, []dataset.Row{{SHA256: sha, Vector: []float32{1, 0.5}}}); err != nil {
			t.Fatal(err)
		}
		return path
	}
	h1, h2, f := write("h1.db", dataset.Float16, "a"), write("h2.db", dataset.Float16, "b"), write("f.db", dataset.Float32, "c")
	out := filepath.Join(dir, "out.db")
	if st, err := dataset.MergeCaches(ctx, out, h1, h2); err != nil || st.Embeddings != 2 {
		t.Fatalf("merge of float16 caches: %+v, %v", st, err)
	}
	c, err := dataset.OpenCacheReadOnly(out)
	if err != nil {
		t.Fatal(err)
	}
	if p := c.Precision(); p != dataset.Float16 {
		t.Errorf("merged float16 caches: the output says %s", p)
	}
	c.Close()
	for _, ins := range [][]string{{f}, {h1, f}} {
		o := out
		if len(ins) == 2 {
			o = filepath.Join(dir, "new.db")
		}
		_, err := dataset.MergeCaches(ctx, o, ins...)
		if !errors.Is(err, dataset.ErrPrecision) || !strings.Contains(err.Error(), "f.db") || !strings.Contains(err.Error(), "float16") {
			t.Errorf("merge of %v into %s: %v", ins, filepath.Base(o), err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "new.db")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused merge created its output (%v)", err)
	}
}

package dataset_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/transfer-go/transfer/dataset"
)

func TestRunsRegistry(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "c.db")
	c := openCache(t, path)
	base := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	var ids []int64
	for i, m := range []string{"a.onnx", "b.onnx", "a.onnx"} {
		id, err := c.AddRun(ctx, dataset.Run{Created: base.Add(time.Duration(i) * time.Hour), Kind: "train", Command: "transfer train", Model: m,
			Data: "d" + m, DataPath: "/data/" + m, Protocol: "cv=5", Options: json.RawMessage(`{"lr":0.001}`), Metrics: json.RawMessage(`{"accuracy":0.5}`)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	all, err := c.Runs(ctx, dataset.RunFilter{})
	if err != nil || len(all) != 3 || all[0].ID != ids[2] || !all[2].Created.Equal(base) {
		t.Fatalf("Runs: %d runs, first %v, %v", len(all), all, err)
	}
	if string(all[0].Options) != `{"lr":0.001}` || string(all[0].History) != "null" {
		t.Errorf("options %s, history %s", all[0].Options, all[0].History)
	}
	for _, tc := range []struct {
		f    dataset.RunFilter
		want int
	}{
		{dataset.RunFilter{Model: "a.onnx"}, 2},
		{dataset.RunFilter{Data: "b.onnx"}, 1},
		{dataset.RunFilter{Since: base.Add(90 * time.Minute)}, 1},
		{dataset.RunFilter{Kind: "eval"}, 0},
	} {
		got, err := c.Runs(ctx, tc.f)
		if err != nil || len(got) != tc.want {
			t.Errorf("Runs(%+v): %d runs, want %d (%v)", tc.f, len(got), tc.want, err)
		}
	}
	if n, err := c.RemoveRuns(ctx, []int64{ids[0], 999}); err != nil || n != 1 {
		t.Fatalf("RemoveRuns: %d, %v", n, err)
	}
	if _, err := c.Run(ctx, ids[0]); !errors.Is(err, dataset.ErrNoRun) {
		t.Errorf("removed run: %v", err)
	}
	if r, err := c.Run(ctx, ids[1]); err != nil || r.Model != "b.onnx" {
		t.Errorf("Run: %+v %v", r, err)
	}
	c.Close()

	ro, err := dataset.OpenCacheReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if _, err := ro.AddRun(ctx, dataset.Run{Kind: "train"}); !errors.Is(err, dataset.ErrCacheReadOnly) {
		t.Errorf("AddRun on a read-only cache: %v", err)
	}
}

func TestRecordSplitKeepsFirstSides(t *testing.T) {
	ctx := context.Background()
	c := openCache(t, filepath.Join(t.TempDir(), "c.db"))
	id := dataset.SplitID(0.2, 1)
	if err := c.RecordSplit(ctx, id, map[string]bool{"a": true, "b": false}); err != nil {
		t.Fatal(err)
	}
	if err := c.RecordSplit(ctx, id, map[string]bool{"a": false, "c": true}); err != nil {
		t.Fatal(err)
	}
	got, err := c.SplitSides(ctx, id, []string{"a", "b", "c", "d"})
	if err != nil || len(got) != 3 || !got["a"] || got["b"] || !got["c"] {
		t.Fatalf("SplitSides = %v, %v", got, err)
	}
	if other, _ := c.SplitSides(ctx, dataset.SplitID(0.2, 2), []string{"a"}); len(other) != 0 {
		t.Errorf("another seed's split sees %v", other)
	}
}

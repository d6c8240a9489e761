//go:build cgo

package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/transfer-go/transfer/head"
	"github.com/transfer-go/transfer/internal/fixture/mobilenet"
	"github.com/transfer-go/transfer/internal/fixture/ortest"
)

func experimentDir(t *testing.T) string {
	t.Helper()
	ortest.Require(t)
	dir := t.TempDir()
	folderSet(t, dir, 12)
	smallModel(t, dir, mobilenet.TF2ONNX)
	mustRun(t, dir, "extract", "--model", "model.onnx", "--data", "images", "-q")
	return dir
}

// TestSweep: a sweep scores its grid on the cached embeddings (no
// inference), ranks it, records every configuration, and its results do
// not depend on --parallel; the best configuration's replay command gives
// the same figures; -o writes a head that names the sweep.
func TestSweep(t *testing.T) {
	dir := experimentDir(t)
	common := []string{"sweep", "--model", "model.onnx", "--data", "images", "--lr", "0.001,0.01", "--l2", "0,0.01", "--cv", "3", "--format", "json"}
	var outs []sweepResult
	for _, p := range []string{"1", "2"} {
		r := mustRun(t, dir, append(common, "--parallel", p)...)
		if !strings.Contains(r.stderr, "0 embedded, 24 from cache") {
			t.Errorf("the sweep ran inference:\n%s", r.stderr)
		}
		var res sweepResult
		if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
			t.Fatalf("%v\n%s", err, r.stdout)
		}
		if len(res.Rows) != 4 || res.Protocol != "cv=3" || res.Sweep == 0 {
			t.Fatalf("sweep: %d rows, protocol %s, sweep %d", len(res.Rows), res.Protocol, res.Sweep)
		}
		for i := 1; i < len(res.Rows); i++ {
			if res.Rows[i].Score > res.Rows[i-1].Score {
				t.Errorf("row %d scores above row %d", i+1, i)
			}
		}
		outs = append(outs, res)
	}
	for i := range outs[0].Rows {
		a, b := outs[0].Rows[i], outs[1].Rows[i]
		if a.Score != b.Score || a.SD != b.SD || a.Command != b.Command {
			t.Errorf("rank %d: --parallel 1 gives %v±%v (%s), 2 gives %v±%v (%s)", i+1, a.Score, a.SD, a.Command, b.Score, b.SD, b.Command)
		}
	}

	// Replaying the best configuration with train gives its figures.
	best := outs[1].Rows[0]
	shown := mustRun(t, dir, "runs", "show", strconv.FormatInt(best.Run, 10), "--command")
	args := strings.Fields(strings.TrimSpace(shown.stdout))
	if args[0] != "transfer" || args[1] != "train" {
		t.Fatalf("replay command %q", shown.stdout)
	}
	r := mustRun(t, dir, append(args[1:], "--format", "json", "-q")...)
	var tr trainResult
	if err := json.Unmarshal([]byte(r.stdout), &tr); err != nil {
		t.Fatal(err)
	}
	if tr.CV == nil || tr.CV.MeanValAccuracy != best.Score || tr.CV.SDValAccuracy != best.SD {
		t.Errorf("replay: %+v, sweep said %v ± %v", tr.CV, best.Score, best.SD)
	}

	// Every configuration and the replay are recorded.
	r = mustRun(t, dir, "runs", "list", "--format", "json")
	var runs []runView
	if err := json.Unmarshal([]byte(r.stdout), &runs); err != nil {
		t.Fatal(err)
	}
	// Two sweeps of 4 configurations, then the replay.
	if len(runs) != 9 || runs[0].Kind != "train" || runs[1].Kind != "sweep" {
		t.Errorf("%d runs recorded, newest %+v; want 8 sweep configurations and a train", len(runs), runs[0])
	}
	r = mustRun(t, dir, "runs", "list", "--sweep", strconv.FormatInt(outs[1].Sweep, 10), "--format", "json")
	runs = nil
	json.Unmarshal([]byte(r.stdout), &runs)
	if len(runs) != 4 {
		t.Errorf("sweep %d has %d runs, want 4", outs[1].Sweep, len(runs))
	}
	r = mustRun(t, dir, "runs", "compare", strconv.FormatInt(runs[0].ID, 10), strconv.FormatInt(runs[3].ID, 10), "--plot", "compare.png")
	if !strings.Contains(r.stdout, "* option lr") && !strings.Contains(r.stdout, "* option l2") {
		t.Errorf("compare marks no differing option:\n%s", r.stdout)
	}
	if st, err := os.Stat(filepath.Join(dir, "compare.png")); err != nil || st.Size() < 1000 {
		t.Errorf("compare plot: %v", err)
	}

	// -o retrains the best on all images and records where it came from.
	mustRun(t, dir, append(common, "-o", "best.json", "--plot", "sweep.png", "--csv", "sweep.csv")...)
	m, err := head.Load(filepath.Join(dir, "best.json"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Origin == nil || m.Origin.Sweep == 0 || m.Origin.Protocol != "cv=3" || len(m.TrainingImages) != 24 {
		t.Errorf("head's origin %+v, %d training images", m.Origin, len(m.TrainingImages))
	}
	csv, err := os.ReadFile(filepath.Join(dir, "sweep.csv"))
	if err != nil || strings.Count(string(csv), "\n") != 5 || !strings.HasPrefix(string(csv), "rank,lr,l2,accuracy,sd,seconds,run") {
		t.Errorf("sweep.csv:\n%s %v", csv, err)
	}
	if st, err := os.Stat(filepath.Join(dir, "sweep.png")); err != nil || st.Size() < 1000 {
		t.Errorf("sweep plot: %v", err)
	}

	// rm removes what it names, and says when an ID is not a run.
	mustRun(t, dir, "runs", "rm", strconv.FormatInt(runs[0].ID, 10))
	if r := transfer(t, dir, nil, "runs", "show", strconv.FormatInt(runs[0].ID, 10)); r.code != exitBadInput || !strings.Contains(r.stderr, "no such run") {
		t.Errorf("show of a removed run: exit %d\n%s", r.code, r.stderr)
	}
	// A repeated ID is one run: "rm 3 4 3" removed both and then said one
	// ID was not a recorded run.
	a, b := strconv.FormatInt(runs[1].ID, 10), strconv.FormatInt(runs[2].ID, 10)
	if r := transfer(t, dir, nil, "runs", "rm", a, b, a); r.code != 0 || !strings.Contains(r.stderr, "removed 2 of 2 runs") {
		t.Errorf("rm %s %s %s: exit %d\n%s", a, b, a, r.code, r.stderr)
	}
}

// TestLinearProbe: --solver lbfgs with --standardize and --l2 auto trains,
// reports its choice, saves a head that eval, predict and export use as
// any other; eval on the training images warns that they were trained on.
func TestLinearProbe(t *testing.T) {
	dir := experimentDir(t)
	r := mustRun(t, dir, "train", "--model", "model.onnx", "--data", "images", "--solver", "lbfgs", "--standardize", "--l2", "auto", "--val-split", "0.25", "-o", "probe.json")
	if !strings.Contains(r.stderr, "chose --l2") || !strings.Contains(r.stdout, "L-BFGS:") || !strings.Contains(r.stderr, "training on 18 images, validating on 6") {
		t.Errorf("train --solver lbfgs --l2 auto:\nstdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	}
	m, err := head.Load(filepath.Join(dir, "probe.json"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Options.Solver != head.SolverLBFGS || !m.Options.Standardize || !(m.Options.L2 >= 1e-6 && m.Options.L2 <= 1e2) {
		t.Errorf("head options %+v", m.Options)
	}
	r = mustRun(t, dir, "eval", "--model", "model.onnx", "--head", "probe.json", "--data", "images")
	if !strings.Contains(r.stderr, "18 of these 24 images are images the head trained on") {
		t.Errorf("eval on the training images:\n%s", r.stderr)
	}
	mustRun(t, dir, "export", "--model", "model.onnx", "--head", "probe.json", "-o", "probe.onnx")

	for _, bad := range [][]string{
		{"--l2", "auto"},    // no validation
		{"--tol", "1e-3"},   // not lbfgs
		{"--solver", "sgd"}, // unknown
		{"--solver", "lbfgs", "--early-stopping", "3", "--val-split", "0.2"},
	} {
		r := transfer(t, dir, nil, append([]string{"train", "--model", "model.onnx", "--data", "images"}, bad...)...)
		if r.code != exitBadInput {
			t.Errorf("train %v: exit %d, want %d\n%s", bad, r.code, exitBadInput, r.stderr)
		}
	}
}

// TestDuplicatesStayTogether: a copied image is named, and the copy never
// validates a head that trained on its original.
func TestDuplicatesStayTogether(t *testing.T) {
	dir := experimentDir(t)
	src := filepath.Join(dir, "images", "circles")
	ents, _ := os.ReadDir(src)
	b, err := os.ReadFile(filepath.Join(src, ents[0].Name()))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "zz-copy.jpg"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	r := mustRun(t, dir, "train", "--model", "model.onnx", "--data", "images", "--val-last", "1")
	if !strings.Contains(r.stderr, ents[0].Name()+" = zz-copy.jpg") || !strings.Contains(r.stderr, "zz-copy.jpg") || !strings.Contains(r.stderr, "moved to training") {
		t.Errorf("duplicates not reported:\n%s", r.stderr)
	}
}

// TestAugment: --augment embeds the copies once, under their own pixel
// specification, and a second run reads them from the cache; a bad name is
// refused.
func TestAugment(t *testing.T) {
	dir := experimentDir(t)
	args := []string{"train", "--model", "model.onnx", "--data", "images", "--cv", "3", "--augment", "hflip,crop10", "--format", "json"}
	r := mustRun(t, dir, args...)
	if strings.Count(r.stderr, "24 embedded, 0 from cache") != 2 || !strings.Contains(r.stderr, "augmented copies (crop10)") {
		t.Errorf("first run:\n%s", r.stderr)
	}
	var first trainResult
	json.Unmarshal([]byte(r.stdout), &first)
	r = mustRun(t, dir, args...)
	if strings.Count(r.stderr, "0 embedded, 24 from cache") != 3 {
		t.Errorf("second run:\n%s", r.stderr)
	}
	var second trainResult
	json.Unmarshal([]byte(r.stdout), &second)
	if first.CV == nil || second.CV == nil || first.CV.MeanValAccuracy != second.CV.MeanValAccuracy || first.CV.Folds[0].TrainRows != 16 {
		t.Errorf("runs differ or folds grew: %+v / %+v", first.CV, second.CV)
	}
	if r := transfer(t, dir, nil, "train", "--model", "model.onnx", "--data", "images", "--augment", "rotate"); r.code != exitBadInput || !strings.Contains(r.stderr, "hflip or crop10") {
		t.Errorf("--augment rotate: exit %d\n%s", r.code, r.stderr)
	}
}

// TestSweepInterrupted: Ctrl-C keeps the configurations that finished,
// recorded, and prints their table. The ten epoch counts of one rate train
// together (one run per fold), so the first rate's ten finish at once and
// the second's are interrupted.
func TestSweepInterrupted(t *testing.T) {
	dir := experimentDir(t)
	cmd := command(t, dir, nil, "sweep", "--model", "model.onnx", "--data", "images", "--cv", "2", "--parallel", "1", "--lr", "0.001,0.002",
		"--epochs", "30000,30001,30002,30003,30004,30005,30006,30007,30008,30009")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var runs []runView
		r := transfer(t, dir, nil, "runs", "list", "--format", "json")
		json.Unmarshal([]byte(r.stdout), &runs)
		if len(runs) >= 2 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("no configuration finished in 2 minutes\n%s", stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	cmd.Process.Signal(os.Interrupt)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitInterrupted {
		t.Fatalf("exit %v, want %d\n%s", err, exitInterrupted, stderr.String())
	}
	rows := strings.Count(stdout.String(), " 3000")
	if !strings.Contains(stdout.String(), "ranked by validation accuracy") || rows == 0 || !strings.Contains(stderr.String(), "10 of 20 configurations finished (recorded") {
		t.Errorf("after Ctrl-C:\nstdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	}
}

// TestSweepBackbones: --model takes a list; each backbone's embeddings are
// extracted once, and the table compares them as one more parameter.
func TestSweepBackbones(t *testing.T) {
	dir := experimentDir(t)
	if err := mobilenet.New(mobilenet.Small(mobilenet.Torch, 2)).WriteFile(filepath.Join(dir, "torch.onnx")); err != nil {
		t.Fatal(err)
	}
	r := mustRun(t, dir, "sweep", "--model", "model.onnx,torch.onnx", "--data", "images", "--cv", "3", "--lr", "0.001,0.01", "--format", "json")
	if !strings.Contains(r.stderr, "0 embedded, 24 from cache") || !strings.Contains(r.stderr, "24 embedded, 0 from cache") {
		t.Errorf("extraction:\n%s", r.stderr)
	}
	var res sweepResult
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatal(err)
	}
	models := map[string]int{}
	for _, row := range res.Rows {
		models[filepath.Base(row.Model)]++
	}
	if len(res.Rows) != 4 || models["model.onnx"] != 2 || models["torch.onnx"] != 2 {
		t.Errorf("rows by model %v", models)
	}
	r = mustRun(t, dir, "sweep", "--model", "model.onnx,torch.onnx", "--data", "images", "--cv", "3", "--lr", "0.001,0.01")
	if !strings.Contains(r.stdout, "model") || !strings.Contains(r.stdout, "torch.onnx") || strings.Contains(r.stderr, "24 embedded") {
		t.Errorf("second sweep:\nstdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	}
}

// TestFormatCSVRule holds the README's rule: csv from the commands whose
// result is one table (parsed here by encoding/csv, a header row first),
// refused by name by the others.
func TestFormatCSVRule(t *testing.T) {
	dir := experimentDir(t)
	mustRun(t, dir, "train", "--model", "model.onnx", "--data", "images", "--epochs", "2", "-o", "h.json", "-q")
	for args, header := range map[string]string{
		"runs list":                        "id,created,kind,sweep,model,protocol,result,options",
		"doctor":                           "status,check,detail,fix,blocks",
		"eval --head h.json --data images": "",
	} {
		r := transfer(t, dir, nil, append(strings.Fields(args), "--format", "csv")...)
		rows, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
		if r.code != 0 || err != nil || len(rows) < 2 || (header != "" && strings.Join(rows[0], ",") != header) {
			t.Errorf("%s --format csv: exit %d, %v\n%s%s", args, r.code, err, r.stdout, r.stderr)
		}
	}
	for _, args := range []string{"runs show 1", "runs compare 1 1", "tutorial"} {
		r := transfer(t, dir, nil, append(strings.Fields(args), "--format", "csv")...)
		if r.code != exitBadInput || !strings.Contains(r.stderr, `--format "csv"`) {
			t.Errorf("%s --format csv: exit %d\n%s", args, r.code, r.stderr)
		}
	}
}

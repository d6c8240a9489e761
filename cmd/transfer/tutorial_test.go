//go:build cgo

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/transfer-go/transfer/cmd/transfer/internal/tutorial"
	"github.com/transfer-go/transfer/head"
	"github.com/transfer-go/transfer/internal/fixture/ortest"
)

// TestTutorialOnSharedCats runs the tutorial on the real photos and model,
// as the README's first command does. Its claims hold on average over seeds:
// a head fits all 40 images better than it predicts held-out ones.
func TestTutorialOnSharedCats(t *testing.T) {
	ortest.Require(t)
	shared := ortest.SharedDir(t)
	dir := t.TempDir()
	cats, model := filepath.Join(shared, "data", "cats"), filepath.Join(shared, "models", "mobilenetv2-keras-nsfwjs.onnx")
	seeds := []string{"1", "2", "3", "4", "5"}
	var fullTrain, splitVal float64
	notOverfit := 0
	for i, seed := range seeds {
		args := []string{"tutorial", "--model", model, "--data", cats, "--label-regex", "^(f|m)", "--classes", "f=female,m=male", "--seed", seed, "--json", "-q"}
		if i == 0 {
			args = append(args, "--report", "report")
		}
		r := mustRun(t, dir, args...)
		var res tutorial.Result
		if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
			t.Fatalf("seed %s: %v\n%s", seed, err, r.stdout)
		}
		if res.Images != 40 || len(res.Full.Predictions) != 40 || len(res.Full.History.Epochs) != 20 ||
			res.Split.TrainImages != 30 || res.Split.ValImages != 10 || len(res.CV.Folds) != 5 || strings.Join(res.Classes, ",") != "female,male" {
			t.Fatalf("seed %s: structure %+v", seed, res)
		}
		if !strings.Contains(res.Sanity.Skipped, "5 classes, not ImageNet's 1000") {
			t.Errorf("sanity step: %+v", res.Sanity)
		}
		want := "0 embedded, 40 from cache, 0 failed"
		if i == 0 {
			want = "40 embedded, 0 from cache, 0 failed"
		}
		if res.Summary != want {
			t.Errorf("seed %s: extraction %q, want %q", seed, res.Summary, want)
		}
		// Images come in file-name order, so the split's last five of
		// each class are the tutorial's f16-f20 and m16-m20.
		for k, p := range res.Full.Predictions {
			want := fmt.Sprintf("%c%02d.jpg", "fm"[k/20], k%20+1)
			if filepath.Base(p.Path) != want || p.Truth != k/20 {
				t.Fatalf("prediction %d is for %s (class %d), want %s", k, p.Path, p.Truth, want)
			}
		}
		fullTrain += res.Full.TrainAccuracy / float64(len(seeds))
		splitVal += res.Split.ValAccuracy / float64(len(seeds))
		if res.Split.Verdict.Diagnosis != head.Overfitting {
			notOverfit++
			t.Logf("seed %s: step 3 verdict: %s", seed, res.Split.Verdict.Message)
			if seed == "1" {
				t.Errorf("the tutorial's own run (seed 1) is not called overfitting: %s", res.Split.Verdict.Message)
			}
		}
	}
	// The tutorial's lesson: its split overfits, and the verdict says so
	// wherever the 10 validation images can show it (not on every seed:
	// 90% against 80% is within their noise).
	if notOverfit > 2 {
		t.Errorf("%d of %d seeds did not call the tutorial's split overfitting", notOverfit, len(seeds))
	}
	t.Logf("mean over %d seeds: step 2 training accuracy %.3f, step 3 validation accuracy %.3f", len(seeds), fullTrain, splitVal)
	if !(fullTrain > splitVal) {
		t.Errorf("step 2 training accuracy %.3f does not exceed step 3 validation accuracy %.3f on average", fullTrain, splitVal)
	}
	for _, f := range []string{"report.md", "step2-learning-curves.png", "step3-learning-curves.png", "step3-confusion.png", "step4-cv-confusion.png"} {
		if st, err := os.Stat(filepath.Join(dir, "report", f)); err != nil || st.Size() == 0 {
			t.Errorf("report file %s: %v", f, err)
		}
	}
}

// TestTutorialDefaultsWithoutShared runs the tutorial with no flags in a
// folder with nothing beside it: it must generate its images and a
// random-weight model, say so, and still run every step.
func TestTutorialDefaultsWithoutShared(t *testing.T) {
	ortest.Require(t)
	if testing.Short() {
		t.Skip("runs a full-size model")
	}
	dir := t.TempDir()
	r := transfer(t, dir, []string{"TRANSFER_OFFLINE=1"}, "tutorial", "--epochs", "5", "--models-dir", filepath.Join(dir, "no-models"))
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"40 generated images", "--offline: no download tried", "RANDOM weights", "== Step 1", "of 40 images are recognised as cats", "== Step 4", "mean ± sd"} {
		if !strings.Contains(r.stdout+r.stderr, want) {
			t.Errorf("output lacks %q:\n%s\n%s", want, r.stdout, r.stderr)
		}
	}
}

package tutorial

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/transfer-go/transfer/cmd/transfer/internal/report"
)

// writeReport writes report.md and its plots into dir and returns the
// report's path.
func writeReport(dir string, res *Result, cfg Config) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	plots := []struct {
		file string
		draw func(string) error
	}{
		{"step2-learning-curves.png", func(p string) error { return report.LearningCurves(p, "all images", res.Full.History) }},
		{"step3-learning-curves.png", func(p string) error { return report.LearningCurves(p, "split", res.Split.History) }},
		{"step3-confusion.png", func(p string) error {
			return report.ConfusionMatrix(p, "validation images", res.Split.Confusion, res.Classes)
		}},
		{"step4-cv-confusion.png", func(p string) error {
			return report.ConfusionMatrix(p, "held-out folds", res.CV.Confusion, res.Classes)
		}},
	}
	for _, p := range plots {
		if err := p.draw(filepath.Join(dir, p.file)); err != nil {
			return "", fmt.Errorf("report: %s: %w", p.file, err)
		}
	}
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	info := cfg.Backbone.Info()
	w("# Transfer-learning tutorial\n\n")
	w("- images: %d, classes: %s\n", res.Images, strings.Join(res.Classes, ", "))
	w("- backbone: `%s`, embedding `%s` (%d values), %s preprocessing, resize %s\n",
		filepath.Base(info.Path), info.Features.Tensor, info.Dim, info.Preprocess.Name, cfg.Extract.Resizer.Spec())
	for _, src := range cfg.Sources {
		w("- %s: `%s` (%s", src.What, src.Path, src.Origin)
		if src.SHA256 != "" {
			w(", sha256 `%s`", src.SHA256)
		}
		w(")\n")
	}
	w("- embeddings: %s\n", res.Summary)
	w("- head: Dense(%d, softmax), Adam(lr=%g), sparse categorical cross-entropy, batch %d, %d epochs, seed %d\n\n",
		len(res.Classes), cfg.Options.LearningRate, cfg.Options.BatchSize, cfg.Options.Epochs, cfg.Options.Seed)

	w("## Step 1: ImageNet sanity check\n\n")
	if res.Sanity.Skipped != "" {
		w("Skipped: %s.\n\n", res.Sanity.Skipped)
	} else {
		w("%d of %d images are recognised as cats (ImageNet classes 281–285).\n\n| image | top-1 class | score |\n|---|---|---|\n", res.Sanity.Cats, len(res.Sanity.Images))
		for _, t := range res.Sanity.Images {
			w("| %s | %s (%d) | %.2f%% |\n", filepath.Base(t.Path), t.Name, t.Class, 100*t.Score)
		}
		w("\n")
	}

	w("## Step 2: training on all images\n\nTraining accuracy after %d epochs: **%.4f**.\n\n![learning curves](step2-learning-curves.png)\n\n", len(res.Full.History.Epochs), res.Full.TrainAccuracy)
	w("| image | predicted | should be | probability |\n|---|---|---|---|\n")
	for _, p := range res.Full.Predictions {
		mark := ""
		if p.Predicted != p.Truth {
			mark = " ✗"
		}
		w("| %s | %s (%d)%s | %s (%d) | %.2f |\n", filepath.Base(p.Path), res.Classes[p.Predicted], p.Predicted, mark, res.Classes[p.Truth], p.Truth, p.Probability)
	}
	w("\n")
	if n, err := writeErrors(filepath.Join(dir, "errors.csv"), res); err != nil {
		return "", err
	} else if n > 0 {
		w("The %d misclassified images, the most confident mistakes first: [errors.csv](errors.csv).\n\n", n)
	}

	s := res.Split
	w("## Step 3: training on a split\n\n| | images | accuracy |\n|---|---|---|\n| training | %d | %.4f |\n| validation | %d | %.4f |\n\n", s.TrainImages, s.TrainAccuracy, s.ValImages, s.ValAccuracy)
	if s.Overfitting {
		w("**Overfitting**, the tutorial's lesson: %s\n\n", strings.TrimPrefix(s.Verdict.Message, "overfitting: "))
	} else {
		w("%s\n\n", upperFirst(s.Verdict.Message))
	}
	w("![learning curves](step3-learning-curves.png)\n\n![confusion matrix of the validation images](step3-confusion.png)\n\n")

	w("## Step 4: %d-fold stratified cross-validation\n\n| fold | training accuracy | validation accuracy | validation images |\n|---|---|---|---|\n", len(res.CV.Folds))
	for i, f := range res.CV.Folds {
		w("| %d | %.4f | %.4f | %d |\n", i+1, f.TrainAccuracy, f.ValAccuracy, f.ValRows)
	}
	w("\nValidation accuracy **%.4f ± %.4f** (mean ± sd over folds), training accuracy %.4f.\n\n", res.CV.MeanValAccuracy, res.CV.SDValAccuracy, res.CV.MeanTrainAccuracy)
	w("![confusion matrix of the held-out folds](step4-cv-confusion.png)\n")

	path := filepath.Join(dir, "report.md")
	return path, os.WriteFile(path, []byte(b.String()), 0o644)
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// writeErrors writes step 2's misclassified images as eval --errors does.
func writeErrors(path string, res *Result) (int, error) {
	var wrong []report.Mistake
	for _, p := range res.Full.Predictions {
		if p.Predicted != p.Truth {
			wrong = append(wrong, report.Mistake{Path: p.Path, Truth: res.Classes[p.Truth], Predicted: res.Classes[p.Predicted], Probability: p.Probability})
		}
	}
	return len(wrong), report.Errors(path, wrong)
}

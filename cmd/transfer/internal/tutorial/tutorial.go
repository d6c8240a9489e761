// Package tutorial runs the classic Keras transfer-learning tutorial on any
// backbone and labelled image set, from one embedding cache:
//
//  1. the sanity check: the backbone's own ImageNet top-1 class per image,
//     and how many images it sees as cats;
//  2. a fresh head trained on every image for 20 epochs with Keras'
//     defaults, and its predictions against the truth;
//  3. a fresh head trained on the tutorial's split (the last images of each
//     class validate), showing the gap between training and validation;
//  4. stratified k-fold cross-validation, the honest estimate;
//  5. optionally a Markdown report with plots.
package tutorial

import (
	"context"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"time"

	"github.com/transfer-go/transfer/backbone"
	"github.com/transfer-go/transfer/dataset"
	"github.com/transfer-go/transfer/experiment"
	"github.com/transfer-go/transfer/head"
	"github.com/transfer-go/transfer/internal/download"
	"github.com/transfer-go/transfer/internal/imagenet"
)

// Config is one tutorial run.
type Config struct {
	Set      *dataset.Set
	Backbone dataset.Embedder
	Cache    *dataset.Cache
	// Extract holds the extraction settings (resizer, batch, workers,
	// progress); Tutorial sets Collect and KeepLogits itself.
	Extract dataset.ExtractOptions
	// Options are the head's training options (Keras defaults, 20 epochs).
	Options head.Options
	// ValLast is the number of images per class that validate in step 3
	// (5 for the tutorial's 30/10 split of 40 cats).
	ValLast int
	// Folds is k of step 4's cross-validation.
	Folds int
	// ReportDir, if set, receives report.md and its PNG plots.
	ReportDir string
	// Out receives the human-readable account as the steps run.
	Out io.Writer
	// Sources say where the model and the photos came from, for the
	// report.
	Sources []Source
}

// Source is one input of the run and its provenance.
type Source struct {
	What   string `json:"what"` // "model", "data"
	Path   string `json:"path"`
	Origin string `json:"origin"` // how it was found or fetched
	SHA256 string `json:"sha256,omitempty"`
}

// Photos is the tutorial's archive of its 40 cat photos (cats/f01.jpg …
// cats/m20.jpg), as the tutorial's repository serves it.
var Photos = download.File{
	Name:   "cats.zip",
	URL:    "https://raw.githubusercontent.com/smathot/pythontutorials/16dfe950fa74864acf50a8883a99a1e0d98eba4b/data/cats.zip",
	SHA256: "244376af547a6f36c6f6c253a808b65a153b096136be11a04f30212dbc46323c",
	Size:   2660852,
}

// Top1 is the backbone's own prediction for one image.
type Top1 struct {
	Path  string  `json:"path"`
	Class int     `json:"class"`
	Name  string  `json:"name"`
	Score float64 `json:"score"`
}

// Sanity is step 1.
type Sanity struct {
	// Skipped says why the step did not run, or is empty.
	Skipped string `json:"skipped,omitempty"`
	Images  []Top1 `json:"images,omitempty"`
	// Cats counts images whose top-1 class is a domestic cat.
	Cats int `json:"cats"`
}

// ImagePrediction is a head's verdict on one image.
type ImagePrediction struct {
	Path        string  `json:"path"`
	Truth       int     `json:"truth"`
	Predicted   int     `json:"predicted"`
	Probability float64 `json:"probability"`
}

// Full is step 2.
type Full struct {
	History       head.History      `json:"history"`
	TrainAccuracy float64           `json:"train_accuracy"`
	Predictions   []ImagePrediction `json:"predictions"`
}

// Split is step 3.
type Split struct {
	History       head.History `json:"history"`
	TrainImages   int          `json:"train_images"`
	ValImages     int          `json:"val_images"`
	TrainAccuracy float64      `json:"train_accuracy"`
	ValAccuracy   float64      `json:"val_accuracy"`
	Overfitting   bool         `json:"overfitting"`
	Verdict       head.Verdict `json:"verdict"`
	// Confusion is the validation images' confusion matrix.
	Confusion [][]int `json:"confusion"`
}

// Result is the whole run.
type Result struct {
	Classes []string      `json:"classes"`
	Images  int           `json:"images"`
	Summary string        `json:"extraction"`
	Sanity  Sanity        `json:"sanity"`
	Full    Full          `json:"full"`
	Split   Split         `json:"split"`
	CV      head.CVResult `json:"cross_validation"`
	Report  string        `json:"report,omitempty"`
	Sources []Source      `json:"sources,omitempty"`
	Elapsed time.Duration `json:"elapsed_ns"`
}

// Run performs the tutorial's steps and prints each as it finishes.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	start := time.Now()
	out := cfg.Out
	if out == nil {
		out = io.Discard
	}
	set := cfg.Set
	res := &Result{Classes: set.Classes, Images: len(set.Items), Sources: cfg.Sources}
	fmt.Fprintf(out, "Data: %s\n", set.Summary())

	xo := cfg.Extract
	xo.Collect, xo.KeepLogits = true, true
	x, err := dataset.Extract(ctx, set, cfg.Backbone, cfg.Cache, xo)
	if err != nil {
		return nil, err
	}
	res.Summary = x.Summary()
	fmt.Fprintf(out, "Embeddings: %s (%s)\n", x.Summary(), x.Elapsed.Round(time.Millisecond))
	for _, f := range x.Failures {
		fmt.Fprintf(out, "  skipped %v\n", f.Err)
	}

	fmt.Fprintf(out, "\n== Step 1: does the backbone see cats? (ImageNet top-1, as Keras decode_predictions(top=1))\n")
	res.Sanity = sanity(set, x, cfg.Backbone.Info())
	if res.Sanity.Skipped != "" {
		fmt.Fprintf(out, "skipped: %s\n", res.Sanity.Skipped)
	} else {
		for _, t := range res.Sanity.Images {
			fmt.Fprintf(out, "%s - %s (%.2f%%)\n", filepath.Base(t.Path), t.Name, 100*t.Score)
		}
		fmt.Fprintf(out, "%d of %d images are recognised as cats (ImageNet classes 281-285: tabby, tiger cat, Persian, Siamese, Egyptian cat)\n", res.Sanity.Cats, len(res.Sanity.Images))
	}

	emb, y, items := x.Rows(set)
	data, err := head.NewData(emb, y, len(set.Classes))
	if err != nil {
		return nil, err
	}
	for _, i := range items {
		data.Keys = append(data.Keys, x.SHA256[i])
	}
	opts := cfg.Options
	epochs := func(o head.Options) head.Options {
		o.OnEpoch = func(e head.Epoch) { fmt.Fprintf(out, "Epoch %d/%d - %s\n", e.Epoch, o.Epochs, e) }
		return o
	}

	fmt.Fprintf(out, "\n== Step 2: a Dense(%d, softmax) head on all %d images, %d epochs, Adam, sparse categorical cross-entropy\n", len(set.Classes), data.Len(), opts.Epochs)
	full, err := experiment.Run(ctx, data, experiment.Config{Protocol: experiment.Protocol{Kind: experiment.Fit}, Options: epochs(opts)})
	if err != nil {
		return nil, err
	}
	res.Full.History = full.History
	m := head.Evaluate(full.Head, data)
	res.Full.TrainAccuracy = m.Accuracy
	probs := full.Head.PredictRows(nil, data.X)
	for r, i := range items {
		p := ImagePrediction{Path: set.Items[i].Path, Truth: data.Y[r], Predicted: m.Predicted[r], Probability: probs.At(r, m.Predicted[r])}
		res.Full.Predictions = append(res.Full.Predictions, p)
		mark := "right"
		if p.Predicted != p.Truth {
			mark = "WRONG"
		}
		fmt.Fprintf(out, "%s: predicted %s (%d) %.0f%% - should be %s (%d) - %s\n", filepath.Base(p.Path),
			set.Classes[p.Predicted], p.Predicted, 100*p.Probability, set.Classes[p.Truth], p.Truth, mark)
	}
	fmt.Fprintf(out, "training accuracy: %.4f\n", m.Accuracy)

	fmt.Fprintf(out, "\n== Step 3: a fresh head on a split: the last %d images of each class validate\n", cfg.ValLast)
	split, err := experiment.Run(ctx, data, experiment.Config{Protocol: experiment.Protocol{Kind: experiment.LastPerClass, Last: cfg.ValLast}, Options: epochs(opts)})
	if err != nil {
		return nil, err
	}
	res.Split = Split{History: split.History, TrainImages: split.TrainRows, ValImages: split.ValRows, TrainAccuracy: split.TrainAccuracy,
		ValAccuracy: split.Val.Accuracy, Confusion: split.Val.Confusion, Verdict: *split.Verdict}
	res.Split.Overfitting = res.Split.Verdict.Diagnosis == head.Overfitting
	fmt.Fprintf(out, "training accuracy %.4f on %d images, validation accuracy %.4f on %d images\n", res.Split.TrainAccuracy, split.TrainRows, res.Split.ValAccuracy, split.ValRows)
	fmt.Fprintln(out, res.Split.Verdict.Message)

	fmt.Fprintf(out, "\n== Step 4: stratified %d-fold cross-validation, the honest estimate\n", cfg.Folds)
	cv, err := experiment.Run(ctx, data, experiment.Config{Protocol: experiment.Protocol{Kind: experiment.CrossValidation, Folds: cfg.Folds}, Options: opts})
	if err != nil {
		return nil, err
	}
	res.CV = *cv.CV
	for i, f := range res.CV.Folds {
		fmt.Fprintf(out, "fold %d: training accuracy %.4f, validation accuracy %.4f (%d images)\n", i+1, f.TrainAccuracy, f.ValAccuracy, f.ValRows)
	}
	fmt.Fprintf(out, "validation accuracy %.4f ± %.4f (mean ± sd over %d folds)\n", res.CV.MeanValAccuracy, res.CV.SDValAccuracy, cfg.Folds)

	if cfg.ReportDir != "" {
		p, err := writeReport(cfg.ReportDir, res, cfg)
		if err != nil {
			return nil, err
		}
		res.Report = p
		fmt.Fprintf(out, "\nreport: %s\n", p)
	}
	res.Elapsed = time.Since(start)
	return res, nil
}

// sanity reads the backbone's own output for every image. It needs a
// 1000-way ImageNet output; probabilities are used as they are, logits go
// through a softmax first.
func sanity(set *dataset.Set, x *dataset.Extraction, info backbone.Info) Sanity {
	if info.Logits == "" {
		return Sanity{Skipped: "the model has no classifier output"}
	}
	if info.Classes != len(imagenet.Classes) {
		return Sanity{Skipped: fmt.Sprintf("the model's output %q has %d classes, not ImageNet's 1000 (its classifier was trained for another task)", info.Logits, info.Classes)}
	}
	var s Sanity
	for i, l := range x.Logits {
		if l == nil {
			continue
		}
		p := probabilities(l)
		best := 0
		for j := range p {
			if p[j] > p[best] {
				best = j
			}
		}
		s.Images = append(s.Images, Top1{Path: set.Items[i].Path, Class: best, Name: imagenet.Name(best), Score: p[best]})
		if imagenet.IsCat(best) {
			s.Cats++
		}
	}
	return s
}

// probabilities returns v itself when it already is a distribution, else
// its softmax.
func probabilities(v []float32) []float64 {
	p := make([]float64, len(v))
	var sum float64
	isDist := true
	for i, x := range v {
		p[i] = float64(x)
		sum += p[i]
		if x < 0 || x > 1 {
			isDist = false
		}
	}
	if isDist && math.Abs(sum-1) < 1e-3 {
		return p
	}
	head.Softmax(p)
	return p
}

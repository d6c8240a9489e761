package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/transfer-go/transfer/cmd/transfer/internal/report"
	"github.com/transfer-go/transfer/dataset"
	"github.com/transfer-go/transfer/experiment"
	"github.com/transfer-go/transfer/head"
)

func trainingFlags() []cli.Flag {
	return []cli.Flag{solverFlag, epochsFlag, batchSizeFlag, lrFlag, l2Flag, classWeight, earlyStopFlag, seedFlag, tolFlag, maxIterFlag, standardize}
}

func trainCommand() *cli.Command {
	return &cli.Command{
		Name:  "train",
		Usage: "train a softmax head on the embeddings of labelled images",
		Description: "Embeddings come from the cache (missing ones are extracted first), so a second experiment on the same images runs no inference. " +
			"Training follows Keras: Dense(classes, softmax), Adam, sparse categorical cross-entropy, batches of 32, shuffled every epoch.",
		Flags: slices.Concat(backboneFlags(), dataFlags(), []cli.Flag{valSplitFlag, valDataFlag, valLastFlag, cvFlag, splitSeedFlag},
			trainingFlags(), []cli.Flag{augmentFlag, metricFlag}, embedFlags(), []cli.Flag{allowFailuresFlag, outputFlag, plotFlag}, formatFlags()),
		Action: train,
	}
}

func trainOptions(c *cli.Context) (head.Options, error) {
	o := head.DefaultOptions()
	o.Epochs, o.BatchSize, o.LearningRate = c.Int(epochsFlag.Name), c.Int(batchSizeFlag.Name), c.Float64(lrFlag.Name)
	o.Patience, o.Seed = c.Int(earlyStopFlag.Name), uint64(c.Int64(seedFlag.Name))
	o.Tol, o.MaxIter, o.Standardize = c.Float64(tolFlag.Name), c.Int(maxIterFlag.Name), c.Bool(standardize.Name)
	// One fit at a time takes every core; the weights do not depend on it.
	o.Threads = runtime.GOMAXPROCS(0)
	if cw := c.String(classWeight.Name); cw == "balanced" {
		o.Balanced = true
	}
	for _, name := range []string{solverFlag.Name, l2Flag.Name} {
		if v := c.String(name); !(name == l2Flag.Name && v == "auto") {
			if err := experiment.Set(&o, name, v); err != nil {
				return o, usageError{err}
			}
		}
	}
	if c.IsSet(tolFlag.Name) || c.IsSet(maxIterFlag.Name) {
		if o.Solver != head.SolverLBFGS {
			return o, usageError{errors.New("--tol and --max-iter are L-BFGS's: add --solver lbfgs")}
		}
		if err := experiment.Set(&o, tolFlag.Name, fmt.Sprint(o.Tol)); err != nil {
			return o, usageError{err}
		}
		if err := experiment.Set(&o, maxIterFlag.Name, fmt.Sprint(o.MaxIter)); err != nil {
			return o, usageError{err}
		}
	}
	if o.Patience < 0 {
		return o, usageError{fmt.Errorf("--early-stopping %d: the patience must not be negative (0 turns early stopping off)", o.Patience)}
	}
	if lr := o.LearningRate; !(lr > 0 && lr <= 1) {
		fmt.Fprintf(c.App.ErrWriter, "warning: --lr %g is outside (0, 1]; Adam's learning rates are usually 1e-4 to 1e-2\n", lr)
	}
	return o, nil
}

// classWeights reads --class-weight name=w,... for the set's classes;
// classes it does not name weigh 1.
func classWeights(spec string, classes []string) ([]float64, error) {
	if spec == "" || spec == "balanced" {
		return nil, nil
	}
	w := make([]float64, len(classes))
	for i := range w {
		w[i] = 1
	}
	for _, kv := range strings.Split(spec, ",") {
		name, val, ok := strings.Cut(strings.TrimSpace(kv), "=")
		x, err := strconv.ParseFloat(val, 64)
		if !ok || err != nil || !(x > 0) || math.IsInf(x, 0) {
			return nil, usageError{fmt.Errorf("--class-weight %q: want balanced, or class=weight pairs with positive weights, e.g. cat=1,dog=2.5", spec)}
		}
		i := slices.Index(classes, name)
		if i < 0 {
			return nil, usageError{fmt.Errorf("--class-weight: there is no class %q (the classes are %s)", name, strings.Join(classes, ", "))}
		}
		w[i] = x
	}
	return w, nil
}

// toData turns a labelled set's usable embeddings into training data, each
// row keyed by its image's content hash.
func toData(set *dataset.Set, x *dataset.Extraction) (head.Data, error) {
	emb, y, items := x.Rows(set)
	d, err := head.NewData(emb, y, len(set.Classes))
	if err != nil || x.SHA256 == nil {
		return d, err
	}
	d.Keys = make([]string, len(items))
	for r, i := range items {
		d.Keys[r] = x.SHA256[i]
	}
	return d, nil
}

// trainResult is train --format json's answer (docs/formats.md,
// docs/schema/train-result.schema.json).
type trainResult struct {
	Format        string         `json:"format"`
	Version       int            `json:"version"`
	Classes       []string       `json:"classes"`
	TrainImages   int            `json:"train_images"`
	ValImages     int            `json:"val_images,omitempty"`
	History       head.History   `json:"history"`
	TrainAccuracy float64        `json:"train_accuracy"`
	ValAccuracy   *float64       `json:"val_accuracy,omitempty"`
	Overfitting   bool           `json:"overfitting"`
	Verdict       *head.Verdict  `json:"verdict,omitempty"`
	CV            *head.CVResult `json:"cross_validation,omitempty"`
	Head          string         `json:"head,omitempty"`
}

func newTrainResult(classes []string, r *experiment.Result) trainResult {
	res := trainResult{Format: "transfer-train-result", Version: 1, Classes: classes, TrainImages: r.TrainRows, ValImages: r.ValRows, History: r.History, TrainAccuracy: r.TrainAccuracy, Verdict: r.Verdict, CV: r.CV}
	if r.Val != nil {
		res.ValAccuracy = &r.Val.Accuracy
	}
	res.Overfitting = r.Verdict != nil && r.Verdict.Diagnosis == head.Overfitting
	return res
}

func train(c *cli.Context) error {
	format, err := outputFormat(c, formatText, formatJSON, formatCSV)
	if err != nil {
		return err
	}
	opts, err := trainOptions(c)
	if err != nil {
		return err
	}
	ex, err := prepareExperiment(c, opts, experiment.Protocol{Kind: experiment.Fit}, outputFlag.Name, plotFlag.Name)
	if err != nil {
		return err
	}
	defer ex.sess.close()
	text, stdout := format == formatText, c.App.Writer
	cfg := experiment.Config{Protocol: ex.protocol, Options: ex.opts, Final: c.String(outputFlag.Name) != "", SplitSeed: splitSeed(c)}
	if c.String(l2Flag.Name) == "auto" {
		if cfg.Options.L2, err = ex.autoL2(cfg, text); err != nil {
			return err
		}
	}
	if text && !c.Bool(quietFlag.Name) {
		ex.logTraining(&cfg)
	}
	r, err := ex.run(c, cfg)
	if err != nil {
		return err
	}
	res := newTrainResult(ex.set.Classes, r)
	if err := ex.plot(r); err != nil {
		return err
	}
	if r.Head != nil {
		if text {
			writeTrained(stdout, r, r.CV != nil)
		}
		if res.Head, err = ex.keep(r, text); err != nil {
			return err
		}
	}
	ex.recordExperiment("train", cfg, r, res.Head, 0, "")
	// The cross-validation's estimate is what the run is for: it comes
	// last, after the final head's epochs.
	if r.CV != nil && text {
		writeCV(stdout, *r.CV, *r.Verdict)
		if r.Head == nil {
			fmt.Fprintln(c.App.ErrWriter, "the cross-validated head was not saved: add -o head.json to train one on all the images and keep it")
		}
	}
	return writeTrainResult(c, format, res)
}

// logTraining prints the kept head's sizes before it trains, and each
// epoch (Adam) or iteration (L-BFGS) as Keras' fit(verbose=2) does.
func (ex *experimentSetup) logTraining(cfg *experiment.Config) {
	stderr, stdout := ex.c.App.ErrWriter, ex.c.App.Writer
	cfg.OnTrain = func(train, val int) {
		if ex.protocol.Kind == experiment.CrossValidation {
			fmt.Fprint(stderr, "the final head: ")
		}
		fmt.Fprintf(stderr, "training on %d images", train)
		if val > 0 {
			fmt.Fprintf(stderr, ", validating on %d", val)
		}
		fmt.Fprintln(stderr)
	}
	o := cfg.Options
	cfg.Options.OnEpoch = func(e head.Epoch) { fmt.Fprintf(stdout, "Epoch %d/%d - %s\n", e.Epoch, o.Epochs, e) }
	if o.Solver == head.SolverLBFGS {
		cfg.Options.OnEpoch = func(e head.Epoch) {
			if e.Epoch%10 == 0 || e.Epoch == 1 {
				fmt.Fprintf(stdout, "Iteration %d - %s\n", e.Epoch, e)
			}
		}
	}
}

// plot draws --plot: the folds' curves and confusion matrix after a
// cross-validation, else the kept head's learning curves.
func (ex *experimentSetup) plot(r *experiment.Result) error {
	p := ex.c.String(plotFlag.Name)
	switch {
	case p == "":
		return nil
	case r.CV != nil:
		return plotCV(ex.c, p, *r.CV, ex.set.Classes)
	}
	return report.LearningCurves(p, "training", r.History)
}

// keep saves the head to -o, or says how to keep it, and returns the path.
func (ex *experimentSetup) keep(r *experiment.Result, text bool) (string, error) {
	p := ex.c.String(outputFlag.Name)
	if p == "" {
		if text {
			fmt.Fprintln(ex.c.App.ErrWriter, "the head was not saved: add -o head.json to keep it")
		}
		return "", nil
	}
	if err := ex.save(p, r); err != nil {
		return "", err
	}
	if text {
		fmt.Fprintf(ex.c.App.Writer, "saved head to %s\n", p)
	}
	return p, nil
}

// writeTrained prints how the kept head's training ended.
func writeTrained(w io.Writer, r *experiment.Result, cv bool) {
	hist := r.History
	switch {
	case hist.StoppedEarly:
		fmt.Fprintf(w, "early stopping after epoch %d; restored the weights of epoch %d\n", len(hist.Epochs), hist.BestEpoch)
	case r.Options.Patience > 0 && hist.BestEpoch != len(hist.Epochs):
		fmt.Fprintf(w, "restored the weights of epoch %d, the lowest val_loss\n", hist.BestEpoch)
	}
	if hist.Iterations > 0 {
		conv := "converged"
		if !hist.Converged {
			conv = "stopped before the tolerance"
		}
		fmt.Fprintf(w, "L-BFGS: %d iterations, %s (largest gradient component %.2g)\n", hist.Iterations, conv, hist.GradNorm)
	}
	fmt.Fprintf(w, "trained in %s: training accuracy %.4f", r.Elapsed.Round(time.Millisecond), r.TrainAccuracy)
	if r.Val != nil {
		fmt.Fprintf(w, ", validation accuracy %.4f", r.Val.Accuracy)
	}
	fmt.Fprintln(w)
	if r.Verdict != nil && !cv {
		fmt.Fprintln(w, r.Verdict.Message)
	}
}

// writeTrainResult prints the result as JSON, or as CSV: the folds of a
// cross-validation, else the per-epoch history. Text was printed as it
// happened.
func writeTrainResult(c *cli.Context, format string, res trainResult) error {
	switch format {
	case formatJSON:
		return printJSONIf(c, res)
	case formatCSV:
		if res.CV != nil && len(res.History.Epochs) == 0 {
			rows := [][]string{{"fold", "train_images", "train_accuracy", "val_images", "val_accuracy", "val_loss"}}
			for i, f := range res.CV.Folds {
				rows = append(rows, []string{fmt.Sprint(i + 1), fmt.Sprint(f.TrainRows), fmt.Sprintf("%.6f", f.TrainAccuracy), fmt.Sprint(f.ValRows), fmt.Sprintf("%.6f", f.ValAccuracy), fmt.Sprintf("%.6f", f.ValLoss)})
			}
			return writeCSV(c, rows)
		}
		rows := [][]string{{"epoch", "loss", "accuracy", "val_loss", "val_accuracy"}}
		for _, e := range res.History.Epochs {
			row := []string{fmt.Sprint(e.Epoch), fmt.Sprintf("%.6f", e.Loss), fmt.Sprintf("%.6f", e.Accuracy), "", ""}
			if e.HasVal {
				row[3], row[4] = fmt.Sprintf("%.6f", e.ValLoss), fmt.Sprintf("%.6f", e.ValAccuracy)
			}
			rows = append(rows, row)
		}
		return writeCSV(c, rows)
	}
	return nil
}

// plotCV draws the folds' learning curves to path and the pooled confusion
// matrix of the held-out predictions beside it (path-confusion.png).
func plotCV(c *cli.Context, path string, cv head.CVResult, classes []string) error {
	if err := report.FoldCurves(path, fmt.Sprintf("%d-fold cross-validation", len(cv.Folds)), cv); err != nil {
		return err
	}
	cm := confusionPath(path)
	if err := report.ConfusionMatrix(cm, "held-out predictions of every fold", cv.Confusion, classes); err != nil {
		return err
	}
	fmt.Fprintf(c.App.ErrWriter, "plotted the folds' curves to %s and their pooled confusion matrix to %s\n", path, cm)
	return nil
}

// confusionPath names the confusion matrix's file beside a plot:
// curves.png → curves-confusion.png.
func confusionPath(p string) string {
	ext := filepath.Ext(p)
	return strings.TrimSuffix(p, ext) + "-confusion" + ext
}

func writeCV(w io.Writer, cv head.CVResult, v head.Verdict) {
	fmt.Fprintf(w, "%d-fold stratified cross-validation:\n", len(cv.Folds))
	for i, f := range cv.Folds {
		fmt.Fprintf(w, "  fold %d: train %d images, accuracy %.4f; validation %d images, accuracy %.4f\n", i+1, f.TrainRows, f.TrainAccuracy, f.ValRows, f.ValAccuracy)
	}
	fmt.Fprintf(w, "validation accuracy %.4f ± %.4f (mean ± sd over folds); training accuracy %.4f\n", cv.MeanValAccuracy, cv.SDValAccuracy, cv.MeanTrainAccuracy)
	fmt.Fprintln(w, v.Message)
}

func classCounts(y []int, classes int) []int {
	counts := make([]int, classes)
	for _, c := range y {
		counts[c]++
	}
	return counts
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/transfer-go/transfer/cmd/transfer/internal/report"
	"github.com/transfer-go/transfer/dataset"
	"github.com/transfer-go/transfer/head"
)

func trainingFlags() []cli.Flag {
	return []cli.Flag{epochsFlag, batchSizeFlag, lrFlag, l2Flag, classWeight, earlyStopFlag, seedFlag}
}

func trainCommand() *cli.Command {
	return &cli.Command{
		Name:  "train",
		Usage: "train a softmax head on the embeddings of labelled images",
		Description: "Embeddings come from the cache (missing ones are extracted first), so a second experiment on the same images runs no inference. " +
			"Training follows Keras: Dense(classes, softmax), Adam, sparse categorical cross-entropy, batches of 32, shuffled every epoch.",
		Flags: slices.Concat(backboneFlags(), dataFlags(), []cli.Flag{valSplitFlag, valDataFlag, valLastFlag, cvFlag},
			trainingFlags(), embedFlags(), []cli.Flag{allowFailuresFlag, outputFlag, plotFlag}, formatFlags()),
		Action: train,
	}
}

func trainOptions(c *cli.Context) (head.Options, error) {
	o := head.DefaultOptions()
	o.Epochs, o.BatchSize, o.LearningRate, o.L2 = c.Int(epochsFlag.Name), c.Int(batchSizeFlag.Name), c.Float64(lrFlag.Name), c.Float64(l2Flag.Name)
	o.Patience, o.Seed = c.Int(earlyStopFlag.Name), uint64(c.Int64(seedFlag.Name))
	if cw := c.String(classWeight.Name); cw == "balanced" {
		o.Balanced = true
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

// toData turns a labelled set's usable embeddings into training data.
func toData(set *dataset.Set, x *dataset.Extraction) (head.Data, error) {
	emb, y, _ := x.Rows(set)
	return head.NewData(emb, y, len(set.Classes))
}

type trainResult struct {
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

func train(c *cli.Context) error {
	format, err := outputFormat(c, formatText, formatJSON, formatCSV)
	if err != nil {
		return err
	}
	opts, err := trainOptions(c)
	if err != nil {
		return err
	}
	splits := 0
	for _, f := range []string{valSplitFlag.Name, valDataFlag.Name, valLastFlag.Name, cvFlag.Name} {
		if c.IsSet(f) {
			splits++
		}
	}
	if splits > 1 {
		return usageError{errors.New("choose one of --val-split, --val-data, --val-last and --cv")}
	}
	if opts.Patience > 0 && (splits == 0 || c.IsSet(cvFlag.Name)) {
		return usageError{errors.New("--early-stopping watches val_loss: add --val-split, --val-data or --val-last")}
	}
	set, sess, err := begin(c, loadSet, false, outputFlag.Name, plotFlag.Name)
	if err != nil {
		return err
	}
	defer sess.close()
	var valSet *dataset.Set
	if p := c.String(valDataFlag.Name); p != "" {
		if valSet, err = readSet(c, p, "", c.String(labelRegexFlag.Name), c.String(classesFlag.Name)); err != nil {
			return err
		}
		if err := valSet.AlignClasses(set.Classes); err != nil {
			return usageError{fmt.Errorf("--val-data: %w", err)}
		}
	}
	sess.needMost = true
	quiet, stderr, stdout := c.Bool(quietFlag.Name), c.App.ErrWriter, c.App.Writer
	if !quiet {
		fmt.Fprintln(stderr, set.Summary())
	}
	x, err := sess.embed(c.Context, set, true, false)
	if err != nil {
		return err
	}
	all, err := toData(set, x)
	if err != nil {
		return err
	}
	if err := checkClasses(c, stderr, set.Classes, classCounts(all.Y, len(set.Classes))); err != nil {
		return err
	}
	if opts.ClassWeights, err = classWeights(c.String(classWeight.Name), set.Classes); err != nil {
		return err
	}

	res := trainResult{Classes: set.Classes}
	var trainData head.Data
	var valData *head.Data
	switch {
	case c.IsSet(cvFlag.Name):
		k := c.Int(cvFlag.Name)
		cv, err := head.CrossValidate(c.Context, all, k, opts)
		if errors.Is(err, context.Canceled) {
			return reworded{"interrupted during cross-validation: nothing was saved (the embeddings are cached)", err}
		}
		if err != nil {
			return usageError{err}
		}
		res.CV = &cv
		v := cv.Judge(used(opts))
		res.Verdict, res.Overfitting = &v, v.Diagnosis == head.Overfitting
		if p := c.String(plotFlag.Name); p != "" {
			if err := plotCV(c, p, cv, set.Classes); err != nil {
				return err
			}
		}
		trainData = all
	case c.IsSet(valSplitFlag.Name), c.IsSet(valLastFlag.Name):
		var s head.Split
		if c.IsSet(valSplitFlag.Name) {
			s, err = head.StratifiedSplit(all.Y, all.Classes, c.Float64(valSplitFlag.Name), opts.Seed)
		} else {
			s, err = head.LastPerClass(all.Y, all.Classes, c.Int(valLastFlag.Name))
		}
		if err != nil {
			return usageError{err}
		}
		trainData = all.Subset(s.Train)
		v := all.Subset(s.Val)
		valData = &v
	case valSet != nil:
		vx, err := sess.embed(c.Context, valSet, true, false)
		if err != nil {
			return err
		}
		vl, err := toData(valSet, vx)
		if err != nil {
			return err
		}
		trainData, valData = all, &vl
	default:
		trainData = all
	}

	if c.IsSet(cvFlag.Name) && c.String(outputFlag.Name) == "" {
		if format == formatText {
			writeCV(stdout, *res.CV, *res.Verdict)
			fmt.Fprintln(stderr, "the cross-validated head was not saved: add -o head.json to train one on all the images and keep it")
		}
		return writeTrainResult(c, format, res)
	}
	res.TrainImages = trainData.Len()
	if valData != nil {
		res.ValImages = valData.Len()
	}
	if !quiet && format == formatText {
		if c.IsSet(cvFlag.Name) {
			fmt.Fprint(stderr, "the final head: ")
		}
		fmt.Fprintf(stderr, "training on %d images", res.TrainImages)
		if valData != nil {
			fmt.Fprintf(stderr, ", validating on %d", res.ValImages)
		}
		fmt.Fprintln(stderr)
		opts.OnEpoch = func(e head.Epoch) { fmt.Fprintf(stdout, "Epoch %d/%d - %s\n", e.Epoch, opts.Epochs, e) }
	}
	start := time.Now()
	layer, hist, err := head.Train(c.Context, trainData, valData, opts)
	if errors.Is(err, context.Canceled) {
		return reworded{fmt.Sprintf("interrupted after %d epochs: nothing was saved (the embeddings are cached)", len(hist.Epochs)), err}
	}
	if err != nil {
		return usageError{err}
	}
	res.History = hist
	res.TrainAccuracy = head.Evaluate(layer, trainData).Accuracy
	if valData != nil {
		va := head.Evaluate(layer, *valData).Accuracy
		res.ValAccuracy = &va
		v := head.Judge(head.Evidence{History: hist, TrainAccuracy: res.TrainAccuracy, ValAccuracy: va, ValImages: valData.Len(), Used: used(opts)})
		res.Verdict, res.Overfitting = &v, v.Diagnosis == head.Overfitting
	}
	if format == formatText {
		switch {
		case hist.StoppedEarly:
			fmt.Fprintf(stdout, "early stopping after epoch %d; restored the weights of epoch %d\n", len(hist.Epochs), hist.BestEpoch)
		case opts.Patience > 0 && hist.BestEpoch != len(hist.Epochs):
			fmt.Fprintf(stdout, "restored the weights of epoch %d, the lowest val_loss\n", hist.BestEpoch)
		}
		fmt.Fprintf(stdout, "trained in %s: training accuracy %.4f", time.Since(start).Round(time.Millisecond), res.TrainAccuracy)
		if res.ValAccuracy != nil {
			fmt.Fprintf(stdout, ", validation accuracy %.4f", *res.ValAccuracy)
		}
		fmt.Fprintln(stdout)
		if res.Verdict != nil && !c.IsSet(cvFlag.Name) {
			fmt.Fprintln(stdout, res.Verdict.Message)
		}
	}
	if p := c.String(plotFlag.Name); p != "" && !c.IsSet(cvFlag.Name) {
		if err := report.LearningCurves(p, "training", hist); err != nil {
			return err
		}
	}
	if p := c.String(outputFlag.Name); p != "" {
		m := &head.Model{Layer: layer, Classes: set.Classes, Source: sess.provenance(), Options: opts, History: hist, Created: time.Now()}
		m.Options.OnEpoch = nil
		if err := m.Save(p); err != nil {
			return err
		}
		res.Head = p
		if format == formatText {
			fmt.Fprintf(stdout, "saved head to %s\n", p)
		}
	} else if format == formatText {
		fmt.Fprintln(stderr, "the head was not saved: add -o head.json to keep it")
	}
	// The cross-validation's estimate is what the run is for: it comes
	// last, after the final head's epochs.
	if res.CV != nil && format == formatText {
		writeCV(stdout, *res.CV, *res.Verdict)
	}
	return writeTrainResult(c, format, res)
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

// used lists what a run already does against overfitting, for the
// verdict's advice.
func used(o head.Options) head.Used {
	return head.Used{L2: o.L2 > 0, EarlyStopping: o.Patience > 0, Epochs: o.Epochs, LearningRate: o.LearningRate}
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

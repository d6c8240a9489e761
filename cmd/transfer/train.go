package main

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/transfer-go/transfer/dataset"
	"github.com/transfer-go/transfer/head"
	"github.com/transfer-go/transfer/internal/report"
)

var (
	epochsFlag    = &cli.IntFlag{Name: "epochs", Category: catTraining, Value: defaults.Epochs, Usage: "passes over the training images"}
	batchSizeFlag = &cli.IntFlag{Name: "batch-size", Category: catTraining, Value: defaults.BatchSize, Usage: "mini-batch size (Keras' default 32)"}
	lrFlag        = &cli.Float64Flag{Name: "lr", Category: catTraining, Value: defaults.LR, Usage: "Adam learning rate (Keras' default 0.001)"}
	l2Flag        = &cli.Float64Flag{Name: "l2", Category: catTraining, Usage: "L2 penalty on the kernel: adds l2·ΣW² to the loss"}
	classWeight   = &cli.StringFlag{Name: "class-weight", Category: catTraining, Usage: "balanced: weigh each class's loss by n/(classes·n_class)"}
	earlyStopFlag = &cli.IntFlag{Name: "early-stopping", Category: catTraining, Usage: "stop after N epochs without a better val_loss and restore the best weights (needs validation)"}
	seedFlag      = &cli.Int64Flag{Name: "seed", Category: catTraining, Value: defaults.Seed, Usage: "seed of the initial weights, shuffles and splits: equal seeds give identical heads"}

	valSplitFlag = &cli.Float64Flag{Name: "val-split", Category: catData, Usage: "hold out this fraction of each class for validation (stratified, seeded)"}
	valDataFlag  = &cli.StringFlag{Name: "val-data", Category: catData, Usage: "validation images: a folder (read like --data, with the same --label-regex) or a CSV manifest"}
	valLastFlag  = &cli.IntFlag{Name: "val-last", Category: catData, Usage: "hold out the last K images of each class in file-name order (5 gives the tutorial's 30/10 split of the cats)"}
	cvFlag       = &cli.IntFlag{Name: "cv", Category: catData, Usage: "stratified K-fold cross-validation: the honest accuracy estimate for tiny data sets"}

	outputFlag = &cli.StringFlag{Name: "output", Aliases: []string{"o"}, Category: catOutput, Usage: "write the trained head to this file (JSON)"}
	plotFlag   = &cli.StringFlag{Name: "plot", Category: catOutput, Usage: "write a PNG plot to this file"}
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
		Flags: concat(backboneFlags(), dataFlags(), []cli.Flag{valSplitFlag, valDataFlag, valLastFlag, cvFlag},
			trainingFlags(), embedFlags(), []cli.Flag{allowFailuresFlag, outputFlag, plotFlag}, formatFlags()),
		Action: train,
	}
}

func trainOptions(c *cli.Context) (head.Options, error) {
	o := head.DefaultOptions()
	o.Epochs, o.BatchSize, o.LearningRate, o.L2 = c.Int(epochsFlag.Name), c.Int(batchSizeFlag.Name), c.Float64(lrFlag.Name), c.Float64(l2Flag.Name)
	o.Patience, o.Seed = c.Int(earlyStopFlag.Name), uint64(c.Int64(seedFlag.Name))
	switch cw := c.String(classWeight.Name); cw {
	case "":
	case "balanced":
		o.Balanced = true
	default:
		return o, usageError{fmt.Errorf("--class-weight %q: only balanced is supported", cw)}
	}
	return o, nil
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
	if err := checkModelFlags(c); err != nil {
		return err
	}
	if err := checkOutputs(c, outputFlag.Name, plotFlag.Name); err != nil {
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
	set, err := loadSet(c)
	if err != nil {
		return err
	}
	var valSet *dataset.Set
	if p := c.String(valDataFlag.Name); p != "" {
		if valSet, err = readSet(c, p, "", c.String(labelRegexFlag.Name), c.String(classesFlag.Name)); err != nil {
			return err
		}
		if err := alignClasses(valSet, set.Classes); err != nil {
			return usageError{fmt.Errorf("--val-data: %w", err)}
		}
	}
	sess, err := openSession(c)
	if err != nil {
		return err
	}
	defer sess.close()
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

	res := trainResult{Classes: set.Classes}
	var trainData head.Data
	var valData *head.Data
	switch {
	case c.IsSet(cvFlag.Name):
		k := c.Int(cvFlag.Name)
		cv, err := head.CrossValidate(c.Context, all, k, opts)
		if err != nil {
			return usageError{err}
		}
		res.CV = &cv
		v := cv.Judge(used(opts))
		res.Verdict, res.Overfitting = &v, v.Diagnosis == head.Overfitting
		if format == formatText {
			writeCV(stdout, cv, v)
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

	if c.IsSet(cvFlag.Name) && c.String(outputFlag.Name) == "" && c.String(plotFlag.Name) == "" {
		return writeTrainResult(c, format, res)
	}
	res.TrainImages = trainData.Len()
	if valData != nil {
		res.ValImages = valData.Len()
	}
	if !quiet && format == formatText {
		fmt.Fprintf(stderr, "training on %d images", res.TrainImages)
		if valData != nil {
			fmt.Fprintf(stderr, ", validating on %d", res.ValImages)
		}
		fmt.Fprintln(stderr)
		opts.OnEpoch = func(e head.Epoch) { fmt.Fprintf(stdout, "Epoch %d/%d - %s\n", e.Epoch, opts.Epochs, e) }
	}
	start := time.Now()
	layer, hist, err := head.Train(c.Context, trainData, valData, opts)
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
	}
	if p := c.String(plotFlag.Name); p != "" {
		if err := report.LearningCurves(p, "training", hist); err != nil {
			return err
		}
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

// alignClasses renumbers s's labels to the class order of want, failing on a
// class want lacks.
func alignClasses(s *dataset.Set, want []string) error {
	index := map[string]int{}
	for i, c := range want {
		index[c] = i
	}
	remap := make([]int, len(s.Classes))
	for i, c := range s.Classes {
		j, ok := index[c]
		if !ok {
			return fmt.Errorf("class %q is not among the training classes %v", c, want)
		}
		remap[i] = j
	}
	for i := range s.Items {
		if s.Items[i].Label >= 0 {
			s.Items[i].Label = remap[s.Items[i].Label]
		}
	}
	s.Classes = want
	return nil
}

func classCounts(y []int, classes int) []int {
	counts := make([]int, classes)
	for _, c := range y {
		counts[c]++
	}
	return counts
}

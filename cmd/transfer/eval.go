package main

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/transfer-go/transfer/dataset"

	"github.com/urfave/cli/v2"

	"github.com/transfer-go/transfer/cmd/transfer/internal/report"
	"github.com/transfer-go/transfer/experiment"
	"github.com/transfer-go/transfer/head"
)

func evalCommand() *cli.Command {
	return &cli.Command{
		Name:   "eval",
		Usage:  "measure a trained head on labelled images: loss, accuracy, confusion matrix, per-class precision/recall/F1",
		Flags:  slices.Concat(backboneFlags(), []cli.Flag{headFlag}, dataFlags(), embedFlags(), []cli.Flag{allowFailuresFlag, plotFlag, errorsFlag}, formatFlags()),
		Action: eval,
	}
}

// checkHead checks that the session's backbone produces the embeddings the
// head at path was trained on. A head whose JPEG pixels came from another
// decoder than the one the user chose with --decoder is accepted with a
// warning: the choice was explicit.
func checkHead(c *cli.Context, sess *session, m *head.Model) error {
	p := c.String(headFlag.Name)
	have := sess.provenance()
	err := m.Source.Check(have)
	if err != nil && c.IsSet(decoderFlag.Name) && sameButDecoder(m.Source.Pixels, have.Pixels) {
		fmt.Fprintf(c.App.ErrWriter, "warning: head %s was trained on pixels of %s; --decoder %s gives slightly different JPEG pixels\n", p, m.Source.Pixels, c.String(decoderFlag.Name))
		src := m.Source
		src.Pixels = have.Pixels
		err = src.Check(have)
	}
	if err != nil {
		return usageError{fmt.Errorf("head %s: %w", p, err)}
	}
	if m.Layer.Inputs() != sess.b.Info().Dim {
		return usageError{fmt.Errorf("head %s takes %d-d embeddings, the backbone makes %d", p, m.Layer.Inputs(), sess.b.Info().Dim)}
	}
	return nil
}

func sameButDecoder(a, b string) bool {
	pa, errA := dataset.ParsePixelSpec(a)
	pb, errB := dataset.ParsePixelSpec(b)
	return errA == nil && errB == nil && pa.Resizer == pb.Resizer
}

func eval(c *cli.Context) error {
	format, err := outputFormat(c, formatText, formatJSON, formatCSV)
	if err != nil {
		return err
	}
	m, err := readHead(c)
	if err != nil {
		return err
	}
	set, sess, err := begin(c, loadSet, false, plotFlag.Name, errorsFlag.Name)
	if err != nil {
		return err
	}
	defer sess.close()
	sess.needMost = true
	if err := checkHead(c, sess, m); err != nil {
		return err
	}
	if err := set.AlignClasses(m.Classes); err != nil {
		return usageError{fmt.Errorf("--data: %w", err)}
	}
	x, err := sess.embed(c.Context, set, true, false)
	if err != nil {
		return err
	}
	data, err := toData(set, x)
	if err != nil {
		return err
	}
	ev := experiment.Evaluate(m, data)
	met := ev.Metrics
	if len(ev.Seen) > 0 {
		_, _, items := x.Rows(set)
		var names []string
		for _, r := range ev.Seen[:min(len(ev.Seen), 10)] {
			names = append(names, terminalSafe(filepath.Base(set.Items[items[r]].Path)))
		}
		more := ""
		if len(ev.Seen) > 10 {
			more = fmt.Sprintf(" and %d more", len(ev.Seen)-10)
		}
		fmt.Fprintf(c.App.ErrWriter, "warning: %d of these %d images are images the head trained on (%s%s): their accuracy measures memory, not generalisation; evaluate on images kept apart from training\n",
			len(ev.Seen), data.Len(), strings.Join(names, ", "), more)
	}
	recordEval(c, set, sess, data, ev)
	_, _, items := x.Rows(set)
	wrong := misclassified(m, data, met.Predicted, set, items)
	if p := c.String(errorsFlag.Name); p != "" {
		if err := report.Errors(p, wrong); err != nil {
			return err
		}
	}
	if p := c.String(plotFlag.Name); p != "" {
		if err := report.ConfusionMatrix(p, "confusion matrix", met.Confusion, m.Classes); err != nil {
			return err
		}
	}
	switch format {
	case formatCSV:
		rows := [][]string{{"class", "precision", "recall", "f1", "support"}}
		for k, name := range m.Classes {
			rows = append(rows, []string{name, fmt.Sprintf("%.6f", met.Precision[k]), fmt.Sprintf("%.6f", met.Recall[k]), fmt.Sprintf("%.6f", met.F1[k]), fmt.Sprint(met.Support[k])})
		}
		return writeCSV(c, rows)
	case formatJSON:
		return printJSONIf(c, struct {
			Classes []string `json:"classes"`
			head.Metrics
			SeenInTraining int `json:"seen_in_training"`
		}{m.Classes, met, len(ev.Seen)})
	}
	if err := met.WriteText(c.App.Writer, m.Classes); err != nil {
		return err
	}
	writeWorst(c.App.Writer, wrong, 10)
	return nil
}

// misclassified lists the images the head gets wrong (predicted, as
// Evaluate found them), the most confident mistakes first.
func misclassified(m *head.Model, data head.Data, predicted []int, set *dataset.Set, items []int) []report.Mistake {
	probs := m.Layer.PredictRows(nil, data.X) // a row per distinct embedding
	var out []report.Mistake
	for r, y := range data.Y {
		if best := predicted[r]; best != y {
			out = append(out, report.Mistake{Path: set.Items[items[r]].Path, Truth: m.Classes[y], Predicted: m.Classes[best], Probability: probs.At(data.Embedding(r), best)})
		}
	}
	report.SortMistakes(out)
	return out
}

// writeWorst prints the n most confident mistakes.
func writeWorst(w io.Writer, wrong []report.Mistake, n int) {
	if len(wrong) == 0 {
		return
	}
	fmt.Fprintf(w, "\n%d misclassified; the most confident mistakes (--errors FILE.csv lists all):\n", len(wrong))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, m := range wrong[:min(n, len(wrong))] {
		fmt.Fprintf(tw, "  %s\t%s, predicted %s\t%.1f%%\n", terminalSafe(m.Path), m.Truth, m.Predicted, 100*m.Probability)
	}
	tw.Flush()
}

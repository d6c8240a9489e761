package main

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"math"
	"slices"
	"strconv"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/urfave/cli/v2"

	"github.com/transfer-go/transfer/backbone"
	"github.com/transfer-go/transfer/dataset"
	"github.com/transfer-go/transfer/head"
	"github.com/transfer-go/transfer/internal/onnxgraph"
	"github.com/transfer-go/transfer/models"
)

func predictCommand() *cli.Command {
	return &cli.Command{
		Name:      "predict",
		Usage:     "classify images with a trained head (or an exported classifier): top classes with probabilities",
		ArgsUsage: "FILE|DIR...",
		Flags:     slices.Concat(backboneFlags(), []cli.Flag{headFlag, classifierFlag}, embedFlags(), []cli.Flag{topKFlag, minConfidenceFlag}, formatFlags()),
		Action:    predict,
	}
}

// Prediction is one image's classes, most probable first.
type Prediction struct {
	Path string `json:"path"`
	// PathBytes holds the path's bytes (base64) when it is not UTF-8,
	// which JSON strings cannot carry: path then has U+FFFD in their place.
	PathBytes []byte `json:"path_bytes,omitempty"`
	// Class is the top class, or null when its probability is below
	// --min-confidence (text and CSV say "unknown").
	Class *string     `json:"class"`
	Top   []ClassProb `json:"top,omitempty"`
	Error string      `json:"error,omitempty"`
}

// ClassProb is a class and its probability.
type ClassProb struct {
	Class       string  `json:"class"`
	Probability float64 `json:"probability"`
}

func predict(c *cli.Context) error {
	if c.NArg() == 0 {
		return usageError{fmt.Errorf("predict: name image files or folders")}
	}
	if _, err := outputFormat(c, formatText, formatJSON, formatCSV); err != nil {
		return err
	}
	if p := c.Float64(minConfidenceFlag.Name); !(p >= 0 && p <= 1) {
		return usageError{fmt.Errorf("--min-confidence %v: want a probability between 0 and 1", p)}
	}
	var m *head.Model
	if c.String(classifierFlag.Name) == "" {
		var err error
		if m, err = readHead(c); err != nil {
			return err
		}
		if err := checkModelFlags(c); err != nil {
			return err
		}
	}
	set, err := dataset.FromPaths(c.Args().Slice()...)
	if err != nil {
		return usageError{err}
	}
	if c.String(classifierFlag.Name) != "" {
		return predictWithClassifier(c, set)
	}
	sess, err := openSession(c)
	if err != nil {
		return err
	}
	defer sess.close()
	if err := checkHead(c, sess, m); err != nil {
		return err
	}
	x, err := sess.embed(c.Context, set, true, false)
	if err != nil {
		return err
	}
	probs := make([][]float64, len(set.Items))
	if emb, _, items := x.Rows(set); len(emb) > 0 {
		p, err := m.Layer.Probabilities(emb)
		if err != nil {
			return err
		}
		for r, i := range items {
			probs[i] = p[r]
		}
	}
	return writePredictions(c, set, probs, m.Classes, x.Failures)
}

// writePredictions prints each image's top classes in the chosen format;
// failed images are listed with their error.
func writePredictions(c *cli.Context, set *dataset.Set, probs [][]float64, classes []string, failures []dataset.Failure) error {
	k := max(1, min(c.Int(topKFlag.Name), len(classes)))
	minConf := c.Float64(minConfidenceFlag.Name)
	failed := map[int]string{}
	for _, f := range failures {
		failed[f.Index] = f.Err.Error()
	}
	var preds []Prediction
	for i, it := range set.Items {
		p := Prediction{Path: it.Path}
		if !utf8.ValidString(it.Path) {
			p.PathBytes = []byte(it.Path)
		}
		if probs[i] == nil {
			p.Error = failed[i]
			if p.Error == "" {
				p.Error = "no embedding"
			}
		} else if !allFinite(probs[i]) {
			return fmt.Errorf("%w: %s gives %v; the model's weights are unusable", head.ErrNonFiniteOutput, it.Path, probs[i])
		} else {
			for _, j := range head.Top(probs[i], k) {
				p.Top = append(p.Top, ClassProb{Class: classes[j], Probability: probs[i][j]})
			}
			if best := p.Top[0]; best.Probability >= minConf {
				p.Class = &best.Class
			}
		}
		preds = append(preds, p)
	}
	w := c.App.Writer
	format, _ := outputFormat(c, formatText, formatJSON, formatCSV)
	switch format {
	case formatJSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(preds)
	case formatCSV:
		header := []string{"path"}
		gated := c.IsSet(minConfidenceFlag.Name)
		if gated {
			header = append(header, "class")
		}
		for r := 1; r <= k; r++ {
			header = append(header, fmt.Sprintf("class_%d", r), fmt.Sprintf("probability_%d", r))
		}
		rows := [][]string{append(header, "error")}
		for _, p := range preds {
			row := []string{p.Path}
			if gated {
				row = append(row, classOrUnknown(p))
			}
			for r := 0; r < k; r++ {
				if r < len(p.Top) {
					row = append(row, p.Top[r].Class, strconv.FormatFloat(p.Top[r].Probability, 'f', 6, 64))
				} else {
					row = append(row, "", "")
				}
			}
			rows = append(rows, append(row, p.Error))
		}
		return writeCSV(c, rows)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, p := range preds {
		if p.Error != "" {
			fmt.Fprintf(tw, "%s\terror: %s\n", terminalSafe(p.Path), terminalSafe(p.Error))
			continue
		}
		fmt.Fprintf(tw, "%s", terminalSafe(p.Path))
		if p.Class == nil {
			fmt.Fprintf(tw, "\tunknown (below %.0f%%):", 100*minConf)
		}
		for _, t := range p.Top {
			fmt.Fprintf(tw, "\t%s %.2f%%", t.Class, 100*t.Probability)
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

func classOrUnknown(p Prediction) string {
	switch {
	case p.Class != nil:
		return *p.Class
	case p.Error != "":
		return ""
	}
	return "unknown"
}

func allFinite(v []float64) bool {
	for _, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

// predictWithClassifier is predict for --classifier: decode, resize and
// fill each image as the classifier's metadata says, and run it.
func predictWithClassifier(c *cli.Context, set *dataset.Set) error {
	path := c.String(classifierFlag.Name)
	m, err := onnxgraph.ReadFile(path)
	if err != nil {
		return usageError{err}
	}
	dev, err := backbone.ParseDevice(c.String(deviceFlag.Name))
	if err != nil {
		return usageError{err}
	}
	cl, err := models.OpenClassifier(m, path, backbone.Options{LibraryPath: c.String(ortLibFlag.Name), Device: dev, Threads: c.Int(threadsFlag.Name)})
	if err != nil {
		return err
	}
	defer cl.Destroy()
	meta := cl.Meta
	decode := decodeOptions(c, meta.Pixels.Decoder)
	if meta.Pixels.Decoder == dataset.TurboJPEG {
		if _, err := dataset.ParseDecoder("turbojpeg"); err != nil {
			decode.Decoder = dataset.GoDecoder
			fmt.Fprintf(c.App.ErrWriter, "warning: the head was trained on pixels from libjpeg-turbo, which is not installed here (%v); Go's decoder gives slightly different pixels\n", err)
		}
	}
	probs := make([][]float64, len(set.Items))
	var failures []dataset.Failure
	batchSize := max(1, inferBatch(c))
	for start := 0; start < len(set.Items); start += batchSize {
		var imgs []*image.NRGBA
		var idx []int
		for i := start; i < min(start+batchSize, len(set.Items)); i++ {
			img, err := prepareFile(c.Context, set.Items[i].Path, meta.Pixels.Resizer, decode)
			if err != nil {
				failures = append(failures, dataset.Failure{Index: i, Path: set.Items[i].Path, Err: err})
				fmt.Fprintf(c.App.ErrWriter, "skipped %s\n", terminalSafe(err.Error()))
				continue
			}
			imgs = append(imgs, img)
			idx = append(idx, i)
		}
		if len(imgs) == 0 {
			continue
		}
		out, err := cl.Classify(c.Context, imgs)
		if err != nil {
			return err
		}
		for k, i := range idx {
			probs[i] = out[k]
		}
	}
	if len(failures) > 0 && c.Bool(strictFlag.Name) {
		return usageError{fmt.Errorf("%d of %d images could not be used (--strict)", len(failures), len(set.Items))}
	}
	return writePredictions(c, set, probs, meta.Classes, failures)
}

// prepareFile reads, decodes and resizes one image file.
func prepareFile(ctx context.Context, path string, r dataset.Resizer, opts dataset.DecodeOptions) (*image.NRGBA, error) {
	data, err := dataset.ReadFile(path, opts.MaxFileSize)
	if err == nil {
		var img *image.NRGBA
		if img, err = dataset.Prepare(ctx, data, r, opts); err == nil {
			return img, nil
		}
	}
	return nil, &dataset.ImageError{Path: path, Err: err}
}

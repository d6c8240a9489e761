package main

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/transfer-go/transfer/backbone"
	"github.com/transfer-go/transfer/dataset"
	"github.com/transfer-go/transfer/head"
	"github.com/transfer-go/transfer/internal/atomicfile"
	"github.com/transfer-go/transfer/internal/fixture/synthetic"
	"github.com/transfer-go/transfer/internal/onnxgraph"
	"github.com/transfer-go/transfer/models"
)

func exportCommand() *cli.Command {
	return &cli.Command{
		Name:  "export",
		Usage: "write the backbone and a trained head as one ONNX classifier with output \"probabilities\"",
		Description: "The file runs in any ONNX Runtime (Python, C#, JavaScript, mobile) without transfer. Class names, the backbone fingerprint " +
			"and the preprocessing are in its metadata_props. Unless --no-verify, the exported model is run on sample images and compared with the backbone and head.",
		Flags: slices.Concat(backboneFlags(), []cli.Flag{headFlag,
			onnxOutputFlag,
			withPreprocessingFlag, pixelTypeFlag, noVerifyFlag}),
		Action: export,
	}
}

func export(c *cli.Context) error {
	if err := requireFlag(c, onnxOutputFlag.Name, "the ONNX file to write"); err != nil {
		return err
	}
	if err := checkOutputs(c, onnxOutputFlag.Name); err != nil {
		return err
	}
	h, err := readHead(c)
	if err != nil {
		return err
	}
	hp := c.String(headFlag.Name)
	r, err := resolveModel(c, c.String(modelFlag.Name))
	if err != nil {
		return err
	}
	info, err := backbone.Analyze(r.Model, r.Path, r.Options)
	if err != nil {
		return err
	}
	var opts models.ExportOptions
	if c.Bool(withPreprocessingFlag.Name) {
		opts.Pixels = models.PixelType(c.String(pixelTypeFlag.Name))
		if opts.Pixels != models.PixelsUint8 && opts.Pixels != models.PixelsFloat {
			return usageError{fmt.Errorf("--pixel-type %q: want uint8 or float", opts.Pixels)}
		}
	}
	out, err := models.Export(r.Model, info, h, opts)
	if err != nil {
		return usageError{fmt.Errorf("head %s: %w", hp, err)}
	}
	// Verified before it is written: a failed export never replaces a
	// good file.
	path := c.String(onnxOutputFlag.Name)
	var diff float64
	var n int
	verified := false
	if !c.Bool(noVerifyFlag.Name) {
		diff, n, err = verifyExport(c.Context, r, out, h)
		switch {
		case errors.Is(err, backbone.ErrRuntimeUnavailable):
			fmt.Fprintf(c.App.ErrWriter, "not verified: %v\n", err)
		case errors.Is(err, head.ErrNonFiniteOutput):
			return usageError{fmt.Errorf("head %s: %w; nothing was written to %s", hp, err, path)}
		case err != nil:
			return fmt.Errorf("verify the export: %w; nothing was written to %s", err, path)
		case !(diff <= 1e-4): // NaN too
			return fmt.Errorf("verify the export: probabilities differ by %g; the export is wrong, please report it; nothing was written to %s", diff, path)
		default:
			verified = true
		}
	}
	if err := atomicfile.WriteFile(path, out.Bytes, 0o644); err != nil {
		return err
	}
	// Some runtimes (onnxruntime-node 1.30 among them) cannot read custom
	// metadata: the class names also go beside the model, one per line.
	labels := labelsPath(path)
	if err := atomicfile.WriteFile(labels, []byte(strings.Join(h.Classes, "\n")+"\n"), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "wrote %s (%.1f MB): %d classes %v, output %q; class names also in %s\n", path, float64(len(out.Bytes))/1e6, len(h.Classes), h.Classes, models.ProbabilitiesOutput, labels)
	if verified {
		fmt.Fprintf(c.App.Writer, "verified on %d sample images: the exported model and backbone+head differ by at most %.2g in probability\n", n, diff)
	}
	return nil
}

// verifyExport runs sample images through the exported classifier and
// through backbone + head, and returns the largest probability difference.
func verifyExport(ctx context.Context, r *models.Resolved, exported *onnxgraph.Model, h *head.Model) (float64, int, error) {
	b, err := backbone.OpenModel(r.Model, r.Path, r.Options)
	if err != nil {
		return 0, 0, err
	}
	defer b.Destroy()
	meta, err := models.ReadClassifierMeta(exported)
	if err != nil {
		return 0, 0, err
	}
	cl, err := backbone.OpenClassifier(exported, "exported", backbone.Options{LibraryPath: r.Options.LibraryPath, Threads: r.Options.Threads})
	if err != nil {
		return 0, 0, err
	}
	defer cl.Destroy()
	const n = 4
	info := b.Info()
	rng := rand.New(rand.NewPCG(7, 7))
	imgs := make([]*image.NRGBA, n)
	for i := range imgs {
		imgs[i] = synthetic.Draw(i%2, 2, info.Width, info.Height, rng)
	}
	want, err := headProbabilities(ctx, b, h, imgs)
	if err != nil {
		return 0, 0, err
	}
	got, err := classify(ctx, cl, meta, imgs)
	if err != nil {
		return 0, 0, err
	}
	var diff float64
	for i := range want {
		for j := range want[i] {
			d := math.Abs(want[i][j] - float64(got[i][j]))
			if math.IsNaN(d) {
				return math.NaN(), n, nil
			}
			diff = math.Max(diff, d)
		}
	}
	return diff, n, nil
}

// headProbabilities runs images through backbone b and head h.
func headProbabilities(ctx context.Context, b *backbone.Backbone, h *head.Model, imgs []*image.NRGBA) ([][]float64, error) {
	info := b.Info()
	il := info.InputLen()
	batch := make([]float32, len(imgs)*il)
	f := backbone.NewFiller(info.Preprocess, info.Layout)
	for i, img := range imgs {
		f.Fill(batch[i*il:(i+1)*il], img)
	}
	emb, err := b.Embed(ctx, batch)
	if err != nil {
		return nil, err
	}
	return h.Layer.Probabilities(emb)
}

// classify runs resized images through an exported classifier, filling its
// input as its metadata says.
func classify(ctx context.Context, cl *backbone.Classifier, meta models.ClassifierMeta, imgs []*image.NRGBA) ([][]float32, error) {
	il := cl.InputLen()
	if meta.Input == models.PixelsUint8 {
		batch := make([]uint8, len(imgs)*il)
		for i, img := range imgs {
			backbone.FillUint8(batch[i*il:(i+1)*il], img, cl.Layout)
		}
		return cl.ClassifyUint8(ctx, batch)
	}
	p := meta.Preprocess
	if meta.Input == models.PixelsFloat {
		p = backbone.Pixels
	}
	batch := make([]float32, len(imgs)*il)
	f := backbone.NewFiller(p, cl.Layout)
	for i, img := range imgs {
		f.Fill(batch[i*il:(i+1)*il], img)
	}
	return cl.ClassifyFloat(ctx, batch)
}

// predictWithClassifier is predict for --classifier: decode, resize and
// fill each image as the classifier's metadata says, and run it.
func predictWithClassifier(c *cli.Context, set *dataset.Set) error {
	path := c.String(classifierFlag.Name)
	m, err := onnxgraph.ReadFile(path)
	if err != nil {
		return usageError{err}
	}
	meta, err := models.ReadClassifierMeta(m)
	if err != nil {
		return usageError{fmt.Errorf("classifier %s: %w", path, err)}
	}
	dev, err := backbone.ParseDevice(c.String(deviceFlag.Name))
	if err != nil {
		return usageError{err}
	}
	decode := decodeOptions(c, meta.Pixels.Decoder)
	if meta.Pixels.Decoder == dataset.TurboJPEG {
		if _, err := dataset.ParseDecoder("turbojpeg"); err != nil {
			decode.Decoder = dataset.GoDecoder
			fmt.Fprintf(c.App.ErrWriter, "warning: the head was trained on pixels from libjpeg-turbo, which is not installed here (%v); Go's decoder gives slightly different pixels\n", err)
		}
	}
	cl, err := backbone.OpenClassifier(m, path, backbone.Options{LibraryPath: c.String(ortLibFlag.Name), Device: dev, Threads: c.Int(threadsFlag.Name), Layout: meta.Layout})
	if err != nil {
		return err
	}
	defer cl.Destroy()
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
		out, err := classify(c.Context, cl, meta, imgs)
		if err != nil {
			return err
		}
		for k, i := range idx {
			probs[i] = make([]float64, len(out[k]))
			for j, v := range out[k] {
				probs[i][j] = float64(v)
			}
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

// labelsPath is the class-name file beside an exported model:
// classifier.onnx → classifier.labels.txt.
func labelsPath(model string) string {
	return strings.TrimSuffix(model, filepath.Ext(model)) + ".labels.txt"
}

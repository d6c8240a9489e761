package main

import (
	"fmt"
	"image"
	"slices"

	"github.com/urfave/cli/v2"

	"github.com/transfer-go/transfer/backbone"
	"github.com/transfer-go/transfer/dataset"
	"github.com/transfer-go/transfer/internal/atomicfile"
	"github.com/transfer-go/transfer/models"
)

var (
	calibrateFlag   = &cli.StringFlag{Name: "calibrate", Category: catData, Usage: "folder (or image files) of representative images to measure activation ranges on (required)"}
	calibrateNFlag  = &cli.IntFlag{Name: "calibrate-n", Category: catData, Value: 200, Usage: "use at most N of the calibration images, spread over the folder"}
	methodFlag      = &cli.StringFlag{Name: "method", Category: catModel, Value: "minmax", Usage: "activation ranges: minmax, or percentile (clips the rarest 0.001% of each tail)"}
	floatConvsFlag  = &cli.IntFlag{Name: "float-convs", Category: catModel, Value: models.DefaultFloatConvs, Usage: "keep the first N convolutions (the stem, which sees the full-resolution image) in float32; 0 quantises all (fastest, least exact)"}
	reduceRangeFlag = &cli.BoolFlag{Name: "reduce-range", Category: catModel, Usage: "store 7-bit weights, for x86 CPUs without VNNI where 8-bit products saturate (try it when --check reports a low cosine there)"}
	checkNFlag      = &cli.IntFlag{Name: "check", Category: catOutput, Value: 50, Usage: "compare float and int8 embeddings on up to N images not used for calibration (0: skip)"}
)

func quantizeCommand() *cli.Command {
	return &cli.Command{
		Name:  "quantize",
		Usage: "write an int8 copy of a backbone, calibrated on your images, that extracts faster on the CPU",
		Description: "Every convolution and residual addition up to the pooled features becomes an int8 operation in ONNX's QDQ form " +
			"(uint8 activations, per-channel int8 weights); the embedding and anything after it stay float32. " +
			"Activation ranges are measured by running the float model on the calibration images with this project's preprocessing. " +
			"The result is an ordinary backbone for every command (its embeddings are cached apart from the float model's); " +
			"`models inspect` says what it was made from.",
		Flags: slices.Concat(backboneFlags(), []cli.Flag{calibrateFlag, calibrateNFlag, methodFlag, floatConvsFlag, reduceRangeFlag, checkNFlag,
			onnxOutputFlag, batchFlag, maxFileSizeFlag, decodeMemoryFlag, quietFlag}),
		Action: modelsQuantize,
	}
}

func modelsQuantize(c *cli.Context) error {
	if err := requireFlag(c, modelFlag.Name, "the float backbone to quantise"); err != nil {
		return err
	}
	if err := requireFlag(c, calibrateFlag.Name, "a folder of images like the ones you will extract"); err != nil {
		return err
	}
	if err := requireFlag(c, onnxOutputFlag.Name, "the ONNX file to write"); err != nil {
		return err
	}
	if n := c.Int(calibrateNFlag.Name); n < 1 {
		return usageError{fmt.Errorf("--calibrate-n %d: want at least 1 image", n)}
	}
	if n := c.Int(floatConvsFlag.Name); n < 0 {
		return usageError{fmt.Errorf("--float-convs %d: want 0 or more convolutions", n)}
	}
	if n := c.Int(checkNFlag.Name); n < 0 {
		return usageError{fmt.Errorf("--check %d: want 0 or more images", n)}
	}
	if err := checkOutputs(c, onnxOutputFlag.Name); err != nil {
		return err
	}
	if err := checkModelFlags(c); err != nil {
		return err
	}
	r, err := resolveModel(c, c.String(modelFlag.Name))
	if err != nil {
		return err
	}
	info, err := backbone.Analyze(r.Model, r.Path, r.Options)
	if err != nil {
		return err
	}
	filter, err := dataset.ParseFilter(c.String(filterFlag.Name))
	if err != nil {
		return usageError{err}
	}
	decoder, err := dataset.ParseDecoder(c.String(decoderFlag.Name))
	if err != nil {
		return usageError{err}
	}
	set, err := dataset.FromPaths(c.String(calibrateFlag.Name))
	if err != nil {
		return usageError{fmt.Errorf("--calibrate: %w", err)}
	}
	resizer := dataset.Resizer{Width: info.Width, Height: info.Height, Mode: r.Resize, Filter: filter}
	decode := decodeOptions(c, decoder)
	calib, held := spread(len(set.Items), c.Int(calibrateNFlag.Name))
	load := func(idx []int) []*image.NRGBA {
		var imgs []*image.NRGBA
		for _, i := range idx {
			img, err := prepareFile(c.Context, set.Items[i].Path, resizer, decode)
			if err != nil {
				fmt.Fprintf(c.App.ErrWriter, "skipped %s\n", terminalSafe(err.Error()))
				continue
			}
			imgs = append(imgs, img)
		}
		return imgs
	}
	images := load(calib)
	if len(images) == 0 {
		return usageError{fmt.Errorf("--calibrate %s: no readable images", c.String(calibrateFlag.Name))}
	}
	quiet := c.Bool(quietFlag.Name)
	if !quiet {
		fmt.Fprintf(c.App.ErrWriter, "calibrating %s on %d of %d images (%s)\n", r.Path, len(images), len(set.Items), c.String(methodFlag.Name))
	}
	qo := models.QuantizeOptions{Method: c.String(methodFlag.Name), Batch: inferBatch(c), FloatConvs: c.Int(floatConvsFlag.Name), ReduceRange: c.Bool(reduceRangeFlag.Name)}
	if qo.FloatConvs == 0 {
		qo.FloatConvs = -1
	}
	out, q, err := models.Quantize(c.Context, r, images, qo)
	if err != nil {
		return err
	}
	b, err := out.Marshal()
	if err != nil {
		return err
	}
	path := c.String(onnxOutputFlag.Name)
	if err := atomicfile.WriteFile(path, b, 0o644); err != nil {
		return err
	}
	w := c.App.Writer
	fmt.Fprintf(w, "quantised %d convolutions and %d additions to int8, the first %d convolutions kept float (%d Relu/Clip folded into their ranges)\n", q.Convs, q.Adds, q.FloatConvs, q.Removed)
	fmt.Fprintf(w, "wrote %s: %s, sha256 %s (float source %s)\n", path, megabytes(int64(len(b))), out.SHA256, megabytes(int64(len(r.Model.Bytes))))

	n := c.Int(checkNFlag.Name)
	if n == 0 {
		return nil
	}
	checkIdx, note := held, "held-out"
	if len(checkIdx) == 0 {
		checkIdx, note = calib, "calibration (none were held out)"
	}
	pick, _ := spread(len(checkIdx), n)
	var idx []int
	for _, k := range pick {
		idx = append(idx, checkIdx[k])
	}
	checkImgs := load(idx)
	if len(checkImgs) == 0 {
		return nil
	}
	sim, err := compareQuantized(c, r, path, checkImgs)
	if err != nil {
		return fmt.Errorf("check %s: %w", path, err)
	}
	fmt.Fprintf(w, "embedding cosine similarity to the float model on %d %s images: mean %.4f, min %.4f\n", sim.N, note, sim.Mean, sim.Min)
	if sim.Mean < 0.99 {
		fmt.Fprintf(c.App.ErrWriter, "warning: the int8 embeddings differ from the float ones more than usual (mean cosine below 0.99); try --method percentile or more varied calibration images\n")
	}
	return nil
}

// compareQuantized opens the float backbone and the written int8 one and
// compares their embeddings of imgs.
func compareQuantized(c *cli.Context, float *models.Resolved, path string, imgs []*image.NRGBA) (models.Similarity, error) {
	fb, err := backbone.OpenModel(float.Model, float.Path, float.Options)
	if err != nil {
		return models.Similarity{}, err
	}
	defer fb.Destroy()
	qr, err := resolveModel(c, path)
	if err != nil {
		return models.Similarity{}, err
	}
	qb, err := backbone.OpenModel(qr.Model, qr.Path, qr.Options)
	if err != nil {
		return models.Similarity{}, err
	}
	defer qb.Destroy()
	return models.CompareEmbeddings(c.Context, fb, qb, imgs, inferBatch(c))
}

// spread picks n of total indices evenly spaced over the list, so that a
// folder sorted by class gives every class its share, and returns the rest
// as the held-out indices.
func spread(total, n int) (picked, rest []int) {
	if n >= total {
		return seq(total), nil
	}
	chosen := make([]bool, total)
	for i := range n {
		k := i * total / n
		chosen[k] = true
		picked = append(picked, k)
	}
	for i, ch := range chosen {
		if !ch {
			rest = append(rest, i)
		}
	}
	return picked, rest
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

func megabytes(n int64) string {
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}

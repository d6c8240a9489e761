package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/urfave/cli/v2"

	"github.com/transfer-go/transfer/cmd/transfer/internal/tutorial"
	"github.com/transfer-go/transfer/dataset"
	"github.com/transfer-go/transfer/internal/fixture/mobilenet"
	"github.com/transfer-go/transfer/internal/fixture/synthetic"
	"github.com/transfer-go/transfer/models"
)

// The tutorial's defaults: the cat photos and the real model of the
// project's shared folder, beside the working directory, when present.
const (
	sharedCats  = "../shared/data/cats"
	sharedModel = "../shared/models/mobilenetv2-keras-nsfwjs.onnx"
	demoDir     = ".transfer/demo"
)

func tutorialCommand() *cli.Command {
	return &cli.Command{
		Name:  "tutorial",
		Usage: "run the Keras transfer-learning tutorial end to end: sanity check, train, split, cross-validate",
		Description: "Without --data it uses " + sharedCats + " (the tutorial's 40 cat photos, f*.jpg female, m*.jpg male) when present, " +
			"else 40 generated images. Without --model it uses a pulled catalogue model, else " + sharedModel +
			", else a generated MobileNetV2 with random weights. Embeddings are extracted once into the cache; a second run takes seconds.",
		Flags: slices.Concat(backboneFlags(), dataFlags(), []cli.Flag{
			tutorialValLastFlag, foldsFlag,
		}, trainingFlags(), embedFlags(), []cli.Flag{reportFlag}, formatFlags()),
		Action: runTutorial,
	}
}

func runTutorial(c *cli.Context) error {
	if _, err := outputFormat(c, formatText, formatJSON); err != nil {
		return err
	}
	stderr := c.App.ErrWriter
	if !c.IsSet(dataFlag.Name) && !c.IsSet(manifestFlag.Name) {
		dir, note, err := defaultTutorialData()
		if err != nil {
			return err
		}
		fmt.Fprintln(stderr, note)
		c.Set(dataFlag.Name, dir)
		if !c.IsSet(labelRegexFlag.Name) {
			c.Set(labelRegexFlag.Name, "^(f|m)")
			c.Set(classesFlag.Name, "f=female,m=male")
		}
	}
	if c.String(modelFlag.Name) == "" {
		path, note, err := defaultTutorialModel(c)
		if err != nil {
			return err
		}
		fmt.Fprintln(stderr, note)
		c.Set(modelFlag.Name, path)
	}
	set, err := loadSet(c)
	if err != nil {
		return err
	}
	opts, err := trainOptions(c)
	if err != nil {
		return err
	}
	if c.String(l2Flag.Name) == "auto" {
		return usageError{errors.New("--l2 auto is for train and sweep; the tutorial trains with a fixed --l2 (default 0, as Keras)")}
	}
	sess, err := openSession(c)
	if err != nil {
		return err
	}
	defer sess.close()
	out := c.App.Writer
	if isJSON(c) {
		out = nil
	}
	progress := newProgress(stderr, len(set.Items), c.Bool(quietFlag.Name))
	res, err := tutorial.Run(c.Context, tutorial.Config{
		Set: set, Backbone: sess.b, Cache: sess.cache,
		Extract: dataset.ExtractOptions{Batch: inferBatch(c), Workers: c.Int(workersFlag.Name), Resizer: sess.resizer,
			Decode: decodeOptions(c, sess.decoder),
			Abort:  abortContext(c.Context), Progress: progress.update, Model: sess.model.Path},
		Options: opts, ValLast: c.Int(tutorialValLastFlag.Name), Folds: c.Int(foldsFlag.Name), ReportDir: c.String(reportFlag.Name), Out: out,
	})
	progress.finish()
	if err != nil {
		return err
	}
	if c.Bool(strictFlag.Name) && res.Images != len(res.Full.Predictions) {
		return usageError{fmt.Errorf("%d of %d images could not be used (--strict)", res.Images-len(res.Full.Predictions), res.Images)}
	}
	return printJSONIf(c, res)
}

// defaultTutorialData returns the cat photos when they are beside the
// working directory, else writes 40 generated images named like them.
func defaultTutorialData() (dir, note string, err error) {
	if st, err := os.Stat(sharedCats); err == nil && st.IsDir() {
		return sharedCats, "data: the tutorial's cat photos in " + sharedCats, nil
	}
	dir = filepath.Join(demoDir, "images")
	if _, err := os.Stat(filepath.Join(dir, "m20.jpg")); err != nil {
		if _, err := synthetic.Write(dir, synthetic.Options{Classes: []string{"female", "male"}, PerClass: 20, Width: 400, Height: 300, Seed: 1}); err != nil {
			return "", "", err
		}
	}
	return dir, "data: no " + sharedCats + " here, so 40 generated images of two synthetic classes (f*.jpg, m*.jpg) in " + dir, nil
}

// defaultTutorialModel picks a pulled catalogue model, else the shared real
// model, else writes a full-size MobileNetV2 with random weights.
func defaultTutorialModel(c *cli.Context) (path, note string, err error) {
	if dir, err := modelsDir(c); err == nil {
		for _, e := range models.Catalogue {
			if _, err := os.Stat(e.Path(dir)); err == nil {
				return e.Name, "model: " + e.Name + " (pulled)", nil
			}
		}
	}
	if _, err := os.Stat(sharedModel); err == nil {
		return sharedModel, "model: the real Keras MobileNetV2 in " + sharedModel, nil
	}
	path = filepath.Join(demoDir, "mobilenetv2-random-weights.onnx")
	if _, err := os.Stat(path); err != nil {
		if err := os.MkdirAll(demoDir, 0o755); err != nil {
			return "", "", err
		}
		net := mobilenet.New(mobilenet.Config{Flavour: mobilenet.TF2ONNX, Seed: 1})
		if err := net.WriteFile(path); err != nil {
			return "", "", err
		}
	}
	return path, "model: no real model here (see transfer models pull), so a generated MobileNetV2 with RANDOM weights in " + path +
		"; its embeddings carry no ImageNet knowledge, so expect weak accuracy", nil
}

package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/transfer-go/transfer/cmd/transfer/internal/tutorial"
	"github.com/transfer-go/transfer/dataset"
	"github.com/transfer-go/transfer/internal/download"
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
		Description: "Without --data it uses the tutorial's 40 cat photos (f*.jpg female, m*.jpg male): downloaded once (cats.zip, sha256-verified) into the user cache, " +
			"else " + sharedCats + " when present, else 40 generated images. Without --model it uses a pulled catalogue model, else pulls " + defaults.TutorialModel +
			", else " + sharedModel + ", else a generated MobileNetV2 with random weights; it says what it tried. --mirror serves air-gapped machines, --offline downloads nothing. " +
			"Embeddings are extracted once into the cache; a second run takes seconds.",
		Flags: slices.Concat(backboneFlags(), dataFlags(), []cli.Flag{
			tutorialValLastFlag, foldsFlag,
		}, trainingFlags(), embedFlags(), []cli.Flag{mirrorFlag, offlineFlag, reportFlag}, formatFlags()),
		Action: runTutorial,
	}
}

func runTutorial(c *cli.Context) error {
	if _, err := outputFormat(c, formatText, formatJSON); err != nil {
		return err
	}
	stderr := c.App.ErrWriter
	var sources []tutorial.Source
	if !c.IsSet(dataFlag.Name) && !c.IsSet(manifestFlag.Name) {
		dir, src, note, err := defaultTutorialData(c)
		if err != nil {
			return err
		}
		fmt.Fprintln(stderr, note)
		sources = append(sources, src)
		c.Set(dataFlag.Name, dir)
		if !c.IsSet(labelRegexFlag.Name) {
			c.Set(labelRegexFlag.Name, "^(f|m)")
			c.Set(classesFlag.Name, "f=female,m=male")
		}
	}
	if c.String(modelFlag.Name) == "" {
		path, src, note, err := defaultTutorialModel(c)
		if err != nil {
			return err
		}
		fmt.Fprintln(stderr, note)
		sources = append(sources, src)
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
		Sources: sources,
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

// fetchOptions are the download settings of a command: --mirror, and a
// progress line of bytes and rate.
func fetchOptions(c *cli.Context, what string) (download.Options, func()) {
	p := newByteProgress(c.App.ErrWriter, what)
	return download.Options{Mirror: c.String(mirrorFlag.Name), Progress: p.update}, p.done
}

// tutorialDir is where the tutorial keeps what it downloads: the user's
// cache, beside the pulled models.
func tutorialDir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "transfer", "tutorial"), nil
}

// defaultTutorialData returns the tutorial's photos: unpacked in the user
// cache from an earlier run, else downloaded (cats.zip, sha256-verified,
// unpacked safely), else the shared folder beside the working directory,
// else 40 generated images named like them. The note says which, and why
// the better ones were not had.
func defaultTutorialData(c *cli.Context) (dir string, src tutorial.Source, note string, err error) {
	var tried []string
	if base, err := tutorialDir(); err == nil {
		photos := filepath.Join(base, "photos", "cats")
		zipPath := filepath.Join(base, tutorial.Photos.Name)
		origin := "downloaded earlier"
		if _, err := os.Stat(filepath.Join(photos, "m20.jpg")); err != nil && !c.Bool(offlineFlag.Name) {
			opts, done := fetchOptions(c, "download "+tutorial.Photos.Name)
			err = download.Fetch(c.Context, tutorial.Photos, zipPath, opts)
			done()
			if err == nil {
				err = download.Unzip(zipPath, filepath.Join(base, "photos"), 100<<20)
			}
			if err != nil && c.Context.Err() != nil {
				// Interrupted: stop, do not carry on with generated data.
				return "", tutorial.Source{}, "", c.Context.Err()
			}
			if err != nil {
				tried = append(tried, err.Error())
			}
			origin = "downloaded from " + tutorial.Photos.Source(opts)
		}
		if _, err := os.Stat(filepath.Join(photos, "m20.jpg")); err == nil {
			return photos, tutorial.Source{What: "data", Path: photos, Origin: origin + ", " + tutorial.Photos.Name, SHA256: tutorial.Photos.SHA256},
				"data: the tutorial's 40 cat photos in " + photos, nil
		}
	}
	if c.Bool(offlineFlag.Name) {
		tried = append(tried, "--offline: no download tried")
	}
	because := ""
	if len(tried) > 0 {
		because = " (the tutorial's photos could not be had: " + strings.Join(tried, "; ") + ")"
	}
	if st, err := os.Stat(sharedCats); err == nil && st.IsDir() {
		return sharedCats, tutorial.Source{What: "data", Path: sharedCats, Origin: "the shared folder beside the working directory"},
			"data: the tutorial's cat photos in " + sharedCats + because, nil
	}
	dir = filepath.Join(demoDir, "images")
	if _, err := os.Stat(filepath.Join(dir, "m20.jpg")); err != nil {
		if _, err := synthetic.Write(dir, synthetic.Options{Classes: []string{"female", "male"}, PerClass: 20, Width: 400, Height: 300, Seed: 1}); err != nil {
			return "", tutorial.Source{}, "", err
		}
	}
	return dir, tutorial.Source{What: "data", Path: dir, Origin: "generated: two synthetic classes"},
		"data: 40 generated images of two synthetic classes (f*.jpg, m*.jpg) in " + dir + because, nil
}

// defaultTutorialModel picks a pulled catalogue model, else pulls
// mobilenetv2-12 (sha256-verified), else the shared real model, else writes
// a full-size MobileNetV2 with random weights, saying what was tried.
func defaultTutorialModel(c *cli.Context) (path string, src tutorial.Source, note string, err error) {
	var tried []string
	if dir, err := modelsDir(c); err == nil {
		for _, e := range models.Catalogue {
			if _, err := os.Stat(e.Path(dir)); err == nil {
				return e.Name, tutorial.Source{What: "model", Path: e.Path(dir), Origin: "catalogue model " + e.Name + ", pulled earlier", SHA256: e.SHA256},
					"model: " + e.Name + " (pulled)", nil
			}
		}
		if e, ok := catalogueEntry(defaults.TutorialModel); ok && !c.Bool(offlineFlag.Name) {
			opts, done := fetchOptions(c, "pull "+e.Name)
			p, err := models.Pull(c.Context, e, dir, models.PullOptions{Mirror: opts.Mirror, Progress: opts.Progress})
			done()
			if err == nil {
				return e.Name, tutorial.Source{What: "model", Path: p, Origin: "catalogue model " + e.Name + ", downloaded from " + e.File().Source(opts), SHA256: e.SHA256},
					"model: " + e.Name + " (downloaded and verified)", nil
			}
			if c.Context.Err() != nil {
				return "", tutorial.Source{}, "", c.Context.Err()
			}
			tried = append(tried, err.Error())
		}
	}
	if c.Bool(offlineFlag.Name) {
		tried = append(tried, "--offline: no download tried")
	}
	because := ""
	if len(tried) > 0 {
		because = " (" + defaults.TutorialModel + " could not be had: " + strings.Join(tried, "; ") + ")"
	}
	if _, err := os.Stat(sharedModel); err == nil {
		return sharedModel, tutorial.Source{What: "model", Path: sharedModel, Origin: "the shared folder beside the working directory", SHA256: fileSHA256(sharedModel)},
			"model: the real Keras MobileNetV2 in " + sharedModel + because, nil
	}
	path = filepath.Join(demoDir, "mobilenetv2-random-weights.onnx")
	if _, err := os.Stat(path); err != nil {
		if err := os.MkdirAll(demoDir, 0o755); err != nil {
			return "", tutorial.Source{}, "", err
		}
		net := mobilenet.New(mobilenet.Config{Flavour: mobilenet.TF2ONNX, Seed: 1})
		if err := net.WriteFile(path); err != nil {
			return "", tutorial.Source{}, "", err
		}
	}
	return path, tutorial.Source{What: "model", Path: path, Origin: "generated: MobileNetV2 with random weights", SHA256: fileSHA256(path)},
		"model: no real model here" + because + ", so a generated MobileNetV2 with RANDOM weights in " + path +
			"; its embeddings carry no ImageNet knowledge, so expect weak accuracy", nil
}

package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/transfer-go/transfer/dataset"
	"github.com/transfer-go/transfer/experiment"
	"github.com/transfer-go/transfer/head"
)

// protocolOf reads the validation flags; def is the protocol when none is
// given. The Separate protocol's set is read later, by prepareExperiment.
func protocolOf(c *cli.Context, def experiment.Protocol) (experiment.Protocol, error) {
	var chosen []string
	for _, f := range []string{valSplitFlag.Name, valDataFlag.Name, valLastFlag.Name, cvFlag.Name} {
		if c.IsSet(f) {
			chosen = append(chosen, f)
		}
	}
	if len(chosen) > 1 {
		return def, usageError{errors.New("choose one of --val-split, --val-data, --val-last and --cv")}
	}
	if len(chosen) == 0 {
		return def, nil
	}
	switch chosen[0] {
	case valSplitFlag.Name:
		return experiment.Protocol{Kind: experiment.HoldOut, Fraction: c.Float64(valSplitFlag.Name)}, nil
	case valLastFlag.Name:
		return experiment.Protocol{Kind: experiment.LastPerClass, Last: c.Int(valLastFlag.Name)}, nil
	case cvFlag.Name:
		return experiment.Protocol{Kind: experiment.CrossValidation, Folds: c.Int(cvFlag.Name)}, nil
	}
	return experiment.Protocol{Kind: experiment.Separate}, nil
}

// experimentSetup is an experiment ready to run: the labelled set's
// embeddings (and the validation set's), the protocol and the options.
type experimentSetup struct {
	c      *cli.Context
	set    *dataset.Set
	valSet *dataset.Set
	sess   *session
	data   head.Data
	// items and valItems map data rows to the sets' items (failed
	// images have no row).
	items, valItems []int
	protocol        experiment.Protocol
	opts            head.Options
}

// prepareExperiment reads the protocol, the set and its embeddings (missing
// ones are extracted into the cache), checks the classes and warns of
// duplicate images. The caller closes ex.sess.
func prepareExperiment(c *cli.Context, opts head.Options, def experiment.Protocol, outputs ...string) (*experimentSetup, error) {
	p, err := protocolOf(c, def)
	if err != nil {
		return nil, err
	}
	if opts.Patience > 0 && (p.Kind == experiment.Fit || p.Kind == experiment.CrossValidation) {
		return nil, usageError{errors.New("--early-stopping watches val_loss: add --val-split, --val-data or --val-last")}
	}
	// Every value that can be checked without pixels is checked before
	// the first file is read: --epochs 0 failed after a fresh set of
	// 1,000 images had been embedded (8 s).
	if err := p.Check(); err != nil {
		return nil, usageError{err}
	}
	if err := opts.Check(p.Kind != experiment.Fit && p.Kind != experiment.CrossValidation); err != nil {
		return nil, usageError{err}
	}
	if _, err := dataset.ParseAugments(c.String(augmentFlag.Name)); err != nil {
		return nil, usageError{fmt.Errorf("--augment: %w", err)}
	}
	set, sess, err := begin(c, loadSet, false, outputs...)
	if err != nil {
		return nil, err
	}
	ex := &experimentSetup{c: c, set: set, sess: sess, protocol: p, opts: opts}
	if err := ex.load(); err != nil {
		sess.close()
		return nil, err
	}
	return ex, nil
}

func (ex *experimentSetup) load() error {
	c, set, sess := ex.c, ex.set, ex.sess
	var err error
	if p := c.String(valDataFlag.Name); p != "" && ex.protocol.Kind == experiment.Separate {
		if ex.valSet, err = readSet(c, p, "", c.String(labelRegexFlag.Name), c.String(classesFlag.Name)); err != nil {
			return err
		}
		if err := ex.valSet.AlignClasses(set.Classes); err != nil {
			return usageError{fmt.Errorf("--val-data: %w", err)}
		}
	}
	sess.needMost = true
	stderr := c.App.ErrWriter
	// The class names are known before a pixel is read.
	if ex.opts.ClassWeights, err = classWeights(c.String(classWeight.Name), set.Classes); err != nil {
		return err
	}
	if !c.Bool(quietFlag.Name) {
		fmt.Fprintln(stderr, set.Summary())
	}
	x, err := sess.embed(c.Context, set, true, false)
	if err != nil {
		return err
	}
	if ex.data, err = toData(set, x); err != nil {
		return err
	}
	_, _, ex.items = x.Rows(set)
	if err := checkClasses(c, stderr, set.Classes, classCounts(ex.data.Y, len(set.Classes)), ex.protocol); err != nil {
		return err
	}
	reportDuplicates(c, set, ex.data.Keys, ex.items)
	if err := ex.augment(x); err != nil {
		return err
	}
	if ex.valSet != nil {
		vx, err := sess.embed(c.Context, ex.valSet, true, false)
		if err != nil {
			return err
		}
		vd, err := toData(ex.valSet, vx)
		if err != nil {
			return err
		}
		ex.protocol.Val = &vd
		_, _, ex.valItems = vx.Rows(ex.valSet)
	}
	if ex.protocol.Kind == experiment.HoldOut {
		seed := ex.opts.Seed
		if s := splitSeed(c); s != nil {
			seed = *s
		}
		ex.protocol.Prior, err = sess.cache.SplitSides(c.Context, dataset.SplitID(ex.protocol.Fraction, seed), ex.data.Keys)
		if err != nil {
			fmt.Fprintf(stderr, "warning: the split's earlier sides could not be read from the cache (%v); images are assigned by content alone\n", err)
		}
	}
	return nil
}

// augment embeds the --augment copies of the set (through the cache, under
// their own pixel specification) and aligns them with the data's rows. An
// image whose copy cannot be made trains once more as itself.
func (ex *experimentSetup) augment(x *dataset.Extraction) error {
	c := ex.c
	augs, err := dataset.ParseAugments(c.String(augmentFlag.Name))
	if err != nil {
		return usageError{fmt.Errorf("--augment: %w", err)}
	}
	plain := ex.sess.resizer
	defer func() { ex.sess.resizer = plain }()
	for _, a := range augs {
		ex.sess.resizer = plain
		ex.sess.resizer.Augment = a
		if !c.Bool(quietFlag.Name) {
			fmt.Fprintf(c.App.ErrWriter, "augmented copies (%s):\n", a)
		}
		ax, err := ex.sess.embed(c.Context, ex.set, true, false)
		if err != nil {
			return err
		}
		// Shaped as the data's embeddings: rows that share one (the same
		// image named twice) share its copy too.
		m := head.NewMatrix(ex.data.X.Rows, ex.data.Dim(), nil)
		for r, i := range ex.items {
			v := ax.Vectors[i]
			if v == nil {
				v = x.Vectors[i]
			}
			k := ex.data.Embedding(r)
			copy(m.Data[k*m.Stride:k*m.Stride+m.Cols], v)
		}
		ex.data.Augmented = append(ex.data.Augmented, m)
	}
	return nil
}

// reportDuplicates names the images whose content is identical: they stay
// together on one side of every split and in one fold.
func reportDuplicates(c *cli.Context, set *dataset.Set, keys []string, items []int) {
	groups := head.Duplicates(keys)
	if len(groups) == 0 {
		return
	}
	stderr := c.App.ErrWriter
	fmt.Fprintf(stderr, "warning: %d groups of images have identical content; each group stays on one side of every split and in one fold:\n", len(groups))
	for i, g := range groups {
		if i == 10 {
			fmt.Fprintf(stderr, "  ... and %d more groups\n", len(groups)-10)
			break
		}
		names := make([]string, len(g))
		for k, r := range g {
			names[k] = terminalSafe(filepath.Base(set.Items[items[r]].Path))
		}
		fmt.Fprintf(stderr, "  %s\n", strings.Join(names, " = "))
	}
}

// run runs cfg on the prepared data, naming withheld validation images and
// keeping a content split's sides for the next run.
func (ex *experimentSetup) run(c *cli.Context, cfg experiment.Config) (*experiment.Result, error) {
	r, err := experiment.Run(c.Context, ex.data, cfg)
	if errors.Is(err, context.Canceled) {
		if r == nil {
			return nil, reworded{"interrupted during cross-validation: nothing was saved (the embeddings are cached)", err}
		}
		return nil, reworded{fmt.Sprintf("interrupted after %d epochs: nothing was saved (the embeddings are cached)", len(r.History.Epochs)), err}
	}
	if err != nil {
		return nil, usageError{err}
	}
	ex.reportWithheld(r)
	if r.Sides != nil {
		seed := cfg.Options.Seed
		if cfg.SplitSeed != nil {
			seed = *cfg.SplitSeed
		}
		if err := ex.sess.cache.RecordSplit(c.Context, dataset.SplitID(cfg.Protocol.Fraction, seed), r.Sides); err != nil {
			fmt.Fprintf(c.App.ErrWriter, "warning: the split's sides could not be recorded in the cache (%v); images added later may change sides\n", err)
		}
	}
	return r, nil
}

func (ex *experimentSetup) reportWithheld(r *experiment.Result) {
	if len(r.Withheld) == 0 {
		return
	}
	set, what := ex.set, "were moved to training"
	if ex.protocol.Kind == experiment.Separate {
		set, what = ex.valSet, "were left out of validation"
	}
	items := ex.items
	if set == ex.valSet {
		items = ex.valItems
	}
	names := make([]string, 0, len(r.Withheld))
	for _, i := range r.Withheld {
		names = append(names, terminalSafe(filepath.Base(set.Items[items[i]].Path)))
	}
	fmt.Fprintf(ex.c.App.ErrWriter, "warning: %d validation images have the content of a training image and %s: %s\n", len(names), what, strings.Join(names, ", "))
}

// save writes the kept head with what it was trained on.
func (ex *experimentSetup) save(path string, r *experiment.Result) error {
	return ex.saveWith(path, r, nil)
}

// saveWith saves the head with the experiment it came from.
func (ex *experimentSetup) saveWith(path string, r *experiment.Result, origin *head.Origin) error {
	o := r.Options
	o.OnEpoch = nil
	m := &head.Model{Layer: r.Head, Classes: ex.set.Classes, Source: ex.sess.provenance(), Options: o, History: r.History, Created: time.Now(), Origin: origin}
	if ex.data.Keys != nil {
		for _, i := range r.Train {
			m.TrainingImages = append(m.TrainingImages, ex.data.Keys[i])
		}
	}
	return m.Save(path)
}

// splitSeed is --split-seed when given.
func splitSeed(c *cli.Context) *uint64 {
	if !c.IsSet(splitSeedFlag.Name) {
		return nil
	}
	s := uint64(c.Int64(splitSeedFlag.Name))
	return &s
}

// autoL2 chooses the L2 strength by the protocol's validation metric and
// prints the search.
func (ex *experimentSetup) autoL2(cfg experiment.Config, verbose bool) (float64, error) {
	c := ex.c
	m, err := experiment.ParseMetric(c.String(metricFlag.Name))
	if err != nil {
		return 0, usageError{err}
	}
	if !cfg.Protocol.Validates() {
		return 0, usageError{errors.New("--l2 auto chooses by validation: add --val-split, --val-data, --val-last or --cv")}
	}
	start := time.Now()
	l2, trials, err := experiment.AutoL2(c.Context, ex.data, cfg, m)
	if errors.Is(err, context.Canceled) {
		return 0, reworded{"interrupted while choosing --l2: nothing was saved (the embeddings are cached)", err}
	}
	if err != nil {
		return 0, usageError{err}
	}
	if verbose {
		w := c.App.ErrWriter
		fmt.Fprintf(w, "--l2 auto: %d strengths by validation %s (%s, %s):\n", len(trials), m, cfg.Protocol, time.Since(start).Round(time.Millisecond))
		for _, t := range trials {
			mark := ""
			if t.L2 == l2 {
				mark = "  <- chosen"
			}
			fmt.Fprintf(w, "  l2 %-9.3g %s %.4f  val_loss %.4f%s\n", t.L2, m, t.Score, t.Loss, mark)
		}
	}
	fmt.Fprintf(c.App.ErrWriter, "chose --l2 %.3g\n", l2)
	return l2, nil
}

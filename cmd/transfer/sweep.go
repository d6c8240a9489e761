package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/transfer-go/transfer/cmd/transfer/internal/report"
	"github.com/transfer-go/transfer/experiment"
	"github.com/transfer-go/transfer/head"
	"github.com/transfer-go/transfer/internal/safecsv"
)

// sweepAxes are the list flags of sweep: each takes comma-separated values,
// and the grid is their product.
var sweepAxes = func() map[string]*cli.StringFlag {
	usage := map[string]string{
		"solver":       "solvers: adam, lbfgs",
		"lr":           "Adam learning rates, e.g. 1e-4,3e-4,1e-3,3e-3",
		"l2":           "L2 strengths, e.g. 0,1e-5,1e-4,1e-3",
		"epochs":       "Adam epochs, e.g. 20,50,100",
		"batch-size":   "Adam batch sizes, e.g. 32,128",
		"class-weight": "class weightings: none, balanced",
		"standardize":  "feature standardisation: false, true",
		"tol":          "L-BFGS tolerances",
		"max-iter":     "L-BFGS iteration limits",
	}
	m := map[string]*cli.StringFlag{}
	for _, name := range experiment.Params {
		m[name] = &cli.StringFlag{Name: name, Category: catTraining, Usage: usage[name] + " (comma-separated; one value fixes it)"}
	}
	return m
}()

var (
	trialsFlag   = &cli.IntFlag{Name: "trials", Category: catTraining, Usage: "score N configurations drawn at random (from --seed) instead of the whole grid"}
	parallelFlag = &cli.IntFlag{Name: "parallel", Category: catRuntime, Value: runtime.NumCPU(), Usage: "configurations trained at once (results do not depend on it)"}
	sweepCSVFlag = &cli.StringFlag{Name: "csv", Category: catOutput, Usage: "also write the ranked table to this CSV file"}
	sweepOutFlag = &cli.StringFlag{Name: "output", Aliases: []string{"o"}, Category: catOutput, Usage: "retrain the best configuration on all training images and write its head here"}
	sweepPlot    = &cli.StringFlag{Name: "plot", Category: catOutput, Usage: "plot the validation metric against each swept parameter to this file"}
)

func sweepCommand() *cli.Command {
	var axes []cli.Flag
	for _, name := range experiment.Params {
		axes = append(axes, sweepAxes[name])
	}
	return &cli.Command{
		Name:  "sweep",
		Usage: "score a grid of training options (and backbones) on the cached embeddings, ranked by validation",
		Description: "Every configuration is scored by the protocol (--cv 5 unless --val-split, --val-data, --val-last or --cv say otherwise) " +
			"on the same folds, several at once; embeddings come from the cache, so the sweep runs no inference once they are there. " +
			"--model takes a comma-separated list to compare backbones. Every configuration is recorded (see transfer runs).",
		Flags: slices.Concat(backboneFlags(), dataFlags(), []cli.Flag{valSplitFlag, valDataFlag, valLastFlag, cvFlag, splitSeedFlag},
			axes, []cli.Flag{augmentFlag, seedFlag, trialsFlag, metricFlag, parallelFlag}, embedFlags(),
			[]cli.Flag{allowFailuresFlag, sweepOutFlag, sweepPlot, sweepCSVFlag}, formatFlags()),
		Action: sweep,
	}
}

// sweepRow is one configuration of one backbone in the ranked table.
type sweepRow struct {
	Rank    int               `json:"rank"`
	Model   string            `json:"model"`
	Values  map[string]string `json:"values"`
	Score   float64           `json:"score"`
	SD      float64           `json:"sd"`
	Seconds float64           `json:"seconds"`
	Run     int64             `json:"run,omitempty"`
	Error   string            `json:"error,omitempty"`
	// Command reproduces the configuration with transfer train.
	Command string `json:"command"`

	trial experiment.Trial
	ex    *experimentSetup
}

type sweepResult struct {
	Metric   string     `json:"metric"`
	Protocol string     `json:"protocol"`
	Sweep    int64      `json:"sweep,omitempty"`
	Rows     []sweepRow `json:"configurations"`
	Head     string     `json:"head,omitempty"`
	// Interrupted is set when Ctrl-C ended the sweep: Rows are the
	// configurations that finished.
	Interrupted bool `json:"interrupted,omitempty"`
}

// sweepGrid reads the list flags into a grid; an axis of one value fixes
// the option for every configuration.
func sweepGrid(c *cli.Context) (experiment.Grid, error) {
	var g experiment.Grid
	for _, name := range experiment.Params {
		if !c.IsSet(name) {
			continue
		}
		var vals []string
		for _, v := range strings.Split(c.String(name), ",") {
			v = strings.TrimSpace(v)
			o := head.DefaultOptions()
			if err := experiment.Set(&o, name, v); err != nil {
				return nil, usageError{err}
			}
			if !slices.Contains(vals, v) {
				vals = append(vals, v)
			}
		}
		g = append(g, experiment.Axis{Name: name, Values: vals})
	}
	return g, nil
}

func sweep(c *cli.Context) error {
	format, err := outputFormat(c, formatText, formatJSON, formatCSV)
	if err != nil {
		return err
	}
	metric, err := experiment.ParseMetric(c.String(metricFlag.Name))
	if err != nil {
		return usageError{err}
	}
	grid, err := sweepGrid(c)
	if err != nil {
		return err
	}
	if c.Int(trialsFlag.Name) < 0 || c.Int(parallelFlag.Name) < 1 {
		return usageError{errors.New("--trials must not be negative and --parallel must be at least 1")}
	}
	base := head.DefaultOptions()
	base.Seed = uint64(c.Int64(seedFlag.Name))
	split := base.Seed
	if s := splitSeed(c); s != nil {
		split = *s
	}
	points := grid.Points(c.Int(trialsFlag.Name), base.Seed)
	for _, p := range points {
		if o, err := grid.Options(base, p); err == nil && o.Solver == head.SolverLBFGS && (o.Tol < 0 || o.MaxIter < 1) {
			return usageError{fmt.Errorf("configuration %s: bad L-BFGS settings", grid.Label(p))}
		}
	}
	models := []string{c.String(modelFlag.Name)}
	if strings.Contains(models[0], ",") {
		models = strings.Split(models[0], ",")
	}
	if err := checkOutputs(c, sweepOutFlag.Name, sweepCSVFlag.Name); err != nil {
		return err
	}
	if p := c.String(sweepPlot.Name); p != "" {
		if err := report.CheckPath(p); err != nil {
			return usageError{fmt.Errorf("--plot: %w", err)}
		}
	}
	res := sweepResult{Metric: string(metric)}
	stderr := c.App.ErrWriter
	var setups []*experimentSetup
	defer func() {
		for _, ex := range setups {
			ex.sess.close()
		}
	}()
	// Every backbone's embeddings first: a missing one fails before any
	// training, and the sweep itself runs no inference.
	for _, m := range models {
		if err := c.Set(modelFlag.Name, strings.TrimSpace(m)); err != nil {
			return err
		}
		ex, err := prepareExperiment(c, base, experiment.Protocol{Kind: experiment.CrossValidation, Folds: 5})
		if err != nil {
			if len(models) > 1 {
				return fmt.Errorf("--model %s: %w", m, err)
			}
			return err
		}
		setups = append(setups, ex)
	}
	res.Protocol = setups[0].protocol.String()
	total := len(points) * len(models)
	if !c.Bool(quietFlag.Name) {
		fmt.Fprintf(stderr, "sweeping %d configurations", len(points))
		if len(models) > 1 {
			fmt.Fprintf(stderr, " × %d backbones", len(models))
		}
		fmt.Fprintf(stderr, " by %s, %d at once\n", res.Protocol, c.Int(parallelFlag.Name))
	}
	bar := newSweepProgress(stderr, total, c.Bool(quietFlag.Name))
	finished := 0
	var runErr error
	for _, ex := range setups {
		cfg := experiment.SweepConfig{Grid: grid, Points: points, Protocol: ex.protocol, Base: base, SplitSeed: &split, Metric: metric, Workers: c.Int(parallelFlag.Name)}
		cfg.Base.ClassWeights = ex.opts.ClassWeights
		cfg.OnTrial = func(t experiment.Trial) {
			finished++
			bar.update(finished)
			row := sweepRow{Model: ex.sess.model.Path, Values: map[string]string{}, Score: t.Score, SD: t.SD, Seconds: t.Elapsed.Seconds(), trial: t, ex: ex}
			for k, a := range grid {
				row.Values[a.Name] = t.Point[k]
			}
			row.Command = replayCommand(c, ex, grid, t, split)
			if t.Err != nil {
				row.Error, row.Score, row.SD = t.Err.Error(), math.NaN(), math.NaN()
			} else {
				row.Run = ex.recordExperiment("sweep", experiment.Config{Protocol: ex.protocol, SplitSeed: &split}, t.Result, "", res.Sweep, row.Command)
				if res.Sweep == 0 && row.Run != 0 {
					res.Sweep = row.Run
					ex.sess.cache.SetRunSweep(context.WithoutCancel(c.Context), row.Run, row.Run)
				}
			}
			res.Rows = append(res.Rows, row)
		}
		if _, err := experiment.Sweep(c.Context, ex.data, cfg); err != nil {
			runErr = err
			break
		}
	}
	bar.finish()
	rankRows(res.Rows, metric)
	if errors.Is(runErr, context.Canceled) {
		res.Interrupted = true
	} else if runErr != nil {
		return runErr
	}
	if err := writeSweep(c, format, grid, &res, len(models) > 1); err != nil {
		return err
	}
	if res.Interrupted {
		return reworded{fmt.Sprintf("interrupted: %d of %d configurations finished (recorded, see transfer runs list --sweep %d); the table above ranks them", len(res.Rows), total, res.Sweep), runErr}
	}
	if len(res.Rows) == 0 || res.Rows[0].Error != "" {
		return usageError{errors.New("no configuration could be trained: see the errors in the table")}
	}
	if p := c.String(sweepPlot.Name); p != "" {
		if err := plotSweep(p, grid, res, len(models) > 1); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "plotted validation %s against each swept parameter to %s\n", metric, p)
	}
	if p := c.String(sweepOutFlag.Name); p != "" {
		if err := retrainBest(c, res, p); err != nil {
			return err
		}
		res.Head = p
	}
	return printJSONIf(c, res)
}

// rankRows orders rows best first; failures last.
func rankRows(rows []sweepRow, m experiment.Metric) {
	slices.SortStableFunc(rows, func(a, b sweepRow) int {
		switch {
		case (a.Error == "") != (b.Error == ""):
			if a.Error == "" {
				return -1
			}
			return 1
		case m.Better(a.Score, b.Score):
			return -1
		case m.Better(b.Score, a.Score):
			return 1
		}
		return strings.Compare(a.Command, b.Command)
	})
	for i := range rows {
		rows[i].Rank = i + 1
	}
}

// replayCommand is the transfer train command that reproduces one
// configuration: the sweep's own flags that train shares, the protocol,
// the configuration's values and its derived seed.
func replayCommand(c *cli.Context, ex *experimentSetup, grid experiment.Grid, t experiment.Trial, split uint64) string {
	skip := map[string]bool{modelFlag.Name: true, seedFlag.Name: true, splitSeedFlag.Name: true, trialsFlag.Name: true, parallelFlag.Name: true,
		sweepOutFlag.Name: true, sweepPlot.Name: true, sweepCSVFlag.Name: true, formatFlag.Name: true, jsonFlag.Name: true, quietFlag.Name: true}
	for _, a := range experiment.Params {
		skip[a] = true
	}
	args := []string{"transfer", "train", "--model", shellQuote(ex.sess.model.Path)}
	for _, f := range c.Command.Flags {
		name := f.Names()[0]
		if skip[name] || !c.IsSet(name) {
			continue
		}
		args = append(args, "--"+name+"="+shellQuote(fmt.Sprint(c.Value(name))))
	}
	if ex.protocol.Kind == experiment.CrossValidation && !c.IsSet(cvFlag.Name) {
		args = append(args, "--cv", strconv.Itoa(ex.protocol.Folds))
	}
	for k, a := range grid {
		args = append(args, "--"+a.Name, shellQuote(t.Point[k]))
	}
	args = append(args, "--seed", strconv.FormatUint(t.Options.Seed, 10), "--split-seed", strconv.FormatUint(split, 10))
	return strings.Join(args, " ")
}

func writeSweep(c *cli.Context, format string, grid experiment.Grid, res *sweepResult, models bool) error {
	header := []string{"rank"}
	if models {
		header = append(header, "model")
	}
	for _, a := range grid {
		header = append(header, a.Name)
	}
	header = append(header, res.Metric, "sd", "seconds", "run")
	table := [][]string{header}
	for _, r := range res.Rows {
		row := []string{strconv.Itoa(r.Rank)}
		if models {
			row = append(row, shortModel(r.Model))
		}
		for _, a := range grid {
			row = append(row, r.Values[a.Name])
		}
		if r.Error != "" {
			row = append(row, "failed: "+r.Error, "", fmt.Sprintf("%.2f", r.Seconds), "")
		} else {
			row = append(row, fmt.Sprintf("%.4f", r.Score), fmt.Sprintf("%.4f", r.SD), fmt.Sprintf("%.2f", r.Seconds), strconv.FormatInt(r.Run, 10))
		}
		table = append(table, row)
	}
	if p := c.String(sweepCSVFlag.Name); p != "" {
		if err := safecsv.WriteFile(p, table); err != nil {
			return err
		}
	}
	switch format {
	case formatCSV:
		return writeCSV(c, table)
	case formatJSON:
		return nil // printed at the end, with the head
	}
	w := c.App.Writer
	fmt.Fprintf(w, "%d configurations by %s, ranked by validation %s (mean ± sd over folds):\n", len(res.Rows), res.Protocol, res.Metric)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	for i, row := range table {
		if i > 0 && len(row) >= 4 && row[len(row)-1] != "" {
			n := len(row)
			row = append(append([]string(nil), row[:n-4]...), row[n-4]+" ± "+row[n-3], row[n-2]+"s", row[n-1])
		} else if i == 0 {
			n := len(row)
			row = append(append([]string(nil), row[:n-4]...), row[n-4]+" ± sd", "time", "run")
		}
		fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
	}
	tw.Flush()
	if len(res.Rows) > 0 && res.Rows[0].Error == "" {
		fmt.Fprintf(w, "best: %s\n", res.Rows[0].Command)
	}
	return nil
}

func plotSweep(path string, grid experiment.Grid, res sweepResult, models bool) error {
	var sweeps []report.Sweep
	axes := append([]experiment.Axis(nil), grid...)
	if models {
		axes = append(axes, experiment.Axis{Name: "model"})
	}
	for _, a := range axes {
		s := report.Sweep{Param: a.Name, Log: experiment.LogScale(a.Name)}
		for _, r := range res.Rows {
			v := r.Values[a.Name]
			if a.Name == "model" {
				v = shortModel(r.Model)
			}
			s.Values, s.Scores = append(s.Values, v), append(s.Scores, r.Score)
		}
		sweeps = append(sweeps, s)
	}
	return report.SweepScores(path, res.Metric, sweeps, 0)
}

// retrainBest trains the best configuration on every training image and
// saves it, recording the sweep it came from in the head and as a run.
func retrainBest(c *cli.Context, res sweepResult, path string) error {
	best := res.Rows[0]
	ex := best.ex
	cfg := experiment.Config{Protocol: experiment.Protocol{Kind: experiment.Fit}, Options: best.trial.Options}
	if !c.Bool(quietFlag.Name) {
		fmt.Fprintf(c.App.ErrWriter, "retraining the best configuration (%s) on all %d training images\n", ex.protocolLabel(best), ex.data.Len())
	}
	r, err := ex.run(c, cfg)
	if err != nil {
		return err
	}
	origin := &head.Origin{Sweep: res.Sweep, Run: best.Run, Configuration: ex.protocolLabel(best), Metric: res.Metric, Score: best.Score, SD: best.SD, Protocol: res.Protocol}
	if err := ex.saveWith(path, r, origin); err != nil {
		return err
	}
	ex.recordExperiment("train", cfg, r, path, res.Sweep, best.Command)
	fmt.Fprintf(c.App.Writer, "saved head to %s (training accuracy %.4f on %d images)\n", path, r.TrainAccuracy, r.TrainRows)
	return nil
}

func (ex *experimentSetup) protocolLabel(r sweepRow) string {
	var parts []string
	for _, name := range experiment.Params {
		if v, ok := r.Values[name]; ok {
			parts = append(parts, "--"+name+" "+v)
		}
	}
	if len(parts) == 0 {
		return "the defaults"
	}
	return strings.Join(parts, " ")
}

// sweepProgress counts finished configurations: a bar on a terminal,
// a line every plainEvery elsewhere.
type sweepProgress struct {
	bar   *progressbar.ProgressBar
	w     io.Writer
	total int
	quiet bool
	start time.Time
	last  time.Time
}

func newSweepProgress(w io.Writer, total int, quiet bool) *sweepProgress {
	p := &sweepProgress{w: w, total: total, quiet: quiet, start: time.Now(), last: time.Now()}
	if f, ok := w.(*os.File); ok && !quiet && term.IsTerminal(int(f.Fd())) {
		p.bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription("sweep"),
			progressbar.OptionShowCount(), progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
	}
	return p
}

func (p *sweepProgress) update(done int) {
	switch {
	case p.quiet:
	case p.bar != nil:
		p.bar.Set(done)
	case time.Since(p.last) >= plainEvery:
		p.last = time.Now()
		el := time.Since(p.start)
		left := time.Duration(float64(el) / float64(done) * float64(p.total-done)).Round(time.Second)
		fmt.Fprintf(p.w, "sweep: %d/%d configurations, %s elapsed, about %s left\n", done, p.total, el.Round(time.Second), left)
	}
}

func (p *sweepProgress) finish() {
	if p.bar != nil {
		p.bar.Finish()
	}
}

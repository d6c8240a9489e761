package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/transfer-go/transfer/cmd/transfer/internal/report"
	"github.com/transfer-go/transfer/dataset"
	"github.com/transfer-go/transfer/experiment"
	"github.com/transfer-go/transfer/head"
)

// runOptions is how a run's options are recorded: by their flag names, so
// that a record reads like the command that made it.
type runOptions struct {
	Solver        string    `json:"solver"`
	Epochs        int       `json:"epochs,omitempty"`
	BatchSize     int       `json:"batch-size,omitempty"`
	LearningRate  float64   `json:"lr,omitempty"`
	L2            float64   `json:"l2"`
	L2Auto        bool      `json:"l2-auto,omitempty"`
	ClassWeight   string    `json:"class-weight,omitempty"`
	ClassWeights  []float64 `json:"class-weights,omitempty"`
	EarlyStopping int       `json:"early-stopping,omitempty"`
	Seed          uint64    `json:"seed"`
	SplitSeed     uint64    `json:"split-seed"`
	Tol           float64   `json:"tol,omitempty"`
	MaxIter       int       `json:"max-iter,omitempty"`
	Standardize   bool      `json:"standardize,omitempty"`
	Augment       string    `json:"augment,omitempty"`
}

func recordOptions(o head.Options, splitSeed *uint64) runOptions {
	r := runOptions{Solver: o.Solver, L2: o.L2, ClassWeights: o.ClassWeights, EarlyStopping: o.Patience, Seed: o.Seed, SplitSeed: o.Seed, Standardize: o.Standardize}
	if r.Solver == "" {
		r.Solver = head.SolverAdam
	}
	if r.Solver == head.SolverLBFGS {
		r.Tol, r.MaxIter = o.Tol, o.MaxIter
	} else {
		r.Epochs, r.BatchSize, r.LearningRate = o.Epochs, o.BatchSize, o.LearningRate
	}
	if o.Balanced && o.ClassWeights == nil {
		r.ClassWeight = "balanced"
	}
	if splitSeed != nil {
		r.SplitSeed = *splitSeed
	}
	return r
}

// runMetrics are a run's final figures.
type runMetrics struct {
	TrainImages   int      `json:"train_images,omitempty"`
	ValImages     int      `json:"val_images,omitempty"`
	TrainAccuracy float64  `json:"train_accuracy"`
	ValAccuracy   *float64 `json:"val_accuracy,omitempty"`
	ValLoss       *float64 `json:"val_loss,omitempty"`
	ValMacroF1    *float64 `json:"val_macro_f1,omitempty"`
	// Cross-validation: means and standard deviations over folds.
	Folds         int      `json:"folds,omitempty"`
	CVAccuracy    *float64 `json:"cv_accuracy,omitempty"`
	CVAccuracySD  *float64 `json:"cv_accuracy_sd,omitempty"`
	CVLoss        *float64 `json:"cv_loss,omitempty"`
	CVMacroF1     *float64 `json:"cv_macro_f1,omitempty"`
	Diagnosis     string   `json:"diagnosis,omitempty"`
	Seen          int      `json:"seen_in_training,omitempty"`
	ElapsedMillis int64    `json:"elapsed_ms"`
}

func ptr(v float64) *float64 { return &v }

func metricsOf(r *experiment.Result) runMetrics {
	m := runMetrics{TrainImages: r.TrainRows, ValImages: r.ValRows, TrainAccuracy: r.TrainAccuracy, ElapsedMillis: r.Elapsed.Milliseconds()}
	if r.Val != nil {
		m.ValAccuracy, m.ValLoss, m.ValMacroF1 = ptr(r.Val.Accuracy), ptr(r.Val.Loss), ptr(r.Val.MacroF1)
	}
	if r.CV != nil {
		acc, sd := r.Score(experiment.Accuracy)
		loss, _ := r.Score(experiment.Loss)
		f1, _ := r.Score(experiment.MacroF1)
		m.Folds, m.CVAccuracy, m.CVAccuracySD, m.CVLoss, m.CVMacroF1 = len(r.CV.Folds), &acc, &sd, &loss, &f1
		if r.Head == nil {
			m.TrainAccuracy = r.CV.MeanTrainAccuracy
		}
	}
	if r.Verdict != nil {
		m.Diagnosis = string(r.Verdict.Diagnosis)
	}
	return m
}

// historyOf is the curve a run records: the kept head's, else the folds'
// mean.
func historyOf(r *experiment.Result) head.History {
	if len(r.History.Epochs) == 0 && r.CV != nil {
		return r.CV.MeanHistory()
	}
	return r.History
}

// commandLine is the command line of this process, quoted for a POSIX
// shell.
func commandLine(c *cli.Context) string {
	args, _ := c.App.Metadata["args"].([]string)
	if len(args) == 0 {
		return ""
	}
	q := []string{"transfer"}
	for _, a := range args[1:] {
		q = append(q, shellQuote(a))
	}
	return strings.Join(q, " ")
}

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=,:+@%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// record adds a run to the cache. Recording never fails the command: a
// read-only, locked or full cache gets a warning.
func (ex *experimentSetup) record(run dataset.Run) int64 {
	c := ex.c
	info := ex.sess.provenance()
	run.Fingerprint, run.Pixels, run.Model = info.Fingerprint, info.Pixels, ex.sess.model.Path
	if run.DataPath == "" {
		run.DataPath = dataPath(c)
	}
	if run.Command == "" {
		run.Command = commandLine(c)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Context), 5*time.Second)
	defer cancel()
	id, err := ex.sess.cache.AddRun(ctx, run)
	if err != nil {
		fmt.Fprintf(c.App.ErrWriter, "warning: the run was not recorded in the runs registry (%v); its results above stand\n", err)
		return 0
	}
	return id
}

func dataPath(c *cli.Context) string {
	if p := c.String(manifestFlag.Name); p != "" {
		return absPath(p)
	}
	return absPath(c.String(dataFlag.Name))
}

// recordExperiment records a train run or a sweep's configuration.
func (ex *experimentSetup) recordExperiment(kind string, cfg experiment.Config, r *experiment.Result, headPath string, sweep int64, command string) int64 {
	var val *head.Data
	if ex.protocol.Kind == experiment.Separate {
		val = ex.protocol.Val
	}
	run := dataset.Run{Kind: kind, Sweep: sweep, Command: command, Data: experiment.DataFingerprint(ex.set.Classes, ex.data, val), Protocol: cfg.Protocol.String()}
	opts := recordOptions(r.Options, cfg.SplitSeed)
	opts.L2Auto = kind == "train" && ex.c.String(l2Flag.Name) == "auto"
	opts.Augment = ex.c.String(augmentFlag.Name)
	run.Options, _ = json.Marshal(opts)
	run.History, _ = json.Marshal(historyOf(r))
	run.Metrics, _ = json.Marshal(metricsOf(r))
	if headPath != "" {
		run.HeadPath, run.HeadSHA256 = absPath(headPath), fileSHA256(headPath)
	}
	return ex.record(run)
}

func fileSHA256(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func runsCommand() *cli.Command {
	return &cli.Command{
		Name:  "runs",
		Usage: "list, show, compare and remove the recorded runs of train, sweep and eval",
		Description: "Every train, eval and sweep configuration is recorded in the cache: its command line, backbone, data fingerprint, " +
			"protocol, options, per-epoch history, metrics and the head it wrote.",
		Subcommands: []*cli.Command{
			{
				Name: "list", Usage: "list runs, newest first",
				Flags:  []cli.Flag{cacheFlag, runsModelFlag, runsDataFlag, runsSinceFlag, runsKindFlag, runsSweepFlag, formatFlag, jsonFlag},
				Action: runsList,
			},
			{
				Name: "show", Usage: "show one run", ArgsUsage: "ID",
				Flags:  []cli.Flag{cacheFlag, runsCommandFlag, formatFlag, jsonFlag},
				Action: runsShow,
			},
			{
				Name: "compare", Usage: "options and metrics of runs side by side; differing options are marked", ArgsUsage: "ID ID...",
				Flags:  []cli.Flag{cacheFlag, plotFlag, formatFlag, jsonFlag},
				Action: runsCompare,
			},
			{
				Name: "rm", Usage: "remove runs from the registry (their heads and embeddings stay)", ArgsUsage: "ID...",
				Flags:  []cli.Flag{cacheFlag},
				Action: runsRemove,
			},
		},
	}
}

// runView is a run as commands print it.
// runView is a recorded run as runs list and runs show print it in JSON
// (docs/formats.md, docs/schema/run.schema.json).
type runView struct {
	Format      string          `json:"format"`
	Version     int             `json:"version"`
	ID          int64           `json:"id"`
	Created     time.Time       `json:"created"`
	Kind        string          `json:"kind"`
	Command     string          `json:"command"`
	Sweep       int64           `json:"sweep,omitempty"`
	Model       string          `json:"model"`
	Fingerprint string          `json:"fingerprint"`
	Pixels      string          `json:"pixels"`
	Data        string          `json:"data"`
	DataPath    string          `json:"data_path"`
	Protocol    string          `json:"protocol"`
	Options     json.RawMessage `json:"options"`
	Metrics     json.RawMessage `json:"metrics"`
	History     json.RawMessage `json:"history,omitempty"`
	HeadPath    string          `json:"head,omitempty"`
	HeadSHA256  string          `json:"head_sha256,omitempty"`
	// Unreadable names the recorded fields that do not hold valid JSON
	// (a damaged row); they are printed as null, and the rest of the
	// list is printed as it is.
	Unreadable []string `json:"unreadable,omitempty"`
}

// The format and version of the runs JSON; a reader refuses newer ones.
const (
	runFormat  = "transfer-run"
	runVersion = 1
)

func viewOf(r dataset.Run, history bool) runView {
	v := runView{Format: runFormat, Version: runVersion, ID: r.ID, Created: r.Created, Kind: r.Kind, Command: r.Command, Sweep: r.Sweep, Model: r.Model, Fingerprint: r.Fingerprint, Pixels: r.Pixels,
		Data: r.Data, DataPath: r.DataPath, Protocol: r.Protocol, Options: r.Options, Metrics: r.Metrics, HeadPath: r.HeadPath, HeadSHA256: r.HeadSHA256}
	if history {
		v.History = r.History
	}
	for _, f := range []struct {
		name string
		raw  *json.RawMessage
	}{{"options", &v.Options}, {"metrics", &v.Metrics}, {"history", &v.History}} {
		if len(*f.raw) > 0 && !json.Valid(*f.raw) {
			*f.raw = json.RawMessage("null")
			v.Unreadable = append(v.Unreadable, f.name)
		}
	}
	if len(v.Options) == 0 {
		v.Options = json.RawMessage("null")
	}
	if len(v.Metrics) == 0 {
		v.Metrics = json.RawMessage("null")
	}
	return v
}

func openRuns(c *cli.Context) (*dataset.Cache, error) {
	p := c.String(cacheFlag.Name)
	if _, err := os.Stat(p); err != nil {
		return nil, usageError{fmt.Errorf("no cache at %s, so no runs: train or sweep first, or pass --cache", p)}
	}
	return dataset.OpenCacheReadOnly(p)
}

func runIDs(c *cli.Context, least int) ([]int64, error) {
	if c.NArg() < least {
		return nil, usageError{fmt.Errorf("give at least %d run ID (see transfer runs list)", least)}
	}
	var ids []int64
	for _, a := range c.Args().Slice() {
		id, err := strconv.ParseInt(strings.TrimPrefix(a, "#"), 10, 64)
		if err != nil || id < 1 {
			return nil, usageError{fmt.Errorf("run ID %q is not a positive number (see transfer runs list)", a)}
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func getRun(c *cli.Context, cache *dataset.Cache, id int64) (dataset.Run, error) {
	r, err := cache.Run(c.Context, id)
	if errors.Is(err, dataset.ErrNoRun) {
		return r, usageError{fmt.Errorf("cache %s: %w", cache.Path(), err)}
	}
	return r, err
}

// summary is a run's headline figure: the validation accuracy it measured.
func summary(r dataset.Run) string {
	var m runMetrics
	if json.Unmarshal(r.Metrics, &m) != nil {
		return "?"
	}
	switch {
	case m.CVAccuracy != nil:
		return fmt.Sprintf("cv accuracy %.4f ± %.4f", *m.CVAccuracy, *m.CVAccuracySD)
	case m.ValAccuracy != nil && r.Kind == "eval":
		return fmt.Sprintf("accuracy %.4f on %d", *m.ValAccuracy, m.ValImages)
	case m.ValAccuracy != nil:
		return fmt.Sprintf("val accuracy %.4f", *m.ValAccuracy)
	}
	return fmt.Sprintf("train accuracy %.4f", m.TrainAccuracy)
}

func runsList(c *cli.Context) error {
	format, err := outputFormat(c, formatText, formatJSON, formatCSV)
	if err != nil {
		return err
	}
	f := dataset.RunFilter{Model: c.String(runsModelFlag.Name), Data: c.String(runsDataFlag.Name), Kind: c.String(runsKindFlag.Name), Sweep: c.Int64(runsSweepFlag.Name)}
	if s := c.String(runsSinceFlag.Name); s != "" {
		if f.Since, err = parseSince(s, time.Now()); err != nil {
			return usageError{err}
		}
	}
	cache, err := openRuns(c)
	if err != nil {
		return err
	}
	defer cache.Close()
	runs, err := cache.Runs(c.Context, f)
	if err != nil {
		return err
	}
	if format == formatJSON {
		views := make([]runView, len(runs))
		for i, r := range runs {
			views[i] = viewOf(r, false)
		}
		return printJSONIf(c, views)
	}
	if format == formatCSV {
		rows := [][]string{{"id", "created", "kind", "sweep", "model", "protocol", "result", "options"}}
		for _, r := range runs {
			rows = append(rows, []string{strconv.FormatInt(r.ID, 10), r.Created.UTC().Format(time.RFC3339), r.Kind, strconv.FormatInt(r.Sweep, 10),
				r.Model, r.Protocol, summary(r), compactOptions(r.Options)})
		}
		return writeCSV(c, rows)
	}
	if len(runs) == 0 {
		fmt.Fprintln(c.App.ErrWriter, "no runs recorded (train, sweep and eval record theirs)")
		return nil
	}
	tw := tabwriter.NewWriter(c.App.Writer, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCREATED\tKIND\tMODEL\tPROTOCOL\tRESULT\tOPTIONS")
	for _, r := range runs {
		kind := r.Kind
		if r.Sweep != 0 {
			kind = fmt.Sprintf("sweep#%d", r.Sweep)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Created.Local().Format("2006-01-02 15:04"), kind, shortModel(r.Model), r.Protocol, summary(r), compactOptions(r.Options))
	}
	return tw.Flush()
}

// parseSince reads --since: a duration back from now (36h, 7d) or a date.
func parseSince(s string, now time.Time) (time.Time, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(d); err == nil && n >= 0 {
			return now.AddDate(0, 0, -n), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("--since %q: want a duration back from now (36h, 7d) or a date (2026-11-29)", s)
}

func shortModel(m string) string {
	if i := strings.LastIndexByte(m, '/'); i >= 0 {
		return m[i+1:]
	}
	return m
}

// compactOptions spells recorded options as flags, leaving out seeds.
func compactOptions(raw json.RawMessage) string {
	var m map[string]any
	if decodeNumbers(raw, &m) != nil {
		return ""
	}
	var parts []string
	for _, k := range optionOrder(m) {
		if k == "seed" || k == "split-seed" {
			continue
		}
		parts = append(parts, "--"+k+" "+fmt.Sprint(m[k]))
	}
	return strings.Join(parts, " ")
}

// optionOrder lists recorded option names in runOptions' order.
func optionOrder(m map[string]any) []string {
	var keys []string
	for _, k := range []string{"solver", "epochs", "batch-size", "lr", "l2", "l2-auto", "class-weight", "class-weights", "early-stopping", "tol", "max-iter", "standardize", "augment", "seed", "split-seed"} {
		if _, ok := m[k]; ok {
			keys = append(keys, k)
		}
	}
	return keys
}

func runsShow(c *cli.Context) error {
	format, err := outputFormat(c, formatText, formatJSON)
	if err != nil {
		return err
	}
	ids, err := runIDs(c, 1)
	if err != nil {
		return err
	}
	cache, err := openRuns(c)
	if err != nil {
		return err
	}
	defer cache.Close()
	r, err := getRun(c, cache, ids[0])
	if err != nil {
		return err
	}
	if c.Bool(runsCommandFlag.Name) {
		fmt.Fprintln(c.App.Writer, r.Command)
		return nil
	}
	if format == formatJSON {
		return printJSONIf(c, viewOf(r, true))
	}
	w := c.App.Writer
	fmt.Fprintf(w, "run %d, %s, %s\n", r.ID, r.Kind, r.Created.Local().Format(time.RFC3339))
	if r.Sweep != 0 {
		fmt.Fprintf(w, "sweep     %d\n", r.Sweep)
	}
	fmt.Fprintf(w, "command   %s\nmodel     %s (fingerprint %.12s, pixels %s)\ndata      %s (fingerprint %.12s)\nprotocol  %s\noptions   %s\nresult    %s\n",
		r.Command, r.Model, r.Fingerprint, r.Pixels, r.DataPath, r.Data, r.Protocol, compactOptions(r.Options), summary(r))
	if r.HeadPath != "" {
		fmt.Fprintf(w, "head      %s (sha256 %.12s)\n", r.HeadPath, r.HeadSHA256)
	}
	var m map[string]any
	if decodeNumbers(r.Metrics, &m) == nil {
		fmt.Fprintln(w, "metrics:")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, k := range sortedKeys(m) {
			fmt.Fprintf(tw, "  %s\t%v\n", k, m[k])
		}
		tw.Flush()
	}
	var h head.History
	if json.Unmarshal(r.History, &h) == nil && len(h.Epochs) > 0 {
		fmt.Fprintf(w, "history: %d epochs; last: %s\n", len(h.Epochs), h.Last())
	}
	return nil
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func runsCompare(c *cli.Context) error {
	format, err := outputFormat(c, formatText, formatJSON)
	if err != nil {
		return err
	}
	ids, err := runIDs(c, 2)
	if err != nil {
		return err
	}
	if err := checkPlot(c); err != nil {
		return err
	}
	cache, err := openRuns(c)
	if err != nil {
		return err
	}
	defer cache.Close()
	var runs []dataset.Run
	for _, id := range ids {
		r, err := getRun(c, cache, id)
		if err != nil {
			return err
		}
		runs = append(runs, r)
	}
	if p := c.String(plotFlag.Name); p != "" {
		var curves []report.Curve
		for _, r := range runs {
			var h head.History
			if json.Unmarshal(r.History, &h) == nil && len(h.Epochs) > 0 {
				curves = append(curves, report.Curve{Name: fmt.Sprintf("run %d", r.ID), History: h})
			}
		}
		if err := report.CompareCurves(p, "learning curves of the runs compared", curves); err != nil {
			return err
		}
		fmt.Fprintf(c.App.ErrWriter, "plotted the runs' learning curves to %s\n", p)
	}
	if format == formatJSON {
		views := make([]runView, len(runs))
		for i, r := range runs {
			views[i] = viewOf(r, false)
		}
		return printJSONIf(c, views)
	}
	writeComparison(c.App.Writer, runs)
	return nil
}

// writeComparison prints options and metrics in a column per run; rows
// whose values differ are marked with *.
func writeComparison(w io.Writer, runs []dataset.Run) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(name string, vals []string) {
		mark := " "
		for _, v := range vals[1:] {
			if v != vals[0] {
				mark = "*"
			}
		}
		fmt.Fprintf(tw, "%s %s\t%s\n", mark, name, strings.Join(vals, "\t"))
	}
	ids := make([]string, len(runs))
	for i, r := range runs {
		ids[i] = "run " + strconv.FormatInt(r.ID, 10)
	}
	fmt.Fprintf(tw, "  \t%s\n", strings.Join(ids, "\t"))
	field := func(name string, get func(dataset.Run) string) {
		vals := make([]string, len(runs))
		for i, r := range runs {
			vals[i] = get(r)
		}
		row(name, vals)
	}
	field("kind", func(r dataset.Run) string { return r.Kind })
	field("model", func(r dataset.Run) string { return shortModel(r.Model) })
	field("data", func(r dataset.Run) string { return fmt.Sprintf("%.12s", r.Data) })
	field("protocol", func(r dataset.Run) string { return r.Protocol })
	for _, part := range []struct {
		title string
		raw   func(dataset.Run) json.RawMessage
	}{{"option", func(r dataset.Run) json.RawMessage { return r.Options }}, {"metric", func(r dataset.Run) json.RawMessage { return r.Metrics }}} {
		maps := make([]map[string]any, len(runs))
		keys := map[string]bool{}
		for i, r := range runs {
			decodeNumbers(part.raw(r), &maps[i])
			for k := range maps[i] {
				keys[k] = true
			}
		}
		all := map[string]any{}
		for k := range keys {
			all[k] = true
		}
		names := optionOrder(all)
		if part.title == "metric" {
			names = sortedKeys(all)
		}
		for _, k := range names {
			vals := make([]string, len(runs))
			for i := range runs {
				if v, ok := maps[i][k]; ok {
					vals[i] = formatValue(v)
				} else {
					vals[i] = "-"
				}
			}
			row(part.title+" "+k, vals)
		}
	}
	tw.Flush()
}

func formatValue(v any) string {
	if n, ok := v.(json.Number); ok {
		if _, err := n.Int64(); err == nil {
			return n.String()
		}
		if f, err := n.Float64(); err == nil {
			return strconv.FormatFloat(f, 'g', 6, 64)
		}
	}
	return fmt.Sprint(v)
}

// decodeNumbers reads JSON keeping numbers as written, so that 64-bit
// seeds are not rounded to float64.
func decodeNumbers(raw json.RawMessage, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	return dec.Decode(v)
}

func runsRemove(c *cli.Context) error {
	ids, err := runIDs(c, 1)
	if err != nil {
		return err
	}
	if _, err := os.Stat(c.String(cacheFlag.Name)); err != nil {
		return usageError{fmt.Errorf("no cache at %s: pass --cache", c.String(cacheFlag.Name))}
	}
	cache, err := dataset.OpenCache(c.String(cacheFlag.Name))
	if err != nil {
		return err
	}
	defer cache.Close()
	// "runs rm 3 4 3" names two runs: a repeated ID is one removal.
	slices.Sort(ids)
	ids = slices.Compact(ids)
	n, err := cache.RemoveRuns(c.Context, ids)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.ErrWriter, "removed %d of %d runs\n", n, len(ids))
	if n < len(ids) {
		return usageError{fmt.Errorf("%d of the IDs were not recorded runs (see transfer runs list)", len(ids)-n)}
	}
	return nil
}

// recordEval records an eval: the head measured and its figures.
func recordEval(c *cli.Context, set *dataset.Set, sess *session, data head.Data, ev experiment.Evaluation) {
	ex := &experimentSetup{c: c, set: set, sess: sess, data: data}
	headPath := c.String(headFlag.Name)
	m := runMetrics{ValImages: data.Len(), ValAccuracy: ptr(ev.Accuracy), ValLoss: ptr(ev.Loss), ValMacroF1: ptr(ev.MacroF1), Seen: len(ev.Seen)}
	run := dataset.Run{Kind: "eval", Data: experiment.DataFingerprint(set.Classes, data, nil), Protocol: "eval",
		HeadPath: absPath(headPath), HeadSHA256: fileSHA256(headPath)}
	run.Options, _ = json.Marshal(map[string]string{"head": absPath(headPath)})
	run.Metrics, _ = json.Marshal(m)
	ex.record(run)
}

package experiment

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/transfer-go/transfer/head"
)

// Config is one experiment: a protocol and the training options.
type Config struct {
	Protocol Protocol
	Options  head.Options
	// Final, with cross-validation, also trains the head to keep on every
	// row once the folds are done. Other protocols always train one.
	Final bool
	// SplitSeed, if set, drives the split or the folds instead of
	// Options.Seed, which then drives only the weights and shuffles: a
	// sweep scores every configuration on the same folds.
	SplitSeed *uint64
	// OnTrain, if set, is called before the kept head's training starts,
	// with its training and validation row counts (for logging).
	OnTrain func(train, val int)
}

// Result is an experiment's outcome.
type Result struct {
	Protocol string `json:"protocol"`
	// TrainRows and ValRows count the kept head's rows; ValRows is 0
	// without validation.
	TrainRows int `json:"train_rows"`
	ValRows   int `json:"val_rows"`
	// History, TrainAccuracy and Val describe the kept head, when one
	// was trained; Val only with held-out rows.
	History       head.History  `json:"history"`
	TrainAccuracy float64       `json:"train_accuracy"`
	Val           *head.Metrics `json:"val,omitempty"`
	// CV is the cross-validation's account.
	CV *head.CVResult `json:"cross_validation,omitempty"`
	// Verdict reads the gap between training and validation: the held-out
	// rows' for a split, the folds' for cross-validation.
	Verdict *head.Verdict `json:"verdict,omitempty"`
	// Head is the kept head; nil after a cross-validation without Final.
	Head *head.Dense `json:"-"`
	// Options are the options the head trained with (class weights of
	// Balanced filled in by head.Train are not).
	Options head.Options `json:"-"`
	// Train and Validation are the rows (indices into the data) of the kept
	// head's two sides; Validation indexes Protocol.Val for Separate.
	Train, Validation []int `json:"-"`
	// Sides is HoldOut's content split, key → true for validation, to be
	// kept for the next run's Prior.
	Sides map[string]bool `json:"-"`
	// Withheld lists validation rows that repeat a training row's content
	// and so were not validated on: moved to training (LastPerClass) or
	// left out (Separate). Indices as Validation's.
	Withheld []int         `json:"-"`
	Elapsed  time.Duration `json:"elapsed_ns"`
}

// Run trains and validates a head on data as cfg says. A cancelled ctx
// stops it with ctx's error.
func Run(ctx context.Context, data head.Data, cfg Config) (*Result, error) {
	start := time.Now()
	p := cfg.Protocol
	if err := p.check(); err != nil {
		return nil, err
	}
	res := &Result{Protocol: p.String(), Options: cfg.Options}
	o := cfg.Options
	used := Used(o)
	splitSeed := cfg.splitSeed()
	if p.Kind == CrossValidation {
		rs, err := crossValidateAt(ctx, data, cfg, []int{o.Epochs})
		if err != nil {
			return nil, err
		}
		res.CV, res.Verdict = rs[0].CV, rs[0].Verdict
		if !cfg.Final {
			res.Elapsed = time.Since(start)
			return res, nil
		}
		o.Patience = 0
	}
	train, val, err := sides(data, p, splitSeed, res)
	if err != nil {
		return nil, err
	}
	res.TrainRows = train.Len()
	if val != nil {
		res.ValRows = val.Len()
	}
	if cfg.OnTrain != nil {
		cfg.OnTrain(res.TrainRows, res.ValRows)
	}
	layer, hist, err := head.Train(ctx, train, val, o)
	res.History = hist
	if err != nil {
		return res, err
	}
	res.Head = layer
	res.TrainAccuracy = head.Evaluate(layer, train).Accuracy
	if val != nil {
		m := head.Evaluate(layer, *val)
		res.Val = &m
		v := head.Judge(head.Evidence{History: hist, TrainAccuracy: res.TrainAccuracy, ValAccuracy: m.Accuracy, ValImages: val.Len(), Used: used})
		res.Verdict = &v
	}
	res.Elapsed = time.Since(start)
	return res, nil
}

// splitSeed is the seed of the split or the folds: SplitSeed if set, else
// the training seed.
func (cfg Config) splitSeed() uint64 {
	if cfg.SplitSeed != nil {
		return *cfg.SplitSeed
	}
	return cfg.Options.Seed
}

// crossValidateAt runs cfg's cross-validation, without a kept head, once
// for each epoch count: the results of Run for each, from one run per fold
// of the longest (head.CrossValidateFoldsAt). The time is shared among them
// in proportion to their epochs.
func crossValidateAt(ctx context.Context, data head.Data, cfg Config, epochs []int) ([]*Result, error) {
	start := time.Now()
	o := cfg.Options
	folds, err := head.StratifiedFolds(data.Y, data.Classes, cfg.Protocol.Folds, cfg.splitSeed(), data.Keys...)
	if err != nil {
		return nil, err
	}
	cvs, err := head.CrossValidateFoldsAt(ctx, data, folds, o, epochs)
	if err != nil {
		return nil, err
	}
	elapsed, total := time.Since(start), 0
	for _, e := range epochs {
		total += e
	}
	out := make([]*Result, len(epochs))
	for k, e := range epochs {
		oe := o
		oe.Epochs = e
		cv := cvs[k]
		v := cv.Judge(Used(oe))
		out[k] = &Result{Protocol: cfg.Protocol.String(), Options: oe, CV: &cv, Verdict: &v, Elapsed: elapsed * time.Duration(e) / time.Duration(total)}
	}
	return out, nil
}

// sides splits data into the kept head's training and validation rows.
func sides(data head.Data, p Protocol, seed uint64, res *Result) (head.Data, *head.Data, error) {
	var s head.Split
	var err error
	switch p.Kind {
	case Fit, "", CrossValidation:
		s.Train = make([]int, data.Len())
		for i := range s.Train {
			s.Train[i] = i
		}
		res.Train = s.Train
		return data, nil, nil
	case Separate:
		val := *p.Val
		if val.Dim() != data.Dim() || val.Classes != data.Classes {
			return head.Data{}, nil, fmt.Errorf("the validation set has %d-d embeddings and %d classes, the training set %d and %d", val.Dim(), val.Classes, data.Dim(), data.Classes)
		}
		res.Train = allRows(data.Len())
		res.Validation = allRows(val.Len())
		if data.Keys != nil && val.Keys != nil {
			res.Validation, res.Withheld = withhold(res.Validation, val.Keys, keySet(data.Keys, res.Train))
			if len(res.Validation) == 0 {
				return head.Data{}, nil, errors.New("every validation image is also a training image")
			}
			if len(res.Withheld) > 0 {
				v := val.Subset(res.Validation)
				return data, &v, nil
			}
		}
		return data, &val, nil
	case HoldOut:
		if data.Keys != nil {
			s, res.Sides, err = head.ContentSplit(data.Y, data.Keys, data.Classes, p.Fraction, seed, p.Prior)
		} else {
			s, err = head.StratifiedSplit(data.Y, data.Classes, p.Fraction, seed)
		}
	case LastPerClass:
		s, err = head.LastPerClass(data.Y, data.Classes, p.Last)
		if err == nil && data.Keys != nil {
			// A validation row that repeats a training image's content
			// would be validated on what the head learnt: it trains.
			s.Val, res.Withheld = withhold(s.Val, data.Keys, keySet(data.Keys, s.Train))
			s.Train = append(s.Train, res.Withheld...)
			slices.Sort(s.Train)
		}
	}
	if err != nil {
		return head.Data{}, nil, err
	}
	res.Train, res.Validation = s.Train, s.Val
	train, val := data.Subset(s.Train), data.Subset(s.Val)
	return train, &val, nil
}

func allRows(n int) []int {
	r := make([]int, n)
	for i := range r {
		r[i] = i
	}
	return r
}

// withhold splits validation rows into those to validate on and those
// whose content the training rows hold (seen).
func withhold(rows []int, keys []string, seen map[string]bool) (kept, withheld []int) {
	for _, i := range rows {
		if seen[keys[i]] {
			withheld = append(withheld, i)
		} else {
			kept = append(kept, i)
		}
	}
	return kept, withheld
}

func keySet(keys []string, rows []int) map[string]bool {
	m := make(map[string]bool, len(rows))
	for _, i := range rows {
		m[keys[i]] = true
	}
	return m
}

// Used lists what options already do against overfitting, for the
// verdict's advice.
func Used(o head.Options) head.Used {
	return head.Used{L2: o.L2 > 0, EarlyStopping: o.Patience > 0, Epochs: o.Epochs, LearningRate: o.LearningRate}
}

// Metric names what a sweep ranks by.
type Metric string

// The metrics.
const (
	Accuracy Metric = "accuracy"
	Loss     Metric = "loss"
	MacroF1  Metric = "macro-f1"
)

// ParseMetric reads a --metric value.
func ParseMetric(s string) (Metric, error) {
	switch m := Metric(s); m {
	case Accuracy, Loss, MacroF1:
		return m, nil
	}
	return "", fmt.Errorf("unknown metric %q (want accuracy, loss or macro-f1)", s)
}

// Better reports whether a is a better score than b under m.
func (m Metric) Better(a, b float64) bool {
	if math.IsNaN(b) {
		return !math.IsNaN(a)
	}
	if m == Loss {
		return a < b
	}
	return a > b
}

// Score is the validation metric of a result: the mean and sample standard
// deviation over folds for cross-validation, the held-out value (sd 0) for
// a split. It is NaN without validation.
func (r *Result) Score(m Metric) (mean, sd float64) {
	pick := func(acc, loss, f1 float64) float64 {
		switch m {
		case Loss:
			return loss
		case MacroF1:
			return f1
		}
		return acc
	}
	switch {
	case r.CV != nil:
		var v []float64
		for _, f := range r.CV.Folds {
			v = append(v, pick(f.ValAccuracy, f.ValLoss, f.ValMacroF1))
		}
		return meanSD(v)
	case r.Val != nil:
		return pick(r.Val.Accuracy, r.Val.Loss, r.Val.MacroF1), 0
	}
	return math.NaN(), math.NaN()
}

func meanSD(v []float64) (mean, sd float64) {
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	if len(v) < 2 {
		return mean, 0
	}
	for _, x := range v {
		sd += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(sd / float64(len(v)-1))
}

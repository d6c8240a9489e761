package experiment

import (
	"fmt"
	"strconv"

	"github.com/transfer-go/transfer/head"
)

// Kind names a validation protocol.
type Kind string

// The protocols.
const (
	// Fit trains on every row and validates on none.
	Fit Kind = "fit"
	// HoldOut validates on a fraction of each class, chosen by content
	// when the rows have keys (head.ContentSplit), else at random.
	HoldOut Kind = "val-split"
	// LastPerClass validates on the last rows of each class, the
	// tutorial's 30/10 split of the cats.
	LastPerClass Kind = "val-last"
	// Separate validates on another labelled set.
	Separate Kind = "val-data"
	// CrossValidation trains k heads on stratified folds.
	CrossValidation Kind = "cv"
)

// Protocol says how a run is validated.
type Protocol struct {
	Kind Kind
	// Fraction is HoldOut's validation fraction.
	Fraction float64
	// Last is LastPerClass's number of rows per class.
	Last int
	// Folds is CrossValidation's k.
	Folds int
	// Val is Separate's validation set.
	Val *head.Data
	// Prior holds HoldOut's sides given by earlier runs (content key →
	// true for validation), so that added images move no old one.
	Prior map[string]bool
}

// String names the protocol as its flag does: "cv=5", "val-split=0.2".
func (p Protocol) String() string {
	switch p.Kind {
	case HoldOut:
		return "val-split=" + strconv.FormatFloat(p.Fraction, 'g', -1, 64)
	case LastPerClass:
		return "val-last=" + strconv.Itoa(p.Last)
	case CrossValidation:
		return "cv=" + strconv.Itoa(p.Folds)
	case "":
		return string(Fit)
	}
	return string(p.Kind)
}

// Validates reports whether the protocol measures held-out rows.
func (p Protocol) Validates() bool { return p.Kind != Fit && p.Kind != "" }

// Check reports a protocol whose own parameters cannot work (folds,
// fraction, rows held out, kind), before any data is at hand: a command
// checks it before it embeds an image. Run checks the rest (a Separate
// protocol's validation set).
func (p Protocol) Check() error {
	if p.Kind == Separate {
		return nil
	}
	return p.check()
}

func (p Protocol) check() error {
	switch p.Kind {
	case Fit, "", CrossValidation:
		if p.Kind == CrossValidation && p.Folds < 2 {
			return fmt.Errorf("cross-validation needs at least 2 folds, got %d", p.Folds)
		}
	case HoldOut:
		if !(p.Fraction > 0 && p.Fraction < 1) {
			return fmt.Errorf("validation fraction %v is not between 0 and 1", p.Fraction)
		}
	case LastPerClass:
		if p.Last < 1 {
			return fmt.Errorf("holding out the last %d rows of each class: need at least 1", p.Last)
		}
	case Separate:
		if p.Val == nil {
			return fmt.Errorf("the %s protocol needs a validation set", p.Kind)
		}
	default:
		return fmt.Errorf("unknown protocol %q", p.Kind)
	}
	return nil
}

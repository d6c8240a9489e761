package head

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// OverfitGap is the gap between training and validation accuracy below
// which no verdict speaks of a gap at all: 10 percentage points.
const OverfitGap = 0.10

// Diagnosis names what a run's curves and accuracies show.
type Diagnosis string

// The diagnoses Judge gives.
const (
	// Fits: no sign of trouble the numbers can show.
	Fits Diagnosis = "fits"
	// Overfitting: the head does markedly better on its training images
	// than on validation, beyond the noise of the validation set, and
	// either val_loss rose while the training loss kept falling or the
	// training images are all but memorised.
	Overfitting Diagnosis = "overfitting"
	// NotConverged: training accuracy is low and the training loss still
	// falling; more epochs (or a higher learning rate) would change it.
	NotConverged Diagnosis = "not converged"
	// Underfitting: training accuracy is low and no longer improving.
	Underfitting Diagnosis = "underfitting"
	// TooFewToTell: a gap that the validation set is too small to tell
	// from chance.
	TooFewToTell Diagnosis = "too few validation images to tell"
)

// Evidence is what a verdict is judged from.
type Evidence struct {
	// History holds the per-epoch losses (with validation); for
	// cross-validation, the folds' mean curves. It may be empty.
	History History
	// TrainAccuracy and ValAccuracy are the final accuracies (for
	// cross-validation, the mean training and the pooled validation
	// accuracy), ValImages the number of validation predictions behind
	// the latter.
	TrainAccuracy, ValAccuracy float64
	ValImages                  int
	// Used says what the run already did, so that advice names only
	// what it did not.
	Used Used
}

// Used lists the remedies a run already applied.
type Used struct {
	L2            bool
	EarlyStopping bool
	CV            bool
	Epochs        int
	LearningRate  float64
}

// Verdict is Judge's reading of a run.
type Verdict struct {
	Diagnosis Diagnosis `json:"diagnosis"`
	// Gap is training minus validation accuracy; Noise the half-width of
	// the validation accuracy's 95% interval (binomial, n = ValImages).
	Gap   float64 `json:"gap"`
	Noise float64 `json:"noise"`
	// ValLossRose is set when val_loss ended above its minimum while the
	// training loss kept falling; MinValLossEpoch is that minimum's epoch.
	ValLossRose     bool `json:"val_loss_rose,omitempty"`
	MinValLossEpoch int  `json:"min_val_loss_epoch,omitempty"`
	// Message says it in a sentence, with advice.
	Message string `json:"message"`
}

// Thresholds of Judge.
const (
	memorised   = 0.98 // training accuracy that counts as memorised
	lowAccuracy = 0.90 // training accuracy below which the head underfits
	risingLoss  = 0.01 // relative fall of the training loss over the last epochs that counts as still falling
)

// Judge reads a run's curves and accuracies. A gap between training and
// validation accuracy counts only beyond the binomial noise of the
// validation accuracy; overfitting needs, besides, val_loss rising while
// the training loss falls, or memorised training images.
func Judge(e Evidence) Verdict {
	v := Verdict{Gap: e.TrainAccuracy - e.ValAccuracy, Noise: binomialNoise(e.ValAccuracy, e.ValImages)}
	eps := e.History.Epochs
	rose, minAt := valLossRose(eps)
	v.ValLossRose, v.MinValLossEpoch = rose, minAt
	significant := v.Gap > v.Noise && v.Gap >= OverfitGap
	pct := func(x float64) float64 { return math.Round(100 * x) }
	// Early stopping that went back to an earlier epoch has settled the
	// question of training longer: its accuracies are the best epoch's.
	restored := e.History.BestEpoch > 0 && e.History.BestEpoch < len(eps)
	switch {
	case significant && (rose || e.TrainAccuracy >= memorised):
		v.Diagnosis = Overfitting
		why := "the training images are all but memorised"
		if rose {
			why = fmt.Sprintf("val_loss has risen since epoch %d while the training loss kept falling", minAt)
		}
		v.Message = fmt.Sprintf("overfitting: training accuracy %.0f%% is %.0f points above validation accuracy %.0f%% (beyond the ±%.0f points of noise on %d validation images), and %s: the head memorises its few training images.%s",
			pct(e.TrainAccuracy), pct(v.Gap), pct(e.ValAccuracy), pct(v.Noise), e.ValImages, why, advise(overfitAdvice(e.Used)))
	case e.TrainAccuracy < lowAccuracy && !restored && stillFalling(eps):
		v.Diagnosis = NotConverged
		v.Message = fmt.Sprintf("not converged: training accuracy is %.0f%% and the training loss is still falling; the numbers say little yet.%s",
			pct(e.TrainAccuracy), advise(convergeAdvice(e.Used)))
	case e.TrainAccuracy < lowAccuracy && !restored:
		v.Diagnosis = Underfitting
		v.Message = fmt.Sprintf("underfitting: training accuracy is only %.0f%% and no longer improving: the head cannot separate the training images with these embeddings and settings.%s",
			pct(e.TrainAccuracy), advise(underfitAdvice(e.Used)))
	case v.Gap >= OverfitGap && !significant:
		v.Diagnosis = TooFewToTell
		v.Message = fmt.Sprintf("too few validation images to tell: the gap of %.0f points between training (%.0f%%) and validation accuracy (%.0f%%) is within the ±%.0f points of noise on %d validation images.%s",
			pct(v.Gap), pct(e.TrainAccuracy), pct(e.ValAccuracy), pct(v.Noise), e.ValImages, advise(tooFewAdvice(e.Used)))
	default:
		v.Diagnosis = Fits
		v.Message = fmt.Sprintf("no sign of overfitting: training accuracy %.0f%%, validation accuracy %.0f%% (±%.0f points on %d images)",
			pct(e.TrainAccuracy), pct(e.ValAccuracy), pct(v.Noise), e.ValImages)
		if restored {
			v.Message = fmt.Sprintf("early stopping kept epoch %d, the lowest val_loss: training accuracy %.0f%%, validation accuracy %.0f%% (±%.0f points on %d images)",
				e.History.BestEpoch, pct(e.TrainAccuracy), pct(e.ValAccuracy), pct(v.Noise), e.ValImages)
		}
		if v.Gap >= OverfitGap && !restored {
			v.Message += fmt.Sprintf("; the gap of %.0f points is real, but val_loss is still falling", pct(v.Gap))
		}
		v.Message += "."
	}
	return v
}

// binomialNoise is the half-width of the 95% interval of an accuracy p
// measured on n images, with p smoothed as (k+1)/(n+2) so that 0% and 100%
// on a few images do not claim certainty.
func binomialNoise(p float64, n int) float64 {
	if n <= 0 {
		return 1
	}
	k := math.Round(p * float64(n))
	ps := (k + 1) / float64(n+2)
	return 1.96 * math.Sqrt(ps*(1-ps)/float64(n))
}

// valLossRose reports whether the last val_loss is above the run's minimum
// (by more than 1%) while the training loss fell since that minimum's epoch.
func valLossRose(eps []Epoch) (bool, int) {
	if len(eps) < 2 || !eps[0].HasVal {
		return false, 0
	}
	minAt := 0
	for i, e := range eps {
		if e.ValLoss < eps[minAt].ValLoss {
			minAt = i
		}
	}
	last := eps[len(eps)-1]
	rose := minAt < len(eps)-1 && last.ValLoss > eps[minAt].ValLoss*(1+0.01) && last.Loss < eps[minAt].Loss
	return rose, minAt + 1
}

// stillFalling reports whether the training loss fell by more than 1% over
// the last fifth of the epochs (at least the last two).
func stillFalling(eps []Epoch) bool {
	if len(eps) < 2 {
		return len(eps) == 1 // one epoch says nothing of convergence
	}
	k := max(2, len(eps)/5)
	from := eps[max(0, len(eps)-1-k)].Loss
	to := eps[len(eps)-1].Loss
	return to < from*(1-risingLoss)
}

func overfitAdvice(u Used) []string {
	a := []string{"more training images"}
	if !u.L2 {
		a = append(a, "--l2 0.01")
	}
	if !u.EarlyStopping && !u.CV {
		a = append(a, "--early-stopping 5")
	}
	if !u.CV {
		a = append(a, "--cv 5 for an honest estimate")
	}
	return a
}

func convergeAdvice(u Used) []string {
	a := []string{fmt.Sprintf("--epochs %d", max(2*u.Epochs, 40))}
	if u.LearningRate > 0 && u.LearningRate < 0.01 {
		a = append(a, "--lr "+strconv.FormatFloat(3*u.LearningRate, 'g', 3, 64))
	}
	return a
}

func underfitAdvice(u Used) []string {
	var a []string
	if u.L2 {
		a = append(a, "a smaller --l2")
	}
	a = append(a, fmt.Sprintf("--epochs %d", max(2*u.Epochs, 40)), "another backbone (--model)")
	return a
}

func tooFewAdvice(u Used) []string {
	if u.CV {
		return []string{"more images"}
	}
	return []string{"--cv 5, which validates on every image", "more validation images"}
}

func advise(a []string) string {
	if len(a) == 0 {
		return ""
	}
	return " Try " + strings.Join(a, ", ") + "."
}

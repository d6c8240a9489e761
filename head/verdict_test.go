package head_test

import (
	"strings"
	"testing"

	"github.com/transfer-go/transfer/head"
)

// curve builds a history from training and validation losses (and
// training accuracies, which Judge does not read from the curve).
func curve(loss, valLoss []float64) head.History {
	var h head.History
	for i := range loss {
		h.Epochs = append(h.Epochs, head.Epoch{Epoch: i + 1, Loss: loss[i], ValLoss: valLoss[i], HasVal: true})
	}
	return h
}

// TestJudge pins the verdict on constructed runs, among them the ones that
// were misread: an untrained head, a one-image difference on six
// validation images, and the tutorial's own split.
func TestJudge(t *testing.T) {
	tutorialLoss := []float64{0.7025, 0.6859, 0.6699, 0.6543, 0.6391, 0.6244, 0.6102, 0.5963, 0.5829, 0.5699, 0.5573, 0.5451, 0.5332, 0.5218, 0.5106, 0.4998, 0.4893, 0.4791, 0.4692, 0.4596}
	tutorialVal := []float64{0.7183, 0.7181, 0.7183, 0.7190, 0.7201, 0.7217, 0.7237, 0.7259, 0.7285, 0.7313, 0.7344, 0.7377, 0.7412, 0.7450, 0.7489, 0.7530, 0.7573, 0.7618, 0.7663, 0.7710}
	falling := []float64{0.9, 0.7, 0.55, 0.45, 0.38, 0.33, 0.3, 0.28}
	fallingBelow := []float64{0.8, 0.6, 0.45, 0.35, 0.28, 0.23, 0.2, 0.18}
	flat := []float64{0.62, 0.61, 0.605, 0.604, 0.604, 0.604, 0.604, 0.604, 0.604, 0.604}
	cases := []struct {
		name       string
		ev         head.Evidence
		want       head.Diagnosis
		says, nots []string
	}{
		{"the tutorial's split", head.Evidence{History: curve(tutorialLoss, tutorialVal), TrainAccuracy: 0.9667, ValAccuracy: 0.6, ValImages: 10, Used: head.Used{Epochs: 20, LearningRate: 0.001}},
			head.Overfitting, []string{"37 points above", "±31 points of noise on 10 validation images", "val_loss has risen since epoch 2", "the head memorises its few training images", "--l2 0.01", "--early-stopping 5", "--cv 5"}, nil},
		{"an untrained head: --val-last 5 --epochs 3", head.Evidence{History: curve([]float64{0.70, 0.69, 0.67}, []float64{0.72, 0.72, 0.72}), TrainAccuracy: 0.6667, ValAccuracy: 0.5, ValImages: 10, Used: head.Used{Epochs: 3, LearningRate: 0.001}},
			head.NotConverged, []string{"training loss is still falling", "--epochs 40", "--lr 0.003."}, []string{"overfitting"}},
		{"one image in six, val_loss falling below the training loss", head.Evidence{History: curve(falling, fallingBelow), TrainAccuracy: 1, ValAccuracy: 5.0 / 6, ValImages: 6, Used: head.Used{Epochs: 8}},
			head.TooFewToTell, []string{"17 points", "6 validation images", "--cv 5"}, []string{"overfitting:"}},
		{"underfitting", head.Evidence{History: curve(flat, flat), TrainAccuracy: 0.7, ValAccuracy: 0.68, ValImages: 200, Used: head.Used{Epochs: 10, L2: true}},
			head.Underfitting, []string{"only 70%", "a smaller --l2"}, nil},
		{"fits", head.Evidence{History: curve(falling, falling), TrainAccuracy: 0.95, ValAccuracy: 0.93, ValImages: 500},
			head.Fits, []string{"no sign of overfitting", "±2 points on 500 images"}, nil},
		{"a real gap, val_loss still falling", head.Evidence{History: curve(falling, fallingBelow), TrainAccuracy: 0.95, ValAccuracy: 0.75, ValImages: 400},
			head.Fits, []string{"the gap of 20 points is real, but val_loss is still falling"}, nil},
		{"early stopping went back to epoch 2", head.Evidence{History: func() head.History {
			h := curve(tutorialLoss[:17], tutorialVal[:17])
			h.BestEpoch, h.StoppedEarly = 2, true
			return h
		}(), TrainAccuracy: 0.7333, ValAccuracy: 0.5, ValImages: 10, Used: head.Used{Epochs: 40, LearningRate: 0.003, EarlyStopping: true}},
			head.TooFewToTell, []string{"23 points", "10 validation images"}, []string{"--epochs", "--lr"}},
		{"memorised, without a validation curve (cross-validation)", head.Evidence{TrainAccuracy: 1, ValAccuracy: 0.55, ValImages: 40, Used: head.Used{CV: true, L2: true, EarlyStopping: true}},
			head.Overfitting, []string{"all but memorised", "more training images"}, []string{"--l2", "--early-stopping", "--cv"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := head.Judge(tc.ev)
			if v.Diagnosis != tc.want {
				t.Fatalf("diagnosis %q, want %q: %s", v.Diagnosis, tc.want, v.Message)
			}
			for _, s := range tc.says {
				if !strings.Contains(v.Message, s) {
					t.Errorf("message lacks %q: %s", s, v.Message)
				}
			}
			for _, s := range tc.nots {
				if strings.Contains(v.Message, s) {
					t.Errorf("message says %q: %s", s, v.Message)
				}
			}
		})
	}
}

func TestSoftmax(t *testing.T) {
	z := []float64{1000, 0, 1000}
	head.Softmax(z)
	if z[0] != 0.5 || z[1] != 0 || z[2] != 0.5 {
		t.Errorf("softmax of {1000, 0, 1000} = %v", z)
	}
	z = []float64{0, 0, 0, 0}
	head.Softmax(z)
	if z[3] != 0.25 {
		t.Errorf("softmax of zeros = %v", z)
	}
}

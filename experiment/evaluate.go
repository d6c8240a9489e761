package experiment

import "github.com/transfer-go/transfer/head"

// Evaluation is a trained head measured on labelled data.
type Evaluation struct {
	head.Metrics
	// Seen lists the rows whose content the head trained on: their
	// predictions measure memory, not generalisation.
	Seen []int `json:"seen_in_training,omitempty"`
}

// Evaluate measures m on data and finds the rows of data (by their keys)
// that were among m's training images.
func Evaluate(m *head.Model, data head.Data) Evaluation {
	e := Evaluation{Metrics: head.Evaluate(m.Layer, data)}
	if data.Keys != nil && len(m.TrainingImages) > 0 {
		trained := m.TrainedOn()
		for i, k := range data.Keys {
			if trained(k) {
				e.Seen = append(e.Seen, i)
			}
		}
	}
	return e
}

package models

import (
	"github.com/transfer-go/transfer/backbone"
	"github.com/transfer-go/transfer/dataset"
	"github.com/transfer-go/transfer/head"
)

// Provenance describes, for a head file, the embeddings a backbone makes of
// images brought to it by spec: the one place where a backbone's Info
// becomes a head's record. model is the model file's path and catalogue its
// catalogue name, if it has one.
func Provenance(info backbone.Info, spec dataset.PixelSpec, model, catalogue string) head.Provenance {
	return head.Provenance{
		Fingerprint: info.Fingerprint, Pixels: spec.String(), Model: model, Catalogue: catalogue, ModelSHA256: info.ModelSHA256,
		EmbeddingTensor: info.Features.Tensor, Preprocess: info.Preprocess.Name, Layout: info.Layout.String(),
		InputSize: [2]int{info.Width, info.Height},
	}
}

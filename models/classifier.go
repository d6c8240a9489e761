package models

import (
	"encoding/json"
	"fmt"

	"github.com/transfer-go/transfer/backbone"
	"github.com/transfer-go/transfer/dataset"
	"github.com/transfer-go/transfer/internal/onnxgraph"
)

// ClassifierMeta is what an exported classifier's metadata says about the
// images it takes.
type ClassifierMeta struct {
	Classes     []string
	Fingerprint string
	Preprocess  backbone.Preprocess
	Layout      backbone.Layout
	// Pixels is how images were brought to the backbone's input for the
	// head: size, resize mode, filter and JPEG decoder.
	Pixels dataset.PixelSpec
	// Input is the raw-pixel input type, or "" when the model takes
	// preprocessed floats.
	Input PixelType
}

// ReadClassifierMeta reads the metadata Export writes. A model without it
// was not exported by transfer, and the error says so.
func ReadClassifierMeta(m *onnxgraph.Model) (ClassifierMeta, error) {
	props := map[string]string{}
	for _, p := range m.Proto.GetMetadataProps() {
		props[p.GetKey()] = p.GetValue()
	}
	var meta ClassifierMeta
	if _, ok := props[MetaClasses]; !ok {
		return meta, fmt.Errorf("%w: the model has no %s metadata: it was not written by transfer export", backbone.ErrBadInput, MetaClasses)
	}
	if err := json.Unmarshal([]byte(props[MetaClasses]), &meta.Classes); err != nil || len(meta.Classes) == 0 {
		return meta, fmt.Errorf("%w: metadata %s is not a JSON list of class names", backbone.ErrBadInput, MetaClasses)
	}
	seen := make(map[string]bool, len(meta.Classes))
	for i, c := range meta.Classes {
		switch {
		case c == "":
			return meta, fmt.Errorf("%w: metadata %s: class %d has an empty name", backbone.ErrBadInput, MetaClasses, i)
		case seen[c]:
			return meta, fmt.Errorf("%w: metadata %s names class %q twice: two outputs could not be told apart", backbone.ErrBadInput, MetaClasses, c)
		}
		seen[c] = true
	}
	meta.Fingerprint = props[MetaFingerprint]
	var err error
	if meta.Preprocess, err = backbone.ParsePreprocess(props[MetaPreprocess]); err != nil {
		return meta, fmt.Errorf("%w: metadata %s: %v", backbone.ErrBadInput, MetaPreprocess, err)
	}
	if meta.Layout, err = backbone.ParseLayout(props[MetaLayout]); err != nil || meta.Layout == backbone.LayoutAuto {
		return meta, fmt.Errorf("%w: metadata %s is %q", backbone.ErrBadInput, MetaLayout, props[MetaLayout])
	}
	var w, h int
	if _, err := fmt.Sscanf(props[MetaInputSize], "%dx%d", &w, &h); err != nil {
		return meta, fmt.Errorf("%w: metadata %s is %q", backbone.ErrBadInput, MetaInputSize, props[MetaInputSize])
	}
	if meta.Pixels, err = dataset.ParsePixelSpec(props[MetaResize]); err != nil {
		return meta, fmt.Errorf("%w: metadata %s: %v", backbone.ErrBadInput, MetaResize, err)
	}
	if meta.Pixels.Width != w || meta.Pixels.Height != h {
		return meta, fmt.Errorf("%w: metadata %s is %q but %s is %q", backbone.ErrBadInput, MetaInputSize, props[MetaInputSize], MetaResize, props[MetaResize])
	}
	switch p := PixelType(props[MetaPixels]); p {
	case "", PixelsPreprocessed:
		meta.Input = ""
	case PixelsUint8, PixelsFloat:
		meta.Input = p
	default:
		return meta, fmt.Errorf("%w: metadata %s is %q", backbone.ErrBadInput, MetaPixels, p)
	}
	return meta, nil
}

package models

import (
	"encoding/json"
	"fmt"
	"strings"

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
	Width       int
	Height      int
	Resizer     dataset.Resizer
	// Decoder is the JPEG decoder whose pixels the head was trained on.
	Decoder dataset.Decoder
	// Pixels is the raw-pixel input type, or "" when the model takes
	// preprocessed floats.
	Pixels PixelType
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
		return meta, fmt.Errorf("%w: the model has no %s metadata; --classifier takes models written by transfer export", backbone.ErrBadInput, MetaClasses)
	}
	if err := json.Unmarshal([]byte(props[MetaClasses]), &meta.Classes); err != nil || len(meta.Classes) == 0 {
		return meta, fmt.Errorf("%w: metadata %s is not a JSON list of class names", backbone.ErrBadInput, MetaClasses)
	}
	meta.Fingerprint = props[MetaFingerprint]
	var err error
	if meta.Preprocess, err = backbone.ParsePreprocess(props[MetaPreprocess]); err != nil {
		return meta, fmt.Errorf("%w: metadata %s: %v", backbone.ErrBadInput, MetaPreprocess, err)
	}
	if meta.Layout, err = backbone.ParseLayout(props[MetaLayout]); err != nil || meta.Layout == backbone.LayoutAuto {
		return meta, fmt.Errorf("%w: metadata %s is %q", backbone.ErrBadInput, MetaLayout, props[MetaLayout])
	}
	if _, err := fmt.Sscanf(props[MetaInputSize], "%dx%d", &meta.Width, &meta.Height); err != nil {
		return meta, fmt.Errorf("%w: metadata %s is %q", backbone.ErrBadInput, MetaInputSize, props[MetaInputSize])
	}
	meta.Resizer = dataset.Resizer{Width: meta.Width, Height: meta.Height}
	parts := strings.Split(props[MetaResize], "/")
	if len(parts) == 4 && parts[3] == dataset.TurboJPEG.String() {
		meta.Decoder, parts = dataset.TurboJPEG, parts[:3]
	}
	if len(parts) != 3 {
		return meta, fmt.Errorf("%w: metadata %s is %q", backbone.ErrBadInput, MetaResize, props[MetaResize])
	}
	if meta.Resizer.Mode, err = dataset.ParseResizeMode(parts[0]); err != nil {
		return meta, fmt.Errorf("%w: metadata %s: %v", backbone.ErrBadInput, MetaResize, err)
	}
	if meta.Resizer.Filter, err = dataset.ParseFilter(parts[1]); err != nil {
		return meta, fmt.Errorf("%w: metadata %s: %v", backbone.ErrBadInput, MetaResize, err)
	}
	switch p := PixelType(props[MetaPixels]); p {
	case "", PixelsUint8, PixelsFloat:
		meta.Pixels = p
	default:
		return meta, fmt.Errorf("%w: metadata %s is %q", backbone.ErrBadInput, MetaPixels, p)
	}
	return meta, nil
}

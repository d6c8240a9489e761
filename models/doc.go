// Package models knows the backbones transfer can use and manages their files.
//
// The catalogue lists known models with where to download them, their
// checksum, and the settings their authors document: input layout,
// preprocessing and resize mode. Open and Resolve use it to configure a
// backbone from a file: a file whose SHA-256 matches an entry gets that
// entry's settings, any other ONNX CNN gets what the backbone package reads
// from the graph. Pull downloads a catalogue model into a per-user directory,
// verifying its checksum and renaming it into place only when complete.
// Inspect reports what transfer sees in a model file, and Export (export.go)
// joins a backbone and a trained head into one ONNX classifier.
package models

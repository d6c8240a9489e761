// Package onnx holds the ONNX protocol buffer types, generated from the ONNX
// project's onnx-ml.proto (ONNX 1.12, IR version 8; Apache-2.0, see
// LICENSE), so that transfer reads and writes ONNX files without a
// framework's dependencies. Only package onnxgraph and its users import it.
//
// gen.sh regenerates it (protoc from Debian's protobuf-compiler, protoc-gen-go at
// the google.golang.org/protobuf version of go.mod; onnx-ml.proto from
// Debian's python3-onnx, /usr/lib/python3/dist-packages/onnx/onnx-ml.proto):
//
//go:generate ./gen.sh
package onnx

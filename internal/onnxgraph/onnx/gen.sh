#!/bin/sh
# Generates onnx.pb.go from onnx-ml.proto (ONNX 1.12, copied from Debian's
# python3-onnx) the way the ONNX project makes its onnx-ml.proto3: proto3
# syntax, no "optional" labels. Fields are then plain values, as every Go
# ONNX library has them, and the encoding is the same (parsers read packed
# and unpacked repeated scalars alike). Needs protoc (Debian's
# protobuf-compiler) and protoc-gen-go at go.mod's google.golang.org/protobuf
# version on PATH.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed -e 's/^syntax = "proto2";/syntax = "proto3";/' -e 's/^\( *\)optional /\1/' onnx-ml.proto >"$tmp/onnx.proto3"
cp "$tmp/onnx.proto3" "$tmp/onnx.proto"
protoc -I "$tmp" --go_out="$tmp" --go_opt=paths=source_relative \
	--go_opt=Monnx.proto=github.com/transfer-go/transfer/internal/onnxgraph/onnx onnx.proto
mv "$tmp/onnx.pb.go" onnx.pb.go

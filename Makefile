# Convenience targets; each runs the same commands the README shows.

.PHONY: all onnxruntime build test bench fuzz tutorial

all: build

onnxruntime:
	scripts/install-onnxruntime.sh

build:
	go build -o bin/transfer ./cmd/transfer

test: onnxruntime
	go vet ./... && go test ./...

bench: onnxruntime
	scripts/bench.sh

fuzz:
	scripts/fuzz.sh 30s

tutorial: onnxruntime
	go run ./cmd/transfer tutorial --report report

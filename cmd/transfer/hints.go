package main

import (
	"errors"
	"fmt"

	"github.com/transfer-go/transfer/backbone"
	"github.com/transfer-go/transfer/dataset"
	"github.com/transfer-go/transfer/head"
	"github.com/transfer-go/transfer/models"
)

// hints say, for the library's errors, which flag of this command line
// fixes them: the packages name concepts, the command names its flags.
var hints = []struct {
	err  error
	hint string
}{
	{backbone.ErrNoEmbedding, "name the embedding tensor with --embedding-output"},
	{backbone.ErrUnknownLayout, "pass --layout nchw or --layout nhwc"},
	{backbone.ErrCUDAUnavailable, "--ort-lib FILE chooses the ONNX Runtime library, --device cpu runs on the CPU; " + doctorHint},
	{backbone.ErrRuntimeUnavailable, "or pass the library with --ort-lib FILE; " + doctorHint},
	{dataset.ErrNoClassFolders, "put each class in its own subfolder, or take labels from the file names with --label-regex (for f01.jpg and m01.jpg: --label-regex '^(f|m)')"},
	{dataset.ErrEmptyClass, "--classes keys must match what --label-regex captures"},
	{dataset.ErrCacheDamaged, "transfer cache check --cache FILE lists every problem"},
	{head.ErrBackboneMismatch, "give only --head (it records its model and pixel settings), or the --model, --resize, --filter and --decoder it was trained with"},
	{models.ErrNoModelsDir, "pass --models-dir"},
}

// withHint adds the flag hint of the first library error err wraps.
func withHint(err error) error {
	for _, h := range hints {
		if errors.Is(err, h.err) {
			return reworded{fmt.Sprintf("%v; %s", err, h.hint), err}
		}
	}
	return err
}

// reworded is an error said in other words: with a flag hint, or what an
// interruption left behind instead of Go's "context canceled". It unwraps
// to the original, so that errors.Is and the exit code see it.
type reworded struct {
	msg string
	err error
}

func (e reworded) Error() string { return e.msg }
func (e reworded) Unwrap() error { return e.err }

package main

import (
	"context"
	"errors"

	"github.com/transfer-go/transfer/backbone"
	"github.com/transfer-go/transfer/dataset"
	"github.com/transfer-go/transfer/head"
	"github.com/transfer-go/transfer/internal/onnxgraph"
)

// Exit codes: 1 for failures of the run itself, 2 for input the user must
// fix (flags, files, models), 130 for an interrupted run, as shells report
// SIGINT.
const (
	exitFailure     = 1
	exitBadInput    = 2
	exitInterrupted = 130
)

// usageError marks an error the user fixes by changing the command line or
// its inputs.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// badInputErrors are library errors that mean "fix your input".
var badInputErrors = []error{
	onnxgraph.ErrNotONNX, onnxgraph.ErrExternalData, onnxgraph.ErrMalformed,
	backbone.ErrBadInput, backbone.ErrNoEmbedding, backbone.ErrModelRejected,
	head.ErrBadHeadFile, head.ErrBackboneMismatch, head.ErrNonFiniteOutput,
	dataset.ErrNotCache, dataset.ErrCacheTooNew,
}

func exitCode(err error) int {
	if errors.Is(err, context.Canceled) {
		return exitInterrupted
	}
	var u usageError
	if errors.As(err, &u) {
		return exitBadInput
	}
	for _, target := range badInputErrors {
		if errors.Is(err, target) {
			return exitBadInput
		}
	}
	return exitFailure
}

package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

type abortKey struct{}

// interruptible returns a context cancelled by the first SIGINT or SIGTERM,
// and a second one cancelled by the next. Long commands stop gracefully on
// the first (extraction finishes and commits the batch in flight) and at once
// on the second.
func interruptible(parent context.Context) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancel(parent)
	abort, cancelAbort := context.WithCancel(context.WithoutCancel(parent))
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-ch:
			cancel()
		case <-done:
			return
		}
		select {
		case <-ch:
			cancelAbort()
		case <-done:
		}
	}()
	ctx = context.WithValue(ctx, abortKey{}, abort)
	return ctx, func() {
		signal.Stop(ch)
		close(done)
		cancel()
		cancelAbort()
	}
}

// abortContext returns the context that the second signal cancels.
func abortContext(ctx context.Context) context.Context {
	if a, ok := ctx.Value(abortKey{}).(context.Context); ok {
		return a
	}
	return context.WithoutCancel(ctx)
}

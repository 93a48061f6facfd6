package session

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"syscall"
)

// signalCause is the cause of a context's end when a signal ended it: the
// command tlmon started gets the same signal, as from a shell.
type signalCause struct{ sig syscall.Signal }

func (s signalCause) Error() string { return s.sig.String() + " received" }

// Is makes a signal a cancellation, not an internal error.
func (s signalCause) Is(target error) bool { return target == context.Canceled }

// NotifyContext is signal.NotifyContext with the signal as the cause.
func NotifyContext(parent context.Context, sigs ...os.Signal) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, sigs...)
	go func() {
		select {
		case s := <-ch:
			cancel(signalCause{s.(syscall.Signal)})
		case <-ctx.Done():
		}
	}()
	return ctx, func() { signal.Stop(ch); cancel(nil) }
}

// StopSignal is what the command gets when tlmon stops: the signal tlmon got,
// else SIGTERM (quit, --duration, an internal error).
func StopSignal(ctx context.Context) syscall.Signal {
	var s signalCause
	if errors.As(context.Cause(ctx), &s) {
		return s.sig
	}
	return syscall.SIGTERM
}

// InternalError is the cause of ctx's end when it was a panic, not a signal,
// a timeout or the end of the work.
func InternalError(ctx context.Context) error {
	err := context.Cause(ctx)
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	return err
}

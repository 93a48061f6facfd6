package main

import (
	"testing"
	"time"
)

// TestWatchingLineSaysUntilWhen: headless mode's first line says how the
// run ends: -d's duration, the command's exit, or Ctrl-C.
func TestWatchingLineSaysUntilWhen(t *testing.T) {
	for _, c := range []struct {
		duration time.Duration
		command  bool
		want     string
	}{
		{0, false, "tlmon: watching all (ringbuf buffer); Ctrl-C prints the summary"},
		{3 * time.Second, false, "tlmon: watching all (ringbuf buffer) for 3s (Ctrl-C stops earlier)"},
		{0, true, "tlmon: watching all (ringbuf buffer) until the command exits (Ctrl-C stops earlier)"},
		{time.Minute, true, "tlmon: watching all (ringbuf buffer) for 1m0s or until the command exits (Ctrl-C stops earlier)"},
	} {
		if got := watchingLine("all", "ringbuf", c.duration, c.command); got != c.want {
			t.Errorf("%v, command %v: %q, want %q", c.duration, c.command, got, c.want)
		}
	}
}

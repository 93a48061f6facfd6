package ui

import (
	"strings"
	"testing"
	"time"
)

// TestTheHeaderSaysHowTheCommandEnded: once the command tlmon started has
// ended, the header's first line says so with its status, at 80 columns too,
// and the monitor stays until the user quits.
func TestTheHeaderSaysHowTheCommandEnded(t *testing.T) {
	b := newFake()
	b.meta.Scope = "command sh -c exit 3"
	h := newHarness(t, b, 80, 24)
	if first := strings.SplitN(h.view(), "\n", 2)[0]; strings.Contains(first, "command exit") {
		t.Fatalf("a command still running is said to have ended: %q", first)
	}
	b.meta.CommandEnd = "exit 3"
	h.send(tickMsg(time.Now()))
	first := strings.SplitN(h.view(), "\n", 2)[0]
	if !strings.Contains(first, "command exit 3") {
		t.Errorf("the header does not say the command ended: %q", first)
	}
}

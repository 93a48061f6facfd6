package ui

import (
	"errors"
	"slices"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
)

// TestSignalOverlayNamesTheProcessAndSendsTheChosenSignal: x (or F9) on a
// process asks which signal, naming PID and command; enter sends the one
// chosen, esc nothing; the status line says what happened.
func TestSignalOverlayNamesTheProcessAndSendsTheChosenSignal(t *testing.T) {
	b := newFake()
	h := newHarness(t, b, 120, 40)
	h.press("x")
	if v := h.view(); !strings.Contains(v, "SEND A SIGNAL TO 1234 nginx") || !strings.Contains(v, "> SIGTERM") {
		t.Fatalf("x does not ask which signal to send to 1234 nginx:\n%s", v)
	}
	h.press("esc")
	if len(b.signaled) != 0 {
		t.Fatalf("esc sent %v", b.signaled)
	}
	h.send(tea.KeyPressMsg{Code: tea.KeyF9})
	h.press("down", "enter")
	if !slices.Equal(b.signaled, []string{"1234 interrupt"}) {
		t.Fatalf("sent %v, want SIGINT to 1234", b.signaled)
	}
	if v := h.view(); !strings.Contains(v, "sent SIGINT to 1234 nginx") {
		t.Errorf("the status line does not say the signal was sent:\n%s", v)
	}
	b.signalErr = errors.New("pid 1234 has exited")
	h.press("x", "enter")
	if v := h.view(); !strings.Contains(v, "SIGTERM to 1234 nginx: pid 1234 has exited") {
		t.Errorf("a failed signal is not said:\n%s", v)
	}
}

// TestSignalNeedsAProcess: where no process is selected (the Syscalls
// view), x does nothing.
func TestSignalNeedsAProcess(t *testing.T) {
	b := newFake()
	h := newHarness(t, b, 120, 40)
	h.press("2", "x")
	if strings.Contains(h.view(), "SEND A SIGNAL") {
		t.Errorf("x opened the signal overlay in the Syscalls view:\n%s", h.view())
	}
}

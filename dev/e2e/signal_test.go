package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"tlmon/internal/bpftest"
)

// TestMonitorSignalsTheSelectedProcess: in the monitor of `tlmon -- sleep
// 60`, x on the sleep asks which signal, names it, and enter sends SIGTERM:
// the header says the command was killed by it, and q exits with its status.
func TestMonitorSignalsTheSelectedProcess(t *testing.T) {
	bpftest.Require(t)
	s := startTmux(t, 120, 40, fmt.Sprintf("%s -i 200ms --theme mono -- sleep 60; echo tlmon-exit-$?", tlmonBin))
	s.waitForRe(`\d+ sleep `, 10*time.Second) // its row, not the header's scope
	s.keys("x")
	s.waitFor("SEND A SIGNAL TO", 5*time.Second)
	if scr := s.screen(); !strings.Contains(scr, "sleep  (enter sends") {
		t.Fatalf("the signal overlay does not name the sleep:\n%s", scr)
	}
	s.keys("Enter")
	s.waitFor("command killed by SIGTERM", 10*time.Second)
	tl := s.tlmonPID()
	s.keys("q")
	s.waitRestored(tl)
	if scr := s.waitFor("tlmon-exit-", 10*time.Second); !strings.Contains(scr, "tlmon-exit-143") {
		t.Errorf("want tlmon-exit-143; the screen shows:\n%s", scr)
	}
}

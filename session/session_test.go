package session

import (
	"os/exec"
	"testing"
)

// TestCommandEndSaysHowTheCommandEnded as a shell would: the monitor's header
// shows it.
func TestCommandEndSaysHowTheCommandEnded(t *testing.T) {
	for script, want := range map[string]string{
		"exit 0":     "exit 0",
		"exit 3":     "exit 3",
		"exit 130":   "exit 130", // a status above 128 is not a signal
		"kill -9 $$": "killed by SIGKILL",
	} {
		if got := commandEnd(exec.Command("sh", "-c", script).Run()); got != want {
			t.Errorf("sh -c %q: %q, want %q", script, got, want)
		}
	}
}

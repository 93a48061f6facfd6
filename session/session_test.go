package session

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
	"tlmon/collector"
	"tlmon/model"
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

// TestSignalReachesOnlyTheProcessMeant: the monitor's signal goes to the
// process of that PID and start time, never to one that reused the PID, and
// never to tlmon.
func TestSignalReachesOnlyTheProcessMeant(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := uint32(cmd.Process.Pid)
	start, err := collector.StartTicks(pid)
	if err != nil {
		t.Fatal(err)
	}
	c := &Control{}
	if err := c.Signal(model.ProcID{PID: pid, Start: start + 1}, syscall.SIGTERM); err == nil {
		t.Error("a signal to the PID with another start time was sent")
	}
	if err := c.Signal(model.ProcID{PID: uint32(os.Getpid())}, syscall.SIGTERM); err == nil {
		t.Error("a signal to tlmon itself was sent")
	}
	if err := c.Signal(model.ProcID{PID: pid, Start: start}, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
		t.Errorf("sleep ended with %v, want SIGTERM", err)
	}
}

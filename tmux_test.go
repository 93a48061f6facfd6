package main

// A harness that runs the real tlmon in tmux, as a user would: it types keys and
// reads the screen.

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

type tmuxSession struct {
	t    *testing.T
	name string
}

// startTmux runs command in a detached tmux session of the given size.
func startTmux(t *testing.T, width, height int, command string) *tmuxSession {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatal("tmux is needed for the monitor's end-to-end tests (apt-get install tmux)")
	}
	s := &tmuxSession{t: t, name: fmt.Sprintf("tlmon-test-%d-%d", os.Getpid(), time.Now().UnixNano())}
	// remain-on-exit keeps the pane readable after tlmon quits.
	out, err := exec.Command("tmux", "new-session", "-d", "-s", s.name, "-x", fmt.Sprint(width), "-y", fmt.Sprint(height),
		command+"; tmux set-option -t "+s.name+" remain-on-exit on; sleep 30").CombinedOutput()
	if err != nil {
		t.Fatalf("tmux: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("tmux", "kill-session", "-t", s.name).Run() })
	return s
}

// screen is what the pane shows now.
func (s *tmuxSession) screen() string {
	out, err := exec.Command("tmux", "capture-pane", "-p", "-t", s.name).Output()
	if err != nil {
		s.t.Fatalf("capture-pane: %v", err)
	}
	return string(out)
}

// waitFor waits until the screen contains want.
func (s *tmuxSession) waitFor(want string, timeout time.Duration) string {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		scr := s.screen()
		if strings.Contains(scr, want) {
			return scr
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the screen never showed %q; it shows:\n%s", want, scr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// keys types tmux key names ("Enter", "Escape", "q", "C-c") or literal text.
func (s *tmuxSession) keys(keys ...string) {
	s.t.Helper()
	if out, err := exec.Command("tmux", append([]string{"send-keys", "-t", s.name}, keys...)...).CombinedOutput(); err != nil {
		s.t.Fatalf("send-keys %v: %v %s", keys, err, out)
	}
}

// terminalState says whether the alternate screen is on, the cursor shown and
// mouse reporting on: after tlmon quits they must read "0 1 0".
func (s *tmuxSession) terminalState() string {
	out, err := exec.Command("tmux", "display-message", "-p", "-t", s.name, "#{alternate_on} #{cursor_flag} #{mouse_any_flag}").Output()
	if err != nil {
		s.t.Fatalf("display-message: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// panePID is the pid of the shell running in the pane.
func (s *tmuxSession) panePID() int {
	out, err := exec.Command("tmux", "display-message", "-p", "-t", s.name, "#{pane_pid}").Output()
	if err != nil {
		s.t.Fatalf("display-message: %v", err)
	}
	var pid int
	fmt.Sscan(strings.TrimSpace(string(out)), &pid)
	return pid
}

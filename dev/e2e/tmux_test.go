package e2e

// A harness that runs the real tlmon in tmux, as a user would: it types keys and
// reads the screen.

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"tlmon/internal/bpftest"
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
	// Each session has a server of its own (-L): tests never race one
	// server's shutdown, nor touch the user's tmux. remain-on-exit keeps the
	// pane readable after tlmon quits.
	out, err := s.tmux("new-session", "-d", "-s", s.name, "-x", fmt.Sprint(width), "-y", fmt.Sprint(height),
		command+"; tmux -L "+s.name+" set-option -t "+s.name+" remain-on-exit on; sleep 30").CombinedOutput()
	if err != nil {
		t.Fatalf("tmux: %v %s", err, out)
	}
	t.Cleanup(func() { s.tmux("kill-server").Run() })
	return s
}

// tmux runs a tmux command against this session's own server.
func (s *tmuxSession) tmux(args ...string) *exec.Cmd {
	return exec.Command("tmux", append([]string{"-L", s.name}, args...)...)
}

// screen is what the pane shows now.
func (s *tmuxSession) screen() string {
	out, err := s.tmux("capture-pane", "-p", "-t", s.name).Output()
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

// waitGone waits until the screen no longer contains gone.
func (s *tmuxSession) waitGone(gone string, timeout time.Duration) string {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		scr := s.screen()
		if !strings.Contains(scr, gone) {
			return scr
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the screen still shows %q:\n%s", gone, scr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitForRe waits until the screen matches the regular expression re.
func (s *tmuxSession) waitForRe(re string, timeout time.Duration) string {
	s.t.Helper()
	r := regexp.MustCompile(re)
	deadline := time.Now().Add(timeout)
	for {
		scr := s.screen()
		if r.MatchString(scr) {
			return scr
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the screen never matched %s; it shows:\n%s", re, scr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// keys types tmux key names ("Enter", "Escape", "q", "C-c") or literal text.
func (s *tmuxSession) keys(keys ...string) {
	s.t.Helper()
	if out, err := s.tmux(append([]string{"send-keys", "-t", s.name}, keys...)...).CombinedOutput(); err != nil {
		s.t.Fatalf("send-keys %v: %v %s", keys, err, out)
	}
}

// terminalState says whether the alternate screen is on, the cursor shown and
// mouse reporting on: after tlmon quits they must read "0 1 0".
func (s *tmuxSession) terminalState() string {
	out, err := s.tmux("display-message", "-p", "-t", s.name, "#{alternate_on} #{cursor_flag} #{mouse_any_flag}").Output()
	if err != nil {
		s.t.Fatalf("display-message: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// panePID is the pid of the shell running in the pane.
func (s *tmuxSession) panePID() int {
	out, err := s.tmux("display-message", "-p", "-t", s.name, "#{pane_pid}").Output()
	if err != nil {
		s.t.Fatalf("display-message: %v", err)
	}
	var pid int
	fmt.Sscan(strings.TrimSpace(string(out)), &pid)
	return pid
}

// row returns the fields of the first screen line whose first field is name.
func row(screen, name string) []string {
	for _, line := range strings.Split(screen, "\n") {
		f := strings.Fields(strings.TrimLeft(line, "> x"))
		if len(f) > 0 && f[0] == name {
			return f
		}
	}
	return nil
}

// rate reads the CALLS/s column (the third) of a syscall's row in a process's
// drill-down; -1 if the row is not there.
func rate(screen, syscall string) float64 {
	f := row(screen, syscall)
	if len(f) < 3 {
		return -1
	}
	var r float64
	fmt.Sscan(strings.TrimSuffix(f[2], "k"), &r)
	if strings.HasSuffix(f[2], "k") {
		r *= 1000
	}
	return r
}

// waitRate waits until the screen shows syscall's rate passing ok.
func (s *tmuxSession) waitRate(syscall string, ok func(float64) bool, what string) {
	s.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		scr := s.screen()
		if r := rate(scr, syscall); ok(r) {
			return
		} else if time.Now().After(deadline) {
			s.t.Fatalf("%s: %s runs at %v/s; the screen shows:\n%s", what, syscall, r, scr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// pick moves the attach picker's selection to the row containing want: the
// fuzzy filter may rank other rows first (other pids holding the same digits).
func (s *tmuxSession) pick(want string) {
	s.t.Helper()
	scr := s.waitFor(want, 5*time.Second)
	var rows []string
	for _, line := range strings.Split(scr, "\n") {
		if strings.HasPrefix(line, "> ") || (len(rows) > 0 && strings.HasPrefix(line, "  ")) {
			rows = append(rows, line)
		}
	}
	for i, r := range rows {
		if strings.Contains(r, want) {
			for ; i > 0; i-- {
				s.keys("Down")
			}
			s.waitFor("> "+want, 5*time.Second)
			return
		}
	}
	s.t.Fatalf("no picker row holds %q:\n%s", want, scr)
}

// tlmonPID finds tlmon's pid under the pane's shell.
func (s *tmuxSession) tlmonPID() int {
	s.t.Helper()
	out, err := exec.Command("pgrep", "-P", fmt.Sprint(s.panePID()), "-x", "tlmon").Output()
	if err != nil {
		s.t.Fatalf("no tlmon under the pane: %v", err)
	}
	var pid int
	fmt.Sscan(string(out), &pid)
	return pid
}

// waitRestored waits for tlmon to be gone and checks the terminal it leaves:
// main screen, cursor shown, mouse reporting off.
func (s *tmuxSession) waitRestored(tlmon int) {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for syscall.Kill(tlmon, 0) == nil {
		if time.Now().After(deadline) {
			s.t.Fatalf("tlmon %d did not exit; the screen shows:\n%s", tlmon, s.screen())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st := s.terminalState(); st != "0 1 0" {
		s.t.Errorf("terminal left as %q (alternate screen, cursor, mouse), want \"0 1 0\"", st)
	}
}

// TestMonitorAttachDrillToggleQuit is a user's session: start the monitor,
// attach to a workload from the picker, drill into it, switch the class of its
// getppid calls off in the kernel (the count stops, openat's goes on), back on,
// and quit with q, leaving the terminal as it was and nothing attached.
func TestMonitorAttachDrillToggleQuit(t *testing.T) {
	bpftest.Require(t)
	w := exec.Command(workloadBin, "steady", "60000")
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Process.Kill(); w.Wait() })
	pid := fmt.Sprint(w.Process.Pid)

	s := startTmux(t, 120, 40, tlmonBin+" -i 200ms --theme mono")
	s.waitFor("scope all", 10*time.Second)
	tl := s.tlmonPID()
	progs := heldIDs(t, tl, "prog_id")

	s.keys("a")
	s.waitFor("attach>", 5*time.Second)
	s.keys("-l", pid)
	// The whole pid typed first: the unfiltered list, user processes first,
	// may show the workload's row already, at another place.
	s.waitFor("attach> "+pid, 5*time.Second)
	s.pick("pid " + pid + " ")
	s.keys("Enter")
	s.waitFor("scope pid "+pid, 5*time.Second)
	s.waitForRe(`(?m)^>\s+`+pid+` workload`, 5*time.Second) // selected: the only process in scope
	s.keys("Enter")
	s.waitFor("› workload "+pid, 5*time.Second)
	s.waitRate("getppid", func(r float64) bool { return r > 1000 }, "before the toggle")

	s.keys("v", "o", "Escape") // the classes overlay; getppid's class; closed
	s.waitFor("○o:other", 5*time.Second)
	s.waitRate("getppid", func(r float64) bool { return r == 0 }, "with class other off")
	s.waitRate("openat", func(r float64) bool { return r > 100 }, "with class other off, file on")

	s.keys("v", "o", "Escape")
	s.waitFor("●o:other", 5*time.Second)
	s.waitRate("getppid", func(r float64) bool { return r > 1000 }, "after class other came back")

	s.keys("q")
	s.waitRestored(tl)
	waitFreed(t, progs)
}

// TestMonitorStopsCleanlyOnSignalsAndPanics ends the monitor by SIGTERM, by
// SIGHUP and by a panic in the collector: each time the terminal is restored
// and nothing stays attached.
func TestMonitorStopsCleanlyOnSignalsAndPanics(t *testing.T) {
	bpftest.Require(t)
	for _, c := range []struct {
		name  string
		flags string
		sig   syscall.Signal
	}{
		{"SIGTERM", "", syscall.SIGTERM},
		{"SIGHUP", "", syscall.SIGHUP},
		{"collector panic", " --test-panic-collector", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := startTmux(t, 120, 40, tlmonBin+" -i 200ms --theme mono"+c.flags+"; echo tlmon-exit-$?")
			s.waitFor("scope all", 10*time.Second)
			tl := s.tlmonPID()
			progs := heldIDs(t, tl, "prog_id")
			if c.sig != 0 {
				syscall.Kill(tl, c.sig)
			}
			s.waitRestored(tl)
			scr := s.waitFor("tlmon-exit-", 5*time.Second)
			if c.sig == 0 && (!strings.Contains(scr, "internal error") || !strings.Contains(scr, "tlmon-exit-1")) {
				t.Errorf("after the panic the screen shows:\n%s", scr)
			}
			waitFreed(t, progs)
		})
	}
}

// TestMonitorShowsAStalledRead: a process blocked reading a pipe shows in the
// In-flight view (key 3) with how long it has been inside read.
func TestMonitorShowsAStalledRead(t *testing.T) {
	bpftest.Require(t)
	// The shell waits, then becomes cat, whose read starts under watch.
	blocked := exec.Command("sh", "-c", "sleep 1.5; exec cat") // well after tlmon attached
	stdin, err := blocked.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := blocked.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); blocked.Wait() })
	pid := fmt.Sprint(blocked.Process.Pid)

	s := startTmux(t, 120, 40, tlmonBin+" -i 200ms --theme mono -p "+pid)
	s.waitFor("scope pids "+pid, 10*time.Second)
	s.keys("3")
	scr := s.waitForRe(`(?m)\b`+pid+`\s+`+pid+`\s+cat\s+read\s+[2-9][.0-9]*s\b`, 10*time.Second)
	if strings.Contains(strings.Join(row(scr, pid), " "), "≥") {
		t.Errorf("the read began under watch, yet its duration is a lower bound:\n%s", scr)
	}
	s.keys("q")
}

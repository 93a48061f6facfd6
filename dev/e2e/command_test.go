package e2e

// The command tlmon starts lives no longer than tlmon: every way tlmon ends
// ends it and removes its cgroup, and tlmon exits as a shell would.

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"tlmon/collector"
	"tlmon/internal/bpftest"
)

// watchedSleep is the command of these tests: a shell that writes its PID to
// pidFile and becomes sleep, so the PID is the command's for its whole life.
func watchedSleep(pidFile string) []string {
	return []string{"sh", "-c", "echo $$ > " + pidFile + "; exec sleep 60"}
}

// commandOf waits for the command to write its PID and returns it, with its
// start time and its cgroup directory.
func commandOf(t *testing.T, pidFile string) (pid int, start uint64, cgroup string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(pidFile)
		if err == nil && strings.HasSuffix(string(b), "\n") {
			pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the command did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	start, err := collector.StartTicks(uint32(pid))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "0::"); ok {
			cgroup = filepath.Join(cgroup2Mount(t), rest)
		}
	}
	if !strings.HasPrefix(filepath.Base(cgroup), "tlmon-") {
		t.Fatalf("the command runs in cgroup %q, not one of tlmon's", cgroup)
	}
	return pid, start, cgroup
}

// waitEnded waits for the process (PID and start time) to be gone or a zombie.
func waitEnded(t *testing.T, pid int, start uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		now, err := collector.StartTicks(uint32(pid))
		stat, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		zombie := strings.Contains(string(stat), ") Z ")
		if err != nil || now != start || zombie {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the command (PID %d) still runs", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func exitStatus(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// TestCommandEndsWithHeadlessTlmon: a signal to tlmon reaches the command,
// --duration and an internal error end it with SIGTERM; tlmon exits with the
// command's status (128 + the signal) or 1 for the internal error, and the
// command's cgroup is gone.
func TestCommandEndsWithHeadlessTlmon(t *testing.T) {
	bpftest.Require(t)
	for _, c := range []struct {
		name   string
		flags  []string
		sig    syscall.Signal
		status int
	}{
		{"SIGINT", nil, syscall.SIGINT, 128 + 2},
		{"SIGTERM", nil, syscall.SIGTERM, 128 + 15},
		{"SIGHUP", nil, syscall.SIGHUP, 128 + 1},
		{"duration", []string{"-d", "1s"}, 0, 128 + 15},
		{"internal error", []string{"-i", "500ms", "--test-panic-collector"}, 0, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			pidFile := filepath.Join(t.TempDir(), "pid")
			args := append(append([]string{"--headless"}, c.flags...), "--")
			tl := startTlmon(t, append(args, watchedSleep(pidFile)...)...)
			pid, start, cg := commandOf(t, pidFile)
			if c.sig != 0 {
				tl.cmd.Process.Signal(c.sig)
			}
			io.Copy(io.Discard, tl.stderr)
			if got := exitStatus(tl.cmd.Wait()); got != c.status {
				t.Errorf("tlmon exited %d, want %d", got, c.status)
			}
			waitEnded(t, pid, start)
			if exists(cg) {
				t.Errorf("the command's cgroup %s is left", cg)
			}
		})
	}
}

// TestCommandEndsWithTheMonitor: quitting with q or Ctrl-C ends the command
// (SIGTERM: exit 143); a signal to tlmon reaches it (SIGINT 130, SIGHUP 129,
// SIGTERM 143); an internal error ends it too (tlmon exits 1); a command that
// ended by itself gives tlmon its status.
func TestCommandEndsWithTheMonitor(t *testing.T) {
	bpftest.Require(t)
	signal := func(sig syscall.Signal) func(*tmuxSession, int) {
		return func(_ *tmuxSession, tl int) { syscall.Kill(tl, sig) }
	}
	for _, c := range []struct {
		name    string
		flags   string
		command string
		quit    func(s *tmuxSession, tlmon int)
		status  int
	}{
		{"q", "", "", func(s *tmuxSession, _ int) { s.keys("q") }, 128 + 15},
		{"Ctrl-C", "", "", func(s *tmuxSession, _ int) { s.keys("C-c") }, 128 + 15},
		{"SIGINT", "", "", signal(syscall.SIGINT), 128 + 2},
		{"SIGHUP", "", "", signal(syscall.SIGHUP), 128 + 1},
		{"SIGTERM", "", "", signal(syscall.SIGTERM), 128 + 15},
		{"internal error", " --test-panic-collector", "", func(*tmuxSession, int) {}, 1},
		// The header says the command ended, and how; q then exits with its status.
		{"command exits 3", "", "exit 3", func(s *tmuxSession, _ int) { s.waitFor("command exit 3", 10*time.Second); s.keys("q") }, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			pidFile := filepath.Join(t.TempDir(), "pid")
			script := "echo $$ > " + pidFile + "; exec sleep 60"
			if c.command != "" {
				script = "echo $$ > " + pidFile + "; sleep 1; " + c.command
			}
			s := startTmux(t, 120, 40, fmt.Sprintf("%s -i 200ms --theme mono%s -- sh -c '%s'; echo tlmon-exit-$?", tlmonBin, c.flags, script))
			s.waitFor("scope command", 10*time.Second)
			pid, start, cg := commandOf(t, pidFile)
			tl := s.tlmonPID()
			c.quit(s, tl)
			s.waitRestored(tl)
			want := fmt.Sprintf("tlmon-exit-%d", c.status)
			if scr := s.waitFor("tlmon-exit-", 10*time.Second); !strings.Contains(scr, want) {
				t.Errorf("want %s; the screen shows:\n%s", want, scr)
			}
			waitEnded(t, pid, start)
			if exists(cg) {
				t.Errorf("the command's cgroup %s is left", cg)
			}
		})
	}
}

// TestCommandDiesWithAKilledTlmon: SIGKILL leaves tlmon no say, so the kernel
// kills the command (a parent-death signal); the cgroup left behind is
// removed by the next tlmon, which never touches a running tlmon's.
func TestCommandDiesWithAKilledTlmon(t *testing.T) {
	bpftest.Require(t)
	dir := t.TempDir()
	// A running tlmon with a command of its own: its cgroup must survive.
	alive := startTlmon(t, append([]string{"--headless", "--"}, watchedSleep(filepath.Join(dir, "alive"))...)...)
	alivePID, aliveStart, aliveCg := commandOf(t, filepath.Join(dir, "alive"))

	killed := startTlmon(t, append([]string{"--headless", "--"}, watchedSleep(filepath.Join(dir, "killed"))...)...)
	pid, start, cg := commandOf(t, filepath.Join(dir, "killed"))
	killed.cmd.Process.Kill()
	killed.cmd.Wait()
	waitEnded(t, pid, start)
	if !exists(cg) {
		t.Fatalf("the killed tlmon's cgroup %s is gone already: nothing left for the next tlmon to do", cg)
	}

	next := exec.Command(tlmonBin, "--headless", "-d", "100ms", "-o", "json")
	if out, err := next.CombinedOutput(); err != nil {
		t.Fatalf("the next tlmon: %v %s", err, out)
	}
	if exists(cg) {
		t.Errorf("the next tlmon left the stale cgroup %s", cg)
	}
	if !exists(aliveCg) {
		t.Errorf("the next tlmon removed %s, the cgroup of a running tlmon", aliveCg)
	}
	if now, err := collector.StartTicks(uint32(alivePID)); err != nil || now != aliveStart {
		t.Errorf("the running tlmon's command %d was ended", alivePID)
	}
	alive.cmd.Process.Signal(syscall.SIGTERM)
	alive.cmd.Wait()
	waitEnded(t, alivePID, aliveStart)
}

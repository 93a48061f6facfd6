package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"tlmon/dev/internal/devtool"
)

// monitor is the interactive tlmon in a detached 160×45 tmux session on a
// tmux server of the soak's own (-L), so that it neither meets nor disturbs
// anyone else's sessions.
type monitor struct {
	socket     string
	socketPath string // which tmux leaves behind
	pid        int
	errFile    string
	watchdog   *exec.Cmd
	stopped    bool
}

func (m *monitor) tmux(args ...string) *exec.Cmd {
	return exec.Command("tmux", append([]string{"-L", m.socket}, args...)...)
}

func (m *monitor) screen() (string, error) {
	out, err := m.tmux("capture-pane", "-p", "-t", "soak").Output()
	return string(out), err
}

// startMonitor starts `tlmon -i INTERVAL` in tmux and returns once its first
// frame, on the Processes view, is on the screen. tmp is the soak's temp
// directory, where tlmon's stderr goes.
func startMonitor(ctx context.Context, tlmon string, interval time.Duration, tmp string) (*monitor, error) {
	errFile := filepath.Join(tmp, "monitor.stderr")
	m := &monitor{socket: fmt.Sprintf("tlmon-soak-%d", os.Getpid()), errFile: errFile}
	shell := "exec " + devtool.ShellQuote(tlmon) + " -i " + interval.String() + " 2>" + devtool.ShellQuote(errFile)
	if out, err := m.tmux("new-session", "-d", "-s", "soak", "-x", "160", "-y", "45", shell).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("tmux new-session: %v: %s", err, devtool.Tail(out, 3))
	}
	out, err := m.tmux("display-message", "-p", "-t", "soak", "#{pane_pid} #{socket_path}").Output()
	pid, path, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
	m.socketPath = path
	// The tmux server is no child of the soak: should the soak be killed
	// without cleaning up, this ends the server, and the monitor with it,
	// within a second, and removes the soak's temp directory. It runs in a
	// session of its own, away from Ctrl-C.
	m.watchdog = exec.Command("sh", "-c", `while kill -0 "$0" 2>/dev/null; do sleep 1; done; tmux -L "$1" kill-server; rm -rf "$2" "$3"`,
		strconv.Itoa(os.Getpid()), m.socket, m.socketPath, tmp)
	m.watchdog.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := m.watchdog.Start(); err != nil {
		m.watchdog = nil
		m.stop()
		return nil, fmt.Errorf("tmux watchdog: %v", err)
	}
	if m.pid, _ = strconv.Atoi(pid); err != nil || m.pid == 0 {
		m.stop()
		return nil, fmt.Errorf("tmux: no pane pid: %v", err)
	}
	if _, err := m.waitFor(ctx, "[1 Processes]", 30*time.Second); err != nil {
		m.stop()
		return nil, err
	}
	return m, nil
}

// waitFor polls the screen every 10 ms until it shows want, and says how long
// that took.
func (m *monitor) waitFor(ctx context.Context, want string, timeout time.Duration) (time.Duration, error) {
	began := time.Now()
	var scr string
	for time.Since(began) < timeout && ctx.Err() == nil {
		var err error
		if scr, err = m.screen(); err != nil {
			msg, _ := os.ReadFile(m.errFile)
			return 0, fmt.Errorf("the monitor is gone (%v): %s", err, devtool.Tail(msg, 3))
		}
		if strings.Contains(scr, want) {
			return time.Since(began), nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(began), fmt.Errorf("the screen did not show %q within %v; it shows:\n%s", want, timeout, devtool.Tail([]byte(scr), 5))
}

// keyResult is what the key probes found: every key's time from send-keys to
// the screen showing its view.
type keyResult struct {
	presses int
	slowest time.Duration
	late    int // presses slower than one refresh and its margin
	bound   time.Duration
	err     error
}

// probeKeys switches the monitor to the Syscalls view (2) and back (1) every
// `every` until ctx ends. A view must show within one refresh interval plus
// a margin: the monitor redraws on a key at once, so a slow answer means its
// loop was busy.
func (m *monitor) probeKeys(ctx context.Context, every, interval time.Duration) keyResult {
	res := keyResult{bound: interval + 250*time.Millisecond}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return res
		case <-tick.C:
		}
		for _, k := range []struct{ key, view string }{{"2", "[2 Syscalls]"}, {"1", "[1 Processes]"}} {
			if err := m.tmux("send-keys", "-t", "soak", k.key).Run(); err != nil {
				res.err = fmt.Errorf("send-keys: %v", err)
				return res
			}
			took, err := m.waitFor(ctx, k.view, 10*time.Second)
			if ctx.Err() != nil {
				return res
			}
			res.presses++
			res.slowest = max(res.slowest, took)
			if took > res.bound {
				res.late++
			}
			if err != nil {
				res.err = err
				return res
			}
		}
	}
}

var lostBadge = regexp.MustCompile(`lost ([0-9.,]+[kMG]?)`)

// lostBadge is what the monitor's header says was lost, "" if it does not
// say.
func (m *monitor) lostBadge() string {
	scr, err := m.screen()
	if err != nil {
		return ""
	}
	first, _, _ := strings.Cut(scr, "\n")
	if mm := lostBadge.FindStringSubmatch(first); mm != nil {
		return mm[1]
	}
	return ""
}

// stop quits the monitor with q and ends the soak's tmux server; a tlmon
// still there 5 s later is killed. Calling it again does nothing.
func (m *monitor) stop() {
	if m.stopped {
		return
	}
	m.stopped = true
	m.tmux("send-keys", "-t", "soak", "q").Run()
	for deadline := time.Now().Add(5 * time.Second); alive(m.pid) && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	if m.pid > 0 && alive(m.pid) {
		syscall.Kill(m.pid, syscall.SIGKILL)
	}
	m.tmux("kill-server").Run()
	if m.socketPath != "" {
		os.Remove(m.socketPath)
	}
	if m.watchdog != nil {
		m.watchdog.Process.Kill()
		m.watchdog.Wait()
	}
}

// alive tells whether pid is a process that has not exited (a zombie has).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the command name's closing parenthesis.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] != 'Z'
}

// sample is one reading of a process's memory and CPU time.
type sample struct {
	at    time.Time
	rssMB float64
	cpu   time.Duration // utime + stime so far
}

// sampler reads VmRSS and CPU time of each tlmon every few seconds.
type sampler struct {
	pids    map[string]int
	samples map[string][]sample
	hwmMB   map[string]float64
}

func newSampler(pids map[string]int) *sampler {
	return &sampler{pids: pids, samples: map[string][]sample{}, hwmMB: map[string]float64{}}
}

func (s *sampler) run(ctx context.Context, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		for name, pid := range s.pids {
			if sm, hwm, ok := readSample(pid); ok {
				s.samples[name] = append(s.samples[name], sm)
				s.hwmMB[name] = hwm
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times: 100 on every
// Linux architecture Go supports.
const clockTicks = 100

// readSample reads pid's VmRSS and VmHWM (in MB) and its CPU time.
func readSample(pid int) (sample, float64, bool) {
	sm := sample{at: time.Now()}
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return sm, 0, false
	}
	defer f.Close()
	var hwm float64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, val, _ := strings.Cut(sc.Text(), ":")
		fields := strings.Fields(val)
		if len(fields) == 0 {
			continue
		}
		kb, _ := strconv.ParseFloat(fields[0], 64)
		switch key {
		case "VmRSS":
			sm.rssMB = kb / 1024
		case "VmHWM":
			hwm = kb / 1024
		}
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return sm, 0, false
	}
	s := string(stat)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	// After the name: state is field 3, utime 14 and stime 15 of the line.
	if len(fields) > 12 {
		ut, _ := strconv.ParseUint(fields[11], 10, 64)
		st, _ := strconv.ParseUint(fields[12], 10, 64)
		sm.cpu = time.Duration(ut+st) * time.Second / clockTicks
	}
	return sm, hwm, true
}

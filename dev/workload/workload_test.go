//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"tlmon/dev/internal/devtool"
	"tlmon/dev/internal/strace"
)

// binary is the workload program, built once by TestMain.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "workload-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "workload")
	build := exec.Command(devtool.GoCommand(), "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building workload:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running workload.
type proc struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
	stderr bytes.Buffer
}

// start runs the workload with args; it is killed if the test outlives ctx.
func start(t *testing.T, ctx context.Context, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.CommandContext(ctx, binary, args...)}
	p.cmd.Stderr = &p.stderr
	var err error
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.stdout = bufio.NewReader(out)
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.cmd.Process.Kill(); p.cmd.Wait() })
	return p
}

// awaitReady reads the "ready <pid>" line of a --wait run and checks the pid.
func (p *proc) awaitReady(t *testing.T) {
	t.Helper()
	line, err := p.stdout.ReadString('\n')
	if err != nil {
		t.Fatalf("reading ready line: %v (stderr: %s)", err, p.stderr.String())
	}
	if want := fmt.Sprintf("ready %d\n", p.cmd.Process.Pid); line != want {
		t.Fatalf("got %q, want %q", line, want)
	}
}

// finish reads the report line and waits for the exit; it returns the report,
// the exit code and when the report line arrived.
func (p *proc) finish(t *testing.T) (report, int, time.Time) {
	t.Helper()
	line, err := p.stdout.ReadString('\n')
	at := time.Now()
	if err != nil {
		t.Fatalf("reading report: %v (stderr: %s)", err, p.stderr.String())
	}
	rest, _ := io.ReadAll(p.stdout)
	if len(rest) != 0 {
		t.Errorf("output after the report: %q", rest)
	}
	err = p.cmd.Wait()
	code := p.cmd.ProcessState.ExitCode()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("workload: %v", err)
	}
	if code != 0 && p.stderr.Len() > 0 {
		t.Logf("stderr: %s", p.stderr.String())
	}
	return parseReport(t, line, p.cmd.Process.Pid), code, at
}

// parseReport decodes a report line strictly: all seven keys and the mode's
// detailKeys, nothing else.
func parseReport(t *testing.T, line string, pid int) report {
	t.Helper()
	var keys map[string]json.RawMessage
	if err := json.Unmarshal([]byte(line), &keys); err != nil {
		t.Fatalf("report %q: %v", line, err)
	}
	var mode string
	json.Unmarshal(keys["mode"], &mode)
	want := []string{"calls", "children", "elapsed_ns", "errors", "mode", "pid", "threads"}
	want = slices.Sorted(slices.Values(append(want, detailKeys[mode]...)))
	if got := slices.Sorted(maps.Keys(keys)); !slices.Equal(got, want) {
		t.Fatalf("report keys %v, want %v", got, want)
	}
	var r report
	dec := json.NewDecoder(strings.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("report %q: %v", line, err)
	}
	if r.PID != pid {
		t.Errorf("report pid %d, want %d", r.PID, pid)
	}
	if r.Calls == nil || r.Errors == nil || r.Children == nil || r.Threads == nil {
		t.Errorf("report has a null field: %s", line)
	}
	if r.Elapsed < 0 || (len(r.Calls) > 0 && r.Elapsed == 0) {
		t.Errorf("report elapsed_ns %d, want a positive time when calls were made", r.Elapsed)
	}
	return r
}

// run runs the workload to its end without --wait.
func run(t *testing.T, args ...string) (report, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p := start(t, ctx, args...)
	p.stdin.Close()
	r, code, _ := p.finish(t)
	return r, code
}

type calls = map[string]uint64
type errs = map[string]map[string]uint64

// twoCPUs tells whether the threads mode can migrate its threads.
func twoCPUs(t *testing.T) bool {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		t.Fatal(err)
	}
	return set.Count() >= 2
}

// migrations is how many sched_setaffinity calls threads mode makes in a thread
// making c calls: one before every 10,000th call after the first.
func migrations(c int) uint64 {
	if c == 0 {
		return 0
	}
	return uint64((c - 1) / 10000)
}

func threadsCalls(t *testing.T, n int) calls {
	want := calls{"getppid": uint64(n)}
	if twoCPUs(t) {
		if m := migrations((n+1)/2) + migrations(n/2); m > 0 {
			want["sched_setaffinity"] = m
		}
	}
	return want
}

type modeCase struct {
	mode    string
	n       int
	calls   calls
	errors  errs
	threads int      // number of distinct thread ids expected
	code    int      // exit code expected
	straced []string // syscalls whose counts strace must confirm
}

func modeCases(t *testing.T) []modeCase {
	return []modeCase{
		{mode: "getppid", n: 1000, calls: calls{"getppid": 1000}, threads: 1, straced: []string{"getppid"}},
		{mode: "openat-missing", n: 100, calls: calls{"openat": 100}, errors: errs{"openat": {"ENOENT": 100}}, threads: 1, straced: []string{"openat", "close"}},
		{mode: "openat-close", n: 100, calls: calls{"openat": 100, "close": 100}, threads: 1, straced: []string{"openat", "close"}},
		{mode: "connect", n: 100, calls: calls{"socket": 100, "connect": 100, "accept4": 100, "close": 200}, threads: 2, straced: []string{"socket", "connect", "accept4", "close"}},
		{mode: "fork", n: 300, calls: calls{"clone": 300, "wait4": 300}, threads: 1, straced: []string{"clone", "wait4"}},
		{mode: "threads", n: 101, calls: threadsCalls(t, 101), threads: 2, straced: []string{"getppid", "sched_setaffinity"}},
		{mode: "threads", n: 30001, calls: threadsCalls(t, 30001), threads: 2, straced: []string{"getppid", "sched_setaffinity"}},
		{mode: "seccomp-getppid", n: 100, calls: calls{"getppid": 100}, errors: errs{"getppid": {"EPERM": 100}}, threads: 1, straced: []string{"getppid"}},
		{mode: "mix", n: 100, calls: calls{"getppid": 100, "openat": 200, "close": 100}, errors: errs{"openat": {"ENOENT": 100}}, threads: 1, straced: []string{"getppid", "openat", "close"}},
		{mode: "mix2", n: 100, calls: calls{"getppid": 200, "openat": 400, "close": 200}, errors: errs{"openat": {"ENOENT": 200}}, threads: 2, straced: []string{"getppid", "openat", "close"}},
		{mode: "idle", n: 20, calls: calls{"kill": 20, "wait4": 20}, threads: 1, straced: []string{"kill", "wait4"}},
		{mode: "sleep", n: 50, calls: calls{"clock_nanosleep": 1}, threads: 1, straced: []string{"clock_nanosleep"}},
		{mode: "exit", n: 7, calls: calls{}, code: 7},
	}
}

// check compares a report with what the case expects.
func (c modeCase) check(t *testing.T, r report, code int) {
	t.Helper()
	if r.Mode != c.mode {
		t.Errorf("mode %q, want %q", r.Mode, c.mode)
	}
	if code != c.code {
		t.Errorf("exit code %d, want %d", code, c.code)
	}
	if !maps.Equal(r.Calls, c.calls) {
		t.Errorf("calls %v, want %v", r.Calls, c.calls)
	}
	want := c.errors
	if want == nil {
		want = errs{}
	}
	if !maps.EqualFunc(r.Errors, want, maps.Equal) {
		t.Errorf("errors %v, want %v", r.Errors, want)
	}
	tids := slices.Compact(slices.Sorted(slices.Values(r.Threads)))
	if len(tids) != len(r.Threads) || len(tids) != c.threads || (len(tids) > 0 && tids[0] <= 0) {
		t.Errorf("threads %v, want %d distinct thread ids", r.Threads, c.threads)
	}
	// fork's children exit with code i%256, idle's are killed with SIGKILL.
	wantChild := func(i int) child { return child{ExitCode: i % 256} }
	switch c.mode {
	case "fork":
	case "idle":
		wantChild = func(int) child { return child{ExitCode: -1, Signal: int(unix.SIGKILL)} }
	default:
		if len(r.Children) != 0 {
			t.Errorf("children %v, want none", r.Children)
		}
		return
	}
	if len(r.Children) != c.n {
		t.Fatalf("%d children, want %d", len(r.Children), c.n)
	}
	pids := map[int]bool{}
	for i, ch := range r.Children {
		if w := wantChild(i); ch.ExitCode != w.ExitCode || ch.Signal != w.Signal {
			t.Errorf("child %d: %+v, want exit code %d, signal %d", i, ch, w.ExitCode, w.Signal)
		}
		if ch.PID <= 0 || ch.PID == r.PID || pids[ch.PID] {
			t.Errorf("child %d: bad or repeated pid %d", i, ch.PID)
		}
		pids[ch.PID] = true
	}
}

func TestModes(t *testing.T) {
	for _, c := range modeCases(t) {
		t.Run(fmt.Sprintf("%s-%d", c.mode, c.n), func(t *testing.T) {
			began := time.Now()
			r, code := run(t, c.mode, strconv.Itoa(c.n))
			c.check(t, r, code)
			if c.mode == "sleep" {
				want := time.Duration(c.n) * time.Millisecond
				if d := time.Since(began); d < want {
					t.Errorf("sleep %d ran only %v", c.n, d)
				}
				// The measured phase is the sleep itself.
				if d := time.Duration(r.Elapsed); d < want || d > time.Since(began) {
					t.Errorf("sleep %d: elapsed_ns says %v, want between %v and the run's %v", c.n, d, want, time.Since(began))
				}
			}
		})
	}
}

func TestBadArguments(t *testing.T) {
	bad := [][]string{
		{}, {"getppid"}, {"nosuchmode", "1"}, {"getppid", "-1"}, {"getppid", "x"}, {"exit", "256"},
		{"tcp-pair", "10001"}, {tcpClientArg}, {tcpClientArg, "x", "1"}, {tcpClientArg, "1", "-1"},
	}
	if runtime.GOARCH != "amd64" {
		bad = append(bad, []string{"compat-getpid", "1"})
	}
	for _, args := range bad {
		err := exec.Command(binary, args...).Run()
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) || exitErr.ExitCode() == 0 {
			t.Errorf("workload %v: %v, want a failure exit", args, err)
		}
	}
}

// TestWait checks that --wait makes no calls before a line arrives on stdin and
// that --hold keeps the process alive after the report.
func TestWait(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const hold = 300 * time.Millisecond
	p := start(t, ctx, "--wait", "--hold", hold.String(), "getppid", "1000")
	p.awaitReady(t)
	// Nothing more must come until stdin has a line.
	got := make(chan string, 1)
	go func() {
		line, _ := p.stdout.ReadString('\n')
		got <- line
	}()
	select {
	case line := <-got:
		t.Fatalf("output before the go-ahead: %q", line)
	case <-time.After(200 * time.Millisecond):
	}
	if _, err := io.WriteString(p.stdin, "go\n"); err != nil {
		t.Fatal(err)
	}
	var line string
	select {
	case line = <-got:
	case <-ctx.Done():
		t.Fatal("no report after the go-ahead")
	}
	reported := time.Now()
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("workload: %v (stderr: %s)", err, p.stderr.String())
	}
	if d := time.Since(reported); d < hold-50*time.Millisecond {
		t.Errorf("exited %v after the report, want about %v", d, hold)
	}
	r := parseReport(t, line, p.cmd.Process.Pid)
	if !maps.Equal(r.Calls, calls{"getppid": 1000}) {
		t.Errorf("calls %v, want getppid 1000", r.Calls)
	}
	// 1000 getppid take about a millisecond; the 200ms pause before the
	// go-ahead and the hold after the report must not be in elapsed_ns.
	if d := time.Duration(r.Elapsed); d <= 0 || d >= 200*time.Millisecond {
		t.Errorf("elapsed_ns %v, want the measured calls only, well under the 200ms pause", d)
	}
}

// TestStrace attaches strace to each mode after setup (--wait) and checks that
// strace counts of the measured syscalls, made by the process and its children
// from the go-ahead to the exit, are those the report gives.
func TestStrace(t *testing.T) {
	for _, c := range modeCases(t) {
		if len(c.straced) == 0 {
			continue
		}
		t.Run(fmt.Sprintf("%s-%d", c.mode, c.n), func(t *testing.T) {
			r, code, summary := straceRun(t, []string{"-f", "-c", "-U", "name,calls,errors", "-S", "name"}, c.mode, strconv.Itoa(c.n))
			c.check(t, r, code)

			counts, failures := parseStraceSummary(t, summary)
			for _, name := range c.straced {
				var reportedErrs uint64
				for _, k := range r.Errors[name] {
					reportedErrs += k
				}
				if counts[name] != r.Calls[name] || failures[name] != reportedErrs {
					t.Errorf("%s: strace counted %d calls, %d errors; report says %d calls, %d errors",
						name, counts[name], failures[name], r.Calls[name], reportedErrs)
				}
			}
		})
	}
}

// straceRun runs the workload with --wait and args, attaches strace with
// straceArgs (and -o, -p) once setup is done, and starts the measured phase
// only when strace has seized every thread. It returns the report, the exit
// code and what strace wrote. It skips the test when strace is missing or
// cannot attach.
func straceRun(t *testing.T, straceArgs []string, args ...string) (report, int, string) {
	t.Helper()
	straceBin, err := exec.LookPath("strace")
	if err != nil {
		t.Skip("strace not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p := start(t, ctx, append([]string{"--wait"}, args...)...)
	p.awaitReady(t)

	out := filepath.Join(t.TempDir(), "strace.txt")
	st := exec.CommandContext(ctx, straceBin, append(straceArgs, "-o", out, "-p", strconv.Itoa(p.cmd.Process.Pid))...)
	stderr, err := st.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Process.Kill(); st.Wait() })
	// strace says "Process N attached [with M threads]" once it has seized
	// all threads; only then may the measured calls start.
	sc := bufio.NewScanner(stderr)
	var msgs []string
	attached := false
	for !attached && sc.Scan() {
		msgs = append(msgs, sc.Text())
		attached = strings.Contains(sc.Text(), "attached")
	}
	if !attached {
		st.Wait()
		t.Skipf("strace could not attach: %s", strings.Join(msgs, "; "))
	}
	go io.Copy(io.Discard, stderr)

	if _, err := io.WriteString(p.stdin, "\n"); err != nil {
		t.Fatal(err)
	}
	r, code, _ := p.finish(t)
	if err := st.Wait(); err != nil {
		t.Fatalf("strace: %v", err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return r, code, string(data)
}

// parseStraceSummary reads the table of "strace -c -U name,calls,errors".
func parseStraceSummary(t *testing.T, data string) (calls, errCounts map[string]uint64) {
	t.Helper()
	calls, errCounts, err := strace.ParseSummary(data)
	if err != nil {
		t.Fatal(err)
	}
	return calls, errCounts
}

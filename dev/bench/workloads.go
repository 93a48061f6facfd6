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
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// workload is one program the tracers are measured on: a mode of the project's
// workload command (../workload) and its size.
type workload struct {
	mode  string
	flags []string // the workload's flags for the mode (spawn's --procs), before it
	about string   // what one run does, for the tables
	round string   // what one of the N rounds is, when its cost is worth a note: "spawned process"
	n     int      // rounds under most tracers
	// slowN is the rounds under perf trace and strace, which add microseconds
	// to every call: at n a single run would take minutes. Their cost is
	// compared per syscall, which does not depend on N.
	slowN int
	// calls is what the workload must report for n rounds: each run is
	// checked against it, and every tracer's count against the report.
	calls func(n int) map[string]uint64
}

var workloads = []workload{
	{mode: "getppid", about: "N getppid in one thread, the cheapest syscall there is",
		n: 10_000_000, slowN: 100_000,
		calls: func(n int) map[string]uint64 { return map[string]uint64{"getppid": u(n)} }},
	{mode: "openat-close", about: "N × (openat + close) of one temp file, in one thread",
		n: 1_000_000, slowN: 20_000,
		calls: func(n int) map[string]uint64 { return map[string]uint64{"openat": u(n), "close": u(n)} }},
	{mode: "connect", about: "N loopback TCP connections: socket, connect, close in one thread, accept4, close in another",
		n: 100_000, slowN: 2_000,
		calls: func(n int) map[string]uint64 {
			return map[string]uint64{"socket": u(n), "connect": u(n), "accept4": u(n), "close": u(2 * n)}
		}},
	{mode: "fork", about: "N × (fork, the child exits, wait4), one after another",
		n: 20_000, slowN: 500,
		calls: func(n int) map[string]uint64 { return map[string]uint64{"clone": u(n), "wait4": u(n)} }},
	{mode: "mix2", about: "2 threads at once, each N × (getppid, failing openat, openat + close)",
		n: 500_000, slowN: 5_000,
		calls: func(n int) map[string]uint64 {
			return map[string]uint64{"getppid": u(2 * n), "openat": u(4 * n), "close": u(2 * n)}
		}},
	// A process's whole life, as a shell runs a command: what churn costs.
	// Its table's added/syscall is per clone and wait4 (two per process);
	// the cost per process, twice that, is in the note under it and in the
	// verdict.
	{mode: "spawn", about: "N × (fork, the child execs /bin/true, wait4), one after another",
		round: "spawned process", n: 5_000, slowN: 500, calls: spawnCalls},
}

// spawnCalls is what `workload spawn N` reports without --rate: the children's
// own calls (execve, and all /bin/true does) are theirs.
func spawnCalls(n int) map[string]uint64 { return map[string]uint64{"clone": u(n), "wait4": u(n)} }

func u(n int) uint64 { return uint64(n) }

// workloadReport is the part of the workload's JSON report the bench reads.
type workloadReport struct {
	Mode      string              `json:"mode"`
	PID       int                 `json:"pid"`
	Calls     map[string]uint64   `json:"calls"`
	Threads   []int               `json:"threads"`
	Children  []struct{ PID int } `json:"children"`
	ElapsedNS int64               `json:"elapsed_ns"`
	// spawn: the children started, and how many exited with each status
	// (or died of each signal, by name).
	Spawned   int            `json:"spawned"`
	ExitCodes map[string]int `json:"exit_codes"`
}

// syscalls is the number of measured calls the workload made, the divisor of
// every per-call cost.
func (w workloadReport) syscalls() uint64 { return totalCalls(w.Calls) }

// totalCalls sums calls per syscall name.
func totalCalls(calls map[string]uint64) uint64 {
	var total uint64
	for _, c := range calls {
		total += c
	}
	return total
}

// waiting is a workload started with --wait: set up, and blocked until the
// go-ahead, so that a tracer can attach to it first (and count from there on
// only the measured calls, not the program's start-up).
type waiting struct {
	cmd    *exec.Cmd
	pid    int
	stdin  io.WriteCloser
	stdout *bufio.Reader
	stderr bytes.Buffer
}

// startWorkload starts `workload --wait FLAGS MODE N` and returns once it is
// ready.
func startWorkload(ctx context.Context, bin, mode string, n int, flags ...string) (*waiting, error) {
	args := append(append([]string{"--wait"}, flags...), mode, strconv.Itoa(n))
	w := &waiting{cmd: exec.CommandContext(ctx, bin, args...)}
	w.cmd.Stderr = &w.stderr
	var err error
	if w.stdin, err = w.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	out, err := w.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	w.stdout = bufio.NewReaderSize(out, 1<<20)
	if err := w.cmd.Start(); err != nil {
		return nil, fmt.Errorf("workload: %w", err)
	}
	line, err := w.stdout.ReadString('\n')
	pid, perr := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(line), "ready "))
	if err != nil || perr != nil || !strings.HasPrefix(line, "ready ") {
		w.kill()
		return nil, fmt.Errorf("workload %s %d did not get ready: %q %v (stderr: %s)", mode, n, line, err, tail(w.stderr.Bytes()))
	}
	w.pid = pid
	return w, nil
}

// finish gives the go-ahead, reads the report and waits for the exit.
func (w *waiting) finish() (workloadReport, error) {
	var r workloadReport
	if _, err := io.WriteString(w.stdin, "\n"); err != nil {
		w.kill()
		return r, fmt.Errorf("workload: go-ahead: %w", err)
	}
	w.stdin.Close()
	line, readErr := w.stdout.ReadBytes('\n')
	io.Copy(io.Discard, w.stdout)
	if err := w.cmd.Wait(); err != nil {
		return r, fmt.Errorf("workload: %v (stderr: %s)", err, tail(w.stderr.Bytes()))
	}
	if err := json.Unmarshal(line, &r); err != nil || r.Mode == "" {
		return r, fmt.Errorf("workload: no report (%v): %q", errors.Join(readErr, err), tail(line))
	}
	return r, nil
}

// kill ends a workload that will not be finished.
func (w *waiting) kill() {
	w.cmd.Process.Kill()
	w.cmd.Wait()
}

// check makes sure the workload did exactly what it was asked: each tracer's
// count is compared with the report, so the report must be right.
func (wl workload) check(r workloadReport, n int) error {
	if want := wl.calls(n); !maps.Equal(r.Calls, want) {
		return fmt.Errorf("workload %s %d reported calls %v, want %v", wl.mode, n, r.Calls, want)
	}
	if r.ElapsedNS <= 0 {
		return fmt.Errorf("workload %s %d reported elapsed_ns %d", wl.mode, n, r.ElapsedNS)
	}
	return r.childrenFailed()
}

// childrenFailed says whether a spawn's children did not all exit 0 (a
// program that could not be run exits 127): their lives would not be the
// ones measured.
func (r workloadReport) childrenFailed() error {
	for code := range r.ExitCodes {
		if code != "0" {
			return fmt.Errorf("workload %s: children exited with %v", r.Mode, r.ExitCodes)
		}
	}
	return nil
}

// runCell runs the workload once under the tracer: the workload sets up, the
// tracer attaches, the measured loop runs, the tracer stops and says what it
// counted of the workload. watch, when not nil, is called once the tracer is
// attached, right before the go-ahead, and what it returns right after the
// workload has exited, before the tracer stops.
func runCell(ctx context.Context, bin string, wl workload, t *tracer, n int, watch func() (after func())) (workloadReport, traced, error) {
	ctx, cancel := context.WithTimeout(ctx, runTimeout)
	defer cancel()
	w, err := startWorkload(ctx, bin, wl.mode, n, wl.flags...)
	if err != nil {
		return workloadReport{}, traced{}, err
	}
	stop, err := t.attach(ctx, w.pid)
	if err != nil {
		w.kill()
		return workloadReport{}, traced{}, err
	}
	after := func() {}
	if watch != nil {
		after = watch()
	}
	began := time.Now()
	r, werr := w.finish()
	after()
	if werr == nil {
		werr = wl.check(r, n)
	}
	if werr != nil {
		stop(nil) // the tracer must end either way
		return r, traced{}, werr
	}
	got, err := stop(&r)
	if err != nil {
		return r, got, fmt.Errorf("%s (the workload ran %.1fs): %w", t.name, time.Since(began).Seconds(), err)
	}
	return r, got, nil
}

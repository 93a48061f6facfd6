package e2e

// The command line itself: help, headless-only flags, error lines.

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"tlmon/internal/bpftest"
)

// TestHelpGoesToStdoutIn80Columns: --help prints a usage line, examples and
// the flags on stdout, every line within 80 columns, and exits 0.
func TestHelpGoesToStdoutIn80Columns(t *testing.T) {
	for _, flag := range []string{"--help", "-h"} {
		var stdout, stderr bytes.Buffer
		cmd := exec.Command(tlmonBin, flag)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil || stderr.Len() > 0 {
			t.Fatalf("%s: %v, stderr %q; want exit 0 and nothing on stderr", flag, err, stderr.String())
		}
		out := stdout.String()
		if !strings.HasPrefix(out, "Usage: tlmon") || !strings.Contains(out, "Examples:") || !strings.Contains(out, "--headless") {
			t.Errorf("%s: no usage line, examples or flags on stdout:\n%s", flag, out)
		}
		for i, line := range strings.Split(out, "\n") {
			if n := utf8.RuneCountInString(line); n > 80 {
				t.Errorf("%s: line %d is %d columns: %q", flag, i+1, n, line)
			}
		}
	}
}

// TestHeadlessOnlyFlagsMeanHeadless: -o json -d 1s, with no --headless and
// no terminal, prints a JSON report after about a second, having said so
// when it started.
func TestHeadlessOnlyFlagsMeanHeadless(t *testing.T) {
	bpftest.Require(t)
	start := time.Now()
	tl := startTlmon(t, "-o", "json", "-d", "1s", "--classes", "none")
	done := make(chan report, 1)
	go func() { done <- tl.finish(t, false) }()
	select {
	case rep := <-done:
		if len(rep.Syscalls) == 0 {
			t.Errorf("an empty report")
		}
	case <-time.After(8 * time.Second):
		t.Fatalf("-d 1s still running after %v", time.Since(start))
	}
	if first := firstLine(tl.errAll.String()); !strings.Contains(first, "for 1s (Ctrl-C stops earlier)") {
		t.Errorf("first line %q does not say it runs for 1s", first)
	}
}

// TestZeroDurationIsAUsageError: -d 0s would run forever; it is refused.
func TestZeroDurationIsAUsageError(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel() // before the fix, -d 0s ran until killed
	code, stderr := runFail(t, exec.CommandContext(ctx, tlmonBin, "--headless", "-d", "0s"))
	if code != 2 || !strings.HasPrefix(stderr, "tlmon: --duration 0s") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("exit %d, stderr %q; want exit 2 and one line about --duration", code, stderr)
	}
}

// TestCommandRunSaysUntilItExits: with a command, the first line says tlmon
// runs until the command exits.
func TestCommandRunSaysUntilItExits(t *testing.T) {
	bpftest.Require(t)
	tl := startTlmon(t, "-o", "json", "--classes", "none", "--", "true")
	tl.finish(t, false)
	if first := firstLine(tl.errAll.String()); !strings.Contains(first, "until the command exits") {
		t.Errorf("first line %q does not say it runs until the command exits", first)
	}
}

// TestNotRootSaysTlmonOnce: the not-root line names tlmon once, as the
// prefix of every error line, and says what to do.
func TestNotRootSaysTlmonOnce(t *testing.T) {
	bpftest.Require(t)
	cmd := exec.Command(tlmonBin, "--headless")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	code, stderr := runFail(t, cmd)
	if code != 1 || !strings.HasPrefix(stderr, "tlmon: needs root") || strings.Count(stderr, "tlmon") != 1 {
		t.Errorf("exit %d, stderr %q; want exit 1 and %q once, at the start", code, stderr, "tlmon: ")
	}
}

// TestIntervalLinesCarryTheirOwnCounts: with -i, a workload's calls made
// between two reports are in the next report's counts only, each line says it
// covers its interval, the first comes after a full interval, and the final
// summary counts since the start.
func TestIntervalLinesCarryTheirOwnCounts(t *testing.T) {
	bpftest.Require(t)
	w := startWorkload(t, "getppid", "30000")
	start := time.Now()
	tl := startTlmon(t, "-o", "json", "-i", "300ms", "--classes", "none", "-p", pidArg(w.pid))
	time.Sleep(700 * time.Millisecond) // two reports of nothing
	want := w.run(t)
	tl.finish(t, false)
	lines := strings.Split(strings.TrimSpace(tl.stdout.String()), "\n")
	type line struct {
		report
		At         time.Time `json:"at"`
		SinceStart bool      `json:"since_start"`
		IntervalS  float64   `json:"interval_s"`
	}
	var sum uint64
	for i, l := range lines {
		var r line
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("line %d: %v: %s", i+1, err, l)
		}
		last := i == len(lines)-1
		if r.SinceStart != last || (!last && (r.IntervalS < 0.2 || r.IntervalS > 0.6)) {
			t.Errorf("line %d: since_start %v, interval_s %v", i+1, r.SinceStart, r.IntervalS)
		}
		if i == 0 && (r.At.Sub(start) < 250*time.Millisecond || r.syscall("getppid").Calls != 0) {
			t.Errorf("the first line came %v after the start with %d getppid: want a full interval, before the workload ran", r.At.Sub(start), r.syscall("getppid").Calls)
		}
		if !last {
			sum += r.syscall("getppid").Calls
		} else if n := r.syscall("getppid").Calls; n != want.Calls["getppid"] {
			t.Errorf("the summary has %d getppid, want %d", n, want.Calls["getppid"])
		}
	}
	if len(lines) < 3 || sum > want.Calls["getppid"] {
		t.Errorf("%d lines, %d getppid in the interval lines (made %d): want at least two intervals and the summary, each call in one interval at most", len(lines), sum, want.Calls["getppid"])
	}
}

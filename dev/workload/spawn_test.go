//go:build linux

package main

import (
	"errors"
	"maps"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func init() {
	detailKeys["spawn"] = []string{"spawned", "exit_codes"}
}

// spawnCase is one run of spawn mode: its flags, N, and the exit status every
// child must have.
type spawnCase struct {
	flags []string
	n     int
	procs int
	code  int
	rate  float64
}

func (c spawnCase) args() []string {
	return append(slices.Clone(c.flags), "spawn", strconv.Itoa(c.n))
}

func (c spawnCase) name() string {
	return strings.Join(c.args(), " ")
}

var spawnCases = []spawnCase{
	{n: 50, procs: 1},
	{flags: []string{"--procs", "2"}, n: 51, procs: 2},
	{flags: []string{"--exec", "/bin/false"}, n: 10, procs: 1, code: 1},
	{flags: []string{"--exec", "/nonexistent/program"}, n: 3, procs: 1, code: 127},
	{flags: []string{"--procs", "2", "--rate", "500"}, n: 100, procs: 2, rate: 500},
	{flags: []string{"--procs", "3"}, n: maxListedChildren + 1, procs: 3},
}

// check compares a spawn report with the case: one clone and one wait4 per
// child, every child exited with the case's code, children listed only up to
// maxListedChildren, and with --rate a clock_nanosleep at most per start.
func (c spawnCase) check(t *testing.T, r report, code int) {
	t.Helper()
	if r.Mode != "spawn" || code != 0 {
		t.Errorf("mode %q exit code %d, want spawn and 0", r.Mode, code)
	}
	n := uint64(c.n)
	want := calls{"clone": n, "wait4": n}
	if sleeps := r.Calls["clock_nanosleep"]; c.rate > 0 && sleeps > 0 && sleeps <= n {
		want["clock_nanosleep"] = sleeps
	}
	if !maps.Equal(r.Calls, want) {
		t.Errorf("calls %v, want clone and wait4 %d each (and 1..N clock_nanosleep with --rate)", r.Calls, n)
	}
	if len(r.Errors) != 0 {
		t.Errorf("errors %v, want none", r.Errors)
	}
	if tids := slices.Compact(slices.Sorted(slices.Values(r.Threads))); len(tids) != c.procs || len(r.Threads) != c.procs {
		t.Errorf("threads %v, want %d distinct", r.Threads, c.procs)
	}
	if r.Spawned != c.n || !maps.Equal(r.ExitCodes, map[string]int{strconv.Itoa(c.code): c.n}) {
		t.Errorf("spawned %d, exit_codes %v, want %d exiting %d", r.Spawned, r.ExitCodes, c.n, c.code)
	}
	if c.n > maxListedChildren {
		if len(r.Children) != 0 {
			t.Errorf("%d children listed, want none above %d", len(r.Children), maxListedChildren)
		}
		return
	}
	if len(r.Children) != c.n {
		t.Fatalf("%d children listed, want %d", len(r.Children), c.n)
	}
	pids := map[int]bool{}
	for i, ch := range r.Children {
		if ch.ExitCode != c.code || ch.Signal != 0 || ch.PID <= 0 || ch.PID == r.PID || pids[ch.PID] {
			t.Errorf("child %d: %+v, want a new pid exiting %d", i, ch, c.code)
		}
		pids[ch.PID] = true
	}
}

func TestSpawn(t *testing.T) {
	for _, c := range spawnCases {
		t.Run(c.name(), func(t *testing.T) {
			r, code := run(t, c.args()...)
			c.check(t, r, code)
			if c.rate > 0 {
				// The last start is due (N-1)/R after the first.
				if d, want := time.Duration(r.Elapsed), time.Duration(float64(c.n-1)/c.rate*float64(time.Second)); d < want {
					t.Errorf("%d starts at %v/s took %v, want at least %v", c.n, c.rate, d, want)
				}
			}
		})
	}
}

// TestSpawnStrace checks the report's clone, wait4 and clock_nanosleep
// against strace -f, which also counts the children's calls: none of those
// three is among them (/bin/true and /bin/false make none, and a failed
// execve is followed by exit_group).
func TestSpawnStrace(t *testing.T) {
	for _, c := range spawnCases {
		if c.n > maxListedChildren {
			continue // strace -f makes a thousand forks slow
		}
		t.Run(c.name(), func(t *testing.T) {
			r, code, summary := straceRun(t, []string{"-f", "-c", "-U", "name,calls,errors", "-S", "name"}, c.args()...)
			c.check(t, r, code)
			counts, failures := parseStraceSummary(t, summary)
			for _, name := range []string{"clone", "wait4", "clock_nanosleep"} {
				if counts[name] != r.Calls[name] || failures[name] != 0 {
					t.Errorf("%s: strace counted %d calls, %d errors; report says %d calls", name, counts[name], failures[name], r.Calls[name])
				}
			}
		})
	}
}

func TestSpawnBadFlags(t *testing.T) {
	for _, args := range [][]string{{"--procs", "0", "spawn", "1"}, {"--rate", "-1", "spawn", "1"}, {"--procs", "x", "spawn", "1"}} {
		err := exec.Command(binary, args...).Run()
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) || exitErr.ExitCode() == 0 {
			t.Errorf("workload %v: %v, want a failure exit", args, err)
		}
	}
}

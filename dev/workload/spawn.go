//go:build linux

package main

import (
	"flag"
	"fmt"
	"strconv"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// spawn mode's own flags. They sit on the command line before the mode, like
// --wait (workload --procs 2 --rate 1000 spawn 20000); the other modes ignore
// them.
var (
	spawnExec  = flag.String("exec", "/bin/true", "spawn: the program each child execs (no arguments)")
	spawnProcs = flag.Int("procs", 1, "spawn: loops running at once, each in its own thread, sharing N between them")
	spawnRate  = flag.Float64("rate", 0, "spawn: starts per second over all loops, 0 for as fast as possible")
)

// maxListedChildren bounds spawn's report: up to this many spawns every child
// is listed under "children" (pid and exit code); above it the list is empty
// and only "spawned" and "exit_codes" say what the children did, so that
// N = 100,000 still prints a short line.
const maxListedChildren = 1000

// spawnLoop is what one spawner thread did.
type spawnLoop struct {
	tally    tally
	clone    *counter
	wait     *counter
	sleep    *counter
	children []child
	spawned  int // children started and reaped
	exited   exits
	count    int // starts this loop makes
}

// exits counts children by how they ended, in arrays so that counting in the
// measured loop allocates nothing.
type exits struct {
	codes   [256]int // by exit status
	signals [65]int  // by the signal that killed them
	unknown int      // wait4 failed
}

func (x *exits) add(c child) {
	switch {
	case c.Signal != 0:
		x.signals[c.Signal%len(x.signals)]++
	case c.ExitCode >= 0:
		x.codes[c.ExitCode%len(x.codes)]++
	default:
		x.unknown++
	}
}

// addTo adds the counts to m, keyed as exit_codes is: the exit status, the
// signal's name, or -1 when wait4 failed.
func (x *exits) addTo(m map[string]int) {
	for code, n := range x.codes {
		if n > 0 {
			m[strconv.Itoa(code)] += n
		}
	}
	for sig, n := range x.signals {
		if n > 0 {
			m[unix.SignalName(unix.Signal(sig))] += n
		}
	}
	if x.unknown > 0 {
		m["-1"] += x.unknown
	}
}

// spawnMode starts N processes, each a fork that execs *spawnExec at once and
// is waited for before the loop starts the next: the life of a command a shell
// runs. --procs P runs P such loops in parallel threads (loop k makes N/P
// starts, the first N%P loops one more), and --rate R paces the starts of all
// loops together to R a second.
//
// This process makes, per start, one clone(SIGCHLD) (program.start) and one
// wait4 (reap); with --rate, one clock_nanosleep before each start that is
// early. Each child makes rt_sigprocmask and execve before the program runs:
// those, and everything the program does, are the child's own calls and not in
// the report; only each child's exit code is (exit_codes, and children when
// N ≤ maxListedChildren). A child whose execve fails exits 127.
func spawnMode(e *env) (result, error) {
	procs, rate := *spawnProcs, *spawnRate
	if procs < 1 {
		return result{}, fmt.Errorf("--procs %d: want at least 1", procs)
	}
	if rate < 0 {
		return result{}, fmt.Errorf("--rate %v: want 0 (as fast as possible) or more", rate)
	}
	prog, err := newProgram([]string{*spawnExec}, -1, 0)
	if err != nil {
		return result{}, err
	}
	// Each loop holds a thread, and a loop blocked in wait4 or clock_nanosleep
	// may have its P handed to another thread: park spare threads now so the
	// runtime never clones one in the measured phase (ready parks only 4).
	prewarmThreads(procs + 4)

	list := e.n <= maxListedChildren
	loops := make([]*spawnLoop, procs)
	for k := range procs {
		l := &spawnLoop{}
		l.clone, l.wait, l.sleep = l.tally.counter("clone"), l.tally.counter("wait4"), l.tally.counter("clock_nanosleep")
		l.count = e.n / procs
		if k < e.n%procs {
			l.count++
		}
		if list {
			l.children = make([]child, 0, l.count)
		}
		loops[k] = l
	}
	// The measured threads' signal mask is also what each child inherits
	// and clears before execve.
	tids, _ := inThreads(e, procs, nil, func(k int) {
		l := loops[k]
		began := e.began // set as ready returned, before the threads started
		for i := range l.count {
			if rate > 0 {
				// Start j of all (j = i·P + k) is due j/R after the
				// measured phase began.
				due := time.Duration(float64(i*procs+k) / rate * float64(time.Second))
				l.sleepUntil(began, due)
			}
			pid := prog.start(l.clone)
			if pid == 0 {
				continue // counted as a failed clone
			}
			c := reap(l.wait, pid)
			l.spawned++
			l.exited.add(c)
			if list {
				l.children = append(l.children, c)
			}
		}
	})

	res := result{detail: detail{ExitCodes: map[string]int{}}}
	res.tids = tids
	for _, l := range loops {
		res.tallies = append(res.tallies, &l.tally)
		res.children = append(res.children, l.children...)
		res.detail.Spawned += l.spawned
		l.exited.addTo(res.detail.ExitCodes)
	}
	return res, nil
}

// sleepUntil sleeps with one clock_nanosleep until due after began, if that
// is still ahead; a loop behind schedule starts at once. The remaining time
// is read through the vDSO (time.Since), which is no system call.
func (l *spawnLoop) sleepUntil(began time.Time, due time.Duration) {
	left := due - time.Since(began)
	if left <= 0 {
		return
	}
	ts := unix.NsecToTimespec(left.Nanoseconds())
	for {
		// Signals are blocked (measuredThread), so EINTR should not happen;
		// if it does the call was made and is counted, and the rest is slept.
		_, _, errno := unix.Syscall6(unix.SYS_CLOCK_NANOSLEEP, unix.CLOCK_MONOTONIC, 0, uintptr(unsafe.Pointer(&ts)), uintptr(unsafe.Pointer(&ts)), 0, 0)
		l.sleep.add(errno)
		if errno != unix.EINTR {
			return
		}
	}
}

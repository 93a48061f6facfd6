//go:build linux

package main

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// program is a command for a raw fork's child to exec, converted to C strings
// in setup: the child of a multithreaded Go process may only make raw system
// calls (see childExit), so everything it needs must be ready before the fork.
// os/exec would do the same job with calls of its own in this process (pipe2,
// read, close, pidfd_open, waitid) that would blur the counts.
type program struct {
	path       *byte
	argv, envv **byte
	stdout     int         // dup3'd onto fd 1 in the child when >= 0
	pdeathsig  unix.Signal // sent to the child when the forking thread ends; 0 for none
}

func newProgram(argv []string, stdout int, pdeathsig unix.Signal) (*program, error) {
	path, err := unix.BytePtrFromString(argv[0])
	if err != nil {
		return nil, err
	}
	av, err := cStrings(argv)
	if err != nil {
		return nil, err
	}
	ev, err := cStrings(os.Environ())
	if err != nil {
		return nil, err
	}
	// The pointers to the first elements keep the arrays alive.
	return &program{path: path, argv: &av[0], envv: &ev[0], stdout: stdout, pdeathsig: pdeathsig}, nil
}

// cStrings converts ss to the nil-terminated array of C strings execve wants.
func cStrings(ss []string) ([]*byte, error) {
	ps := make([]*byte, len(ss)+1)
	for i, s := range ss {
		p, err := unix.BytePtrFromString(s)
		if err != nil {
			return nil, err
		}
		ps[i] = p
	}
	return ps, nil
}

// noSignals is the signal mask a child execs with. sigsetSize is the kernel's
// sizeof(sigset_t), 64 signals, on amd64 and arm64 (unix.Sigset_t is larger).
var noSignals unix.Sigset_t

const sigsetSize = 8

// start forks with clone(SIGCHLD), counted in clone, and the child execs p. It
// returns the child's pid, or 0 if the clone failed. The caller must have
// blocked all signals (measuredThread), as forkMode explains.
func (p *program) start(clone *counter) int {
	pid, _, errno := unix.RawSyscall6(unix.SYS_CLONE, uintptr(unix.SIGCHLD), 0, 0, 0, 0, 0)
	if errno == 0 && pid == 0 {
		childExec(p) // never returns
	}
	clone.add(errno)
	if errno != 0 {
		return 0
	}
	return int(pid)
}

// childExec is all a program's child runs before execve, raw calls only (see
// childExit). The signal mask survives execve, so the child unblocks every
// signal first, as syscall.forkAndExecInChild does; unlike it, it leaves Go's
// handlers in place, which execve resets, since nothing signals a child before
// it has exec'd. If execve fails the child exits 127, as a shell's does.
//
//go:nosplit
func childExec(p *program) {
	unix.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, uintptr(unsafe.Pointer(&noSignals)), 0, sigsetSize, 0, 0)
	if p.pdeathsig != 0 {
		unix.RawSyscall(unix.SYS_PRCTL, unix.PR_SET_PDEATHSIG, uintptr(p.pdeathsig), 0)
	}
	if p.stdout >= 0 {
		unix.RawSyscall(unix.SYS_DUP3, uintptr(p.stdout), 1, 0) // leaves fd 1 open across execve
	}
	unix.RawSyscall(unix.SYS_EXECVE, uintptr(unsafe.Pointer(p.path)), uintptr(unsafe.Pointer(p.argv)), uintptr(unsafe.Pointer(p.envv)))
	for {
		unix.RawSyscall(unix.SYS_EXIT_GROUP, 127, 0, 0)
	}
}

// reap waits for the child pid with wait4, each call counted in wait, and
// returns it as wait4 saw it.
func reap(wait *counter, pid int) child {
	var status unix.WaitStatus
	var errno unix.Errno
	for {
		_, _, errno = unix.Syscall6(unix.SYS_WAIT4, uintptr(pid), uintptr(unsafe.Pointer(&status)), 0, 0, 0, 0)
		wait.add(errno)
		if errno != unix.EINTR {
			break
		}
	}
	c := child{PID: pid, ExitCode: -1}
	switch {
	case errno != 0:
	case status.Exited():
		c.ExitCode = status.ExitStatus()
	case status.Signaled():
		c.Signal = int(status.Signal())
	}
	return c
}

// exitCommand is what exec-exit7 runs: a known binary, known arguments and a
// known exit status. dash and bash run the exit builtin without forking.
var exitCommand = []string{"/bin/sh", "-c", "exit 7"}

const exitCommandStatus = 7

// execExit7Mode forks N children one after another; each execs exitCommand and
// is waited for with wait4 before the next. This process makes clone and wait4;
// each child makes execve and whatever the shell does, then exit_group(7).
func execExit7Mode(e *env) (result, error) {
	defer measuredThread()()
	sh, err := newProgram(exitCommand, -1, 0)
	if err != nil {
		return result{}, err
	}
	t := &tally{}
	clone, wait := t.counter("clone"), t.counter("wait4")
	children := make([]child, 0, e.n)
	tid := unix.Gettid()
	e.ready()
	for i := 0; i < e.n; i++ {
		if pid := sh.start(clone); pid > 0 {
			children = append(children, reap(wait, pid))
		}
	}
	e.done()
	return result{
		tallies: []*tally{t}, children: children, tids: []int{tid},
		detail: detail{Filename: exitCommand[0], Argv: exitCommand, ExitCode: exitCommandStatus},
	}, nil
}

// sleepCommand is what kill-usr1's children run: a C program, so SIGUSR1 has
// its default action (a Go child would catch it), and one that blocks in a
// single known call.
var sleepCommand = []string{"/bin/sleep", "3600"}

// killUsr1Mode starts N children in setup, each running sleepCommand, and waits
// until each is blocked in its sleep. The measured phase then sends each, in
// turn, SIGUSR1 with one kill and reaps it with wait4: the children die of the
// signal in the middle of their sleep. Starting them in setup keeps the fork,
// exec and the polling of /proc out of the measured phase (and out of a tracer
// attached with -p after setup, which also does not follow these children).
func killUsr1Mode(e *env) (result, error) {
	defer measuredThread()()
	// The forking thread outlives the mode; PDEATHSIG only kills children
	// left behind when this process ends early, e.g. on a failed setup.
	sleep, err := newProgram(sleepCommand, -1, unix.SIGKILL)
	if err != nil {
		return result{}, err
	}
	setupClones := (&tally{}).counter("clone") // setup calls are not reported
	pids := make([]int, 0, e.n)
	for i := 0; i < e.n; i++ {
		pid := sleep.start(setupClones)
		if pid == 0 {
			return result{}, fmt.Errorf("clone failed")
		}
		pids = append(pids, pid)
	}
	for _, pid := range pids {
		if err := awaitSleeping(pid, 10*time.Second); err != nil {
			return result{}, err
		}
	}

	res := killAndReap(e, pids, unix.SIGUSR1)
	res.detail = detail{Filename: sleepCommand[0], Argv: sleepCommand, Signal: unix.SignalName(unix.SIGUSR1)}
	return res, nil
}

// killAndReap is the measured phase of the modes that end their children:
// for each pid in turn, kill(pid, sig) and wait4.
func killAndReap(e *env, pids []int, sig unix.Signal) result {
	t := &tally{}
	kill, wait := t.counter("kill"), t.counter("wait4")
	children := make([]child, 0, len(pids))
	tid := unix.Gettid()
	e.ready()
	for _, pid := range pids {
		_, _, errno := unix.RawSyscall(unix.SYS_KILL, uintptr(pid), uintptr(sig), 0)
		kill.add(errno)
		children = append(children, reap(wait, pid))
	}
	e.done()
	return result{tallies: []*tally{t}, children: children, tids: []int{tid}}
}

// awaitSleeping polls /proc/PID/syscall until pid is blocked in nanosleep or
// clock_nanosleep (which one depends on the C library): only then has it
// exec'd sleepCommand and reached its sleep.
func awaitSleeping(pid int, timeout time.Duration) error {
	return awaitBlocked(pid, sleepCommand[0], timeout, unix.SYS_CLOCK_NANOSLEEP, unix.SYS_NANOSLEEP)
}

// awaitBlocked polls /proc/PID/syscall until pid is blocked in one of the
// syscalls nrs; what names the place for the error message.
func awaitBlocked(pid int, what string, timeout time.Duration, nrs ...int) error {
	file := "/proc/" + strconv.Itoa(pid) + "/syscall"
	var last string
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		b, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		// "NR arg1 ... sp pc" when blocked in a call, "running" otherwise.
		last = strings.TrimSpace(string(b))
		nr, _, _ := strings.Cut(last, " ")
		if n, err := strconv.Atoi(nr); err == nil && slices.Contains(nrs, n) {
			return nil
		}
		// A child that failed to get there has exited: no use waiting.
		// WNOWAIT leaves it for the caller to reap.
		var info unix.Siginfo
		if err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil); err != nil || info.Signo != 0 {
			return fmt.Errorf("child %d exited before it blocked in %s (waitid: %v)", pid, what, err)
		}
	}
	return fmt.Errorf("child %d did not block in %s within %v (%s: %q)", pid, what, timeout, file, last)
}

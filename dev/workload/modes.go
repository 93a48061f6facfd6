//go:build linux

package main

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The measured calls use unix.RawSyscall when they cannot block for long: it
// does not tell the scheduler about the call, so nothing else happens around it.
// Calls that may block (connect, accept4, wait4, clock_nanosleep) use
// unix.Syscall, so that the runtime knows the goroutine is in a syscall and can
// hand its P to another thread meanwhile.
//
// Every thread making measured calls runs them with all signals blocked (see
// measuredThread). A signal that arrives during a blocking call (the runtime's
// preemption signal SIGURG, say, or SIGCHLD) interrupts it and the kernel
// restarts it: one call for this program, but two sys_enter events for a tracer.
// A signal during clone makes the kernel restart the clone the same way.

// measuredThread locks the calling goroutine to its OS thread and blocks all
// signals in that thread; the returned function restores the signal mask. With
// the signals blocked the thread is also never asynchronously preempted, which
// would otherwise make the scheduler hand the locked goroutine around between
// threads. Signals sent to the process (SIGINT, SIGTERM) are still taken by
// other threads; only SIGKILL and SIGSTOP cannot be blocked anyway. The runtime
// does not copy this mask into threads it creates later.
func measuredThread() (restore func()) {
	runtime.LockOSThread()
	var all, old unix.Sigset_t
	for i := range all.Val {
		all.Val[i] = ^all.Val[i]
	}
	if err := unix.PthreadSigmask(unix.SIG_SETMASK, &all, &old); err != nil {
		panic(fmt.Sprintf("rt_sigprocmask: %v", err))
	}
	return func() { unix.PthreadSigmask(unix.SIG_SETMASK, &old, nil) }
}

// inThreads runs the measured phase in n locked threads at once (see
// measuredThread): each runs setup(k) first (nil: none), then, once all are
// set up and ready has been called, measured(k); done is called when every
// thread has finished. A setup error stops all of them before the measured
// phase. It returns the threads' ids.
func inThreads(e *env, n int, setup func(k int) error, measured func(k int)) ([]int, error) {
	tids := make([]int, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var setUp, finished sync.WaitGroup
	for k := range n {
		setUp.Add(1)
		finished.Add(1)
		go func() {
			defer finished.Done()
			restore := measuredThread()
			defer runtime.UnlockOSThread()
			defer restore()
			tids[k] = unix.Gettid()
			if setup != nil {
				errs[k] = setup(k)
			}
			setUp.Done()
			<-start
			if errs[k] == nil {
				measured(k)
			}
		}()
	}
	setUp.Wait()
	if err := errors.Join(errs...); err != nil {
		close(start)
		finished.Wait()
		return nil, err
	}
	e.ready()
	close(start)
	finished.Wait()
	e.done()
	return tids, nil
}

// atFDCWD is AT_FDCWD as a variable, because the negative constant cannot be
// converted to uintptr at compile time.
var atFDCWD = unix.AT_FDCWD

// getppidLoop is the measured phase of the getppid modes: N calls in the
// calling (locked) thread.
func getppidLoop(e *env) result {
	t := &tally{}
	g := t.counter("getppid")
	tid := unix.Gettid()
	e.ready()
	for i := 0; i < e.n; i++ {
		_, _, errno := unix.RawSyscall(unix.SYS_GETPPID, 0, 0, 0)
		g.add(errno)
	}
	e.done()
	return result{tallies: []*tally{t}, tids: []int{tid}}
}

// getppidMode makes N getppid calls in one locked thread.
func getppidMode(e *env) (result, error) {
	defer measuredThread()()
	return getppidLoop(e), nil
}

// missingPath returns a NUL-terminated path, unique to this run, that does not
// exist: under the temp directory, named with the pid and a random suffix.
func missingPath() (*byte, error) {
	return unix.BytePtrFromString(missingName("tlmon-workload-missing"))
}

// missingName is the path missingPath converts: prefix-PID-RANDOM under the
// temp directory.
func missingName(prefix string) string {
	name := fmt.Sprintf("%s-%d-%016x", prefix, os.Getpid(), rand.Uint64())
	return filepath.Join(os.TempDir(), name)
}

// openMissing makes one openat(AT_FDCWD, path, O_RDONLY) of a missing path. In
// the unexpected case that it succeeds the descriptor is closed, and that close
// is counted too.
func openMissing(open, cls *counter, path *byte) {
	fd, _, errno := unix.RawSyscall6(unix.SYS_OPENAT, uintptr(atFDCWD), uintptr(unsafe.Pointer(path)), unix.O_RDONLY, 0, 0, 0)
	open.add(errno)
	if errno == 0 {
		_, _, errno = unix.RawSyscall(unix.SYS_CLOSE, fd, 0, 0)
		cls.add(errno)
	}
}

// openClose makes one openat(AT_FDCWD, path, O_RDONLY|O_CLOEXEC) and, if it
// succeeded, one close of the descriptor.
func openClose(open, cls *counter, path *byte) {
	fd, _, errno := unix.RawSyscall6(unix.SYS_OPENAT, uintptr(atFDCWD), uintptr(unsafe.Pointer(path)), openFlags, 0, 0, 0)
	open.add(errno)
	if errno == 0 {
		_, _, errno = unix.RawSyscall(unix.SYS_CLOSE, fd, 0, 0)
		cls.add(errno)
	}
}

// tempFile creates an empty temp file (with os, in setup) and returns its name
// and its path as a NUL-terminated byte pointer for the raw calls.
func tempFile() (string, *byte, error) {
	f, err := os.CreateTemp("", fmt.Sprintf("tlmon-workload-%d-*", os.Getpid()))
	if err != nil {
		return "", nil, err
	}
	name := f.Name()
	if err := f.Close(); err != nil {
		os.Remove(name)
		return "", nil, err
	}
	p, err := unix.BytePtrFromString(name)
	if err != nil {
		os.Remove(name)
		return "", nil, err
	}
	return name, p, nil
}

// openatMissingMode makes N openat calls of a missing path, each failing with
// ENOENT.
func openatMissingMode(e *env) (result, error) {
	defer measuredThread()()
	path, err := missingPath() // converted once: no allocation in the loop
	if err != nil {
		return result{}, err
	}
	return openLoop(e, openMissing, path), nil
}

// openatCloseMode makes N × (openat + close) of a temp file made in setup. The
// file is removed afterwards with unlinkat, which is not a measured syscall.
func openatCloseMode(e *env) (result, error) {
	defer measuredThread()()
	name, path, err := tempFile()
	if err != nil {
		return result{}, err
	}
	defer os.Remove(name)
	return openLoop(e, openClose, path), nil
}

// openLoop is the measured phase of the openat modes: N rounds of one.
func openLoop(e *env, one func(open, cls *counter, path *byte), path *byte) result {
	t := &tally{}
	open, cls := t.counter("openat"), t.counter("close")
	tid := unix.Gettid()
	e.ready()
	for i := 0; i < e.n; i++ {
		one(open, cls, path)
	}
	e.done()
	return result{tallies: []*tally{t}, tids: []int{tid}}
}

// mixMode makes, in one thread, N getppid, N openat of a missing path and
// N × (openat + close) of a temp file, interleaved.
func mixMode(e *env) (result, error) {
	defer measuredThread()()
	missing, path, remove, err := mixPaths()
	if err != nil {
		return result{}, err
	}
	defer remove()
	t := &tally{}
	c := newMixCounters(t)
	tid := unix.Gettid()
	e.ready()
	c.rounds(e.n, missing, path)
	e.done()
	return result{tallies: []*tally{t}, tids: []int{tid}}, nil
}

// mixPaths makes the two paths of mix's loop: one missing, and a temp file
// that remove deletes.
func mixPaths() (missing, path *byte, remove func(), err error) {
	if missing, err = missingPath(); err != nil {
		return nil, nil, nil, err
	}
	name, path, err := tempFile()
	if err != nil {
		return nil, nil, nil, err
	}
	return missing, path, func() { os.Remove(name) }, nil
}

// mixCounters are the counters of one thread running mix's loop.
type mixCounters struct{ getppid, openat, close *counter }

func newMixCounters(t *tally) mixCounters {
	return mixCounters{t.counter("getppid"), t.counter("openat"), t.counter("close")}
}

// rounds is mix's loop: n × (getppid, openat of the missing path, openat +
// close of the existing one).
func (c mixCounters) rounds(n int, missing, path *byte) {
	for i := 0; i < n; i++ {
		_, _, errno := unix.RawSyscall(unix.SYS_GETPPID, 0, 0, 0)
		c.getppid.add(errno)
		openMissing(c.openat, c.close, missing)
		openClose(c.openat, c.close, path)
	}
}

// mix2Mode runs mix's loop in two locked threads at once, N rounds in each:
// 2N getppid, 2N openat of a missing path and 2N × (openat + close) of a temp
// file in all. Both threads use the same two paths; their calls run in
// parallel on two CPUs, which is what a tracer's per-CPU and shared state
// meet in a busy multithreaded program.
func mix2Mode(e *env) (result, error) {
	missing, path, remove, err := mixPaths()
	if err != nil {
		return result{}, err
	}
	defer remove()
	const threads = 2
	tallies := make([]*tally, threads)
	counters := make([]mixCounters, threads)
	for k := range threads {
		tallies[k] = &tally{}
		counters[k] = newMixCounters(tallies[k])
	}
	tids, _ := inThreads(e, threads, nil, func(k int) { counters[k].rounds(e.n, missing, path) })
	return result{tallies: tallies, tids: tids}, nil
}

// listenLoopback makes a listening TCP socket on 127.0.0.1, port chosen by the
// kernel, with raw syscalls, and returns it and its address.
func listenLoopback(backlog int) (int, unix.RawSockaddrInet4, error) {
	addr := unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: [4]byte{127, 0, 0, 1}}
	fd, _, errno := unix.RawSyscall(unix.SYS_SOCKET, unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if errno != 0 {
		return -1, addr, fmt.Errorf("socket: %w", errno)
	}
	fail := func(what string, errno unix.Errno) (int, unix.RawSockaddrInet4, error) {
		unix.RawSyscall(unix.SYS_CLOSE, fd, 0, 0)
		return -1, addr, fmt.Errorf("%s: %w", what, errno)
	}
	if _, _, errno := unix.RawSyscall(unix.SYS_BIND, fd, uintptr(unsafe.Pointer(&addr)), unix.SizeofSockaddrInet4); errno != 0 {
		return fail("bind", errno)
	}
	if _, _, errno := unix.RawSyscall(unix.SYS_LISTEN, fd, uintptr(backlog), 0); errno != 0 {
		return fail("listen", errno)
	}
	// getsockname fills in the port; it stays in network byte order, which is
	// what connect wants.
	size := uint32(unix.SizeofSockaddrInet4)
	if _, _, errno := unix.RawSyscall(unix.SYS_GETSOCKNAME, fd, uintptr(unsafe.Pointer(&addr)), uintptr(unsafe.Pointer(&size))); errno != 0 {
		return fail("getsockname", errno)
	}
	return int(fd), addr, nil
}

// connectMode makes N × (socket + blocking connect + close) to a loopback
// listener in the main thread, while an acceptor thread of the same process makes
// accept4 + close for each connection. The listener is not closed at the end:
// that would be one more close after the measured phase; the exit closes it.
func connectMode(e *env) (result, error) {
	defer measuredThread()()
	n := e.n
	// A full accept queue makes the kernel drop SYNs, and connect would then
	// wait a second for the retransmission; the kernel caps this at somaxconn.
	lfd, addr, err := listenLoopback(max(n, 128))
	if err != nil {
		return result{}, err
	}

	client, server := &tally{}, &tally{}
	sock, conn, cls := client.counter("socket"), client.counter("connect"), client.counter("close")
	accept, acls := server.counter("accept4"), server.counter("close")
	var accepted atomic.Int64
	start, done := make(chan struct{}), make(chan struct{})
	acceptorTid := make(chan int)
	go func() {
		defer close(done)
		restore := measuredThread()
		defer runtime.UnlockOSThread()
		defer restore()
		acceptorTid <- unix.Gettid()
		// Wait here, not in accept4, so that with --wait no measured call is
		// already under way when a tracer attaches.
		<-start
		for accepted.Load() < int64(n) {
			fd, _, errno := unix.Syscall6(unix.SYS_ACCEPT4, uintptr(lfd), 0, 0, unix.SOCK_CLOEXEC, 0, 0)
			accept.add(errno)
			if errno == unix.EINTR || errno == unix.ECONNABORTED {
				continue
			}
			if errno != 0 {
				return // EINVAL once the listener is shut down below
			}
			_, _, errno = unix.RawSyscall(unix.SYS_CLOSE, fd, 0, 0)
			acls.add(errno)
			accepted.Add(1)
		}
	}()
	tids := []int{unix.Gettid(), <-acceptorTid}

	e.ready()
	close(start)
	connected := 0
	for i := 0; i < n; i++ {
		fd, _, errno := unix.RawSyscall(unix.SYS_SOCKET, unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		sock.add(errno)
		if errno != 0 {
			continue
		}
		_, _, errno = unix.Syscall(unix.SYS_CONNECT, fd, uintptr(unsafe.Pointer(&addr)), unix.SizeofSockaddrInet4)
		conn.add(errno)
		if errno == 0 {
			connected++
		}
		_, _, errno = unix.RawSyscall(unix.SYS_CLOSE, fd, 0, 0)
		cls.add(errno)
	}
	if connected < n {
		// Fewer than N connections will arrive. Let the acceptor take those
		// that did, then shut the listener down: its blocked accept4 fails
		// with EINVAL, and that call is reported like the others.
		deadline := time.Now().Add(5 * time.Second)
		for accepted.Load() < int64(connected) && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		unix.RawSyscall(unix.SYS_SHUTDOWN, uintptr(lfd), unix.SHUT_RDWR, 0)
	}
	<-done // the acceptor's last accept4 or close ends the measured phase
	e.done()
	return result{tallies: []*tally{client, server}, tids: tids}, nil
}

// childComm is the name fork-mode children give themselves, built before the
// fork so that the child allocates nothing.
var childComm = [16]byte{'w', 'l', 'c', 'h', 'i', 'l', 'd'}

// childExit is all a fork-mode child runs: prctl(PR_SET_NAME) and exit_group.
// The child is a copy of a multithreaded Go process with only this thread, so it
// must not enter the runtime: no allocation, no scheduler and no stack growth,
// hence nosplit and raw syscalls only (unix.RawSyscall is nosplit as well).
//
//go:nosplit
func childExit(code uintptr) {
	unix.RawSyscall(unix.SYS_PRCTL, unix.PR_SET_NAME, uintptr(unsafe.Pointer(&childComm[0])), 0)
	for {
		unix.RawSyscall(unix.SYS_EXIT_GROUP, code, 0, 0)
	}
}

// forkMode creates N children one after another, each with a raw fork
// (clone(SIGCHLD) and nothing else), and waits for each with wait4 before the
// next. Child i exits with code i%256. The children make prctl and exit_group,
// which are theirs and not in this process's report.
//
// Signals stay blocked (measuredThread) across clone and wait4, as
// syscall.forkExec blocks them across its fork: a signal during clone makes the
// kernel restart it, and the child, which inherits the mask, must never run a Go
// signal handler.
//
// clone is also how the Go runtime starts threads. ready parks spare threads
// first, so the runtime has no reason to start one in the measured phase; any
// clone it made anyway would have flags other than SIGCHLD.
func forkMode(e *env) (result, error) {
	defer measuredThread()()
	t := &tally{}
	clone, wait := t.counter("clone"), t.counter("wait4")
	children := make([]child, 0, e.n)
	tid := unix.Gettid()
	e.ready()
	for i := 0; i < e.n; i++ {
		code := uintptr(i % 256)
		// With flags SIGCHLD and all else 0 the argument order, which differs
		// between amd64 and arm64, does not matter: this is fork on both.
		pid, _, errno := unix.RawSyscall6(unix.SYS_CLONE, uintptr(unix.SIGCHLD), 0, 0, 0, 0, 0)
		if errno == 0 && pid == 0 {
			childExit(code) // never returns
		}
		clone.add(errno)
		if errno != 0 {
			continue
		}
		children = append(children, reap(wait, int(pid))) // capacity N: no allocation
	}
	e.done()
	return result{tallies: []*tally{t}, children: children, tids: []int{tid}}, nil
}

// threadsMode runs two locked threads making N getppid between them (the first
// makes the extra one if N is odd). Given two CPUs, each thread starts pinned to
// its own and moves itself to the other with sched_setaffinity before every
// 10,000th call, so the calls are made from threads that migrate between CPUs.
func threadsMode(e *env) (result, error) {
	var allowed unix.CPUSet
	if err := unix.SchedGetaffinity(0, &allowed); err != nil {
		return result{}, fmt.Errorf("sched_getaffinity: %w", err)
	}
	var cpus []int
	for c := 0; c < len(allowed)*64 && len(cpus) < 2; c++ {
		if allowed.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	migrate := len(cpus) == 2
	var sets [2]unix.CPUSet
	if migrate {
		sets[0].Set(cpus[0])
		sets[1].Set(cpus[1])
	}

	counts := [2]int{(e.n + 1) / 2, e.n / 2}
	tallies := []*tally{{}, {}}
	var getppid, affinity [2]*counter
	for k := range 2 {
		getppid[k], affinity[k] = tallies[k].counter("getppid"), tallies[k].counter("sched_setaffinity")
	}
	cur := [2]int{0, 1} // the CPU each thread is on
	tids, err := inThreads(e, 2, func(k int) error {
		if migrate {
			if err := unix.SchedSetaffinity(0, &sets[k]); err != nil {
				return fmt.Errorf("sched_setaffinity: %w", err)
			}
		}
		return nil
	}, func(k int) {
		g, aff := getppid[k], affinity[k]
		for i := 0; i < counts[k]; i++ {
			if migrate && i > 0 && i%10000 == 0 {
				cur[k] = 1 - cur[k]
				_, _, errno := unix.RawSyscall(unix.SYS_SCHED_SETAFFINITY, 0, unsafe.Sizeof(sets[cur[k]]), uintptr(unsafe.Pointer(&sets[cur[k]])))
				aff.add(errno)
			}
			_, _, errno := unix.RawSyscall(unix.SYS_GETPPID, 0, 0, 0)
			g.add(errno)
		}
	})
	if err != nil {
		return result{}, err
	}
	return result{tallies: tallies, tids: tids}, nil
}

// seccompGetppidMode installs a seccomp filter that fails getppid with EPERM,
// then makes N getppid calls, each of which must fail. With EPERM from the
// filter the syscall never runs: the kernel skips the sys_enter tracepoint but
// still reports the exit.
func seccompGetppidMode(e *env) (result, error) {
	defer measuredThread()()
	if auditArch == 0 {
		return result{}, fmt.Errorf("seccomp filter not written for %s", runtime.GOARCH)
	}
	// Classic BPF over struct seccomp_data {int nr; u32 arch; ...}.
	const (
		offNr   = 0
		offArch = 4
	)
	filter := []unix.SockFilter{
		/* 0 */ {Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: offArch},
		/* 1 */ {Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: auditArch, Jt: 0, Jf: 3}, // other arch: allow
		/* 2 */ {Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: offNr},
		/* 3 */ {Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: unix.SYS_GETPPID, Jt: 0, Jf: 1},
		/* 4 */ {Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)},
		/* 5 */ {Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW},
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	// No new privileges lets an unprivileged process install a filter.
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return result{}, fmt.Errorf("prctl(PR_SET_NO_NEW_PRIVS): %w", err)
	}
	// TSYNC applies the filter to every thread of the process, not just this one.
	r, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&prog)))
	runtime.KeepAlive(filter)
	if errno != 0 {
		return result{}, fmt.Errorf("seccomp: %w", errno)
	}
	if r != 0 {
		return result{}, fmt.Errorf("seccomp: could not synchronize thread %d", r)
	}

	return getppidLoop(e), nil
}

// exitMode sets up nothing and makes no measured calls; main prints the report
// and exits with code N (one exit_group, made by os.Exit).
func exitMode(e *env) (result, error) {
	if e.n > 255 {
		return result{}, fmt.Errorf("exit code %d is not in 0..255", e.n)
	}
	e.bare = true
	e.ready()
	e.done()
	return result{}, nil
}

// sleepMode sleeps N milliseconds with a single clock_nanosleep. It is
// clock_nanosleep rather than nanosleep because the runtime itself calls
// nanosleep (usleep, e.g. in the sysmon thread) all the time, so a nanosleep
// count could never be exact; the runtime never calls clock_nanosleep.
func sleepMode(e *env) (result, error) {
	defer measuredThread()()
	t := &tally{}
	s := t.counter("clock_nanosleep")
	ts := unix.NsecToTimespec(int64(e.n) * int64(time.Millisecond))
	tid := unix.Gettid()
	e.ready()
	_, _, errno := unix.Syscall6(unix.SYS_CLOCK_NANOSLEEP, unix.CLOCK_MONOTONIC, 0, uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
	s.add(errno)
	e.done()
	return result{tallies: []*tally{t}, tids: []int{tid}}, nil
}

// steadyMode keeps calling for N milliseconds: every 10 ms, 100 getppid (class
// other) and 10 openat of a missing path (class file), so a live monitor shows
// both rising at a steady rate.
func steadyMode(e *env) (result, error) {
	defer measuredThread()()
	missing, err := missingPath()
	if err != nil {
		return result{}, err
	}
	t := &tally{}
	g, open, cls := t.counter("getppid"), t.counter("openat"), t.counter("close")
	tid := unix.Gettid()
	e.ready()
	ts := unix.Timespec{Nsec: 10_000_000}
	for end := time.Now().Add(time.Duration(e.n) * time.Millisecond); time.Now().Before(end); {
		for i := 0; i < 100; i++ {
			_, _, errno := unix.RawSyscall(unix.SYS_GETPPID, 0, 0, 0)
			g.add(errno)
		}
		for i := 0; i < 10; i++ {
			openMissing(open, cls, missing)
		}
		unix.RawSyscall(unix.SYS_CLOCK_NANOSLEEP, unix.CLOCK_MONOTONIC, 0, uintptr(unsafe.Pointer(&ts)))
	}
	e.done()
	return result{tallies: []*tally{t}, tids: []int{tid}}, nil
}

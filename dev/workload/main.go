//go:build linux

// Command workload makes an exactly known number of calls of a chosen system call,
// so that tests can compare tlmon's counts with what was really done.
//
// Usage:
//
//	workload [--wait] [--hold DURATION] MODE N
//
// The program has three phases. Setup (temp files, listeners, threads, seccomp)
// happens first; with --wait it then prints "ready <pid>" and blocks until a line
// is read from stdin, so a tracer can attach with -p PID. The measured phase makes
// the calls, each with a raw system call (golang.org/x/sys/unix and a SYS_*
// number, never the os or net packages), and counts what the kernel returned.
// Last, one JSON report line is printed on stdout, the program sleeps for --hold
// and exits.
//
// The report is built from the counted return values, never from N:
//
//	{"mode":"getppid","pid":123,"calls":{"getppid":1000},"errors":{},"children":[],"threads":[123],"elapsed_ns":41000}
//
// calls maps a syscall name to the number of calls made in the measured phase,
// errors maps a syscall name to errno names (ENOENT, ...) to counts, children lists
// the fork-mode children ({"pid":..,"exit_code":..}) and threads the thread ids
// that made the measured calls. elapsed_ns is the wall time of the measured
// phase alone, from just before its first call to just after its last (so
// without start-up, setup, the --wait pause or the report), for benchmarks.
// Syscalls with no calls, and the keys of syscalls without errors, are left out;
// all seven top-level keys are always present.
//
// The measured syscalls are ones the Go runtime does not make after start-up:
// getppid, openat, close, socket, connect, accept4, wait4, sched_setaffinity,
// clock_nanosleep. The one exception is clone in fork mode, which the runtime
// also uses to start threads; prewarmThreads makes that unnecessary, and a
// thread's clone has other flags than a fork's clone(SIGCHLD). Sleep mode uses
// clock_nanosleep, not nanosleep, because the runtime calls nanosleep all the
// time. Threads making measured calls block all signals meanwhile, so no call is
// interrupted and restarted by the kernel (see measuredThread).
//
// Two modes serve tlmon's bench: mix2 runs mix's loop in two threads at once,
// and idle (idle.go) keeps N child processes blocked for as long as --wait
// waits, then kills each (kill, wait4).
//
// The runtime's own calls do happen in the measured phase and are not reported:
// futex, nanosleep, tgkill, rt_sigreturn, sched_yield, mmap/munmap/madvise,
// prctl(PR_SET_VMA) naming new mappings, sched_getaffinity and pread64 when it
// rechecks GOMAXPROCS, and after the phase getpid, write for the report and, in
// the temp-file modes, unlinkat. Fork-mode children make prctl(PR_SET_NAME) and
// exit_group, in their own processes.
//
// The detail modes (open-unique, hostile-open, tcp-pair, exec-exit7, kill-usr1,
// slow-read, compat-getpid; detail.go, proc.go, tcp.go) are for tests of
// per-call events with decoded arguments. Their reports add keys giving the
// arguments the calls were made with (paths, flags, addresses, argv, signal,
// descriptors), and their measured calls add unlinkat, getsockname,
// getpeername, kill, read and write (the runtime makes none of these after
// start-up, but for the report's write) and getpid through the 32-bit entry.
// Their children exec other programs, whose calls are their own: tcp-pair's
// client is this binary run as "workload _tcp-pair-client PORT N", which is not
// a mode and prints a report of its own for tcp-pair to read.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// maxErrno bounds the errno values a system call can return (the kernel's
// MAX_ERRNO is 4095), so errors can be counted in a fixed array.
const maxErrno = 4096

// counter tallies the calls of one syscall and their failures by errno. It is a
// plain fixed-size value so counting in the measured loop never allocates.
type counter struct {
	name  string
	calls uint64
	errs  [maxErrno]uint64
}

// add records one call that returned errno e (0 for success).
func (c *counter) add(e syscall.Errno) {
	c.calls++
	if e != 0 {
		c.errs[uintptr(e)%maxErrno]++
	}
}

// tally holds the counters of one thread. Each thread making measured calls has
// its own, so no locking or atomics are needed; they are merged for the report.
type tally struct {
	counters []*counter
}

// counter returns a new counter for the named syscall. Call it in setup only.
func (t *tally) counter(name string) *counter {
	c := &counter{name: name}
	t.counters = append(t.counters, c)
	return c
}

// child is one fork-mode child as the parent's wait4 saw it.
type child struct {
	PID      int `json:"pid"`
	ExitCode int `json:"exit_code"`        // exit status, -1 if it did not exit normally
	Signal   int `json:"signal,omitempty"` // terminating signal, if it was killed
}

// result is what a mode did in its measured phase.
type result struct {
	tallies  []*tally
	children []child
	tids     []int
	detail   detail
}

// report is the JSON line printed at the end. The detail modes add their own
// keys (see detail); the others print exactly these seven.
type report struct {
	Mode     string                       `json:"mode"`
	PID      int                          `json:"pid"`
	Calls    map[string]uint64            `json:"calls"`
	Errors   map[string]map[string]uint64 `json:"errors"`
	Children []child                      `json:"children"`
	Threads  []int                        `json:"threads"`
	Elapsed  int64                        `json:"elapsed_ns"`
	detail
}

// env is what a mode gets from main: the count N, the hook to call once setup
// is complete and the measured phase is about to start (ready), and the one to
// call right after its last measured call (done).
type env struct {
	n     int
	wait  bool
	bare  bool // exit mode: set up nothing, not even spare threads
	armed bool
	ended bool

	began   time.Time     // when ready returned
	elapsed time.Duration // from began to done
}

// ready marks the end of setup. It parks spare threads, runs a garbage
// collection and then switches the collector off, so the measured phase neither
// collects nor needs to create threads; with --wait it then prints "ready <pid>"
// and blocks until one line (or EOF) is read from stdin. Modes call it exactly
// once, from the goroutine that will start the measured phase.
func (e *env) ready() {
	if e.armed {
		panic("ready called twice")
	}
	e.armed = true
	if !e.bare {
		prewarmThreads(4)
		runtime.GC()
		debug.SetGCPercent(-1)
	}
	// The clock starts when ready returns, whichever way it does, so the time
	// of the --wait pause is not measured. time.Now reads the clock through the
	// vDSO, without a system call, so timing adds nothing to what a tracer sees.
	defer func() { e.began = time.Now() }()
	if !e.wait {
		return
	}
	fmt.Fprintf(os.Stdout, "ready %d\n", os.Getpid()) // os.Stdout is unbuffered
	var b [1]byte
	for {
		// Syscall, not RawSyscall: the read may block for long, and a goroutine
		// the runtime knows to be in a syscall is neither signalled for
		// preemption nor holds up a stop-the-world.
		n, _, errno := unix.Syscall(unix.SYS_READ, 0, uintptr(unsafe.Pointer(&b[0])), 1)
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 || n == 0 || b[0] == '\n' {
			return // a line, EOF or a broken stdin: go on rather than hang
		}
	}
}

// done marks the end of the measured phase; modes call it exactly once, right
// after their last measured call, before any cleanup.
func (e *env) done() {
	if !e.armed || e.ended {
		panic("done called before ready or twice")
	}
	e.elapsed = time.Since(e.began) // monotonic clock
	e.ended = true
}

// prewarmThreads makes the runtime create k OS threads and park them idle.
// Scheduler hand-offs in the measured phase (async preemption of a goroutine
// locked to its thread, waking an idle P) need a spare thread; when one is
// parked it is reused, otherwise the runtime would create one with clone (plus
// mmap, rt_sigprocmask, ...) in the middle of the measured phase. The Go runtime
// never ends idle threads, so they stay available.
func prewarmThreads(k int) {
	var started, finished sync.WaitGroup
	release := make(chan struct{})
	for i := 0; i < k; i++ {
		started.Add(1)
		finished.Add(1)
		go func() {
			defer finished.Done()
			// While this goroutine blocks locked, its thread cannot run anything
			// else, so each of the k goroutines forces a thread of its own.
			runtime.LockOSThread()
			started.Done()
			<-release
			runtime.UnlockOSThread() // the thread survives and goes idle
		}()
	}
	started.Wait()
	close(release)
	finished.Wait()
}

type modeFunc func(e *env) (result, error)

var modes = map[string]modeFunc{
	"getppid":         getppidMode,
	"openat-missing":  openatMissingMode,
	"openat-close":    openatCloseMode,
	"connect":         connectMode,
	"fork":            forkMode,
	"threads":         threadsMode,
	"seccomp-getppid": seccompGetppidMode,
	"mix":             mixMode,
	"mix2":            mix2Mode,
	"steady":          steadyMode,
	"exit":            exitMode,
	"sleep":           sleepMode,
	"idle":            idleMode,
	"spawn":           spawnMode, // spawn.go
	// The detail modes (detail.go, proc.go, tcp.go).
	"open-unique":   openUniqueMode,
	"hostile-open":  hostileOpenMode,
	"tcp-pair":      tcpPairMode,
	"exec-exit7":    execExit7Mode,
	"kill-usr1":     killUsr1Mode,
	"slow-read":     slowReadMode,
	"compat-getpid": compatGetpidMode,
}

func usage() {
	names := make([]string, 0, len(modes))
	for m := range modes {
		names = append(names, m)
	}
	sort.Strings(names)
	fmt.Fprintf(os.Stderr, "usage: workload [--wait] [--hold DURATION] MODE N\nmodes: %v\n", names)
	flag.PrintDefaults()
}

func main() {
	// A mode's helper process runs the same binary; it is not a mode and
	// takes none of the flags.
	if len(os.Args) > 1 && os.Args[1] == tcpClientArg {
		if err := tcpClient(os.Args[2:]); err != nil {
			fmt.Fprintf(os.Stderr, "workload: %s: %v\n", tcpClientArg, err)
			os.Exit(1)
		}
		return
	}
	wait := flag.Bool("wait", false, "after setup print \"ready <pid>\" and wait for a line on stdin before the measured calls")
	hold := flag.Duration("hold", 0, "sleep this long after the report before exiting")
	flag.Usage = usage
	flag.Parse()
	if flag.NArg() != 2 {
		usage()
		os.Exit(2)
	}
	mode, ok := modes[flag.Arg(0)]
	if !ok {
		fmt.Fprintf(os.Stderr, "workload: unknown mode %q\n", flag.Arg(0))
		usage()
		os.Exit(2)
	}
	n, err := strconv.Atoi(flag.Arg(1))
	if err != nil || n < 0 {
		fmt.Fprintf(os.Stderr, "workload: N must be a non-negative integer, got %q\n", flag.Arg(1))
		os.Exit(2)
	}

	e := &env{n: n, wait: *wait}
	res, err := mode(e)
	if err != nil {
		fmt.Fprintf(os.Stderr, "workload: %s: %v\n", flag.Arg(0), err)
		os.Exit(1)
	}
	if !e.armed || !e.ended {
		panic("mode did not call ready and done")
	}

	out, err := json.Marshal(buildReport(flag.Arg(0), res, e.elapsed))
	if err != nil {
		panic(err)
	}
	os.Stdout.Write(append(out, '\n'))
	time.Sleep(*hold)
	if flag.Arg(0) == "exit" {
		os.Exit(n)
	}
}

// buildReport merges the per-thread tallies into the report.
func buildReport(mode string, res result, elapsed time.Duration) report {
	r := report{
		Mode:     mode,
		PID:      os.Getpid(),
		Calls:    map[string]uint64{},
		Errors:   map[string]map[string]uint64{},
		Children: res.children,
		Threads:  res.tids,
		Elapsed:  elapsed.Nanoseconds(),
		detail:   res.detail,
	}
	if r.Children == nil {
		r.Children = []child{}
	}
	if r.Threads == nil {
		r.Threads = []int{}
	}
	for _, t := range res.tallies {
		for _, c := range t.counters {
			if c.calls == 0 {
				continue
			}
			r.Calls[c.name] += c.calls
			for errno, k := range c.errs {
				if k == 0 {
					continue
				}
				if r.Errors[c.name] == nil {
					r.Errors[c.name] = map[string]uint64{}
				}
				name := unix.ErrnoName(syscall.Errno(errno))
				if name == "" {
					name = "errno" + strconv.Itoa(errno)
				}
				r.Errors[c.name][name] += k
			}
		}
	}
	return r
}

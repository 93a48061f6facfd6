//go:build linux

package main

// The detail modes make calls whose arguments a tracer decodes (paths, open
// flags, socket addresses, argv, signals, how long a call blocked, the 32-bit
// entry) and report the values those arguments had, so that tests of detail
// events can compare what a tracer decoded with what was really passed. Their
// extra report keys are the fields of detail; the other modes print none of
// them.

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"tlmon/model"
)

// detail holds the report keys of the detail modes. Every one is omitempty, so
// the other modes keep their seven keys, and a zero value is left out (N 0
// makes no slow reads, say, and prints no slow_reads).
type detail struct {
	// open-unique, hostile-open: the paths opened and the flags of every open;
	// hostile-open's path and process name escaped (model.Escape).
	Path        string `json:"path,omitempty"`
	Comm        string `json:"comm,omitempty"`
	MissingPath string `json:"missing_path,omitempty"`
	Flags       int    `json:"flags,omitempty"`

	// tcp-pair: the listener, both processes, the client's own counts and
	// every connection's addresses (see tcp.go).
	Port         int                          `json:"port,omitempty"`
	ListenFD     int                          `json:"listen_fd,omitempty"`
	ServerPID    int                          `json:"server_pid,omitempty"`
	ClientPID    int                          `json:"client_pid,omitempty"`
	ClientCalls  map[string]uint64            `json:"client_calls,omitempty"`
	ClientErrors map[string]map[string]uint64 `json:"client_errors,omitempty"`
	Conns        []connAddrs                  `json:"conns,omitempty"`

	// exec-exit7, kill-usr1: what the children exec, the status exec-exit7's
	// command exits with and the signal kill-usr1 sends (see proc.go).
	Filename string   `json:"filename,omitempty"`
	Argv     []string `json:"argv,omitempty"`
	ExitCode int      `json:"exit_code,omitempty"`
	Signal   string   `json:"signal,omitempty"`

	// slow-read: the pipe, the count every read asks for, the reads of each
	// kind, how long the helper waits before writing, the bytes read, and the
	// slowest fast read and fastest slow read as timed around the call.
	FD        int   `json:"fd,omitempty"`
	WriteFD   int   `json:"write_fd,omitempty"`
	Count     int   `json:"count,omitempty"`
	SlowReads int   `json:"slow_reads,omitempty"`
	FastReads int   `json:"fast_reads,omitempty"`
	SlowMS    int   `json:"slow_ms,omitempty"`
	BytesRead int   `json:"bytes_read,omitempty"`
	SlowMinNS int64 `json:"slow_min_ns,omitempty"`
	FastMaxNS int64 `json:"fast_max_ns,omitempty"`

	// spawn: the children started and reaped, and how many exited with
	// each exit status (or died of each signal, by name); see spawn.go.
	Spawned   int            `json:"spawned,omitempty"`
	ExitCodes map[string]int `json:"exit_codes,omitempty"`

	// compat-getpid: the calls went through the 32-bit entry, with this
	// number of the i386 table, and returned this pid.
	Compat    bool `json:"compat,omitempty"`
	CompatNr  int  `json:"compat_nr,omitempty"`
	CompatRet int  `json:"compat_ret,omitempty"`
}

// openFlags are the flags of every open of the detail modes (openClose's).
const openFlags = unix.O_RDONLY | unix.O_CLOEXEC

// absentPath returns a path under the temp directory, unique to this run, made
// of prefix, the pid and a random suffix, and checks that nothing is there.
func absentPath(prefix string) (string, *byte, error) {
	name := missingName(prefix)
	if _, err := os.Lstat(name); !errors.Is(err, fs.ErrNotExist) {
		return "", nil, fmt.Errorf("%q should not exist (lstat: %v)", name, err)
	}
	p, err := unix.BytePtrFromString(name)
	return name, p, err
}

// openUniqueMode makes, N times, openat + close of a temp file made in setup
// and openat of a missing path in the same directory (ENOENT), all with
// openFlags, then removes the file with one unlinkat that is measured too. Both
// paths are unique to the run, so a tracer's per-path counts must be exactly
// N opens for each.
func openUniqueMode(e *env) (result, error) {
	defer measuredThread()()
	name, path, err := tempFile()
	if err != nil {
		return result{}, err
	}
	missingName, missing, err := absentPath("tlmon-workload-missing")
	if err != nil {
		os.Remove(name)
		return result{}, err
	}
	t := &tally{}
	open, cls, unlink := t.counter("openat"), t.counter("close"), t.counter("unlinkat")
	tid := unix.Gettid()
	e.ready()
	for i := 0; i < e.n; i++ {
		openClose(open, cls, path)
		openClose(open, cls, missing) // fails: nothing to close
	}
	_, _, errno := unix.RawSyscall(unix.SYS_UNLINKAT, uintptr(atFDCWD), uintptr(unsafe.Pointer(path)), 0)
	unlink.add(errno)
	e.done()
	if errno != 0 {
		os.Remove(name) // unmeasured second try, only when the first failed
	}
	return result{
		tallies: []*tally{t}, tids: []int{tid},
		detail: detail{Path: name, MissingPath: missingName, Flags: openFlags},
	}, nil
}

// hostilePrefix names a file that takes a terminal over when printed raw: CSI 2J
// clears the screen, OSC 52 sets the clipboard (to "hi"), BEL ends the OSC, and
// the newline starts a forged line; a right-to-left override draws what follows
// reversed, a zero-width space hides, and \xff is no UTF-8 at all. The report
// gives the path escaped as tlmon escapes it (model.Escape): JSON cannot hold
// the \xff.
const hostilePrefix = "tlmon-\x1b[2J-\x1b]52;c;aGk=\a-\nline2-\u202etxt.exe-\u200b-\xff"

// hostileComm is the name hostile-open gives its process: an SGR sequence and
// a right-to-left override, within the 15 bytes a name holds.
const hostileComm = "\x1b[31m\u202eevil"

// hostileOpenMode makes N openat, each failing with ENOENT, of a missing path
// whose name holds escape sequences and a newline: a tracer must show it
// escaped, and count it under exactly this path.
func hostileOpenMode(e *env) (result, error) {
	defer measuredThread()()
	name, path, err := absentPath(hostilePrefix)
	if err != nil {
		return result{}, err
	}
	// The process's name is its leader thread's.
	if err := os.WriteFile(fmt.Sprintf("/proc/self/task/%d/comm", os.Getpid()), []byte(hostileComm), 0); err != nil {
		return result{}, err
	}
	res := openLoop(e, openClose, path)
	res.detail = detail{Path: model.Escape(name), Comm: model.Escape(hostileComm), Flags: openFlags}
	return res, nil
}

// slow-read's shape: every read asks readCount bytes and gets chunk.
const (
	slowReadDelay = 300 * time.Millisecond
	readCount     = 4096
	chunk         = 16
)

// slowReadMode makes N rounds on a pipe of one slow read, which blocks until a
// helper thread, woken just before it, sleeps slowReadDelay and writes chunk
// bytes, and one fast read of chunk bytes this thread has just written. Every
// read is read(fd, buf, readCount) on the same read end.
//
// The pipe is made with pipe2, not os.Pipe, and read with raw calls: os would
// make it non-blocking and wait in the netpoller (epoll_pwait), and the read
// would return EAGAIN at once instead of blocking. The helper's
// clock_nanosleep blocks too, in its own thread; so do the runtime's futex
// waits, which are not reported.
func slowReadMode(e *env) (result, error) {
	defer measuredThread()()
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return result{}, fmt.Errorf("pipe2: %w", err)
	}
	r, w := uintptr(p[0]), uintptr(p[1])
	reader, helper := &tally{}, &tally{}
	read, write := reader.counter("read"), reader.counter("write")
	sleep, hwrite := helper.counter("clock_nanosleep"), helper.counter("write")
	data := [chunk]byte{'s', 'l', 'o', 'w', '-', 'r', 'e', 'a', 'd', ' ', 'c', 'h', 'u', 'n', 'k', '\n'}

	wake, finished := make(chan struct{}), make(chan struct{})
	helperTid := make(chan int)
	go func() {
		defer close(finished)
		restore := measuredThread()
		defer runtime.UnlockOSThread()
		defer restore()
		helperTid <- unix.Gettid()
		ts := unix.NsecToTimespec(slowReadDelay.Nanoseconds())
		for range wake {
			_, _, errno := unix.Syscall6(unix.SYS_CLOCK_NANOSLEEP, unix.CLOCK_MONOTONIC, 0, uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
			sleep.add(errno)
			_, _, errno = unix.RawSyscall(unix.SYS_WRITE, w, uintptr(unsafe.Pointer(&data[0])), chunk)
			hwrite.add(errno)
		}
	}()
	tids := []int{unix.Gettid(), <-helperTid}

	buf := make([]byte, readCount)
	d := detail{FD: p[0], WriteFD: p[1], Count: readCount, SlowMS: int(slowReadDelay.Milliseconds())}
	// One read; time.Now reads the vDSO clock, so timing it adds no call.
	readOnce := func(call func(trap, a1, a2, a3 uintptr) (uintptr, uintptr, syscall.Errno)) time.Duration {
		began := time.Now()
		n, _, errno := call(unix.SYS_READ, r, uintptr(unsafe.Pointer(&buf[0])), readCount)
		took := time.Since(began)
		read.add(errno)
		if errno == 0 {
			d.BytesRead += int(n)
		}
		return took
	}
	e.ready()
	for i := 0; i < e.n; i++ {
		wake <- struct{}{}
		// Syscall: this read blocks, and the runtime must know so.
		took := readOnce(unix.Syscall)
		d.SlowReads++
		if d.SlowReads == 1 || took.Nanoseconds() < d.SlowMinNS {
			d.SlowMinNS = took.Nanoseconds()
		}
		_, _, errno := unix.RawSyscall(unix.SYS_WRITE, w, uintptr(unsafe.Pointer(&data[0])), chunk)
		write.add(errno)
		if errno != 0 {
			continue // an empty pipe would make the fast read block forever
		}
		took = readOnce(unix.RawSyscall)
		d.FastReads++
		d.FastMaxNS = max(d.FastMaxNS, took.Nanoseconds())
	}
	close(wake)
	<-finished
	e.done()
	return result{tallies: []*tally{reader, helper}, tids: tids, detail: d}, nil
}

// i386Getpid is getpid's number in the i386 table (syscall_32.tbl), which
// the int $0x80 entry uses even in a 64-bit process.
const i386Getpid = 20

// compatGetpidMode makes N getpid calls through the 32-bit entry (int $0x80
// from this 64-bit process), so a tracer sees compat calls: numbered from the
// i386 table, not the native one. Each must return this process's pid.
func compatGetpidMode(e *env) (result, error) {
	if !haveInt80 {
		return result{}, fmt.Errorf("int $0x80 is the 32-bit entry of amd64 only, not of %s", runtime.GOARCH)
	}
	defer measuredThread()()
	if err := probeInt80(); err != nil {
		return result{}, err
	}
	pid := os.Getpid()
	t := &tally{}
	g := t.counter("getpid")
	tid := unix.Gettid()
	var got, wrong int
	e.ready()
	for i := 0; i < e.n; i++ {
		// The compat entry returns a 32-bit value; an errno is -1..-4095.
		ret := int(int32(int80(i386Getpid)))
		var errno syscall.Errno
		if ret < 0 && ret >= -4095 {
			errno = syscall.Errno(-ret)
		} else if got = ret; ret != pid {
			wrong++
		}
		g.add(errno)
	}
	e.done()
	if wrong > 0 {
		return result{}, fmt.Errorf("%d compat getpid calls returned %d, not the pid %d", wrong, got, pid)
	}
	return result{
		tallies: []*tally{t}, tids: []int{tid},
		detail: detail{Compat: true, CompatNr: i386Getpid, CompatRet: got},
	}, nil
}

// probeInt80 checks that the kernel takes int $0x80 from 64-bit processes: it
// may be built without IA32 emulation or booted with ia32_emulation=0, and the
// instruction then faults. A forked child tries it, so a fault kills only the
// child: the caller has blocked all signals (measuredThread), and a blocked
// SIGSEGV from a fault ends the process without running Go's handler.
func probeInt80() error {
	pid, _, errno := unix.RawSyscall6(unix.SYS_CLONE, uintptr(unix.SIGCHLD), 0, 0, 0, 0, 0)
	if errno != 0 {
		return fmt.Errorf("clone: %w", errno)
	}
	if pid == 0 {
		int80Child() // never returns
	}
	var status unix.WaitStatus
	if _, err := unix.Wait4(int(pid), &status, 0, nil); err != nil {
		return fmt.Errorf("wait4: %w", err)
	}
	switch {
	case status.Signaled():
		return fmt.Errorf("the kernel has no 32-bit entry: int $0x80 ended a probe child with %v (IA32 emulation off?)", status.Signal())
	case status.ExitStatus() != 0:
		return fmt.Errorf("a probe child's compat getpid did not return its pid")
	}
	return nil
}

// int80Child is the probe child: it exits 0 if the compat getpid returns what
// the native one does. Like childExit it makes raw calls only.
//
//go:nosplit
func int80Child() {
	code := uintptr(1)
	if pid, _, _ := unix.RawSyscall(unix.SYS_GETPID, 0, 0, 0); int80(i386Getpid) == pid {
		code = 0
	}
	for {
		unix.RawSyscall(unix.SYS_EXIT_GROUP, code, 0, 0)
	}
}

package bpf

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"tlmon/model"
)

// cacheChildEnv makes the test binary, run again, the child of
// TestCachedCountsAreReadBeforeTheProcessCallsAgain instead of the tests.
const cacheChildEnv = "TLMON_CACHE_CHILD"

// The child's main thread must be the one that calls getppid: lock it before
// anything else runs.
func init() {
	if os.Getenv(cacheChildEnv) != "" {
		runtime.LockOSThread()
	}
}

func TestMain(m *testing.M) {
	if n := os.Getenv(cacheChildEnv); n != "" {
		cacheChild(n)
		return
	}
	if spec := os.Getenv(rungChildEnv); spec != "" {
		rungChild(spec)
		return
	}
	if n := os.Getenv(traceChildEnv); n != "" {
		traceChild(n)
		return
	}
	os.Exit(m.Run())
}

// cachedSyscalls are the calls the cache child makes, n of each: as many as
// the cache has slots, so that each holds one of them.
var cachedSyscalls = []uintptr{unix.SYS_GETPPID, unix.SYS_GETUID, unix.SYS_GETGID, unix.SYS_GETEUID}

// cacheChild pins its main thread to CPU 0 and every other thread to CPU 1,
// waits for a byte on stdin, makes n of each of cachedSyscalls and blocks
// reading stdin again. A read is counted when it returns: while it blocks, the
// last counts made on CPU 0 in the child are those calls, and they sit in CPU
// 0's cache.
func cacheChild(arg string) {
	n, err := strconv.Atoi(arg)
	if err != nil {
		os.Exit(2)
	}
	tasks, _ := os.ReadDir("/proc/self/task")
	for _, t := range tasks {
		tid, _ := strconv.Atoi(t.Name())
		var set unix.CPUSet
		if tid == os.Getpid() {
			set.Set(0)
		} else {
			set.Set(1)
		}
		if err := unix.SchedSetaffinity(tid, &set); err != nil {
			os.Exit(3)
		}
	}
	var b [1]byte
	unix.Syscall(unix.SYS_READ, 0, uintptr(unsafe.Pointer(&b[0])), 1)
	for _, nr := range cachedSyscalls {
		for range n {
			unix.RawSyscall(nr, 0, 0, 0)
		}
	}
	unix.Syscall(unix.SYS_READ, 0, uintptr(unsafe.Pointer(&b[0])), 1)
	os.Exit(0)
}

// TestCachedCountsAreReadBeforeTheProcessCallsAgain checks that a read of the
// counters includes the counts still held in a CPU's cache (cpu_cache in
// tlmon.bpf.c): the child's calls are the last counted on CPU 0, and nothing
// else in scope runs there, so without the flush they would stay out of the
// process maps until the child's next call. The flush makes the process maps'
// entries of all of them at once, inside an interrupt: more than a map that
// allocates on insert has at hand there, so some must wait for a retry.
func TestCachedCountsAreReadBeforeTheProcessCallsAgain(t *testing.T) {
	if runtime.NumCPU() < 2 {
		t.Skip("needs two CPUs: one for the child's calls, one for the rest")
	}
	const n = 10000
	p := loadForTest(t, Options{NoYoungTables: true}) // the cache is the per-process maps'
	if !modernOf(p).cached {
		t.Fatal("the per-CPU caches are off: running a program on a chosen CPU failed")
	}
	child := exec.Command(os.Args[0])
	child.Env = append(os.Environ(), fmt.Sprintf("%s=%d", cacheChildEnv, n))
	stdin, err := child.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Wait()
	defer stdin.Close()
	pid := child.Process.Pid
	waitInRead(t, pid)
	if err := p.ScopePIDs([]uint32{uint32(pid)}, false); err != nil {
		t.Fatal(err)
	}
	stdin.Write([]byte{'g'})
	time.Sleep(10 * time.Millisecond) // out of the first read, into the loop
	waitInRead(t, pid)

	var c Counters
	if err := p.ReadCounters(&c); err != nil {
		t.Fatal(err)
	}
	for _, nr := range cachedSyscalls {
		var got model.Counts
		for k, v := range c.Procs {
			if k.Proc.PID == uint32(pid) && uintptr(k.Nr) == nr {
				got.Add(v)
			}
		}
		if got.Calls != n || got.LatCount != n {
			t.Errorf("the child's syscall %d read as %d calls and %d latency samples, want %d of each", nr, got.Calls, got.LatCount, n)
		}
		var hist uint64
		for k, h := range c.ProcHists.All() {
			if k.Proc.PID == uint32(pid) && uintptr(k.Nr) == nr {
				for _, n := range h {
					hist += uint64(n)
				}
			}
		}
		if hist != n {
			t.Errorf("the child's syscall %d histogram holds %d samples, want %d", nr, hist, n)
		}
	}
	for nr, u := range c.Unattributed {
		if u.Calls != 0 {
			t.Errorf("%d calls of syscall %d unattributed", u.Calls, nr)
		}
	}
}

// waitInRead waits until a thread of pid is blocked in read(2).
func waitInRead(t *testing.T, pid int) (tid int) {
	t.Helper()
	// Any thread's: the Go runtime may run the reading goroutine on another
	// thread than the main one (under emulation it often does).
	deadline := time.Now().Add(15 * time.Second)
	var last []byte
	for {
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/syscall", pid))
		for _, task := range tasks {
			b, err := os.ReadFile(task)
			if err == nil && strings.HasPrefix(string(b), strconv.Itoa(unix.SYS_READ)+" ") {
				tid, _ := strconv.Atoi(filepath.Base(filepath.Dir(task)))
				return tid
			}
			last = b
		}
		if time.Now().After(deadline) {
			t.Fatalf("the child never blocked in read: its threads' syscalls are in /proc/%d/task (the last says %q)", pid, last)
		}
		time.Sleep(time.Millisecond)
	}
}

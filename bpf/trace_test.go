package bpf

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"tlmon/internal/bpftest"
	"tlmon/model"
)

const traceChildEnv = "TLMON_TRACE_CHILD"

// traceChild says "ready PID", waits for a line on stdin, then makes n times
// getppid, an openat that fails with ENOENT, an openat and a close (dev/
// workload's mix), on one thread with raw syscalls, and reports them as
// dev/workload does: {"pid":…,"calls":{…},"errors":{"openat":{"ENOENT":n}}}.
func traceChild(arg string) {
	n, err := strconv.Atoi(arg)
	if err != nil {
		os.Exit(2)
	}
	runtime.LockOSThread()
	fmt.Printf("ready %d\n", os.Getpid())
	bufio.NewReader(os.Stdin).ReadString('\n')
	missing, _ := unix.BytePtrFromString("/nonexistent-tlmon-trace-test")
	root, _ := unix.BytePtrFromString("/")
	cwd := unix.AT_FDCWD // a variable: the constant -100 is no uintptr
	calls := map[string]uint64{}
	var enoent uint64
	for range n {
		unix.RawSyscall(unix.SYS_GETPPID, 0, 0, 0)
		calls["getppid"]++
		if _, _, e := unix.RawSyscall6(unix.SYS_OPENAT, uintptr(cwd), uintptr(unsafe.Pointer(missing)), unix.O_RDONLY, 0, 0, 0); e == unix.ENOENT {
			enoent++
		}
		fd, _, _ := unix.RawSyscall6(unix.SYS_OPENAT, uintptr(cwd), uintptr(unsafe.Pointer(root)), unix.O_RDONLY, 0, 0, 0)
		calls["openat"] += 2
		unix.RawSyscall(unix.SYS_CLOSE, fd, 0, 0)
		calls["close"]++
	}
	b, _ := json.Marshal(map[string]any{"pid": os.Getpid(), "calls": calls, "errors": map[string]map[string]uint64{"openat": {"ENOENT": enoent}}})
	fmt.Printf("%s\n", b)
	os.Exit(0)
}

// workloadReport is the part of dev/workload's report line the tests read.
type workloadReport struct {
	PID    int                          `json:"pid"`
	Calls  map[string]uint64            `json:"calls"`
	Errors map[string]map[string]uint64 `json:"errors"`
}

// procOf is process pid's identity as /proc gives it.
func procOf(t *testing.T, pid int) model.ProcID {
	t.Helper()
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	_, _, start, err := model.ParseProcStat(stat)
	if err != nil {
		t.Fatal(err)
	}
	return model.ProcID{PID: uint32(pid), Start: start}
}

// TestTraceSendsEveryCallOfOneProcess traces a workload (mix: getppid, an
// openat that fails, an openat and a close, N times) with every detail
// class off, while this process makes the same calls: exactly the workload's
// calls come as detail events, each with what its syscall's capture copies
// (openat's path), and none of this process's. First, a trace of this
// process's PID with another start time (a process that reused the PID)
// sends nothing.
func TestTraceSendsEveryCallOfOneProcess(t *testing.T) {
	bpftest.Require(t)
	for _, buf := range []string{BufferRingbuf, BufferPerf} {
		for _, store := range EnterStores() {
			t.Run(buf+"/"+store, func(t *testing.T) {
				const n = 300
				w := exec.Command(os.Args[0])
				w.Env = append(os.Environ(), fmt.Sprintf("%s=%d", traceChildEnv, n))
				stdin, err := w.StdinPipe()
				if err != nil {
					t.Fatal(err)
				}
				stdout, err := w.StdoutPipe()
				if err != nil {
					t.Fatal(err)
				}
				w.Stderr = os.Stderr
				if err := w.Start(); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { w.Process.Kill(); w.Wait() })
				out := bufio.NewReader(stdout)
				if line, err := out.ReadString('\n'); err != nil || line != fmt.Sprintf("ready %d\n", w.Process.Pid) {
					t.Fatalf("workload: %q, %v", line, err)
				}

				p, err := Load(Options{Buffer: buf, EnterStore: store, PerfBytes: 4 << 20, SelfPID: math.MaxUint32})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { p.Close() })
				self, wpid := os.Getpid(), w.Process.Pid
				if err := p.ScopePIDs([]uint32{uint32(self), uint32(wpid)}, false); err != nil {
					t.Fatal(err)
				}
				if err := p.Attach(); err != nil {
					t.Fatal(err)
				}
				r, err := p.NewDetailReader()
				if err != nil {
					t.Fatal(err)
				}
				defer r.Close()

				// Every class's detail is off (the probe starts so): only
				// the trace sends calls.
				ours := func() {
					fd, _ := unix.Openat(unix.AT_FDCWD, "/", unix.O_RDONLY, 0)
					unix.Close(fd)
					unix.Getppid()
				}
				reused := procOf(t, self)
				reused.Start++
				if err := p.SetTrace(reused); err != nil {
					t.Fatal(err)
				}
				for range n {
					ours()
				}

				if err := p.SetTrace(procOf(t, wpid)); err != nil {
					t.Fatal(err)
				}
				var stop atomic.Bool
				var busy sync.WaitGroup
				busy.Go(func() {
					for !stop.Load() {
						ours()
					}
				})
				stdin.Write([]byte("go\n"))
				line, err := out.ReadString('\n')
				stop.Store(true)
				busy.Wait()
				if err != nil {
					t.Fatalf("workload report: %v", err)
				}
				if err := w.Wait(); err != nil {
					t.Fatalf("workload: %v", err)
				}
				var rep workloadReport
				if err := json.Unmarshal([]byte(line), &rep); err != nil {
					t.Fatalf("workload report %q: %v", line, err)
				}

				nrs := map[string]int{"getppid": unix.SYS_GETPPID, "openat": unix.SYS_OPENAT, "close": unix.SYS_CLOSE}
				got := map[string]uint64{}
				var enoent uint64
				var others []string
				drain(t, r, func(e *model.Event) {
					if e.Kind != model.EventSyscall {
						return
					}
					c := &e.Call
					if e.Proc.PID != uint32(wpid) {
						if len(others) < 5 {
							others = append(others, fmt.Sprintf("nr %d of pid %d", c.Nr, e.Proc.PID))
						}
						return
					}
					for name, nr := range nrs {
						if int(c.Nr) != nr {
							continue
						}
						got[name]++
						if nr == unix.SYS_OPENAT {
							if len(c.Bytes(c.Str[0])) == 0 {
								t.Errorf("an openat of the workload without its path (flags %b)", c.Flags)
							}
							if c.Ret == -int64(unix.ENOENT) {
								enoent++
							}
						}
					}
				})
				for name := range nrs {
					if got[name] != rep.Calls[name] || rep.Calls[name] == 0 {
						t.Errorf("%s: %d detail events of the traced workload, it made %d", name, got[name], rep.Calls[name])
					}
				}
				if want := rep.Errors["openat"]["ENOENT"]; enoent != want || want == 0 {
					t.Errorf("%d openat events failed with ENOENT, the workload had %d", enoent, want)
				}
				if len(others) > 0 {
					t.Errorf("calls of other processes sent (with no class in detail): %s", strings.Join(others, ", "))
				}
			})
		}
	}
}

// TestTraceStopsWithTheZeroProcID: once stopped, a traced process's calls
// are no longer sent. The count starts after the stop: while the trace was
// on, the test's other threads (the Go runtime's) had their calls sent, more
// of them in a slow VM.
func TestTraceStopsWithTheZeroProcID(t *testing.T) {
	p := loadForTest(t, Options{})
	r, err := p.NewDetailReader()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := p.SetTrace(procOf(t, os.Getpid())); err != nil {
		t.Fatal(err)
	}
	if err := p.SetTrace(model.ProcID{}); err != nil {
		t.Fatal(err)
	}
	var before, after Counters
	if err := p.ReadCounters(&before); err != nil {
		t.Fatal(err)
	}
	for range 100 {
		unix.Getppid()
	}
	if err := p.ReadCounters(&after); err != nil {
		t.Fatal(err)
	}
	if n := after.DetailAttempted - before.DetailAttempted; n != 0 {
		t.Errorf("%d detail events sent after the trace stopped", n)
	}
}

// TestTraceNeedsARungWithDetail: the rungs without detail events refuse a
// process to trace, saying what it needs, and take stopping as no error.
func TestTraceNeedsARungWithDetail(t *testing.T) {
	onEveryRung(t, Options{}, func(t *testing.T, p *Probe) {
		if p.HasDetail() {
			t.Skip("this rung sends detail: TestTraceSendsEveryCallOfOneProcess")
		}
		err := p.SetTrace(procOf(t, os.Getpid()))
		if err == nil || !strings.Contains(err.Error(), "rung 1 or 2") || !strings.Contains(err.Error(), "newer") {
			t.Errorf("tracing on rung %d: %v, want an error naming rungs 1 and 2", p.Rung().Number, err)
		}
		if err := p.SetTrace(model.ProcID{}); err != nil {
			t.Errorf("stopping a trace on rung %d: %v", p.Rung().Number, err)
		}
	})
}

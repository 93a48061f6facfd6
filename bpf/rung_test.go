package bpf

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"tlmon/internal/bpftest"
	"tlmon/internal/tracefs"
	"tlmon/model"
)

// The tests of this file run on every rung of the ladder this kernel is to
// prove: those TLMON_RUNGS names (as in `TLMON_RUNGS=1,2,4old`), or else
// 1,2,3,3old, all the project's VM can run (it has no kprobes). "old" after 3
// or 4 loads the rung as on Linux 4.4 (asOldKernel). `make kernels` sets it
// per kernel.
const rungsEnv = "TLMON_RUNGS"

// rungChildEnv makes the test binary, run again, one of the children below
// instead of the tests: "getppid N", "enoent N", "forks N", "select MS",
// "restarted" or "brief".
const rungChildEnv = "TLMON_RUNG_CHILD"

// missingPath is what the enoent child opens: no such file, ever.
const missingPath = "/nonexistent/tlmon-rung-test"

// briefExit is the exit status of the brief child, so its exit event is known.
const briefExit = 7

// rungChild waits for a byte on stdin (the go-ahead, once it is in scope),
// makes its calls and exits.
func rungChild(spec string) {
	mode, arg, _ := strings.Cut(spec, " ")
	n, _ := strconv.Atoi(arg)
	var b [1]byte
	switch mode {
	case "brief":
	case "restarted":
		// Go's handlers restart what a signal interrupts (SA_RESTART).
		signal.Notify(make(chan os.Signal, 1), unix.SIGUSR1)
	default:
		os.Stdin.Read(b[:])
	}
	switch mode {
	case "getppid":
		for range n {
			unix.RawSyscall(unix.SYS_GETPPID, 0, 0, 0)
		}
	case "enoent":
		p, _ := unix.BytePtrFromString(missingPath)
		cwd := unix.AT_FDCWD
		for range n {
			unix.RawSyscall6(unix.SYS_OPENAT, uintptr(cwd), uintptr(unsafe.Pointer(p)), unix.O_RDONLY, 0, 0, 0)
		}
	case "forks":
		for range n {
			pid, _, errno := unix.RawSyscall6(unix.SYS_CLONE, uintptr(unix.SIGCHLD), 0, 0, 0, 0, 0)
			if errno == 0 && pid == 0 {
				unix.RawSyscall(unix.SYS_EXIT_GROUP, 0, 0, 0)
			}
			if errno == 0 {
				var ws unix.WaitStatus
				unix.Wait4(int(pid), &ws, 0, nil)
			}
		}
	case "select":
		// A sleep in a syscall nothing else here makes (Go's runtime
		// sleeps in nanosleep, x/sys's Select is pselect6).
		// The test turns off the preemption signal that would cut it
		// short.
		sleepInSyscall(n)
	case "getppid-twice":
		// getppid n times, then again after a second go-ahead.
		for i := range 2 {
			if i > 0 {
				os.Stdin.Read(b[:])
			}
			for range n {
				unix.RawSyscall(unix.SYS_GETPPID, 0, 0, 0)
			}
		}
	case "thread-exec":
		// getppid n times, then exec /bin/true from a thread that is not
		// the leader: the kernel ends every other thread, and the exec'ing
		// one takes over the process.
		for range n {
			unix.RawSyscall(unix.SYS_GETPPID, 0, 0, 0)
		}
		for {
			onLeader := make(chan bool)
			go func() {
				runtime.LockOSThread() // for good: a thread given up is not reused
				if unix.Gettid() == unix.Getpid() {
					onLeader <- true
					select {} // keeps the leader, so the next try gets another thread
				}
				onLeader <- false
				unix.Exec("/bin/true", []string{"true"}, nil)
				os.Exit(3)
			}()
			if !<-onLeader {
				select {}
			}
		}
	case "threads":
		// n threads alive at once, each making one getppid, then the
		// process exits with all of them.
		debug.SetMaxThreads(n + 1000)
		var made sync.WaitGroup
		for range n {
			made.Add(1)
			go func() {
				runtime.LockOSThread() // a thread of its own, held until exit
				unix.RawSyscall(unix.SYS_GETPPID, 0, 0, 0)
				made.Done()
				select {}
			}()
		}
		made.Wait()
	case "restarted":
		unix.Read(0, b[:]) // the go-ahead, after signals
	case "brief":
		time.Sleep(time.Millisecond)
		os.Exit(briefExit)
	default:
		os.Exit(2)
	}
	os.Exit(0)
}

// provedRung is a rung to prove, and whether as on 4.4.
type provedRung struct {
	Rung
	old bool
}

func (r provedRung) String() string {
	if r.old {
		return fmt.Sprintf("rung%dold", r.Number)
	}
	return fmt.Sprintf("rung%d", r.Number)
}

// rungsToProve lists the rungs the tests run on.
func rungsToProve(t *testing.T) []provedRung {
	t.Helper()
	names := os.Getenv(rungsEnv)
	if names == "" {
		names = "1,2,3,3old"
	}
	var rungs []provedRung
	for _, f := range strings.Split(names, ",") {
		num, old := strings.CutSuffix(strings.TrimSpace(f), "old")
		n, err := strconv.Atoi(num)
		if err != nil || n < 1 || n > len(Ladder) || old && n < 3 {
			t.Fatalf("%s=%q: %q is no rung (1 to %d, 3old or 4old)", rungsEnv, names, f, len(Ladder))
		}
		rungs = append(rungs, provedRung{Ladder[n-1], old})
	}
	return rungs
}

// onEveryRung runs test on each rung to prove, with a probe loaded on it and
// scoped to nothing yet; the test scopes and attaches it.
func onEveryRung(t *testing.T, opts Options, test func(t *testing.T, p *Probe)) {
	onRungs(t, rungsToProve(t), opts, test)
}

// onKprobeRung runs test on rung 4 (as it is and as on 4.4), if it is among
// the rungs to prove.
func onKprobeRung(t *testing.T, test func(t *testing.T, p *Probe)) {
	onRungs(t, kprobeRungs(t), Options{}, test)
}

// kprobeRungs are the rungs to prove that hook kprobes; none skips the test.
func kprobeRungs(t *testing.T) []provedRung {
	rungs := slices.DeleteFunc(rungsToProve(t), func(r provedRung) bool { return r.Hook != HookKprobe })
	if len(rungs) == 0 {
		t.Skipf("rung 4 is not among the rungs to prove here (%s)", rungsEnv)
	}
	return rungs
}

func onRungs(t *testing.T, rungs []provedRung, opts Options, test func(t *testing.T, p *Probe)) {
	for _, r := range rungs {
		t.Run(r.String(), func(t *testing.T) {
			bpftest.Require(t)
			asOldKernel = r.old
			t.Cleanup(func() { asOldKernel = false })
			o := opts
			o.Buffer, o.Hook, o.SelfPID = r.Buffer, r.Hook, ^uint32(0)
			p, err := Load(o)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { p.Close() })
			if p.Rung() != r.Rung {
				t.Fatalf("loaded %v, asked for %v", p.Rung(), r)
			}
			if l := legacyOf(p); r.old && (l == nil || !l.old || perCPU(l.maps.ProcStats)) {
				t.Fatalf("not loaded as on 4.4: the _old programs and plain maps")
			} else if l != nil && !r.old && l.old {
				t.Fatalf("fell back to the _old programs: the kernel refused the others")
			}
			if err := p.SetSyscallFilter(rungTestSyscalls); err != nil {
				t.Fatal(err)
			}
			// A perf buffer exists only once a reader opened it: the kernel
			// drops (and counts) what comes before.
			r, err := p.NewLifecycleReader()
			if err != nil {
				t.Fatal(err)
			}
			lifecycle.Store(p, &lifeRig{r: r})
			t.Cleanup(func() { lifecycle.Delete(p); r.Close() })
			test(t, p)
		})
	}
}

// rungTestSyscalls are the syscalls the tests count: rung 4 hooks one
// function per syscall counted, each ~10 ms under emulation.
var rungTestSyscalls = append([]int{
	unix.SYS_GETPPID, unix.SYS_OPENAT, unix.SYS_CLONE, unix.SYS_CLONE3,
	unix.SYS_EXECVE, unix.SYS_EXIT_GROUP, unix.SYS_WAIT4,
}, forkSyscalls...)

// child is a rung child waiting for its go-ahead.
type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

func startChild(t *testing.T, spec string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), rungChildEnv+"="+spec)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd, stdin}
	t.Cleanup(func() { c.stdin.Close(); c.cmd.Process.Kill(); c.cmd.Wait() })
	waitInRead(t, cmd.Process.Pid) // past the runtime's start-up calls
	return c
}

func (c *child) pid() uint32 { return uint32(c.cmd.Process.Pid) }

// run gives the go-ahead and waits for the child to end well.
func (c *child) run(t *testing.T) {
	t.Helper()
	c.stdin.Write([]byte{'g'})
	if err := c.cmd.Wait(); err != nil {
		t.Fatalf("child %v: %v", c.cmd.Env[len(c.cmd.Env)-1], err)
	}
}

// procCounts sums what c holds of pid's calls of syscall nr.
func procCounts(c *Counters, pid uint32, nr int) model.Counts {
	var sum model.Counts
	for k, v := range c.Procs {
		if k.Proc.PID == pid && int(k.Nr) == nr {
			sum.Add(v)
		}
	}
	return sum
}

// lifecycle holds, per probe of onRungs, the reader of its lifecycle buffer
// and what was read from it.
var lifecycle sync.Map // *Probe → *lifeRig

type lifeRig struct {
	r      *EventReader
	events []model.Event // read, but for EventCounts, which readCounters took
	lost   uint64
	young  Counters // the counts events taken, added up
}

// readCounters reads the counter maps and, as the collector does, adds the
// young threads' counts that came through the lifecycle buffer: children
// started after the probe loaded are young, and theirs come when they exit.
func readCounters(t *testing.T, p *Probe) *Counters {
	t.Helper()
	var c Counters
	if err := p.ReadCounters(&c); err != nil {
		t.Fatal(err)
	}
	v, ok := lifecycle.Load(p)
	if !ok {
		return &c
	}
	rig := v.(*lifeRig)
	rig.drain(t)
	if rig.young.Procs == nil {
		rig.young = Counters{Procs: map[model.ProcSyscall]model.Counts{}, Errnos: map[model.ProcErrno]uint64{}, IO: map[model.ProcID]model.IOCounts{}}
	}
	rig.events = slices.DeleteFunc(rig.events, func(e model.Event) bool {
		if e.Kind != model.EventCounts {
			return false
		}
		addYoung(&rig.young, &e)
		return true
	})
	for k, v := range rig.young.Procs {
		sum := c.Procs[k]
		sum.Add(v)
		c.Procs[k] = sum
	}
	for k, v := range rig.young.Errnos {
		c.Errnos[k] += v
	}
	for k, v := range rig.young.IO {
		sum := c.IO[k]
		sum.Add(v)
		c.IO[k] = sum
	}
	return &c
}

// addYoung adds a counts event (a delta) to counters c.
func addYoung(c *Counters, e *model.Event) {
	tc := &e.Counts
	for _, s := range tc.Syscalls[:tc.NSyscall] {
		k := model.ProcSyscall{Proc: e.Proc, Nr: s.Nr}
		v := c.Procs[k]
		v.Add(s.Counts)
		c.Procs[k] = v
	}
	for _, x := range tc.Errnos[:tc.NErrno] {
		c.Errnos[model.ProcErrno{Proc: e.Proc, Nr: x.Nr, Errno: x.Errno}] += x.Count
	}
	io := c.IO[e.Proc]
	io.Add(tc.IO)
	c.IO[e.Proc] = io
}

// drain reads what the buffer holds now: the records of calls made before it
// are written already (output is synchronous), so a flush hands them all.
func (rig *lifeRig) drain(t *testing.T) {
	t.Helper()
	if err := rig.r.Flush(); err != nil {
		t.Fatal(err)
	}
	for {
		var e model.Event
		ok, l, err := rig.r.Read(&e)
		if errors.Is(err, ErrFlushed) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		rig.lost += l
		if ok {
			rig.events = append(rig.events, e)
		}
	}
}

func TestRungCountsAMillionGetppidExactly(t *testing.T) {
	onEveryRung(t, Options{}, func(t *testing.T, p *Probe) {
		const n = 1_000_000
		c := startChild(t, fmt.Sprintf("getppid %d", n))
		if err := p.ScopePIDs([]uint32{c.pid()}, false); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if err := p.Attach(); err != nil {
			t.Fatal(err)
		}
		t.Logf("attached in %v", time.Since(start)) // kprobes: one pair per syscall
		c.run(t)
		got := readCounters(t, p)
		if calls := procCounts(got, c.pid(), unix.SYS_GETPPID); calls.Calls != n || calls.Errors != 0 {
			t.Errorf("the child's getppid counted as %d calls, %d errors; want %d, 0", calls.Calls, calls.Errors, n)
		}
		if sys := got.System[unix.SYS_GETPPID]; sys.Calls != n {
			t.Errorf("getppid counted %d times in all, want %d", sys.Calls, n)
		}
		if lost := got.Lost.Total(); lost != 0 {
			t.Errorf("%d counts lost: %+v", lost, got.Lost)
		}
	})
}

func TestRungCountsENOENT(t *testing.T) {
	onEveryRung(t, Options{}, func(t *testing.T, p *Probe) {
		const n = 10_000
		c := startChild(t, fmt.Sprintf("enoent %d", n))
		if err := p.ScopePIDs([]uint32{c.pid()}, false); err != nil {
			t.Fatal(err)
		}
		if err := p.Attach(); err != nil {
			t.Fatal(err)
		}
		c.run(t)
		got := readCounters(t, p)
		if calls := procCounts(got, c.pid(), unix.SYS_OPENAT); calls.Calls != n || calls.Errors != n {
			t.Errorf("the child's openat counted as %d calls, %d errors; want %d of each", calls.Calls, calls.Errors, n)
		}
		var enoent uint64
		for k, v := range got.Errnos {
			if k.Proc.PID == c.pid() && int(k.Nr) == unix.SYS_OPENAT && k.Errno == uint16(unix.ENOENT) {
				enoent += v
			}
		}
		if enoent != n {
			t.Errorf("the child's openat failed with ENOENT %d times, want %d", enoent, n)
		}
	})
}

func TestRungScopesByPID(t *testing.T) {
	onEveryRung(t, Options{}, func(t *testing.T, p *Probe) {
		const n = 10_000
		in, out := startChild(t, fmt.Sprintf("getppid %d", n)), startChild(t, fmt.Sprintf("getppid %d", n))
		if err := p.ScopePIDs([]uint32{in.pid()}, false); err != nil {
			t.Fatal(err)
		}
		if err := p.Attach(); err != nil {
			t.Fatal(err)
		}
		in.run(t)
		out.run(t)
		got := readCounters(t, p)
		if calls := procCounts(got, in.pid(), unix.SYS_GETPPID).Calls; calls != n {
			t.Errorf("the child in scope: %d getppid counted, want %d", calls, n)
		}
		if calls := procCounts(got, out.pid(), unix.SYS_GETPPID).Calls; calls != 0 {
			t.Errorf("the child out of scope: %d getppid counted, want none", calls)
		}
		if sys := got.System[unix.SYS_GETPPID].Calls; sys != n {
			t.Errorf("getppid counted %d times in all, want %d (the child in scope's)", sys, n)
		}
	})
}

// TestYoungProcessIsPromotedWhileItBlocks: a process born after the probe
// loaded counts in its threads' young tables; one that then blocks has them
// sent by the sweep of a read once it has lived through a whole read, and
// counts in the per-process maps after: every call counted once, none lost.
func TestYoungProcessIsPromotedWhileItBlocks(t *testing.T) {
	onEveryRung(t, Options{}, func(t *testing.T, p *Probe) {
		if m := modernOf(p); m == nil || !m.youngTables() {
			t.Skip("no young tables on this rung")
		}
		const n = 10_000
		c := startChild(t, fmt.Sprintf("getppid-twice %d", n))
		if err := p.ScopePIDs([]uint32{c.pid()}, false); err != nil {
			t.Fatal(err)
		}
		if err := p.Attach(); err != nil {
			t.Fatal(err)
		}
		c.stdin.Write([]byte{'g'})
		pid := int(c.pid())
		time.Sleep(10 * time.Millisecond) // out of the first read, into the loop
		waitInRead(t, pid)
		readCounters(t, p)        // the table's first read
		got := readCounters(t, p) // lived through one whole read: swept
		got = readCounters(t, p)  // and its counts read
		if calls := procCounts(got, c.pid(), unix.SYS_GETPPID).Calls; calls != n {
			t.Errorf("the blocked young child's getppid read as %d calls, want %d", calls, n)
		}
		c.run(t)
		got = readCounters(t, p)
		if calls := procCounts(got, c.pid(), unix.SYS_GETPPID).Calls; calls != 2*n {
			t.Errorf("the child's getppid counted as %d calls in all, want %d", calls, 2*n)
		}
		if sys := got.System[unix.SYS_GETPPID].Calls; sys != 2*n {
			t.Errorf("getppid counted %d times system-wide, want %d", sys, 2*n)
		}
		if lost := got.Lost.Total(); lost != 0 {
			t.Errorf("%d lost: %+v", lost, got.Lost)
		}
	})
}

// TestAnExecFromAThreadKeepsTheProcessCounts: a process makes its calls,
// then a thread other than its leader execs. The kernel ends the leader and
// every other thread, and the exec'ing thread carries on as the process under
// the same PID and start time: every call made before counts for it, on every
// rung, young threads' tables included.
func TestAnExecFromAThreadKeepsTheProcessCounts(t *testing.T) {
	onEveryRung(t, Options{}, func(t *testing.T, p *Probe) {
		const n = 10_000
		c := startChild(t, fmt.Sprintf("thread-exec %d", n))
		if err := p.ScopePIDs([]uint32{c.pid()}, false); err != nil {
			t.Fatal(err)
		}
		if err := p.Attach(); err != nil {
			t.Fatal(err)
		}
		c.run(t)
		p.Detach()
		got := readCounters(t, p)
		if calls := procCounts(got, c.pid(), unix.SYS_GETPPID).Calls; calls != n {
			t.Errorf("the process's getppid counted as %d calls, want %d", calls, n)
		}
		if calls := procCounts(got, c.pid(), unix.SYS_EXECVE).Calls; calls != 1 {
			t.Errorf("its execve counted as %d calls, want 1", calls)
		}
		if sys := got.System[unix.SYS_GETPPID].Calls; sys != n {
			t.Errorf("getppid counted %d times system-wide, want %d", sys, n)
		}
	})
}

// TestThreadsLeaveNoEnterRecords: with the tid-hash enter store, a process of
// 10,000 threads (1,000 in qemu's emulated CPUs) and a process whose thread
// execs leave no record behind once they are gone: the hash is back to its
// size before them, whatever the LRU would have kept. (On the rung of kernels
// before 4.7 the exec'ing thread's one record stays: see below.)
func TestThreadsLeaveNoEnterRecords(t *testing.T) {
	n := 10_000
	if os.Getenv("TLMON_KERNEL") != "" {
		n = 1_000
	}
	for _, spec := range []string{fmt.Sprintf("threads %d", n), "thread-exec 10"} {
		t.Run(strings.Fields(spec)[0], func(t *testing.T) {
			onEveryRung(t, Options{EnterStore: EnterHash}, func(t *testing.T, p *Probe) {
				c := startChild(t, spec)
				if err := p.ScopePIDs([]uint32{c.pid()}, false); err != nil {
					t.Fatal(err)
				}
				before := mapSize(t, p.maps.EnterHash)
				if err := p.Attach(); err != nil {
					t.Fatal(err)
				}
				c.run(t)
				p.Detach()
				want := before
				if strings.HasPrefix(spec, "thread-exec") && lifecycleKprobes(p) {
					// Before 4.7 exec is seen by its kretprobe, after the
					// thread took its leader's id: its own id's record,
					// made when it entered execve, stays.
					want++
				}
				if after := mapSize(t, p.maps.EnterHash); after != want {
					t.Errorf("%d enter records before, %d after the process ended, want %d", before, after, want)
				}
				if strings.HasPrefix(spec, "threads ") {
					if calls := readCounters(t, p).System[unix.SYS_GETPPID].Calls; calls != uint64(n) {
						t.Errorf("getppid counted %d times, want %d", calls, n)
					}
				}
			})
		})
	}
}

// mapSize counts the entries of a hash map.
func mapSize(t *testing.T, m *ebpf.Map) int {
	t.Helper()
	var k, v []byte
	n := 0
	it := m.Iterate()
	for it.Next(&k, &v) {
		n++
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRungCountsEachEntryOfARestartedCall interrupts a read three times with
// a signal whose handler restarts it. As the README says: each entry is a
// call, and an exit that restarts is neither an error nor a latency. The
// first entry came before the attach, so 3 calls, 2 restarts, 1 latency.
func TestRungCountsEachEntryOfARestartedCall(t *testing.T) {
	onEveryRung(t, Options{}, func(t *testing.T, p *Probe) {
		if err := p.SetSyscallFilter([]int{unix.SYS_READ}); err != nil {
			t.Fatal(err)
		}
		c := startChild(t, "restarted")
		if err := p.ScopePIDs([]uint32{c.pid()}, false); err != nil {
			t.Fatal(err)
		}
		if err := p.Attach(); err != nil {
			t.Fatal(err)
		}
		pid := int(c.pid())
		for range 3 {
			tid := waitInRead(t, pid)
			if err := unix.Tgkill(pid, tid, unix.SIGUSR1); err != nil {
				t.Fatal(err)
			}
			waitDelivered(t, pid, tid)
		}
		waitInRead(t, pid)
		c.run(t)
		got := readCounters(t, p)
		if calls := procCounts(got, c.pid(), unix.SYS_READ); calls.Calls != 3 || calls.Errors != 0 || calls.LatCount != 1 {
			t.Errorf("the child's read counted as %d calls, %d errors, %d timed; want 3, 0, 1", calls.Calls, calls.Errors, calls.LatCount)
		}
		if got.Restarts != 2 {
			t.Errorf("%d restarts counted, want 2", got.Restarts)
		}
	})
}

// waitDelivered waits until thread tid of pid has no signal pending.
func waitDelivered(t *testing.T, pid, tid int) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/status", pid, tid))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "\nSigPnd:\t0000000000000000\n") {
			return
		}
	}
	t.Fatalf("a signal to thread %d of %d was never delivered", tid, pid)
}

// openEvents is the reader of the probe's lifecycle buffer, opened by onRungs.
func openEvents(t *testing.T, p *Probe) *lifeRig {
	t.Helper()
	v, ok := lifecycle.Load(p)
	if !ok {
		t.Fatal("no lifecycle reader: the test runs outside onRungs")
	}
	return v.(*lifeRig)
}

// readEvents reads events until none came for a while, and returns every
// event read from the buffer so far (but the counts readCounters took) and
// the samples a perf buffer reported lost.
func readEvents(t *testing.T, rig *lifeRig) (events []model.Event, lost uint64) {
	t.Helper()
	rig.drain(t)
	return rig.events, rig.lost
}

func TestRungSeesTheLifeOfAOneMillisecondProcess(t *testing.T) {
	onEveryRung(t, Options{}, func(t *testing.T, p *Probe) {
		scope := func() error { return p.ScopePIDs([]uint32{uint32(os.Getpid())}, true) }
		kprobesSeeLifecycle := lifecycleKprobes(p)
		if kprobesSeeLifecycle {
			// A vfork child (os/exec's) joins a PID scope only when its
			// parent returns, after the child's exec (README, Kernels).
			scope = p.ScopeAll
		}
		if err := scope(); err != nil {
			t.Fatal(err)
		}
		// None of the lifecycle's syscalls counted: the events come all
		// the same.
		if err := p.SetSyscallFilter([]int{unix.SYS_GETPPID}); err != nil {
			t.Fatal(err)
		}
		r := openEvents(t, p)
		if err := p.Attach(); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), rungChildEnv+"=brief")
		err := cmd.Run()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != briefExit {
			t.Fatalf("the brief child ended with %v, want exit status %d", err, briefExit)
		}
		pid := uint32(cmd.Process.Pid)
		p.Detach()
		events, _ := readEvents(t, r)
		seen := map[model.EventKind]model.Event{}
		for _, e := range events {
			if e.Proc.PID == pid {
				seen[e.Kind] = e
			}
		}
		fork, exec, exit2 := seen[model.EventFork], seen[model.EventExec], seen[model.EventExit]
		if fork.Kind == 0 || fork.Parent.PID != uint32(os.Getpid()) {
			t.Errorf("no fork event naming the child %d and this test as its parent (%d events read; the child's fork: %v, parent %v)", pid, len(events), fork.Kind, fork.Parent)
		}
		if kprobesSeeLifecycle {
			// An exec seen at its return has the new comm, no path.
			comm := filepath.Base(os.Args[0])[:min(len(filepath.Base(os.Args[0])), model.CommLen-1)]
			if exec.Kind == 0 || exec.Comm() != comm {
				t.Errorf("no exec event of the child %d running %s (its exec: %v, %q)", pid, comm, exec.Kind, exec.Comm())
			}
		} else if exec.Kind == 0 || !strings.HasPrefix(exec.Filename(), os.Args[0][:min(len(os.Args[0]), model.FilenameLen-1)]) {
			t.Errorf("no exec event of the child %d running %s (its exec: %v, %q)", pid, os.Args[0], exec.Kind, exec.Filename())
		}
		if exit2.Kind == 0 || exit2.ExitCode != briefExit {
			t.Errorf("no exit event of the child %d with status %d (its exit: %v, status %d)", pid, briefExit, exit2.Kind, exit2.ExitCode)
		}
		if fork.Proc.Start == 0 || fork.Proc != exit2.Proc || exec.Proc != exit2.Proc {
			t.Errorf("the child's events name it differently: fork %v, exec %v, exit %v", fork.Proc, exec.Proc, exit2.Proc)
		}
	})
}

// TestRungAccountsForEveryEventItDrops fills a buffer of one page that nobody
// reads: every event is then received or counted lost, and some are lost.
func TestRungAccountsForEveryEventItDrops(t *testing.T) {
	onEveryRung(t, Options{RingBytes: 4096, PerfBytes: 4096}, func(t *testing.T, p *Probe) {
		const forks = 500 // a fork and an exit event each: far more than a page holds
		c := startChild(t, fmt.Sprintf("forks %d", forks))
		if err := p.ScopePIDs([]uint32{c.pid()}, true); err != nil {
			t.Fatal(err)
		}
		r := openEvents(t, p)
		if err := p.Attach(); err != nil {
			t.Fatal(err)
		}
		c.run(t)
		p.Detach()
		events, perfLost := readEvents(t, r)
		got := readCounters(t, p)
		lost := got.Lost[model.LossLifecycle]
		if lost == 0 {
			t.Fatalf("%d events attempted, %d received, none lost: the buffer did not fill", got.EventsAttempted, len(events))
		}
		if uint64(len(events))+lost != got.EventsAttempted {
			t.Errorf("%d events received + %d lost = %d, but the kernel attempted %d", len(events), lost, uint64(len(events))+lost, got.EventsAttempted)
		}
		// A CPU's perf buffer reports its losses only with its next sample
		// (the young threads' sweep at Detach may send one on some CPU): late
		// and partial, never more than the kernel counted.
		if p.Buffer() == BufferPerf && perfLost > lost {
			t.Errorf("the perf buffer reported %d samples lost, the kernel counted only %d", perfLost, lost)
		}
		t.Logf("%d attempted, %d received, %d lost (perf buffer: %d)", got.EventsAttempted, len(events), lost, perfLost)
	})
}

// TestKprobeRungCountsTheReturnsItMisses fills a kretprobe with room for one
// call with four sleeping at once: each call is counted, and three returns
// are counted missed. (Misses are the kretprobe's, of every process: nothing
// else calls select here.)
func TestKprobeRungCountsTheReturnsItMisses(t *testing.T) {
	old := retprobeMaxActive
	retprobeMaxActive = 1
	t.Cleanup(func() { retprobeMaxActive = old })
	onKprobeRung(t, func(t *testing.T, p *Probe) {
		if err := p.SetSyscallFilter([]int{sysSleep}); err != nil {
			t.Fatal(err)
		}
		var sleepers []*child
		var pids []uint32
		t.Setenv("GODEBUG", "asyncpreemptoff=1")
		for range 4 {
			c := startChild(t, "select 300")
			sleepers = append(sleepers, c)
			pids = append(pids, c.pid())
		}
		if err := p.ScopePIDs(pids, false); err != nil {
			t.Fatal(err)
		}
		if err := p.Attach(); err != nil {
			t.Fatal(err)
		}
		for _, c := range sleepers {
			c.stdin.Write([]byte{'g'})
		}
		for _, c := range sleepers {
			if err := c.cmd.Wait(); err != nil {
				t.Fatal(err)
			}
		}
		got := readCounters(t, p)
		if sys := got.System[sysSleep]; sys.Calls != 4 || sys.LatCount != 1 {
			t.Errorf("select counted %d times, %d timed; want 4 calls, 1 timed (the kretprobe has room for one)", sys.Calls, sys.LatCount)
		}
		if missed := got.Lost[model.LossReturnMissed]; missed != 3 {
			t.Errorf("%d returns counted missed, want 3", missed)
		}
	})
}

// TestKprobeRungRemovesStaleKprobes leaves a kprobe event as a killed tlmon
// would, and one of a tlmon still running: loading rung 4 removes only the
// first.
func TestKprobeRungRemovesStaleKprobes(t *testing.T) {
	rungs := kprobeRungs(t)
	dir, err := tracefs.Dir()
	if err != nil {
		t.Fatal(err)
	}
	path := dir + "/kprobe_events"
	stale := kprobeGroupPrefix + "4000000000_1a2b/stale" // no such PID
	running := fmt.Sprintf("%s%d_3c4d/running", kprobeGroupPrefix, os.Getppid())
	for _, e := range []string{stale, running} {
		if err := writeKprobeEvents("r:" + e + " __x64_sys_getppid"); err != nil {
			t.Fatalf("make %s: %v", e, err)
		}
		t.Cleanup(func() { writeKprobeEvents("-:" + e) })
	}
	onRungs(t, rungs, Options{}, func(t *testing.T, p *Probe) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), stale) {
			t.Errorf("the stale kprobe %s is still there:\n%s", stale, b)
		}
		if !strings.Contains(string(b), running) {
			t.Errorf("the kprobe %s of a running tlmon was removed:\n%s", running, b)
		}
	})
}

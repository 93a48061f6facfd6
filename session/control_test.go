package session

import (
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"tlmon/bpf"
	"tlmon/collector"
	"tlmon/internal/probetest"
	"tlmon/model"
	"tlmon/syscalls"
)

// nullCounts stands in for the aggregator.
type nullCounts struct {
	cleared int
	scope   model.Target
}

func (n *nullCounts) Snapshot() *model.Snapshot                { return &model.Snapshot{} }
func (n *nullCounts) Clear()                                   { n.cleared++ }
func (n *nullCounts) SetScope(t model.Target)                  { n.scope = t }
func (n *nullCounts) ProcDetail(model.ProcID) model.ProcDetail { return model.ProcDetail{} }

func newControl(t *testing.T, p *bpf.Probe) (*Control, *nullCounts) {
	cg, _ := collector.FindCgroups()
	n := &nullCounts{}
	return NewControl(p, n, nil, cg, syscalls.HostTable(), model.Meta{Scope: "test"}, model.Target{Kind: model.TargetPID, PID: uint32(os.Getpid())}, true, nil), n
}

// TestClassTogglesChangeWhatTheKernelCounts switches the class of getppid
// (other) off while file stays on: getppid stops being counted, openat goes on.
func TestClassTogglesChangeWhatTheKernelCounts(t *testing.T) {
	p := probetest.Load(t, bpf.Options{})
	c, _ := newControl(t, p)
	var before, after bpf.Counters
	count := func(into *bpf.Counters) {
		for i := 0; i < 100; i++ {
			unix.Getppid()
			unix.Open("/nonexistent/tlmon", unix.O_RDONLY, 0)
		}
		if err := p.ReadCounters(into); err != nil {
			t.Fatal(err)
		}
	}
	count(&before)
	if err := c.SetClasses(c.Classes() &^ model.ClassOther); err != nil {
		t.Fatal(err)
	}
	count(&after)
	if d := after.System[unix.SYS_GETPPID].Calls - before.System[unix.SYS_GETPPID].Calls; d != 0 {
		t.Errorf("getppid counted %d more times with its class off", d)
	}
	if d := after.System[unix.SYS_OPENAT].Calls - before.System[unix.SYS_OPENAT].Calls; d < 100 {
		t.Errorf("openat counted %d more times with file on, want ≥ 100", d)
	}
	if err := c.SetClasses(c.Classes() | model.ClassOther); err != nil {
		t.Fatal(err)
	}
	var again bpf.Counters
	count(&again)
	if d := again.System[unix.SYS_GETPPID].Calls - after.System[unix.SYS_GETPPID].Calls; d != 100 {
		t.Errorf("getppid counted %d times after its class came back on, want 100", d)
	}
}

// TestInFlightShowsABlockedRead starts a child that blocks reading a pipe and
// finds it in flight, in read, for about as long as it has been blocked.
func TestInFlightShowsABlockedRead(t *testing.T) {
	for _, store := range []string{bpf.EnterTaskStorage, bpf.EnterHash} {
		t.Run(store, func(t *testing.T) { inFlightRead(t, store) })
	}
}

func inFlightRead(t *testing.T, store string) {
	p := probetest.Load(t, bpf.Options{EnterStore: store}) // the test and its children are in scope
	c, _ := newControl(t, p)
	// With every detail on, as a user may have it: the call records must not
	// disturb the entry records.
	if err := c.SetDetail(model.ClassProcess | model.ClassFile | model.ClassNetwork | model.ClassDesc); err != nil {
		t.Fatal(err)
	}
	cat := blockedCat(t)
	time.Sleep(300 * time.Millisecond)
	flying, err := c.InFlight()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range flying {
		if f.PID == uint32(cat.Process.Pid) {
			if f.Syscall != "read" || f.Since < 250*time.Millisecond || f.Since > 5*time.Second {
				t.Errorf("cat in flight: %+v, want read for about 300ms", f)
			}
			return
		}
	}
	t.Errorf("cat (pid %d) blocked in read is not in flight: %+v", cat.Process.Pid, flying)
}

// TestAttachRescopesAndClears attaches to a process, then to a missing one.
func TestAttachRescopesAndClears(t *testing.T) {
	p := probetest.Load(t, bpf.Options{})
	c, n := newControl(t, p)
	if err := c.Attach(model.Target{Kind: model.TargetPID, PID: uint32(os.Getpid())}); err != nil {
		t.Fatal(err)
	}
	if c.Meta().Scope != "pid "+itoa(os.Getpid()) || n.cleared != 1 {
		t.Errorf("after attach: scope %q, cleared %d times", c.Meta().Scope, n.cleared)
	}
	if err := c.Attach(model.Target{Kind: model.TargetPID, PID: 4_000_000}); err == nil {
		t.Error("attaching to a missing pid did not fail")
	}
	if err := c.Attach(model.Target{Kind: model.TargetCgroup, Cgroup: "/no/such/cgroup"}); err == nil {
		t.Error("attaching to a missing cgroup did not fail")
	}
	targets, err := c.Targets()
	if err != nil || len(targets) < 2 || targets[0].Kind != model.TargetAll {
		t.Errorf("targets: %d, first %+v (%v)", len(targets), targets, err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestInFlightShowsACallThatBeganBeforeWatching: a thread already blocked when
// tlmon starts has no entry record; it still shows, with the time since
// watching began as a lower bound.
func TestInFlightShowsACallThatBeganBeforeWatching(t *testing.T) {
	cat := blockedCat(t)
	time.Sleep(100 * time.Millisecond) // cat is inside read before anything is loaded
	p := probetest.Load(t, bpf.Options{})
	pid := uint32(cat.Process.Pid)
	if err := p.ScopePIDs([]uint32{pid}, true); err != nil {
		t.Fatal(err)
	}
	cg, _ := collector.FindCgroups()
	c := NewControl(p, &nullCounts{}, nil, cg, syscalls.HostTable(), model.Meta{}, model.Target{Kind: model.TargetPID, PID: pid}, true, nil)
	time.Sleep(300 * time.Millisecond)
	flying, err := c.InFlight()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range flying {
		if f.PID == pid {
			if f.Syscall != "read" || !f.AtLeast || f.Since < 250*time.Millisecond {
				t.Errorf("cat in flight: %+v, want read, at least 300ms", f)
			}
			return
		}
	}
	t.Errorf("cat (pid %d), blocked since before watching, is not in flight: %+v", pid, flying)
}

// TestThreadsAreCountedOneByOne watches this process's threads while two of
// them make 1,000 and 2,000 getppid calls: each is counted on its own.
func TestThreadsAreCountedOneByOne(t *testing.T) {
	p := probetest.Load(t, bpf.Options{})
	c, _ := newControl(t, p)
	self := uint32(os.Getpid())
	if _, err := c.Threads(self); err != nil {
		t.Fatal(err)
	}
	var tids [2]uint32
	var ready, done sync.WaitGroup
	ready.Add(len(tids))
	for i := range tids {
		done.Add(1)
		go func() {
			defer done.Done()
			runtime.LockOSThread() // and never unlocked: the thread dies with the goroutine
			tids[i] = uint32(unix.Gettid())
			ready.Done()
			ready.Wait() // both threads exist at once: two different tids
			for j := 0; j < 1000*(i+1); j++ {
				unix.Getppid()
			}
		}()
	}
	done.Wait()
	stats, err := c.Threads(self)
	if err != nil {
		t.Fatal(err)
	}
	got := map[uint32]uint64{}
	for _, s := range stats {
		got[s.TID] = s.Calls
	}
	for i, tid := range tids {
		// Each thread made its getppid calls plus a few of the runtime's.
		if n := got[tid]; n < uint64(1000*(i+1)) || n > uint64(1000*(i+1))+50 {
			t.Errorf("thread %d: %d calls, want about %d", tid, n, 1000*(i+1))
		}
	}
	if _, err := c.Threads(0); err != nil {
		t.Fatal(err)
	}
	if counts, _ := p.ThreadCounts(); len(counts) != 0 {
		t.Errorf("%d threads still counted after Threads(0)", len(counts))
	}
}

// blockedCat starts cat reading a pipe nobody writes: it blocks in read until
// the test ends.
func blockedCat(t *testing.T) *exec.Cmd {
	t.Helper()
	cat := exec.Command("cat")
	stdin, err := cat.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cat.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cat.Wait() })
	return cat
}

// TestInFlightListsNoKernelThread: watching everything, no kernel thread is
// listed as inside a syscall (their /proc/PID/syscall reads as a read).
func TestInFlightListsNoKernelThread(t *testing.T) {
	p := probetest.Load(t, bpf.Options{})
	cg, _ := collector.FindCgroups()
	c := NewControl(p, &nullCounts{}, nil, cg, syscalls.HostTable(), model.Meta{}, model.Target{Kind: model.TargetAll}, true, nil)
	cat := blockedCat(t) // one real wait, so that the list is not empty by accident
	time.Sleep(100 * time.Millisecond)
	flying, err := c.InFlight()
	if err != nil {
		t.Fatal(err)
	}
	sawCat := false
	for _, f := range flying {
		sawCat = sawCat || f.PID == uint32(cat.Process.Pid)
		if info, err := collector.ReadProc(f.PID, nil); err == nil && info.Kernel {
			t.Errorf("kernel thread %d (%s) listed in flight: %+v", f.PID, info.Comm, f)
		}
	}
	if !sawCat {
		t.Errorf("cat blocked in read is not in flight: %+v", flying)
	}
}

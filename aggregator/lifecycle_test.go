package aggregator

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"tlmon/model"
)

// TestRetirementWaitsForTimeAndARead checks both conditions of retirement: exited
// more than RetireAfter ago, and before the previous HandleCounters call.
func TestRetirementWaitsForTimeAndARead(t *testing.T) {
	for _, tc := range []struct {
		name string
		// steps: clock advance before each HandleCounters call
		steps []time.Duration
		// retiredAt is the index of the call that retires the process, -1 for none
		retiredAt int
	}{
		{"a long wait alone does not retire before a second read", []time.Duration{10 * time.Second, 0}, 1},
		{"two quick reads alone do not retire before RetireAfter", []time.Duration{time.Second, time.Second, time.Second}, -1},
		{"exactly RetireAfter is not more than RetireAfter", []time.Duration{time.Second, 4 * time.Second}, -1},
		{"retired at the first read past RetireAfter", []time.Duration{time.Second, time.Second, time.Second, time.Second, 2 * time.Second}, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, clk := newAgg(t, Config{RetireAfter: 5 * time.Second})
			id := pid(7)
			a.AddProcess(model.ProcInfo{ID: id, Comm: "job"})
			a.HandleCounters(newDelta().add(id, 1, model.Counts{Calls: 3}).build(clk.Now(), time.Second))
			a.HandleEvent(event(model.EventExit, id, pid(1), "job"))
			got := -1
			for i, step := range tc.steps {
				clk.Advance(step)
				if r := a.HandleCounters(newDelta().build(clk.Now(), step)); slices.Contains(r, id) {
					if got >= 0 {
						t.Fatalf("retired twice")
					}
					got = i
				}
				p := findProc(a.Snapshot(), id)
				if (p == nil) != (got >= 0) {
					t.Fatalf("call %d: in snapshot = %v, retired = %v", i, p != nil, got >= 0)
				}
				checkInvariant(t, a)
			}
			if got != tc.retiredAt {
				t.Errorf("retired at call %d, want %d", got, tc.retiredAt)
			}
			// Its counts still count after retirement.
			if sc := findSyscall(a.Snapshot().Syscalls, 1); sc == nil || sc.Calls != 3 {
				t.Errorf("system write calls = %+v, want 3", sc)
			}
		})
	}
}

// TestEventsOutOfOrderNameTheProcess checks that events in any order give one
// process with the right name and state.
func TestEventsOutOfOrderNameTheProcess(t *testing.T) {
	child, parent := pid(20), pid(10)
	fork := event(model.EventFork, child, parent, "bash")
	exec := event(model.EventExec, child, parent, "make")
	copy(exec.FilenameBytes[:], "/usr/bin/make")
	exit := event(model.EventExit, child, parent, "make")
	exit.ExitCode, exit.ExitSignal = 2, 0
	for _, tc := range []struct {
		name      string
		events    []*model.Event
		wantComm  string
		wantExe   string
		wantAlive bool
	}{
		{"in order", []*model.Event{fork, exec, exit}, "make", "/usr/bin/make", false},
		{"exit first creates an exited process", []*model.Event{exit}, "make", "", false},
		{"exit before fork stays exited", []*model.Event{exit, fork}, "make", "", false},
		{"exec before fork keeps the exec's comm", []*model.Event{exec, fork}, "make", "/usr/bin/make", true},
		{"exit before exec and fork", []*model.Event{exit, exec, fork}, "make", "/usr/bin/make", false},
		{"fork alone takes the parent's comm", []*model.Event{fork}, "bash", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, clk := newAgg(t, Config{})
			for _, e := range tc.events {
				a.HandleEvent(e)
			}
			a.HandleCounters(newDelta().add(child, 0, model.Counts{Calls: 1}).build(clk.Now(), time.Second))
			s := a.Snapshot()
			p := findProc(s, child)
			if p == nil {
				t.Fatal("child not tracked")
			}
			if p.Comm != tc.wantComm || p.Exe != tc.wantExe || p.Alive != tc.wantAlive || p.Placeholder {
				t.Errorf("got comm %q exe %q alive %v placeholder %v, want %q %q %v false", p.Comm, p.Exe, p.Alive, p.Placeholder, tc.wantComm, tc.wantExe, tc.wantAlive)
			}
			if !tc.wantAlive && (p.ExitCode != 2 || p.ExitedAt.IsZero()) {
				t.Errorf("exit code %d at %v, want 2 at a time", p.ExitCode, p.ExitedAt)
			}
			if p.Parent != parent {
				t.Errorf("parent %v, want %v", p.Parent, parent)
			}
			if s.Lost.AttributionMisses != 0 || s.Lost.EventsReceived != uint64(len(tc.events)) {
				t.Errorf("misses %d received %d", s.Lost.AttributionMisses, s.Lost.EventsReceived)
			}
		})
	}
}

// TestExecMakesInheritedNamesStale checks that a child takes its parent's
// command line and cgroups at fork, that exec drops the command line but keeps
// the v1 cgroup inherited (one rule for every process: a child that exits
// before /proc is read is named like its parent, not by the v2 root), takes
// the v2 cgroup the exec event says, and that /proc fills in the command line
// and says where the process is now.
func TestExecMakesInheritedNamesStale(t *testing.T) {
	a, clk := newAgg(t, Config{CgroupPath: func(id uint64) string { return fmt.Sprint("/cg", id) }})
	parent, child := pid(10), pid(20)
	a.AddProcess(model.ProcInfo{ID: parent, Comm: "systemd", Cmdline: "/sbin/init", CgroupID: 1, V1Cgroup: "/init.scope"})
	fork := event(model.EventFork, child, parent, "systemd")
	fork.CgroupID = 1
	a.HandleEvent(fork)
	info := func() (string, string, string) {
		a.HandleCounters(newDelta().add(child, 0, model.Counts{Calls: 1}).build(clk.Now(), time.Second))
		p := findProc(a.Snapshot(), child)
		return p.Cmdline, p.V1Cgroup, p.CgroupPath
	}
	if cmd, v1, v2 := info(); cmd != "/sbin/init" || v1 != "/init.scope" || v2 != "/cg1" {
		t.Errorf("after fork: cmdline %q v1 %q v2 %q, want the parent's", cmd, v1, v2)
	}
	exec := event(model.EventExec, child, parent, "nginx")
	exec.CgroupID = 2 // moved between fork and exec
	a.HandleEvent(exec)
	if cmd, v1, v2 := info(); cmd != "" || v1 != "/init.scope" || v2 != "/cg2" {
		t.Errorf("after exec: cmdline %q v1 %q v2 %q, want no command line, the v1 inherited, the exec's v2", cmd, v1, v2)
	}
	a.AddProcess(model.ProcInfo{ID: child, Comm: "nginx", Cmdline: "nginx -g daemon", CgroupID: 2, V1Cgroup: "/system.slice/nginx.service"})
	if cmd, v1, v2 := info(); cmd != "nginx -g daemon" || v1 != "/system.slice/nginx.service" || v2 != "/cg2" {
		t.Errorf("after /proc: cmdline %q v1 %q v2 %q", cmd, v1, v2)
	}
}

// TestAProcessMovedAfterForkTakesItsNewCgroup: a child forked into its
// parent's cgroup and moved without exec (a container runtime, systemd) is
// named by its new cgroup once /proc is read again.
func TestAProcessMovedAfterForkTakesItsNewCgroup(t *testing.T) {
	a, clk := newAgg(t, Config{CgroupPath: func(id uint64) string { return fmt.Sprint("/cg", id) }})
	parent, child := pid(10), pid(20)
	a.AddProcess(model.ProcInfo{ID: parent, Comm: "containerd-shim", CgroupID: 1, V1Cgroup: "memory:/shim"})
	fork := event(model.EventFork, child, parent, "containerd-shim")
	fork.CgroupID = 1
	a.HandleEvent(fork)
	a.AddProcess(model.ProcInfo{ID: child, Comm: "containerd-shim", CgroupID: 7, V1Cgroup: "memory:/docker/abc"})
	a.HandleCounters(newDelta().add(child, 0, model.Counts{Calls: 1}).build(clk.Now(), time.Second))
	p := findProc(a.Snapshot(), child)
	if p.CgroupPath != "/cg7" || p.V1Cgroup != "memory:/docker/abc" {
		t.Errorf("moved child: v2 %q v1 %q, want its new cgroup", p.CgroupPath, p.V1Cgroup)
	}
}

// TestPlaceholders checks processes named by nothing, and naming them later.
func TestPlaceholders(t *testing.T) {
	id := pid(33)
	for _, tc := range []struct {
		name       string
		later      func(a *Aggregator)
		wantComm   string
		wantPlace  bool
		wantAlive  bool
		wantMisses uint64
	}{
		{"unnamed counts go to a placeholder", func(*Aggregator) {}, "?", true, false, 1},
		{"AddProcess names it", func(a *Aggregator) { a.AddProcess(model.ProcInfo{ID: id, Comm: "late"}) }, "late", false, true, 0},
		{"a late fork names it", func(a *Aggregator) { a.HandleEvent(event(model.EventFork, id, pid(1), "sh")) }, "sh", false, true, 0},
		{"a late exit names it", func(a *Aggregator) { a.HandleEvent(event(model.EventExit, id, pid(1), "gone")) }, "gone", false, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, clk := newAgg(t, Config{})
			a.HandleCounters(newDelta().add(id, 0, model.Counts{Calls: 4}).build(clk.Now(), time.Second))
			if m := a.Snapshot().Lost.AttributionMisses; m != 1 {
				t.Fatalf("AttributionMisses = %d, want 1", m)
			}
			tc.later(a)
			a.HandleCounters(newDelta().add(id, 0, model.Counts{Calls: 1}).build(clk.Now(), time.Second))
			s := a.Snapshot()
			p := findProc(s, id)
			if p == nil || p.Comm != tc.wantComm || p.Placeholder != tc.wantPlace || p.Alive != tc.wantAlive || p.Calls != 5 {
				t.Fatalf("got %+v, want comm %q placeholder %v alive %v calls 5", p, tc.wantComm, tc.wantPlace, tc.wantAlive)
			}
			if s.Lost.AttributionMisses != tc.wantMisses {
				t.Errorf("AttributionMisses = %d, want %d", s.Lost.AttributionMisses, tc.wantMisses)
			}
			checkInvariant(t, a)
		})
	}

	t.Run("an idle placeholder retires and stays counted as a miss", func(t *testing.T) {
		a, clk := newAgg(t, Config{RetireAfter: 2 * time.Second})
		a.HandleCounters(newDelta().add(id, 0, model.Counts{Calls: 4}).build(clk.Now(), time.Second))
		var retired []model.ProcID
		for range 4 {
			clk.Advance(time.Second)
			retired = append(retired, a.HandleCounters(newDelta().build(clk.Now(), time.Second))...)
		}
		if !slices.Equal(retired, []model.ProcID{id}) {
			t.Fatalf("retired %v, want [%v]", retired, id)
		}
		if s := a.Snapshot(); s.Lost.AttributionMisses != 1 || len(s.Processes) != 0 {
			t.Errorf("misses %d, %d processes", s.Lost.AttributionMisses, len(s.Processes))
		}
		checkInvariant(t, a)
	})
}

// TestPIDReuseGivesTwoProcesses checks that one PID with two start times is two
// processes with separate counts.
func TestPIDReuseGivesTwoProcesses(t *testing.T) {
	a, clk := newAgg(t, Config{})
	old := model.ProcID{PID: 500, Start: 10}
	reused := model.ProcID{PID: 500, Start: 99}
	a.HandleEvent(event(model.EventFork, old, pid(1), "old"))
	a.HandleEvent(event(model.EventExit, old, pid(1), "old"))
	a.HandleEvent(event(model.EventFork, reused, pid(1), "new"))
	a.HandleCounters(newDelta().add(old, 0, model.Counts{Calls: 2}).add(reused, 0, model.Counts{Calls: 7}).build(clk.Now(), time.Second))
	s := a.Snapshot()
	o, n := findProc(s, old), findProc(s, reused)
	if o == nil || n == nil {
		t.Fatalf("old %v new %v", o, n)
	}
	if o.Calls != 2 || o.Alive || o.Comm != "old" {
		t.Errorf("old process: %+v", o)
	}
	if n.Calls != 7 || !n.Alive || n.Comm != "new" {
		t.Errorf("new process: %+v", n)
	}
	checkInvariant(t, a)
}

// TestMaxProcsOverflowIsVisible checks that processes beyond MaxProcs go to the
// unattributed totals and are counted, after exited ones were retired early.
func TestMaxProcsOverflowIsVisible(t *testing.T) {
	a, clk := newAgg(t, Config{MaxProcs: 2})
	exited, alive, third, fourth := pid(1), pid(2), pid(3), pid(4)
	a.AddProcess(model.ProcInfo{ID: exited})
	a.AddProcess(model.ProcInfo{ID: alive})
	a.HandleEvent(event(model.EventExit, exited, pid(0), "e"))
	// Two reads make the exited process's counts final; it is young, so stays.
	a.HandleCounters(newDelta().add(exited, 0, model.Counts{Calls: 1}).build(clk.Now(), time.Second))
	a.HandleCounters(newDelta().build(clk.Now(), time.Second))
	if findProc(a.Snapshot(), exited) == nil {
		t.Fatal("exited process retired too soon")
	}
	// A new process makes room by retiring it early; the one after overflows.
	a.HandleEvent(event(model.EventFork, third, alive, "c"))
	a.HandleEvent(event(model.EventFork, fourth, alive, "d"))
	retired := a.HandleCounters(newDelta().add(third, 1, model.Counts{Calls: 5}).add(fourth, 1, model.Counts{Calls: 6}).build(clk.Now(), time.Second))
	if !slices.Equal(retired, []model.ProcID{exited}) {
		t.Errorf("retired %v, want [%v]", retired, exited)
	}
	s := a.Snapshot()
	if len(s.Processes) != 2 || findProc(s, third) == nil || findProc(s, fourth) != nil {
		t.Errorf("processes %+v", s.Processes)
	}
	// One refused fork event, one refused lookup for its counts.
	if s.Lost.ProcOverflow != 2 || s.Lost.Total != 2 || s.Lost.Unattributed.Calls != 6 {
		t.Errorf("lost %+v", s.Lost)
	}
	checkInvariant(t, a)
}

// TestEarlyRetirementByEventRepublishes checks that a process retired early by an
// event, between HandleCounters calls, leaves the published snapshot: its counts
// are retired, so the snapshot must not count them again.
func TestEarlyRetirementByEventRepublishes(t *testing.T) {
	a, clk := newAgg(t, Config{MaxProcs: 2})
	exited, alive, third := pid(1), pid(2), pid(3)
	a.AddProcess(model.ProcInfo{ID: exited})
	a.AddProcess(model.ProcInfo{ID: alive})
	a.HandleEvent(event(model.EventExit, exited, pid(0), "e"))
	a.HandleCounters(newDelta().add(exited, 0, model.Counts{Calls: 1}).add(alive, 0, model.Counts{Calls: 2}).build(clk.Now(), time.Second))
	a.HandleCounters(newDelta().build(clk.Now(), time.Second))
	old := a.Snapshot()
	if findProc(old, exited) == nil {
		t.Fatal("exited process retired too soon")
	}
	a.HandleEvent(event(model.EventFork, third, alive, "c"))
	checkInvariant(t, a)
	s := a.Snapshot()
	if findProc(s, exited) != nil || findProc(s, alive) == nil {
		t.Errorf("processes %+v", s.Processes)
	}
	if findProc(old, exited) == nil || len(old.Processes) != 2 {
		t.Error("old snapshot changed")
	}
}

// TestMemoryStaysBounded pushes 100k short-lived processes through and checks
// that the tracked set, and every other per-process structure, stays bounded.
func TestMemoryStaysBounded(t *testing.T) {
	const maxProcs = 1000
	a, clk := newAgg(t, Config{MaxProcs: maxProcs})
	next := uint32(1)
	for round := range 100 {
		d := newDelta()
		for range 1000 {
			id := pid(next)
			next++
			a.HandleEvent(event(model.EventFork, id, pid(1), "sh"))
			a.HandleEvent(event(model.EventExec, id, pid(1), "true"))
			a.HandleEvent(event(model.EventExit, id, pid(1), "true"))
			if len(a.procs) > maxProcs {
				t.Fatalf("round %d: %d processes tracked", round, len(a.procs))
			}
			d.add(id, 59, model.Counts{Calls: 1})
			d.add(id, 231, model.Counts{Calls: 1})
		}
		clk.Advance(100 * time.Millisecond)
		a.HandleCounters(d.build(clk.Now(), 100*time.Millisecond))
		if len(a.procs) > maxProcs || len(a.early) > maxProcs || len(a.pending) > maxProcs {
			t.Fatalf("round %d: procs %d early %d pending %d", round, len(a.procs), len(a.early), len(a.pending))
		}
	}
	checkInvariant(t, a)
	s := a.Snapshot()
	if s.Totals.Calls != 200000 {
		t.Errorf("total calls %d, want 200000", s.Totals.Calls)
	}
	if len(s.Processes) > maxProcs {
		t.Errorf("%d processes in snapshot", len(s.Processes))
	}
}

// TestManyExitsRetireEarlyKeepingTheirCounts: past MaxExited exited processes
// whose counts are final, the oldest exits retire at once, not after
// RetireAfter, and their calls move to Retired, so the totals still add up.
func TestManyExitsRetireEarlyKeepingTheirCounts(t *testing.T) {
	const n, max = 10, 4
	a, clk := newAgg(t, Config{MaxExited: max, RetireAfter: time.Hour})
	d := newDelta()
	for i := range uint32(n) {
		d.add(pid(100+i), 0, model.Counts{Calls: 3})
	}
	a.HandleCounters(d.build(clk.Now(), time.Second))
	for i := range uint32(n) {
		clk.Advance(time.Millisecond) // exits in order: 100 is the oldest
		a.HandleEvent(event(model.EventExit, pid(100+i), pid(1), "x"))
	}
	var retired []model.ProcID
	for range 3 { // the read after the exits makes their counts final
		retired = append(retired, a.HandleCounters(newDelta().build(clk.Now(), time.Second))...)
	}
	if len(retired) != n-max {
		t.Fatalf("retired %v, want the %d oldest exits", retired, n-max)
	}
	for i, id := range retired {
		if id != pid(100+uint32(i)) {
			t.Errorf("retired %v as number %d, want the oldest exits first", id, i)
		}
	}
	s := a.Snapshot()
	if len(s.Processes) != max || s.Retired.Processes != n-max || s.Retired.Calls != 3*(n-max) {
		t.Errorf("%d processes shown, retired %+v; want %d shown and %d retired with %d calls", len(s.Processes), s.Retired, max, n-max, 3*(n-max))
	}
	if s.Totals.Calls != 3*n {
		t.Errorf("totals %d calls, want %d", s.Totals.Calls, 3*n)
	}
}

// TestKernelThreadsAreMarked: a kernel thread read from /proc says so; one
// born later is known by its parent, kthreadd, until it execs something.
func TestKernelThreadsAreMarked(t *testing.T) {
	a, clk := newAgg(t, Config{})
	a.AddProcess(model.ProcInfo{ID: pid(2), Comm: "kthreadd", Kernel: true})
	a.AddProcess(model.ProcInfo{ID: pid(14), Parent: pid(2), Comm: "ksoftirqd/0", Kernel: true})
	a.AddProcess(model.ProcInfo{ID: pid(1), Comm: "systemd", Exe: "/usr/lib/systemd/systemd"})
	a.HandleEvent(event(model.EventFork, pid(300), pid(2), "kthreadd"))
	a.HandleEvent(event(model.EventFork, pid(301), pid(1), "systemd"))
	a.HandleCounters(newDelta().build(clk.Now(), time.Second))
	s := a.Snapshot()
	for _, tt := range []struct {
		id   model.ProcID
		want bool
	}{{pid(2), true}, {pid(14), true}, {pid(300), true}, {pid(1), false}, {pid(301), false}} {
		if p := findProc(s, tt.id); p == nil || p.Kernel != tt.want {
			t.Errorf("pid %d: %+v, want Kernel %v", tt.id.PID, p, tt.want)
		}
	}
}

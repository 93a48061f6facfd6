package aggregator

import (
	"encoding/json"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"tlmon/model"
	"tlmon/syscalls"
)

// clock is a fake wall clock for Config.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func amd64(t testing.TB) *syscalls.Table {
	tb, err := syscalls.TableFor("amd64")
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

// newAgg returns an aggregator on a fake clock with the amd64 table.
func newAgg(t testing.TB, cfg Config) (*Aggregator, *clock) {
	c := newClock()
	cfg.Table = amd64(t)
	cfg.Now = c.Now
	return New(cfg), c
}

func pid(n uint32) model.ProcID { return model.ProcID{PID: n, Start: 1000 + uint64(n)} }

func event(kind model.EventKind, p, parent model.ProcID, comm string) *model.Event {
	e := &model.Event{Kind: kind, Proc: p, Parent: parent}
	copy(e.CommBytes[:], comm)
	return e
}

// delta builds a consistent CounterDelta: System is the sum of the per-process
// counts and the unattributed ones.
type delta struct {
	procs   map[model.ProcSyscall]model.Counts
	hists   map[model.ProcSyscall]model.Hist
	errnos  map[model.ProcErrno]uint64
	unattr  map[uint16]model.Counts
	lost    model.Losses
	restart uint64
}

func newDelta() *delta {
	return &delta{
		procs:  map[model.ProcSyscall]model.Counts{},
		hists:  map[model.ProcSyscall]model.Hist{},
		errnos: map[model.ProcErrno]uint64{},
		unattr: map[uint16]model.Counts{},
	}
}

func (d *delta) add(p model.ProcID, nr uint16, c model.Counts) *delta {
	k := model.ProcSyscall{Proc: p, Nr: nr}
	v := d.procs[k]
	v.Add(c)
	d.procs[k] = v
	return d
}

func (d *delta) build(at time.Time, interval time.Duration) *model.CounterDelta {
	cd := &model.CounterDelta{
		At: at, Interval: interval,
		System:       make([]model.Counts, model.MaxSyscallNr),
		SystemHist:   make([]model.Hist, model.MaxSyscallNr),
		Unattributed: make([]model.Counts, model.MaxSyscallNr),
		Procs:        d.procs, ProcHists: d.hists, Errnos: d.errnos,
		Lost: d.lost, Restarts: d.restart,
	}
	// Syscall numbers past the arrays are in no system-wide count, as in the
	// kernel.
	for k, c := range d.procs {
		if int(k.Nr) < len(cd.System) {
			cd.System[k.Nr].Add(c)
		}
	}
	for k, h := range d.hists {
		if int(k.Nr) < len(cd.SystemHist) {
			cd.SystemHist[k.Nr].Add(&h)
		}
	}
	for nr, c := range d.unattr {
		cd.System[nr].Add(c)
		cd.Unattributed[nr].Add(c)
	}
	return cd
}

// checkInvariant verifies, per syscall, tracked + retired + unattributed =
// system, both on the internal state and on the latest snapshot.
func checkInvariant(t *testing.T, a *Aggregator) {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	var sum [numNr]model.Counts
	for _, p := range a.procs {
		var total model.Counts
		for i, s := range p.sys {
			if p.nrs[i] != s.nr {
				t.Fatalf("process %v: nrs[%d] = %d, sys[%d].nr = %d", p.info.ID, i, p.nrs[i], i, s.nr)
			}
			sum[s.nr].Add(s.Counts)
			total.Add(s.Counts)
		}
		if total != p.total {
			t.Fatalf("process %v: total %+v, sum of syscalls %+v", p.info.ID, p.total, total)
		}
	}
	for nr := range sum {
		sum[nr].Add(a.retired[nr])
		sum[nr].Add(a.unattributed[nr])
		if sum[nr] != a.sys[nr].Counts {
			t.Fatalf("syscall %d: tracked+retired+unattributed = %+v, system = %+v", nr, sum[nr], a.sys[nr].Counts)
		}
	}
	if len(a.procs) > a.cfg.MaxProcs {
		t.Fatalf("%d processes tracked, MaxProcs %d", len(a.procs), a.cfg.MaxProcs)
	}
	if a.index.n != len(a.procs) {
		t.Fatalf("index holds %d processes, procs %d", a.index.n, len(a.procs))
	}
	for id, p := range a.procs {
		if a.index.get(id) != p {
			t.Fatalf("index finds %p for %v, procs %p", a.index.get(id), id, p)
		}
		if p.countsHead != 0 || p.errnosHead != 0 || p.histsHead != 0 {
			t.Fatalf("process %v: entries staged but not applied", id)
		}
	}

	s := a.snap.Load()
	var snapSum [numNr]model.Counts
	for _, p := range s.Processes {
		for _, st := range p.Syscalls {
			snapSum[st.Nr].Add(st.Counts)
		}
	}
	var unattr model.Counts
	for nr := range snapSum {
		snapSum[nr].Add(a.retired[nr])
		snapSum[nr].Add(a.unattributed[nr])
		unattr.Add(a.unattributed[nr])
	}
	for _, st := range s.Syscalls {
		if snapSum[st.Nr].Calls != st.Calls || snapSum[st.Nr].Errors != st.Errors {
			t.Fatalf("snapshot syscall %s: processes+retired+unattributed = %+v, system = %+v", st.Name, snapSum[st.Nr], st.Counts)
		}
	}
	if unattr != s.Lost.Unattributed {
		t.Fatalf("snapshot unattributed %+v, want %+v", s.Lost.Unattributed, unattr)
	}
}

func findProc(s *model.Snapshot, id model.ProcID) *model.ProcStat {
	for i := range s.Processes {
		if s.Processes[i].ID == id {
			return &s.Processes[i]
		}
	}
	return nil
}

func findSyscall(list []model.SyscallStat, nr int) *model.SyscallStat {
	for i := range list {
		if list[i].Nr == nr {
			return &list[i]
		}
	}
	return nil
}

// TestInvariantHoldsOverRandomRounds drives the aggregator with a random model of
// processes forking, exec'ing, exiting (sometimes out of order), going unnamed,
// overflowing MaxProcs and missing the kernel's process map, and checks the
// accounting invariant after every round.
func TestInvariantHoldsOverRandomRounds(t *testing.T) {
	for _, tc := range []struct {
		name     string
		maxProcs int
		seed     uint64
	}{
		{"plenty of room", 10000, 1},
		{"tight MaxProcs forces early retirement and overflow", 40, 2},
		{"tiny MaxProcs", 3, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, clk := newAgg(t, Config{MaxProcs: tc.maxProcs, RetireAfter: 3 * time.Second})
			rng := rand.New(rand.NewPCG(tc.seed, 42))
			type tproc struct {
				id       model.ProcID
				exitCall int // call before which the exit was handled; 0 while alive
			}
			var live []*tproc
			nextPID := uint32(100)
			retiredAt := map[model.ProcID]int{}
			exitCall := map[model.ProcID]int{}
			wasPlaceholder := map[model.ProcID]bool{}
			for call := 1; call <= 300; call++ {
				d := newDelta()
				// New processes, named in various ways.
				for range rng.IntN(6) {
					nextPID++
					p := &tproc{id: pid(nextPID)}
					switch rng.IntN(5) {
					case 0:
						a.AddProcess(model.ProcInfo{ID: p.id, Comm: "init"})
					case 1:
						a.HandleEvent(event(model.EventFork, p.id, pid(1), "sh"))
					case 2:
						a.HandleEvent(event(model.EventExec, p.id, pid(1), "cat"))
						a.HandleEvent(event(model.EventFork, p.id, pid(1), "sh")) // late fork
					case 3:
						// Never named: a placeholder. It lives for this read
						// only, as one would that /proc cannot name later.
						p.exitCall = call
					case 4:
						// Known only from its exit, which came first.
						a.HandleEvent(event(model.EventExit, p.id, pid(1), "x"))
						p.exitCall = call
						exitCall[p.id] = call
					}
					live = append(live, p)
				}
				// Exits.
				for _, p := range live {
					if p.exitCall == 0 && rng.IntN(8) == 0 {
						a.HandleEvent(event(model.EventExit, p.id, pid(1), "x"))
						p.exitCall = call
						exitCall[p.id] = call
					}
				}
				// Counts: live ones, and exited ones up to one read after the
				// exit (their last counts may come one read late).
				kept := live[:0]
				for _, p := range live {
					if p.exitCall != 0 && call > p.exitCall+1 {
						continue
					}
					kept = append(kept, p)
					for range rng.IntN(4) {
						calls := uint64(rng.IntN(20))
						errs := uint64(rng.IntN(int(calls) + 1))
						nr := uint16(rng.IntN(20))
						d.add(p.id, nr, model.Counts{Calls: calls, Errors: errs, LatSumNs: calls * 100, LatCount: calls})
					}
				}
				live = kept
				for range rng.IntN(3) {
					d.unattr[uint16(rng.IntN(20))] = model.Counts{Calls: uint64(rng.IntN(9)), Errors: 1}
				}
				clk.Advance(time.Second)
				for _, id := range a.HandleCounters(d.build(clk.Now(), time.Second)) {
					// A placeholder is presumed gone when idle, so one that is
					// in fact alive (its fork overflowed MaxProcs) may retire
					// early and come back: only named processes are checked.
					if wasPlaceholder[id] {
						continue
					}
					if prev, ok := retiredAt[id]; ok {
						t.Fatalf("call %d: %v retired again (first at call %d)", call, id, prev)
					}
					retiredAt[id] = call
					if ec, ok := exitCall[id]; ok && call < ec+1 {
						t.Fatalf("call %d: %v retired before its last counts were read (exit before call %d)", call, id, ec)
					}
				}
				for _, p := range a.Snapshot().Processes {
					if p.Placeholder {
						wasPlaceholder[p.ID] = true
					}
				}
				checkInvariant(t, a)
				if call == 150 {
					a.Clear()
					checkInvariant(t, a)
				}
			}
			s := a.Snapshot()
			if tc.maxProcs < 10 && s.Lost.ProcOverflow == 0 {
				t.Errorf("no ProcOverflow with MaxProcs %d", tc.maxProcs)
			}
			if s.Lost.Total != s.Lost.ByCause.Total()+s.Lost.ProcOverflow {
				t.Errorf("Lost.Total %d, want %d", s.Lost.Total, s.Lost.ByCause.Total()+s.Lost.ProcOverflow)
			}
		})
	}
}

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
// command line and v1 cgroup at fork, that exec drops both (a service manager
// moves its child between fork and exec) and that /proc fills them in again.
func TestExecMakesInheritedNamesStale(t *testing.T) {
	a, clk := newAgg(t, Config{})
	parent, child := pid(10), pid(20)
	a.AddProcess(model.ProcInfo{ID: parent, Comm: "systemd", Cmdline: "/sbin/init", V1Cgroup: "/init.scope"})
	a.HandleEvent(event(model.EventFork, child, parent, "systemd"))
	info := func() (string, string) {
		a.HandleCounters(newDelta().add(child, 0, model.Counts{Calls: 1}).build(clk.Now(), time.Second))
		p := findProc(a.Snapshot(), child)
		return p.Cmdline, p.V1Cgroup
	}
	if cmd, v1 := info(); cmd != "/sbin/init" || v1 != "/init.scope" {
		t.Errorf("after fork: cmdline %q v1 %q, want the parent's", cmd, v1)
	}
	a.HandleEvent(event(model.EventExec, child, parent, "nginx"))
	if cmd, v1 := info(); cmd != "" || v1 != "" {
		t.Errorf("after exec: cmdline %q v1 %q, want both unknown", cmd, v1)
	}
	a.AddProcess(model.ProcInfo{ID: child, Comm: "nginx", Cmdline: "nginx -g daemon", V1Cgroup: "/system.slice/nginx.service"})
	if cmd, v1 := info(); cmd != "nginx -g daemon" || v1 != "/system.slice/nginx.service" {
		t.Errorf("after /proc: cmdline %q v1 %q", cmd, v1)
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

// TestClearResetsCountsKeepsProcesses checks Clear.
func TestClearResetsCountsKeepsProcesses(t *testing.T) {
	a, clk := newAgg(t, Config{})
	id := pid(3)
	a.AddProcess(model.ProcInfo{ID: id, Comm: "svc"})
	d := newDelta().add(id, 2, model.Counts{Calls: 10, Errors: 3})
	d.errnos[model.ProcErrno{Proc: id, Nr: 2, Errno: 2}] = 3
	d.lost[model.LossBuffer] = 4
	d.unattr[2] = model.Counts{Calls: 1}
	clk.Advance(time.Second)
	a.HandleCounters(d.build(clk.Now(), time.Second))
	before := a.Snapshot()

	clk.Advance(time.Second)
	a.Clear()
	s := a.Snapshot()
	if s == before {
		t.Fatal("Clear published no new snapshot")
	}
	if len(s.Syscalls) != 0 || !s.Totals.IsZero() || s.Lost.Total != 0 || !s.Lost.Unattributed.IsZero() || s.Elapsed != 0 {
		t.Errorf("after Clear: %+v", s)
	}
	p := findProc(s, id)
	if p == nil || p.Comm != "svc" || !p.Counts.IsZero() || len(p.Syscalls) != 0 {
		t.Errorf("process after Clear: %+v", p)
	}
	checkInvariant(t, a)

	// Counting resumes from zero.
	clk.Advance(time.Second)
	a.HandleCounters(newDelta().add(id, 2, model.Counts{Calls: 1}).build(clk.Now(), time.Second))
	s = a.Snapshot()
	if p := findProc(s, id); p == nil || p.Calls != 1 {
		t.Errorf("after Clear and one call: %+v", p)
	}
	if s.Elapsed != time.Second {
		t.Errorf("Elapsed = %v, want 1s", s.Elapsed)
	}
	if before.Totals.Calls != 11 || before.Lost.Total != 4 {
		t.Errorf("old snapshot changed: %+v", before)
	}
	checkInvariant(t, a)
}

// TestRates checks per-second rates over the last interval.
func TestRates(t *testing.T) {
	id := pid(4)
	for _, tc := range []struct {
		name       string
		interval   time.Duration
		calls      uint64
		errors     uint64
		wantCalls  float64
		wantErrors float64
	}{
		{"ten calls in two seconds", 2 * time.Second, 10, 4, 5, 2},
		{"half a second, bounded by the total", 500 * time.Millisecond, 10, 1, 10, 1},
		{"no interval gives no rate", 0, 10, 1, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, clk := newAgg(t, Config{})
			a.AddProcess(model.ProcInfo{ID: id, Comm: "r"})
			a.HandleCounters(newDelta().add(id, 0, model.Counts{Calls: tc.calls, Errors: tc.errors}).build(clk.Now(), tc.interval))
			s := a.Snapshot()
			p := findProc(s, id)
			sc := findSyscall(s.Syscalls, 0)
			for _, got := range []struct {
				what        string
				calls, errs float64
			}{
				{"totals", s.Totals.CallRate, s.Totals.ErrorRate},
				{"syscall", sc.CallRate, sc.ErrorRate},
				{"process", p.CallRate, p.ErrorRate},
				{"process syscall", p.Syscalls[0].CallRate, p.Syscalls[0].ErrorRate},
			} {
				if got.calls != tc.wantCalls || got.errs != tc.wantErrors {
					t.Errorf("%s: rates %v/%v, want %v/%v", got.what, got.calls, got.errs, tc.wantCalls, tc.wantErrors)
				}
			}
			// An idle interval brings every rate back to zero.
			a.HandleCounters(newDelta().build(clk.Now(), time.Second))
			s = a.Snapshot()
			p = findProc(s, id)
			if s.Totals.CallRate != 0 || s.Syscalls[0].CallRate != 0 || p.CallRate != 0 || p.Syscalls[0].CallRate != 0 {
				t.Errorf("idle interval: rates %v %v %v %v", s.Totals.CallRate, s.Syscalls[0].CallRate, p.CallRate, p.Syscalls[0].CallRate)
			}
			if p.Calls != tc.calls {
				t.Errorf("calls %d, want %d", p.Calls, tc.calls)
			}
		})
	}
}

// TestErrnoBreakdownIsSortedByCount checks errno lists and their JSON.
func TestErrnoBreakdownIsSortedByCount(t *testing.T) {
	a, clk := newAgg(t, Config{})
	p1, p2 := pid(1), pid(2)
	a.AddProcess(model.ProcInfo{ID: p1, Comm: "a"})
	a.AddProcess(model.ProcInfo{ID: p2, Comm: "b"})
	const openat = 257
	d := newDelta().add(p1, openat, model.Counts{Calls: 20, Errors: 9}).add(p2, openat, model.Counts{Calls: 5, Errors: 5})
	d.errnos[model.ProcErrno{Proc: p1, Nr: openat, Errno: 13}] = 2 // EACCES
	d.errnos[model.ProcErrno{Proc: p1, Nr: openat, Errno: 2}] = 7  // ENOENT
	d.errnos[model.ProcErrno{Proc: p2, Nr: openat, Errno: 13}] = 5
	a.HandleCounters(d.build(clk.Now(), time.Second))
	s := a.Snapshot()
	for _, tc := range []struct {
		name string
		list []model.ErrnoCount
		want []model.ErrnoCount
	}{
		{"system-wide", findSyscall(s.Syscalls, openat).Errnos, []model.ErrnoCount{{Errno: 2, Name: "ENOENT", Count: 7}, {Errno: 13, Name: "EACCES", Count: 7}}}, // a tie: by number
		{"first process", findProc(s, p1).Syscalls[0].Errnos, []model.ErrnoCount{{Errno: 2, Name: "ENOENT", Count: 7}, {Errno: 13, Name: "EACCES", Count: 2}}},
		{"second process", findProc(s, p2).Syscalls[0].Errnos, []model.ErrnoCount{{Errno: 13, Name: "EACCES", Count: 5}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !slices.Equal(tc.list, tc.want) {
				t.Errorf("got %v, want %v", tc.list, tc.want)
			}
		})
	}
	if s.Processes[0].ID != p1 {
		t.Errorf("processes not sorted by calls: first %v", s.Processes[0].ID)
	}
}

// TestPercentilesComeFromHistograms checks averages and percentiles, system-wide
// and per process, and zero percentiles without a histogram.
func TestPercentilesComeFromHistograms(t *testing.T) {
	a, clk := newAgg(t, Config{})
	withHist, without := pid(1), pid(2)
	a.AddProcess(model.ProcInfo{ID: withHist})
	a.AddProcess(model.ProcInfo{ID: without})
	d := newDelta().
		add(withHist, 0, model.Counts{Calls: 100, LatSumNs: 100 * 1000, LatCount: 100}).
		add(without, 0, model.Counts{Calls: 10, LatSumNs: 10 * 50, LatCount: 10})
	var h model.Hist
	h[model.HistBucket(1000)] = 100
	d.hists[model.ProcSyscall{Proc: withHist, Nr: 0}] = h
	a.HandleCounters(d.build(clk.Now(), time.Second))
	s := a.Snapshot()
	ps := findProc(s, withHist).Syscalls[0]
	if ps.AvgNs != 1000 || ps.P50Ns < 750 || ps.P50Ns > 1250 || ps.P99Ns < 750 || ps.P99Ns > 1250 || ps.Hist == nil {
		t.Errorf("with histogram: avg %d p50 %d p99 %d", ps.AvgNs, ps.P50Ns, ps.P99Ns)
	}
	ns := findProc(s, without).Syscalls[0]
	if ns.AvgNs != 50 || ns.P50Ns != 0 || ns.P99Ns != 0 || ns.Hist != nil {
		t.Errorf("without histogram: avg %d p50 %d p99 %d hist %v", ns.AvgNs, ns.P50Ns, ns.P99Ns, ns.Hist != nil)
	}
	sys := findSyscall(s.Syscalls, 0)
	if sys.AvgNs != (100*1000+10*50)/110 || sys.P50Ns < 750 || sys.P50Ns > 1250 {
		t.Errorf("system: avg %d p50 %d", sys.AvgNs, sys.P50Ns)
	}
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

// TestOldSnapshotsNeverChange keeps a snapshot, feeds more counters and events,
// and checks the snapshot is unchanged.
func TestOldSnapshotsNeverChange(t *testing.T) {
	a, clk := newAgg(t, Config{RetireAfter: time.Second})
	id, other := pid(1), pid(2)
	a.AddProcess(model.ProcInfo{ID: id, Comm: "one"})
	a.AddProcess(model.ProcInfo{ID: other, Comm: "two"})
	feed := func() {
		d := newDelta().add(id, 0, model.Counts{Calls: 3, Errors: 1, LatSumNs: 300, LatCount: 3})
		var h model.Hist
		h[10] = 3
		d.hists[model.ProcSyscall{Proc: id, Nr: 0}] = h
		d.errnos[model.ProcErrno{Proc: id, Nr: 0, Errno: 4}] = 1
		clk.Advance(time.Second)
		a.HandleCounters(d.build(clk.Now(), time.Second))
	}
	feed()
	old := a.Snapshot()
	oldJSON, err := json.Marshal(old)
	if err != nil {
		t.Fatal(err)
	}
	oldHist := *findProc(old, id).Syscalls[0].Hist
	oldSysHist := *findSyscall(old.Syscalls, 0).Hist

	a.HandleEvent(event(model.EventExec, id, pid(0), "renamed"))
	a.HandleEvent(event(model.EventExit, other, pid(0), "two"))
	for range 5 {
		feed()
	}
	a.Clear()
	feed()

	newJSON, _ := json.Marshal(old)
	if string(newJSON) != string(oldJSON) {
		t.Errorf("old snapshot changed:\n%s\n%s", oldJSON, newJSON)
	}
	if *findProc(old, id).Syscalls[0].Hist != oldHist || *findSyscall(old.Syscalls, 0).Hist != oldSysHist {
		t.Error("old snapshot's histograms changed")
	}
}

// TestConcurrentUse runs events, counters, Clear and readers at once; run it with
// -race.
func TestConcurrentUse(t *testing.T) {
	a := New(Config{Table: amd64(t), MaxProcs: 50, RetireAfter: time.Millisecond, CgroupPath: func(id uint64) string { return "/x" }})
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		e := &model.Event{}
		for i := uint32(1); ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			// The event is reused, as the collector does.
			e.Kind = model.EventKind(i%3 + 1)
			e.Proc = pid(i % 200)
			copy(e.CommBytes[:], "worker")
			a.HandleEvent(e)
		}
	})
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			s := a.Snapshot()
			if _, err := json.Marshal(s); err != nil {
				t.Error(err)
				return
			}
		}
	})
	for i := range 300 {
		d := newDelta()
		for j := range 20 {
			d.add(pid(uint32((i+j)%250)), uint16(j), model.Counts{Calls: 1, LatSumNs: 5, LatCount: 1})
			d.hists[model.ProcSyscall{Proc: pid(uint32((i + j) % 250)), Nr: uint16(j)}] = model.Hist{5: 1}
		}
		a.HandleCounters(d.build(time.Now(), time.Millisecond))
		if i%100 == 50 {
			a.Clear()
		}
		checkInvariant(t, a)
	}
	close(stop)
	wg.Wait()
}

// TestSnapshotJSONShape checks the field names the headless output relies on.
func TestSnapshotJSONShape(t *testing.T) {
	a, clk := newAgg(t, Config{})
	if a.Snapshot() == nil {
		t.Fatal("nil snapshot before counters")
	}
	id := pid(9)
	a.AddProcess(model.ProcInfo{ID: id, Comm: "cat"})
	d := newDelta().add(id, 2, model.Counts{Calls: 4, Errors: 1, LatSumNs: 40, LatCount: 4})
	d.errnos[model.ProcErrno{Proc: id, Nr: 2, Errno: 2}] = 1
	d.lost[model.LossProcMapFull] = 3
	a.HandleCounters(d.build(clk.Now(), time.Second))
	b, err := json.Marshal(a.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Syscalls  []map[string]any `json:"syscalls"`
		Processes []map[string]any `json:"processes"`
		Lost      map[string]any   `json:"lost"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		obj  map[string]any
		keys []string
	}{
		{"syscall", got.Syscalls[0], []string{"name", "nr", "classes", "calls", "errors", "errno", "total_ns", "p50_ns", "p99_ns"}},
		{"process", got.Processes[0], []string{"pid", "start_time", "comm", "calls", "errors", "syscalls"}},
		{"lost", got.Lost, []string{"total", "buffer", "proc_map_full", "errno_map_full", "hist_map_full", "enter_map_full", "scope_map_full", "lifecycle_buffer", "proc_overflow"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range tc.keys {
				if _, ok := tc.obj[k]; !ok {
					t.Errorf("no %q in %v", k, tc.obj)
				}
			}
		})
	}
	sc := got.Syscalls[0]
	if sc["name"] != "open" || sc["errno"].(map[string]any)["ENOENT"] != 1.0 || sc["classes"].([]any)[0] != "file" {
		t.Errorf("syscall JSON %v", sc)
	}
	if got.Processes[0]["pid"] != 9.0 || got.Lost["proc_map_full"] != 3.0 || got.Lost["total"] != 3.0 {
		t.Errorf("process %v lost %v", got.Processes[0], got.Lost)
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

// TestARateNeverExceedsItsTotal: over an interval shorter than a second (the
// first read, -i 100ms) a count extrapolated to a second may exceed all the
// calls ever counted; the total bounds it. Once the total is larger, the rate
// is the plain count over the interval.
func TestARateNeverExceedsItsTotal(t *testing.T) {
	id := pid(5)
	a, clk := newAgg(t, Config{})
	a.AddProcess(model.ProcInfo{ID: id, Comm: "ls"})
	for _, step := range []struct {
		interval  time.Duration
		calls     uint64
		wantRate  float64
		wantTotal uint64
	}{
		{50 * time.Millisecond, 30, 30, 30},        // the first read: 600/s would be 20 times the total
		{100 * time.Millisecond, 1000, 1030, 1030}, // 10,000/s, yet 1,030 calls in all
		{100 * time.Millisecond, 10, 100, 1040},    // 100/s, well within
		{time.Second, 500, 500, 1540},
	} {
		clk.Advance(step.interval)
		a.HandleCounters(newDelta().add(id, 0, model.Counts{Calls: step.calls, Errors: step.calls}).build(clk.Now(), step.interval))
		s := a.Snapshot()
		p := findProc(s, id)
		for _, got := range []struct {
			what        string
			calls, errs float64
			total       uint64
		}{
			{"process", p.CallRate, p.ErrorRate, p.Calls},
			{"process syscall", p.Syscalls[0].CallRate, p.Syscalls[0].ErrorRate, p.Syscalls[0].Calls},
			{"syscall", s.Syscalls[0].CallRate, s.Syscalls[0].ErrorRate, s.Syscalls[0].Calls},
			{"totals", s.Totals.CallRate, s.Totals.ErrorRate, s.Totals.Calls},
		} {
			if got.calls != step.wantRate || got.errs != step.wantRate || got.total != step.wantTotal {
				t.Errorf("after %d calls in %v: %s rates %v/%v, total %d; want %v, total %d",
					step.calls, step.interval, got.what, got.calls, got.errs, got.total, step.wantRate, step.wantTotal)
			}
		}
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

package aggregator

import (
	"encoding/json"
	"math/rand/v2"
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

// TestPublishedSaysEachReadOnce: Published has a token once a read's
// snapshot is out, one however many came since the last receive, and none
// before the next.
func TestPublishedSaysEachReadOnce(t *testing.T) {
	a, clk := newAgg(t, Config{})
	published := func() bool {
		select {
		case <-a.Published():
			return true
		default:
			return false
		}
	}
	published() // the empty snapshot of the start
	if published() {
		t.Fatal("a token with nothing published since the last receive")
	}
	id := pid(3)
	for range 2 {
		clk.Advance(time.Second)
		a.HandleCounters(newDelta().add(id, 2, model.Counts{Calls: 1}).build(clk.Now(), time.Second))
	}
	if !published() {
		t.Fatal("no token after two reads")
	}
	if published() {
		t.Error("two tokens for two reads not received: the reader wants the latest snapshot only")
	}
	if s := a.Snapshot(); s.Totals.Calls != 2 {
		t.Errorf("the snapshot published has %d calls, want 2", s.Totals.Calls)
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

package aggregator

import (
	"encoding/json"
	"testing"
	"time"

	"tlmon/model"
)

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

package diff

import (
	"testing"
	"time"

	"tlmon/model"
)

var t0 = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

// sc is a syscall's stat with calls, errors and, where lat > 0, calls
// latency samples of lat ns in its histogram.
func sc(nr int, name string, calls, errors uint64, lat uint64) model.SyscallStat {
	s := model.SyscallStat{Nr: nr, Name: name, Counts: model.Counts{Calls: calls, Errors: errors}}
	if lat > 0 {
		var h model.Hist
		h[model.HistBucket(lat)] = calls
		s.Hist = &h
	}
	return s
}

func proc(pid uint32, comm string, sys ...model.SyscallStat) model.ProcStat {
	p := model.ProcStat{ID: model.ProcID{PID: pid, Start: uint64(pid)}, Comm: comm, Alive: true, Syscalls: sys}
	for _, s := range sys {
		p.Counts.Add(s.Counts)
	}
	return p
}

func snap(at time.Duration, procs ...model.ProcStat) *model.Snapshot {
	s := &model.Snapshot{At: t0.Add(at), Elapsed: at, Processes: procs}
	byName := map[string]int{}
	for _, p := range procs {
		for _, c := range p.Syscalls {
			i, ok := byName[c.Name]
			if !ok {
				i = len(s.Syscalls)
				byName[c.Name] = i
				s.Syscalls = append(s.Syscalls, model.SyscallStat{Nr: c.Nr, Name: c.Name, Hist: new(model.Hist)})
			}
			st := &s.Syscalls[i]
			st.Counts.Add(c.Counts)
			if c.Hist != nil {
				st.Hist.Add(c.Hist)
			}
		}
	}
	return s
}

// TestCompareRatesChangesAndMarks: each window's rates are its own counts
// over its own span; a command only in B is new, one only in A vanished;
// the rows come by the size of their change; p99 comes from the window's
// own latencies.
func TestCompareRatesChangesAndMarks(t *testing.T) {
	a := Window{
		From: snap(time.Second, proc(10, "make", sc(0, "read", 100, 0, 1000)), proc(11, "sleep", sc(35, "nanosleep", 1, 0, 0))),
		To:   snap(2*time.Second, proc(10, "make", sc(0, "read", 300, 0, 1000)), proc(11, "sleep", sc(35, "nanosleep", 2, 0, 0))),
	}
	b := Window{
		From: snap(10*time.Second, proc(10, "make", sc(0, "read", 1000, 0, 1000))),
		To: snap(12*time.Second,
			proc(10, "make", withMore(sc(0, "read", 1000, 0, 1000), 400, 10, 1_000_000)),
			proc(20, "cc1", sc(257, "openat", 50, 50, 0))),
	}
	r := Compare(a, b)
	want := []struct {
		name         string
		aRate, bRate float64
		change       Change
	}{
		{"make", 200, 200, Both}, // 200 calls in 1 s, then 400 in 2 s
		{"cc1", 0, 25, New},
		{"sleep", 1, 0, Vanished},
	}
	if len(r.Commands) != len(want) {
		t.Fatalf("commands %+v", r.Commands)
	}
	// make's rate did not change, but its errors and p99 did: it sorts by
	// calls/s first, so cc1 (+25/s) comes first, sleep (-1/s) next.
	order := []string{"cc1", "sleep", "make"}
	for i, name := range order {
		if r.Commands[i].Name != name {
			t.Errorf("row %d is %s, want %s (rows %+v)", i, r.Commands[i].Name, name, r.Commands)
		}
	}
	for _, w := range want {
		for _, row := range r.Commands {
			if row.Name != w.name {
				continue
			}
			if row.A.CallRate != w.aRate || row.B.CallRate != w.bRate || row.Change != w.change {
				t.Errorf("%s: %v → %v (%v), want %v → %v (%v)", w.name, row.A.CallRate, row.B.CallRate, row.Change, w.aRate, w.bRate, w.change)
			}
		}
	}
	mk := r.Commands[2]
	if mk.B.ErrorRate != 5 || !mk.B.HasP99 || mk.B.P99Ns < 500_000 || mk.A.P99Ns > 2000 {
		t.Errorf("make in B: %+v (A %+v), want 5 err/s and a p99 near 1 ms from its own calls", mk.B, mk.A)
	}
	if len(r.Syscalls) != 3 || r.Syscalls[0].Name != "openat" || r.Syscalls[0].Change != New {
		t.Errorf("syscalls %+v", r.Syscalls)
	}
}

// withMore adds calls more calls, errors of them failed, each lat ns long.
func withMore(s model.SyscallStat, calls, errors, lat uint64) model.SyscallStat {
	s.Calls += calls
	s.Errors += errors
	h := *s.Hist
	h[model.HistBucket(lat)] += calls
	s.Hist = &h
	return s
}

// TestCountsClearedInAWindowCountWhole: after a clear the counts restart,
// and the window counts what its end says, not a negative difference.
func TestCountsClearedInAWindowCountWhole(t *testing.T) {
	w := Window{
		From: snap(time.Second, proc(1, "x", sc(0, "read", 500, 0, 100))),
		To:   snap(2*time.Second, proc(1, "x", sc(0, "read", 20, 0, 100))),
	}
	r := Compare(w, w)
	if len(r.Syscalls) != 1 || r.Syscalls[0].A.Calls != 20 {
		t.Errorf("a cleared window counts %+v, want the 20 calls since", r.Syscalls)
	}
}

// TestDrillingIntoARowComparesItsParts: a command's row drills into its
// syscalls, a syscall's into the commands that made it.
func TestDrillingIntoARowComparesItsParts(t *testing.T) {
	a := Window{To: snap(time.Second, proc(1, "make", sc(0, "read", 10, 0, 0), sc(1, "write", 5, 0, 0)), proc(2, "cc1", sc(0, "read", 7, 0, 0)))}
	b := Window{To: snap(time.Second, proc(1, "make", sc(0, "read", 30, 0, 0)), proc(2, "ld", sc(0, "read", 1, 0, 0)))}
	rows := CommandSyscalls(a, b, "make")
	if len(rows) != 2 || rows[0].Name != "read" || rows[0].B.Calls != 30 || rows[1].Name != "write" || rows[1].Change != Vanished {
		t.Errorf("make's syscalls: %+v", rows)
	}
	rows = SyscallCommands(a, b, "read")
	if len(rows) != 3 || rows[0].Name != "make" || rows[1].Name != "cc1" || rows[1].Change != Vanished || rows[2].Name != "ld" || rows[2].Change != New {
		t.Errorf("read's commands: %+v", rows)
	}
}

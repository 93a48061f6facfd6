package collector

import (
	"testing"

	"tlmon/model"
)

// TestYoungCountsAddUpIntoTheNextDelta: counts events are deltas of their own;
// those of one process's threads add up, and go into the next read's delta
// beside what the maps gave, once.
func TestYoungCountsAddUpIntoTheNextDelta(t *testing.T) {
	proc := model.ProcID{PID: 42, Start: 7}
	thread := func(calls, errs uint64) *model.ThreadCounts {
		tc := &model.ThreadCounts{NSyscall: 1, NErrno: 1, IO: model.IOCounts{Read: 10}}
		tc.Syscalls[0] = model.SyscallCounts{Nr: 2, Counts: model.Counts{Calls: calls, Errors: errs, LatSumNs: 100, LatCount: calls}}
		tc.Errnos[0] = model.ErrnoCounts{Nr: 2, Errno: 2, Count: errs}
		return tc
	}
	var y youngCounts
	y.add(proc, thread(3, 1))
	y.add(proc, thread(5, 2))
	d := &model.CounterDelta{
		Procs:  map[model.ProcSyscall]model.Counts{{Proc: proc, Nr: 2}: {Calls: 1}},
		Errnos: map[model.ProcErrno]uint64{},
		IO:     map[model.ProcID]model.IOCounts{},
	}
	y.moveTo(d)
	if got := d.Procs[model.ProcSyscall{Proc: proc, Nr: 2}]; got != (model.Counts{Calls: 9, Errors: 3, LatSumNs: 200, LatCount: 8}) {
		t.Errorf("openat of the process: %+v, want 9 calls (1 from the maps, 8 from two threads), 3 errors, 8 timed", got)
	}
	if got := d.Errnos[model.ProcErrno{Proc: proc, Nr: 2, Errno: 2}]; got != 3 {
		t.Errorf("ENOENT: %d, want 3", got)
	}
	if got := d.IO[proc].Read; got != 20 {
		t.Errorf("bytes read: %d, want 20", got)
	}
	d2 := &model.CounterDelta{Procs: map[model.ProcSyscall]model.Counts{}, Errnos: map[model.ProcErrno]uint64{}, IO: map[model.ProcID]model.IOCounts{}}
	y.moveTo(d2)
	if len(d2.Procs)+len(d2.Errnos)+len(d2.IO) != 0 {
		t.Errorf("counts moved twice: %+v", d2)
	}
}

package aggregator

import (
	"testing"
	"time"

	"tlmon/model"
)

// BenchmarkHandleCounters2000Processes is one interval of a busy machine: 2,000
// live processes, each with 20 active syscalls. At 100 ms refresh this runs ten
// times a second on the collector's goroutine.
func BenchmarkHandleCounters2000Processes(b *testing.B) {
	const procs, perProc = 2000, 20
	a := New(Config{})
	for pid := uint32(1); pid <= procs; pid++ {
		a.AddProcess(model.ProcInfo{ID: model.ProcID{PID: pid, Start: 1}, Comm: "worker"})
	}
	d := &model.CounterDelta{
		Interval:     100 * time.Millisecond,
		System:       make([]model.Counts, model.MaxSyscallNr),
		SystemHist:   make([]model.Hist, model.MaxSyscallNr),
		Unattributed: make([]model.Counts, model.MaxSyscallNr),
		Procs:        map[model.ProcSyscall]model.Counts{},
		ProcHists:    map[model.ProcSyscall]model.Hist{},
		Errnos:       map[model.ProcErrno]uint64{},
	}
	for pid := uint32(1); pid <= procs; pid++ {
		for nr := uint16(0); nr < perProc; nr++ {
			k := model.ProcSyscall{Proc: model.ProcID{PID: pid, Start: 1}, Nr: nr}
			c := model.Counts{Calls: 10, Errors: 1, LatSumNs: 1000, LatCount: 10}
			d.Procs[k] = c
			d.ProcHists[k] = model.Hist{10: 10}
			d.Errnos[model.ProcErrno{Proc: k.Proc, Nr: nr, Errno: 2}] = 1
			d.System[nr].Add(c)
			d.SystemHist[nr][10] += 10
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		d.At = time.Now()
		a.HandleCounters(d)
	}
}

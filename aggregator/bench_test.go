package aggregator

import (
	"syscall"
	"testing"
	"time"

	"tlmon/model"
)

// BenchmarkHandleCounters2000Processes is one interval of a busy machine: 2,000
// live processes, each with 20 active syscalls. At 100 ms refresh this runs ten
// times a second on the collector's goroutine.
//
// The HandleCounters benchmarks report cpu-ns/op beside ns/op: the CPU time
// of the whole test process per call (HandleCounters's other goroutines and
// the GC included), which other load on a shared machine disturbs far less
// than wall time.
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
	var cpu int64
	for b.Loop() {
		c0 := cpuNs()
		d.At = time.Now()
		a.HandleCounters(d)
		cpu += cpuNs() - c0
	}
	b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
}

// BenchmarkHandleCountersChurn is one interval of a busy machine running a
// build: 2,000 live processes, each with 20 active syscalls (two failing)
// and bytes moved, plus 200 processes per interval that fork, exec, make 30
// syscalls and exit, through HandleEvent and the delta as the collector
// hands them in. Exited processes retire early past MaxExited (256), so the
// process set turns over by 200 each interval. With BenchmarkProcIndex, it
// decided the process index (see procindex.go).
func BenchmarkHandleCountersChurn(b *testing.B) {
	const procs, perProc, churn, churnCalls = 2000, 20, 200, 30
	a := New(Config{Table: amd64(b)})
	d := &model.CounterDelta{
		Interval:     100 * time.Millisecond,
		System:       make([]model.Counts, model.MaxSyscallNr),
		SystemHist:   make([]model.Hist, model.MaxSyscallNr),
		Unattributed: make([]model.Counts, model.MaxSyscallNr),
		Procs:        map[model.ProcSyscall]model.Counts{},
		ProcHists:    map[model.ProcSyscall]model.Hist{},
		Errnos:       map[model.ProcErrno]uint64{},
		IO:           map[model.ProcID]model.IOCounts{},
	}
	c := model.Counts{Calls: 10, Errors: 1, LatSumNs: 1000, LatCount: 10}
	// add puts the entries of process id into d, or takes them out; the
	// system-wide totals are not kept in step: the aggregator does not check
	// them against the processes'.
	add := func(id model.ProcID, n int, in bool) {
		for nr := range uint16(n) {
			k := model.ProcSyscall{Proc: id, Nr: nr}
			ek := model.ProcErrno{Proc: id, Nr: nr, Errno: 2}
			if !in {
				delete(d.Procs, k)
				delete(d.ProcHists, k)
				delete(d.Errnos, ek)
				continue
			}
			d.Procs[k] = c
			d.ProcHists[k] = model.Hist{10: 10}
			if nr%10 == 0 {
				d.Errnos[ek] = 1
			}
		}
		if in {
			d.IO[id] = model.IOCounts{Read: 4096, Written: 512}
		} else {
			delete(d.IO, id)
		}
	}
	for pid := uint32(1); pid <= procs; pid++ {
		id := model.ProcID{PID: pid, Start: 1}
		a.AddProcess(model.ProcInfo{ID: id, Comm: "worker"})
		add(id, perProc, true)
	}
	for nr := range perProc {
		d.System[nr] = model.Counts{Calls: procs * c.Calls, Errors: procs * c.Errors, LatSumNs: procs * c.LatSumNs, LatCount: procs * c.LatCount}
		d.SystemHist[nr][10] = procs * 10
	}
	parent := model.ProcID{PID: 1, Start: 1}
	var evs []*model.Event
	for _, kind := range []model.EventKind{model.EventFork, model.EventExec, model.EventExit} {
		e := &model.Event{Kind: kind, Parent: parent}
		copy(e.CommBytes[:], "cc1")
		evs = append(evs, e)
	}
	next := uint32(procs + 1)
	var last []model.ProcID
	var cpu int64
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		for _, id := range last {
			add(id, churnCalls, false)
		}
		last = last[:0]
		for range churn {
			id := model.ProcID{PID: next, Start: uint64(next)}
			next++
			add(id, churnCalls, true)
			last = append(last, id)
		}
		b.StartTimer()
		c0 := cpuNs()
		for _, id := range last {
			for _, e := range evs {
				e.Proc = id
				a.HandleEvent(e)
			}
		}
		d.At = time.Now()
		a.HandleCounters(d)
		cpu += cpuNs() - c0
	}
	b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
}

// cpuNs is the CPU time the process used so far, on all its threads.
func cpuNs() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

package aggregator

import (
	"sync"
	"time"

	"tlmon/model"
)

// How HandleCounters handles a delta: the per-process entries come in map
// order, which is no use for memory locality, so they are not added to the
// per-syscall state right away. They are staged, in compact records linked per
// process from proc, and build applies them process by process, whose state lies
// together in memory, right before it makes the process's stats. A large delta
// is split between goroutines, each owning the processes of one partition (see
// part) for staging and building alike, so that they share no mutable state;
// each has its worker, which holds what it staged.
const (
	// maxWorkers bounds the goroutines of one HandleCounters call.
	maxWorkers = 8
	// defaultParallelMin is the size of a delta (entries plus tracked processes)
	// from which HandleCounters uses more than one goroutine.
	defaultParallelMin = 4096
)

// worker is the scratch state of one goroutine of HandleCounters. Staged
// entries are linked by 1-based indexes, 0 ending a list.
type worker struct {
	missing []procCounts // counts of processes not tracked (yet)
	counts  []stagedCounts
	errnos  []stagedErrno
	// hists holds staged histogram deltas: each is a header (see histHeader)
	// followed by its non-empty buckets (see histBin).
	hists []uint64
	slabs []slabUse // scratch for publishHists
	// idx[nr] is 1 + the index in sys of syscall nr of the process loaded (see
	// load), 0 for none; eidx[nr] is 1 + the index in errs of its first errno.
	idx, eidx [numNr]int32
}

type procCounts struct {
	k model.ProcSyscall
	c model.Counts
}

// stagedCounts, stagedErrno and the histogram deltas in worker.hists are
// entries of a delta for syscall nr of a process, linked to the process's
// previous one at next.
type stagedCounts struct {
	c    model.Counts
	next int32
	nr   uint16
}

type stagedErrno struct {
	n         uint64
	next      int32
	nr, errno uint16
}

func (wk *worker) reset() {
	clear(wk.missing)
	wk.missing = wk.missing[:0]
	wk.counts, wk.errnos, wk.hists = wk.counts[:0], wk.errnos[:0], wk.hists[:0]
}

// load makes wk.sys find the syscalls of p, until unload.
func (wk *worker) load(p *proc) {
	for i, nr := range p.nrs {
		wk.idx[nr] = int32(i + 1)
	}
}

func (wk *worker) unload(p *proc) {
	for _, nr := range p.nrs {
		wk.idx[nr] = 0
	}
}

// sys returns the accumulator of syscall nr of p, which is loaded, adding it if
// needed. The pointer is valid until the next call.
func (wk *worker) sys(p *proc, nr uint16) *procSys {
	i := wk.idx[nr]
	if i == 0 {
		if p.sys == nil {
			// Room for what a short process calls (/bin/true makes ~30
			// syscalls): under churn, growing these one by one was a tenth
			// of tlmon's CPU.
			p.sys, p.nrs = make([]procSys, 0, 32), make([]uint16, 0, 32)
		}
		p.sys = append(p.sys, procSys{nr: nr})
		p.nrs = append(p.nrs, nr)
		i = int32(len(p.sys))
		wk.idx[nr] = i
	}
	return &p.sys[i-1]
}

// part returns the partition of a process among n.
func part(id model.ProcID, n int) int {
	if n == 1 {
		return 0
	}
	h := (uint64(id.PID) ^ id.Start*0x9e3779b97f4a7c15) * 0xbf58476d1ce4e5b9
	return int((h >> 32) % uint64(n))
}

// parallel runs f(w, &a.workers[w]) for every w < n, on n goroutines if n > 1,
// and returns when all are done. A panic in any of them is raised again on the
// calling goroutine, where the caller of HandleCounters can recover it.
func (a *Aggregator) parallel(n int, f func(w int, wk *worker)) {
	if n == 1 {
		f(0, &a.workers[0])
		return
	}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		panicked bool
		value    any
	)
	run := func(w int) {
		defer func() {
			if v := recover(); v != nil {
				mu.Lock()
				if !panicked {
					panicked, value = true, v
				}
				mu.Unlock()
			}
		}()
		f(w, &a.workers[w])
	}
	for w := 1; w < n; w++ {
		wg.Go(func() { run(w) })
	}
	run(0)
	wg.Wait()
	if panicked {
		panic(value)
	}
}

// stage starts the staged lists of p for call number cur.
func (p *proc) stage(cur uint64) {
	if p.stageGen != cur {
		p.stageGen, p.countsHead, p.errnosHead, p.histsHead = cur, 0, 0, 0
	}
}

// stageCounts stages the counts c of syscall nr of p in call number cur.
func stageCounts(wk *worker, p *proc, nr uint16, c model.Counts, now time.Time, cur uint64) {
	if p.placeholder {
		// Still making calls: not gone yet, restart its retirement clocks.
		p.exitedAt, p.exitGen = now, cur-1
	}
	p.stage(cur)
	wk.counts = append(wk.counts, stagedCounts{c: c, next: p.countsHead, nr: nr})
	p.countsHead = int32(len(wk.counts))
	p.total.Add(c)
	p.changedGen = cur
}

// applyCounts adds the counts staged for p in wk to p.sys; p is loaded in wk.
func applyCounts(p *proc, wk *worker) {
	for r := p.countsHead; r != 0; {
		e := &wk.counts[r-1]
		s := wk.sys(p, e.nr)
		s.Add(e.c)
		if s.lastGen != p.stageGen {
			s.last, s.lastGen = model.Counts{}, p.stageGen
		}
		s.last.Add(e.c)
		r = e.next
	}
	p.countsHead = 0
}

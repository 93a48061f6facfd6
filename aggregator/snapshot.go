package aggregator

import (
	"cmp"
	"slices"
	"time"

	"tlmon/model"
)

// Building snapshots. After each HandleCounters call and Clear, build makes
// the immutable model.Snapshot readers get: the system-wide syscalls, then
// each process's stats, applying what was staged for it first. A process
// whose counts did not change keeps its syscall list from the last snapshot.

// procKey sorts processes in a snapshot.
type procKey struct {
	calls uint64
	id    model.ProcID
	p     *proc
}

// build makes a new snapshot from the accumulated state, first applying what is
// staged; d is the delta just added (for rates), or nil after Clear. Everything in
// the snapshot is freshly allocated or immutable, so later changes to the state
// never reach it.
func (a *Aggregator) build(at time.Time, d *model.CounterDelta) *model.Snapshot {
	s := &model.Snapshot{At: at, Elapsed: at.Sub(a.start), Restarts: a.restarts}
	s.Retired.Processes = a.retiredProcs
	for _, c := range a.retired {
		s.Retired.Calls += c.Calls
		s.Retired.Errors += c.Errors
	}
	var secs float64
	if d != nil {
		s.Interval = d.Interval
		secs = d.Interval.Seconds()
	}

	var lastTotal model.Counts
	if d != nil {
		for _, c := range d.System[:min(len(d.System), numNr)] {
			lastTotal.Add(c)
		}
	}
	s.Syscalls = []model.SyscallStat{}
	var unattributed model.Counts
	for nr := range a.sys {
		acc := &a.sys[nr]
		s.Totals.Add(acc.Counts)
		unattributed.Add(a.unattributed[nr])
		if acc.Calls == 0 && acc.Errors == 0 {
			continue
		}
		var last model.Counts
		if d != nil && nr < len(d.System) {
			last = d.System[nr]
		}
		if acc.errs.dirty {
			acc.errs.publish()
		}
		s.Syscalls = append(s.Syscalls, a.stat(nr, acc.Counts, last, secs, &acc.lat, acc.errs.list))
	}
	slices.SortFunc(s.Syscalls, bySyscallCalls)
	s.Totals.CallRate, s.Totals.ErrorRate = model.RateWithin(lastTotal.Calls, s.Totals.Calls, secs), model.RateWithin(lastTotal.Errors, s.Totals.Errors, secs)

	// Sort small keys rather than the large ProcStats.
	order := a.order[:0]
	var placeholders uint64
	var memo map[uint32]bool
	if a.scope.Kind == model.TargetPID {
		memo = make(map[uint32]bool)
	}
	for _, p := range a.procs {
		if p.placeholder {
			placeholders++
		}
		// Resolve cgroups here, on one goroutine: CgroupPath need not be safe
		// for concurrent use.
		if a.cfg.CgroupPath != nil && (!p.cgOK || p.cgFor != p.info.CgroupID) {
			p.cgPath, p.cgFor, p.cgOK = a.cfg.CgroupPath(p.info.CgroupID), p.info.CgroupID, true
		}
		order = append(order, procKey{p.total.Calls, p.info.ID, p})
	}
	slices.SortFunc(order, func(x, y procKey) int {
		return cmp.Or(cmp.Compare(y.calls, x.calls), cmp.Compare(x.id.PID, y.id.PID), cmp.Compare(x.id.Start, y.id.Start))
	})
	s.Processes = make([]model.ProcStat, len(order))
	// A process's staged entries are in the worker of its partition.
	nw := a.nw
	a.parallel(nw, func(w int, wk *worker) {
		for i := range order {
			if part(order[i].id, nw) == w {
				a.procStat(&s.Processes[i], order[i].p, secs, d != nil, wk)
			}
		}
	})
	if a.scope.Kind != model.TargetAll {
		// Out of scope: built (their staged counts applied) but not shown.
		kept := s.Processes[:0]
		for i := range order {
			if a.inScope(order[i].p, memo) {
				kept = append(kept, s.Processes[i])
			}
		}
		clear(s.Processes[len(kept):])
		s.Processes = kept
	}
	clear(order) // drop the pointers
	a.order = order[:0]
	s.LatencyPerSyscallOnly = a.retiredNoHist
	pending := int64(s.Totals.Calls) - int64(s.Retired.Calls) - int64(unattributed.Calls)
	for i := range s.Processes {
		if s.Processes[i].LatencyPerSyscallOnly() {
			s.LatencyPerSyscallOnly++
		}
		pending -= int64(s.Processes[i].Calls)
	}
	s.PendingCalls = pending

	s.Lost = model.LossStats{
		ByCause:           a.lost,
		ProcOverflow:      a.procOverflow,
		Total:             a.lost.Total() + a.procOverflow,
		EventsAttempted:   a.eventsAttempted,
		EventsReceived:    a.eventsReceived,
		AttributionMisses: a.missesRetired + placeholders,
		Unattributed:      unattributed,
	}
	a.publishDetail(s, secs)
	return s
}

// procStat applies what is staged for p in wk and fills st, which is zero, with
// p's stats. It touches only p and wk.
func (a *Aggregator) procStat(st *model.ProcStat, p *proc, secs float64, rates bool, wk *worker) {
	if p.countsHead != 0 || p.errnosHead != 0 || p.histsHead != 0 || p.errsDirty {
		wk.load(p)
		applyCounts(p, wk)
		applyErrnos(p, wk)
		publishHists(p, wk)
		if p.errsDirty {
			publishErrnos(p, wk)
		}
		wk.unload(p)
	}
	// Rebuild the syscall list only when something changed: new counts in this
	// call, rates to bring back to zero, or nothing cached.
	if !p.statsOK || p.changedGen == a.gen || p.statsRates {
		p.sortSys()
		n := 0
		for i := range p.sys {
			if p.sys[i].Calls != 0 || p.sys[i].Errors != 0 {
				n++
			}
		}
		p.stats = make([]model.SyscallStat, n)
		j := 0
		var last model.Counts
		for i := range p.sys {
			c := &p.sys[i]
			var l model.Counts
			if rates && c.lastGen == a.gen {
				l = c.last
			}
			last.Add(l)
			if c.Calls == 0 && c.Errors == 0 {
				continue
			}
			p.stats[j] = a.stat(int(c.nr), c.Counts, l, secs, &c.lat, c.errnos)
			j++
		}
		p.callRate, p.errorRate = model.RateWithin(last.Calls, p.total.Calls, secs), model.RateWithin(last.Errors, p.total.Errors, secs)
		p.statsOK, p.statsRates = true, p.callRate != 0 || p.errorRate != 0
	}
	*st = model.ProcStat{
		ID:          p.info.ID,
		Comm:        p.info.Comm,
		Exe:         p.info.Exe,
		Cmdline:     p.info.Cmdline,
		Parent:      p.info.Parent,
		CgroupID:    p.info.CgroupID,
		CgroupPath:  p.cgPath,
		V1Cgroup:    p.info.V1Cgroup,
		Alive:       !p.exited,
		Placeholder: p.placeholder,
		Counts:      p.total,
		CallRate:    p.callRate,
		ErrorRate:   p.errorRate,
		IO:          a.procIOStat(p, secs),
		Syscalls:    p.stats,
	}
	// A kernel thread born after the scan of /proc is known by its parent:
	// kthreadd starts them all, and they exec nothing.
	st.Kernel = p.info.Kernel || p.info.ID.PID == 2 || p.info.Parent.PID == 2 && p.info.Exe == ""
	if p.exitKnown {
		st.ExitCode, st.ExitSignal, st.CoreDumped, st.ExitedAt = p.exitCode, p.exitSignal, p.coreDumped, p.exitedAt
	}
}

// sortSys puts p.sys in stats order: calls descending, then number. Counts only
// grow, so the order of the last stats is nearly right: insertion sort.
func (p *proc) sortSys() {
	sys, nrs := p.sys, p.nrs
	for i := 1; i < len(sys); i++ {
		for j := i; j > 0 && sysBefore(&sys[j], &sys[j-1]); j-- {
			sys[j], sys[j-1] = sys[j-1], sys[j]
			nrs[j], nrs[j-1] = nrs[j-1], nrs[j]
		}
	}
}

func sysBefore(x, y *procSys) bool {
	return x.Calls > y.Calls || x.Calls == y.Calls && x.nr < y.nr
}

// stat builds one SyscallStat. It shares the histogram and the errno list, which
// are immutable.
func (a *Aggregator) stat(nr int, c, last model.Counts, secs float64, lat *latency, errnos []model.ErrnoCount) model.SyscallStat {
	st := model.SyscallStat{
		Nr:        nr,
		Name:      a.names[nr],
		Classes:   a.classes[nr],
		Counts:    c,
		CallRate:  model.RateWithin(last.Calls, c.Calls, secs),
		ErrorRate: model.RateWithin(last.Errors, c.Errors, secs),
		Errnos:    errnos,
	}
	if c.LatCount > 0 {
		st.AvgNs = c.LatSumNs / c.LatCount
	}
	if lat.hist != nil {
		st.Hist = lat.hist
		st.P50Ns, st.P95Ns, st.P99Ns = lat.p50, lat.p95, lat.p99
	}
	return st
}

func bySyscallCalls(x, y model.SyscallStat) int {
	return cmp.Or(cmp.Compare(y.Calls, x.Calls), cmp.Compare(x.Nr, y.Nr))
}

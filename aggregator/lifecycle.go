package aggregator

import (
	"cmp"
	"slices"
	"time"

	"tlmon/model"
)

// Processes come and go. AddProcess and lifecycle events (fork, exec, exit)
// start tracking a process or fill in what is known of it, counts of a
// process nothing named yet make a placeholder, and an exited process retires
// (its counts folded into the retired totals) once its counts are final:
// RetireAfter after its exit, or earlier, oldest exit first, past MaxExited
// or at MaxProcs.

// AddProcess records a process found in /proc. For a process already known it
// fills in only what is still unknown, except that a placeholder takes all of p
// and is no longer presumed gone.
func (a *Aggregator) AddProcess(p model.ProcInfo) {
	a.mu.Lock()
	defer a.mu.Unlock()
	defer a.publishRetired(len(a.pending))
	q := a.procs[p.ID]
	if q == nil {
		if q = a.newProc(p.ID, a.retireBatch); q != nil {
			q.info = p
		}
		return
	}
	if q.placeholder {
		q.placeholder = false
		q.info = p
		if !q.exitKnown {
			q.exited = false // it is in /proc, so alive
		}
		return
	}
	fillInfo(&q.info, p)
	// /proc says where the process is now: a process moved after tlmon named
	// it (a service manager or container runtime moves its child after fork)
	// takes its new cgroup.
	if p.CgroupID != 0 || p.V1Cgroup != "" {
		q.info.CgroupID, q.info.V1Cgroup = cmp.Or(p.CgroupID, q.info.CgroupID), p.V1Cgroup
	}
}

// fillInfo sets the fields of dst that are still empty from src.
func fillInfo(dst *model.ProcInfo, src model.ProcInfo) {
	if dst.Parent == (model.ProcID{}) {
		dst.Parent = src.Parent
	}
	if dst.Comm == "" {
		dst.Comm = src.Comm
	}
	if dst.Exe == "" {
		dst.Exe = src.Exe
	}
	if dst.Cmdline == "" {
		dst.Cmdline = src.Cmdline
	}
	if dst.CgroupID == 0 {
		dst.CgroupID = src.CgroupID
	}
	if dst.V1Cgroup == "" {
		dst.V1Cgroup = src.V1Cgroup
	}
	dst.Kernel = dst.Kernel || src.Kernel
}

// HandleEvent records a lifecycle or detail event. e is the caller's and is
// reused after return: only copies are kept. Events may arrive out of order
// between CPUs, so every event creates the process it names if needed, fills in
// only what is missing (except exec, which renames), and an exit is never
// undone. Detail events are handled in detail.go.
func (a *Aggregator) HandleEvent(e *model.Event) {
	a.mu.Lock()
	defer a.mu.Unlock()
	defer a.publishRetired(len(a.pending))
	a.eventsReceived++
	if a.cfg.OnLifecycle != nil && model.IsLifecycle(e.Kind) {
		a.cfg.OnLifecycle(&model.LifeRecord{Kind: e.Kind, Time: a.eventTime(e.Time), Proc: e.Proc, TID: e.TID, Parent: e.Parent,
			ExitCode: e.ExitCode, ExitSignal: e.ExitSignal, CoreDumped: e.CoreDumped, Comm: e.Comm(), Filename: e.Filename()})
	}
	switch e.Kind {
	case model.EventSyscall:
		a.handleSyscall(e)
	case model.EventTCP:
		a.handleTCP(e)
	case model.EventFork:
		// The parent is named by this event too; create it if unknown so its
		// counts get its name, but don't evict anything for it.
		var parent *proc
		if e.Parent != (model.ProcID{}) && (a.procs[e.Parent] != nil || len(a.procs) < a.cfg.MaxProcs) {
			parent = a.named(e.Parent)
			if parent.info.Comm == "" {
				parent.info.Comm = e.Comm()
			}
			fillInfo(&parent.info, model.ProcInfo{CgroupID: e.CgroupID})
		}
		p := a.named(e.Proc)
		if p == nil {
			return
		}
		// The child runs the parent's image until it execs.
		info := model.ProcInfo{Parent: e.Parent, CgroupID: e.CgroupID}
		if p.info.Comm == "" {
			info.Comm = e.Comm()
		}
		if parent != nil {
			info.Exe, info.Cmdline, info.V1Cgroup = parent.info.Exe, parent.info.Cmdline, parent.info.V1Cgroup
		}
		fillInfo(&p.info, info)
	case model.EventExec:
		p := a.named(e.Proc)
		if p == nil {
			return
		}
		p.info.Comm = e.Comm()
		p.info.Exe = e.Filename()
		// The old command line is stale: the collector reads the new one from
		// /proc at its next read. So may be the cgroup inherited at fork (a
		// service manager moves its child between fork and exec): the event says
		// the v2 cgroup the exec ran in, and the collector's read the v1 one. Until
		// then the v1 cgroup inherited stays, as for every process (one rule: a
		// process that exec'd and exited before the read is named like its parent,
		// not by the v2 root).
		p.info.Cmdline = ""
		if e.CgroupID != 0 {
			p.info.CgroupID = e.CgroupID
		}
		fillInfo(&p.info, model.ProcInfo{Parent: e.Parent, CgroupID: e.CgroupID})
	case model.EventExit:
		p := a.named(e.Proc)
		if p == nil {
			return
		}
		// A process may rename itself (prctl PR_SET_NAME) after fork or exec: the
		// leader's name at exit is the latest. Another thread's name is its own.
		if c := e.Comm(); c != "" && (p.info.Comm == "" || e.TID == e.Proc.PID) {
			p.info.Comm = c
		}
		if e.CgroupID != 0 && e.TID == e.Proc.PID { // the cgroup it ends in
			p.info.CgroupID = e.CgroupID
		}
		fillInfo(&p.info, model.ProcInfo{Parent: e.Parent, CgroupID: e.CgroupID})
		if p.detail != nil {
			p.detail.calls.keepNewest(exitedCalls)
		}
		if !p.exitKnown {
			p.exitKnown, p.exited = true, true
			p.exitCode, p.exitSignal, p.coreDumped = int(e.ExitCode), int(e.ExitSignal), e.CoreDumped
			// e.Time is kernel monotonic time; retirement runs on wall time.
			p.exitedAt, p.exitGen = a.cfg.Now(), a.gen
		}
	}
}

// named returns the process an event names, creating it if needed (nil if MaxProcs
// is reached). A placeholder named by an event stops being one: its comm is
// cleared for the event to set, and it is no longer presumed gone.
func (a *Aggregator) named(id model.ProcID) *proc {
	p := a.procs[id]
	if p == nil {
		return a.newProc(id, a.retireBatch)
	}
	if p.placeholder {
		p.placeholder = false
		p.info.Comm = ""
		if !p.exitKnown {
			p.exited = false
		}
	}
	return p
}

// newProc starts tracking id. At MaxProcs it first retires up to batch exited
// processes with the oldest exits whose counts are final; failing that it counts
// an overflow and returns nil.
func (a *Aggregator) newProc(id model.ProcID, batch int) *proc {
	if len(a.procs) >= a.cfg.MaxProcs && !a.retireEarly(batch) {
		a.procOverflow++
		return nil
	}
	p := &proc{info: model.ProcInfo{ID: id}}
	a.procs[id] = p
	a.index.put(p)
	return p
}

// newPlaceholder tracks a process known only from its counts. It is presumed gone
// (it most likely lived and died between two reads and its events were lost), so
// it retires like an exited process unless an event or AddProcess names it.
func (a *Aggregator) newPlaceholder(id model.ProcID, now time.Time) *proc {
	// One at a time is enough here: HandleCounters publishes its snapshot after.
	p := a.newProc(id, 1)
	if p == nil {
		return nil
	}
	p.placeholder = true
	p.info.Comm = "?"
	p.exited = true
	p.exitedAt, p.exitGen = now, a.gen
	return p
}

// retireDue applies the retirement rules at the end of a HandleCounters call
// (see there): it retires the exited processes whose counts are final and
// that exited more than RetireAfter ago, then, oldest exit first, those past
// MaxExited, and returns them with the ones retired early since the previous
// call. It rebuilds a.early with the exited processes left, for retireEarly.
func (a *Aggregator) retireDue(now time.Time) (retired []model.ProcID) {
	clear(a.early)
	a.early = a.early[:0]
	for id, p := range a.procs {
		if !p.exited || !a.final(p) {
			continue
		}
		if now.Sub(p.exitedAt) > a.cfg.RetireAfter {
			a.retire(p)
			retired = append(retired, id)
			continue
		}
		a.early = append(a.early, p)
	}
	slices.SortFunc(a.early, func(x, y *proc) int {
		return cmp.Or(y.exitedAt.Compare(x.exitedAt), cmp.Compare(y.info.ID.PID, x.info.ID.PID), cmp.Compare(y.info.ID.Start, x.info.ID.Start))
	})
	if n := len(a.early) - a.cfg.MaxExited; n > 0 {
		a.retireEarly(n)
	}
	retired = append(retired, a.pending...)
	a.pending = a.pending[:0]
	return retired
}

// retireEarly retires up to n exited processes whose counts are final, oldest exit
// first, and reports whether it retired any. Ones that are not final are never
// retired early: later counts for them would turn into a placeholder, and the
// collector must not delete their kernel entries yet.
func (a *Aggregator) retireEarly(n int) bool {
	done := 0
	for done < n && len(a.early) > 0 {
		p := a.early[len(a.early)-1]
		a.early[len(a.early)-1] = nil
		a.early = a.early[:len(a.early)-1]
		// Skip entries gone stale: retired already, renamed alive, or a
		// placeholder that had counts again.
		if a.procs[p.info.ID] != p || !p.exited || !a.final(p) {
			continue
		}
		a.retire(p)
		a.pending = append(a.pending, p.info.ID)
		done++
	}
	return done > 0
}

// publishRetired keeps the published snapshot consistent with the retired totals
// after processes were retired early outside HandleCounters (a.pending[from:]):
// their counts moved to the retired totals, so it publishes a copy of the
// snapshot without them. Otherwise the snapshot would count them twice, as
// processes and as retired, until the next HandleCounters call. The copy costs
// as much as the processes in the snapshot, which is why the callers retire
// retireBatch processes at once.
func (a *Aggregator) publishRetired(from int) {
	if len(a.pending) <= from {
		return
	}
	gone := make(map[model.ProcID]struct{}, len(a.pending)-from)
	for _, id := range a.pending[from:] {
		gone[id] = struct{}{}
	}
	old := a.snap.Load()
	s := *old
	s.Processes = make([]model.ProcStat, 0, len(old.Processes))
	for _, p := range old.Processes {
		if _, ok := gone[p.ID]; !ok {
			s.Processes = append(s.Processes, p)
		}
	}
	a.publish(&s)
}

// noHist says whether p's calls were timed but none has a histogram of its
// own: a young process's (see model.Snapshot.LatencyPerSyscallOnly).
func (p *proc) noHist() bool {
	timed := false
	for i := range p.sys {
		if p.sys[i].lat.hist != nil {
			return false
		}
		timed = timed || p.sys[i].LatCount > 0
	}
	return timed
}

// final reports whether all of an exited process's counts have been accumulated.
func (a *Aggregator) final(p *proc) bool { return a.gen >= p.exitGen+2 }

// retire stops tracking p, folding its counts into the retired totals.
func (a *Aggregator) retire(p *proc) {
	wk := &a.workers[part(p.info.ID, a.nw)]
	wk.load(p)
	applyCounts(p, wk)
	wk.unload(p)
	for i := range p.sys {
		a.retired[p.sys[i].nr].Add(p.sys[i].Counts)
	}
	a.retiredProcs++
	if p.noHist() {
		a.retiredNoHist++
	}
	if p.placeholder {
		a.missesRetired++
	}
	delete(a.procs, p.info.ID)
	a.index.del(p.info.ID)
}

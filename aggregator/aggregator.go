package aggregator

import (
	"cmp"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"tlmon/model"
)

// Defaults for Config fields left zero.
const (
	DefaultRetireAfter = 5 * time.Second
	DefaultMaxProcs    = 10000
)

// Config configures an Aggregator. Zero fields take their defaults.
type Config struct {
	// Table names syscalls and gives their classes; nil means model.HostTable().
	Table *model.Table
	// RetireAfter is how long an exited process stays visible (default 5s).
	RetireAfter time.Duration
	// MaxProcs is the hard cap on tracked processes (default 10000).
	MaxProcs int
	// CgroupPath resolves a cgroup id to a path; may be nil. It is called while
	// building snapshots (at most once per process and cgroup id), so it should be
	// cheap.
	CgroupPath func(id uint64) string
	// Now gives the wall time; nil means time.Now. Tests set it.
	Now func() time.Time
}

// numNr bounds syscall numbers: per-syscall state lives in fixed arrays, so memory
// does not depend on what the kernel sends. Counts for larger numbers cannot occur
// (the kernel's arrays have the same size) and are ignored everywhere alike, which
// keeps the accounting invariant.
const numNr = model.MaxSyscallNr

// sysAcc accumulates one syscall system-wide.
type sysAcc struct {
	model.Counts
	hist   model.Hist
	errnos map[uint16]uint64
}

// procSys accumulates one syscall of one process.
type procSys struct {
	model.Counts
	// last holds the counts of call number lastGen, for rates.
	last    model.Counts
	lastGen uint64
	hist    *model.Hist // allocated when the first histogram arrives
	errnos  map[uint16]uint64
}

// proc is one tracked process.
type proc struct {
	info        model.ProcInfo
	placeholder bool

	// exited is true once the process is gone: an exit event was handled
	// (exitKnown), or it is a placeholder, presumed gone because nothing named it.
	exited     bool
	exitKnown  bool
	exitCode   int
	exitSignal int
	coreDumped bool
	// exitedAt and exitGen start the retirement clocks: the wall time and the
	// number of completed HandleCounters calls when the exit was handled (for a
	// placeholder: when it last had counts).
	exitedAt time.Time
	exitGen  uint64

	sys        map[uint16]*procSys
	total      model.Counts
	changedGen uint64 // call number of the last counts, histogram or errno

	// stats caches the process's []SyscallStat of the last snapshot. It is
	// immutable once built and shared by snapshots until the process changes,
	// so that idle processes cost nothing per interval.
	stats      []model.SyscallStat
	statsOK    bool
	callRate   float64
	errorRate  float64
	statsRates bool // the cached stats carry non-zero rates: rebuild them

	cgPath string
	cgFor  uint64
	cgOK   bool
}

// Aggregator accumulates counts per process and syscall. Its methods are safe for
// concurrent use.
type Aggregator struct {
	cfg   Config
	table *model.Table
	snap  atomic.Pointer[model.Snapshot]

	mu sync.Mutex
	// gen counts completed HandleCounters accumulations. A process's counts are
	// final once gen >= exitGen+2: the exit was handled before the previous call,
	// so the read behind the latest call began after it and holds its last counts.
	gen   uint64
	procs map[model.ProcID]*proc
	// early lists exited processes whose counts are final, newest exit first, so
	// that the oldest can be retired early when MaxProcs is reached.
	early []*proc
	// pending holds processes retired early outside HandleCounters; the next call
	// returns them.
	pending []model.ProcID
	// retireBatch is how many processes to retire early at once outside
	// HandleCounters (see publishRetired).
	retireBatch int

	sys          [numNr]sysAcc
	unattributed [numNr]model.Counts
	retired      [numNr]model.Counts

	lost            model.Losses
	procOverflow    uint64
	eventsAttempted uint64
	eventsReceived  uint64
	restarts        uint64
	missesRetired   uint64 // placeholders retired while still unnamed

	start   time.Time // of Elapsed
	started bool

	overflowed map[model.ProcID]struct{} // scratch for one HandleCounters call
}

// New returns an Aggregator with an empty snapshot published.
func New(cfg Config) *Aggregator {
	if cfg.RetireAfter <= 0 {
		cfg.RetireAfter = DefaultRetireAfter
	}
	if cfg.MaxProcs <= 0 {
		cfg.MaxProcs = DefaultMaxProcs
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	a := &Aggregator{
		cfg:         cfg,
		table:       cfg.Table,
		procs:       make(map[model.ProcID]*proc),
		overflowed:  make(map[model.ProcID]struct{}),
		retireBatch: max(1, cfg.MaxProcs/32),
	}
	if a.table == nil {
		a.table = model.HostTable()
	}
	a.snap.Store(&model.Snapshot{At: cfg.Now(), Syscalls: []model.SyscallStat{}, Processes: []model.ProcStat{}})
	return a
}

// Snapshot returns the latest published snapshot, never nil. It takes no lock.
// The snapshot is immutable: do not modify it.
func (a *Aggregator) Snapshot() *model.Snapshot { return a.snap.Load() }

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
}

// HandleEvent records a lifecycle event. e is the caller's and is reused after
// return: only copies are kept. Events may arrive out of order between CPUs, so
// every event creates the process it names if needed, fills in only what is
// missing (except exec, which renames), and an exit is never undone.
func (a *Aggregator) HandleEvent(e *model.Event) {
	a.mu.Lock()
	defer a.mu.Unlock()
	defer a.publishRetired(len(a.pending))
	a.eventsReceived++
	switch e.Kind {
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
			info.Exe, info.Cmdline = parent.info.Exe, parent.info.Cmdline
		}
		fillInfo(&p.info, info)
	case model.EventExec:
		p := a.named(e.Proc)
		if p == nil {
			return
		}
		p.info.Comm = e.Comm()
		p.info.Exe = e.Filename()
		// The old command line is stale; /proc may fill in the new one later.
		p.info.Cmdline = ""
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
		fillInfo(&p.info, model.ProcInfo{Parent: e.Parent, CgroupID: e.CgroupID})
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
	return p
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
	a.snap.Store(&s)
}

// final reports whether all of an exited process's counts have been accumulated.
func (a *Aggregator) final(p *proc) bool { return a.gen >= p.exitGen+2 }

// retire stops tracking p, folding its counts into the retired totals.
func (a *Aggregator) retire(p *proc) {
	for nr, s := range p.sys {
		a.retired[nr].Add(s.Counts)
	}
	if p.placeholder {
		a.missesRetired++
	}
	delete(a.procs, p.info.ID)
}

// HandleCounters accumulates the counts read since the previous call, publishes a
// new snapshot and returns the processes retired since the previous call, whose
// kernel map entries the collector may now delete. d is the caller's; nothing in
// it is kept.
//
// A process is retired once it exited more than RetireAfter ago and before the
// previous call (so that its last counts were read), or earlier, oldest exit first,
// when MaxProcs is reached. An event or AddProcess that reaches MaxProcs retires
// up to MaxProcs/32 at once and republishes the snapshot without them.
func (a *Aggregator) HandleCounters(d *model.CounterDelta) (retired []model.ProcID) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.cfg.Now()
	at := d.At
	if at.IsZero() {
		at = now
	}
	if !a.started {
		// The first delta covers the interval before it.
		a.start, a.started = at.Add(-d.Interval), true
	}

	for nr, c := range d.System[:min(len(d.System), numNr)] {
		a.sys[nr].Add(c)
	}
	for nr := range d.SystemHist[:min(len(d.SystemHist), numNr)] {
		a.sys[nr].hist.Add(&d.SystemHist[nr])
	}
	for nr, c := range d.Unattributed[:min(len(d.Unattributed), numNr)] {
		a.unattributed[nr].Add(c)
	}

	cur := a.gen + 1 // number of this call
	clear(a.overflowed)
	for k, c := range d.Procs {
		if int(k.Nr) >= numNr || c.IsZero() {
			continue
		}
		p := a.procs[k.Proc]
		if p == nil {
			if _, ok := a.overflowed[k.Proc]; !ok {
				p = a.newPlaceholder(k.Proc, now)
			}
			if p == nil {
				// No room: the counts stay in the totals as unattributed.
				a.overflowed[k.Proc] = struct{}{}
				a.unattributed[k.Nr].Add(c)
				continue
			}
		}
		if p.placeholder {
			// Still making calls: not gone yet, restart its retirement clocks.
			p.exitedAt, p.exitGen = now, a.gen
		}
		s := p.syscall(k.Nr)
		s.Add(c)
		if s.lastGen != cur {
			s.last, s.lastGen = model.Counts{}, cur
		}
		s.last.Add(c)
		p.total.Add(c)
		p.changedGen = cur
	}
	// Histograms and errnos of untracked processes only count system-wide: their
	// calls are already unattributed.
	for k, h := range d.ProcHists {
		if p := a.procs[k.Proc]; p != nil && int(k.Nr) < numNr {
			s := p.syscall(k.Nr)
			if s.hist == nil {
				s.hist = new(model.Hist)
			}
			s.hist.Add(&h)
			p.changedGen = cur
		}
	}
	for k, n := range d.Errnos {
		if int(k.Nr) >= numNr || n == 0 {
			continue
		}
		addErrno(&a.sys[k.Nr].errnos, k.Errno, n)
		if p := a.procs[k.Proc]; p != nil {
			addErrno(&p.syscall(k.Nr).errnos, k.Errno, n)
			p.changedGen = cur
		}
	}
	for i, n := range d.Lost {
		a.lost[i] += n
	}
	a.eventsAttempted += d.EventsAttempted
	a.restarts += d.Restarts
	a.gen = cur

	retired = append(retired, a.pending...)
	a.pending = a.pending[:0]
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
	slices.SortFunc(a.early, func(x, y *proc) int { return y.exitedAt.Compare(x.exitedAt) })

	a.snap.Store(a.build(at, d))
	return retired
}

func addErrno(m *map[uint16]uint64, errno uint16, n uint64) {
	if *m == nil {
		*m = make(map[uint16]uint64)
	}
	(*m)[errno] += n
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

func (p *proc) syscall(nr uint16) *procSys {
	s := p.sys[nr]
	if s == nil {
		if p.sys == nil {
			p.sys = make(map[uint16]*procSys)
		}
		s = &procSys{}
		p.sys[nr] = s
	}
	return s
}

// Clear resets every accumulated count, loss and the elapsed time to zero, keeping
// process identities, and publishes a snapshot reflecting it. The kernel keeps
// counting: later deltas add up from zero.
func (a *Aggregator) Clear() {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.cfg.Now()
	a.sys = [numNr]sysAcc{}
	a.unattributed = [numNr]model.Counts{}
	a.retired = [numNr]model.Counts{}
	a.lost = model.Losses{}
	a.procOverflow, a.eventsAttempted, a.eventsReceived, a.restarts, a.missesRetired = 0, 0, 0, 0, 0
	a.start, a.started = now, true
	for _, p := range a.procs {
		p.sys, p.total = nil, model.Counts{}
		p.stats, p.statsOK = nil, false
	}
	a.snap.Store(a.build(now, nil))
}

// build makes a new snapshot from the accumulated state; d is the delta just
// added (for rates), or nil after Clear. Everything in the snapshot is freshly
// allocated or immutable, so later changes to the state never reach it.
func (a *Aggregator) build(at time.Time, d *model.CounterDelta) *model.Snapshot {
	s := &model.Snapshot{At: at, Elapsed: at.Sub(a.start), Restarts: a.restarts}
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
		s.Syscalls = append(s.Syscalls, a.stat(nr, acc.Counts, last, secs, &acc.hist, acc.errnos))
	}
	slices.SortFunc(s.Syscalls, bySyscallCalls)
	s.Totals.CallRate, s.Totals.ErrorRate = rate(lastTotal.Calls, secs), rate(lastTotal.Errors, secs)

	s.Processes = make([]model.ProcStat, 0, len(a.procs))
	var placeholders uint64
	for _, p := range a.procs {
		if p.placeholder {
			placeholders++
		}
		s.Processes = append(s.Processes, a.procStat(p, secs, d != nil))
	}
	slices.SortFunc(s.Processes, func(x, y model.ProcStat) int {
		return cmp.Or(cmp.Compare(y.Calls, x.Calls), cmp.Compare(x.ID.PID, y.ID.PID), cmp.Compare(x.ID.Start, y.ID.Start))
	})

	s.Lost = model.LossStats{
		ByCause:           a.lost,
		ProcOverflow:      a.procOverflow,
		Total:             a.lost.Total() + a.procOverflow,
		EventsAttempted:   a.eventsAttempted,
		EventsReceived:    a.eventsReceived,
		AttributionMisses: a.missesRetired + placeholders,
		Unattributed:      unattributed,
	}
	return s
}

func (a *Aggregator) procStat(p *proc, secs float64, rates bool) model.ProcStat {
	// Rebuild the syscall list only when something changed: new counts in this
	// call, rates to bring back to zero, or nothing cached.
	if !p.statsOK || p.changedGen == a.gen || p.statsRates {
		p.stats = []model.SyscallStat{}
		var last model.Counts
		for nr, c := range p.sys {
			var l model.Counts
			if rates && c.lastGen == a.gen {
				l = c.last
			}
			last.Add(l)
			if c.Calls == 0 && c.Errors == 0 {
				continue
			}
			p.stats = append(p.stats, a.stat(int(nr), c.Counts, l, secs, c.hist, c.errnos))
		}
		slices.SortFunc(p.stats, bySyscallCalls)
		p.callRate, p.errorRate = rate(last.Calls, secs), rate(last.Errors, secs)
		p.statsOK, p.statsRates = true, p.callRate != 0 || p.errorRate != 0
	}
	if a.cfg.CgroupPath != nil && (!p.cgOK || p.cgFor != p.info.CgroupID) {
		p.cgPath, p.cgFor, p.cgOK = a.cfg.CgroupPath(p.info.CgroupID), p.info.CgroupID, true
	}
	st := model.ProcStat{
		ID:          p.info.ID,
		Comm:        p.info.Comm,
		Exe:         p.info.Exe,
		Cmdline:     p.info.Cmdline,
		Parent:      p.info.Parent,
		CgroupID:    p.info.CgroupID,
		CgroupPath:  p.cgPath,
		Alive:       !p.exited,
		Placeholder: p.placeholder,
		Counts:      p.total,
		CallRate:    p.callRate,
		ErrorRate:   p.errorRate,
		Syscalls:    p.stats,
	}
	if p.exitKnown {
		st.ExitCode, st.ExitSignal, st.CoreDumped, st.ExitedAt = p.exitCode, p.exitSignal, p.coreDumped, p.exitedAt
	}
	return st
}

// stat builds one SyscallStat, copying the histogram and errnos.
func (a *Aggregator) stat(nr int, c, last model.Counts, secs float64, h *model.Hist, errnos map[uint16]uint64) model.SyscallStat {
	st := model.SyscallStat{
		Nr:        nr,
		Name:      a.table.Name(nr),
		Classes:   a.table.Classes(nr),
		Counts:    c,
		CallRate:  rate(last.Calls, secs),
		ErrorRate: rate(last.Errors, secs),
	}
	if c.LatCount > 0 {
		st.AvgNs = c.LatSumNs / c.LatCount
	}
	if h != nil && h.Count() > 0 {
		hc := *h
		st.Hist = &hc
		st.P50Ns, st.P95Ns, st.P99Ns = hc.Quantile(0.50), hc.Quantile(0.95), hc.Quantile(0.99)
	}
	if len(errnos) > 0 {
		st.Errnos = make([]model.ErrnoCount, 0, len(errnos))
		for e, n := range errnos {
			st.Errnos = append(st.Errnos, model.ErrnoCount{Errno: int(e), Name: model.ErrnoName(int(e)), Count: n})
		}
		slices.SortFunc(st.Errnos, func(x, y model.ErrnoCount) int {
			return cmp.Or(cmp.Compare(y.Count, x.Count), cmp.Compare(x.Errno, y.Errno))
		})
	}
	return st
}

func bySyscallCalls(x, y model.SyscallStat) int {
	return cmp.Or(cmp.Compare(y.Calls, x.Calls), cmp.Compare(x.Nr, y.Nr))
}

func rate(n uint64, secs float64) float64 {
	if secs <= 0 {
		return 0
	}
	return float64(n) / secs
}

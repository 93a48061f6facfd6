package aggregator

import (
	"cmp"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"tlmon/model"
	"tlmon/syscalls"
)

// Defaults for Config fields left zero.
const (
	DefaultRetireAfter = 5 * time.Second
	DefaultMaxProcs    = 10000
	DefaultMaxExited   = 256
)

// Config configures an Aggregator. Zero fields take their defaults.
type Config struct {
	// Table names syscalls and gives their classes; nil means syscalls.HostTable().
	Table *syscalls.Table
	// RetireAfter is how long an exited process stays visible (default 5s).
	RetireAfter time.Duration
	// MaxProcs is the hard cap on tracked processes (default 10000).
	MaxProcs int
	// MaxExited caps the exited processes kept visible until RetireAfter
	// (default 256): past it, the oldest exits retire early. A build or a shell
	// loop starts hundreds of processes a second, each with tens of syscalls and
	// their histograms; without the cap they would hold hundreds of MB.
	MaxExited int
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
	lat  latency
	errs errnos
}

// procSys accumulates one syscall of one process.
type procSys struct {
	model.Counts
	// last holds the counts of call number lastGen, for rates.
	last    model.Counts
	lastGen uint64
	lat     latency
	// errnos is the published errno breakdown, immutable; the counts are in
	// proc.errs.
	errnos []model.ErrnoCount
	nr     uint16
}

// latency is a latency histogram and its percentiles. hist is immutable once
// published, so that snapshots share it: a change replaces it.
type latency struct {
	hist          *model.Hist // nil until the first non-empty histogram
	p50, p95, p99 uint64
	// A process's new histograms of one call are allocated together (see
	// publishHists): hist is &slab[at], slabGen the call.
	slab    []model.Hist
	at      int
	slabGen uint64
}

// percentiles are the quantiles of SyscallStat, in ascending order.
var percentiles = [...]float64{0.50, 0.95, 0.99}

// set makes h, which holds samples, the histogram.
func (l *latency) set(h *model.Hist) {
	var q [len(percentiles)]uint64
	h.Quantiles(percentiles[:], q[:])
	l.hist, l.p50, l.p95, l.p99 = h, q[0], q[1], q[2]
}

// add adds d into a new histogram if d holds any sample.
func (l *latency) add(d *model.Hist) {
	var any uint64
	for _, v := range d {
		any |= v
	}
	if any == 0 {
		return
	}
	h := new(model.Hist)
	if l.hist != nil {
		*h = *l.hist
	}
	h.Add(d)
	l.set(h)
}

// errnos counts the errnos of one syscall system-wide. list is the published
// breakdown, immutable once built; it is rebuilt when dirty.
type errnos struct {
	counts []model.ErrnoCount // accumulating; never published
	list   []model.ErrnoCount
	dirty  bool
}

func (e *errnos) add(errno uint16, n uint64) {
	e.dirty = true
	for i := range e.counts {
		if e.counts[i].Errno == int(errno) {
			e.counts[i].Count += n
			return
		}
	}
	e.counts = append(e.counts, model.ErrnoCount{Errno: int(errno), Name: syscalls.ErrnoName(int(errno)), Count: n})
}

func (e *errnos) publish() {
	e.dirty = false
	e.list = sortedErrnos(slices.Clone(e.counts))
}

// sortedErrnos sorts list by count (descending), then errno, and returns it.
func sortedErrnos(list []model.ErrnoCount) []model.ErrnoCount {
	for i := 1; i < len(list); i++ {
		for j := i; j > 0 && errnoBefore(&list[j], &list[j-1]); j-- {
			list[j], list[j-1] = list[j-1], list[j]
		}
	}
	return list
}

func errnoBefore(x, y *model.ErrnoCount) bool {
	return x.Count > y.Count || x.Count == y.Count && x.Errno < y.Errno
}

// procErrno counts one errno of one syscall of a process.
type procErrno struct {
	nr uint16
	model.ErrnoCount
}

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

// histHeader starts a staged histogram delta of syscall nr, with nb buckets,
// linked to the previous delta of the process at next.
func histHeader(next int32, nr uint16, nb int) uint64 {
	return uint64(uint32(next))<<32 | uint64(nr)<<16 | uint64(nb)
}

func splitHistHeader(h uint64) (next int32, nr uint16, nb int) {
	return int32(h >> 32), uint16(h >> 16), int(uint16(h))
}

// histBin is n samples in a bucket, n <= binMax. More samples take several.
func histBin(bucket int, n uint64) uint64 { return uint64(bucket)<<56 | n }

const binMax = 1<<56 - 1

func splitHistBin(b uint64) (bucket int, n uint64) { return int(b >> 56), b & binMax }

// slabUse is a slab of histograms in use by a process (see publishHists).
type slabUse struct {
	gen uint64
	len int
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

// indexErrs sets eidx for p.errs[from:], where a syscall's errnos may begin.
func (wk *worker) indexErrs(p *proc, from int) {
	for j := from; j < len(p.errs); j++ {
		if j == 0 || p.errs[j].nr != p.errs[j-1].nr {
			wk.eidx[p.errs[j].nr] = int32(j + 1)
		}
	}
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

	// sys holds the process's syscalls, in the order of its last stats (calls
	// descending, then number); nrs[i] is sys[i].nr, for lookups.
	sys        []procSys
	nrs        []uint16
	total      model.Counts
	changedGen uint64 // call number of the last counts, histogram or errno
	// errs counts errnos, sorted by syscall number, then errno; errsDirty
	// means the published breakdowns are out of date.
	errs      []procErrno
	errsDirty bool
	// The heads of the lists of entries staged in call number stageGen, in the
	// worker of the process's partition, not yet applied to sys and errs.
	stageGen                          uint64
	countsHead, errnosHead, histsHead int32

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

	// io is the bytes it moved; detail what its detail events left (nil
	// until one arrives). See detail.go.
	io     procIO
	detail *procDetail
}

// Aggregator accumulates counts per process and syscall. Its methods are safe for
// concurrent use.
type Aggregator struct {
	cfg   Config
	table *syscalls.Table
	snap  atomic.Pointer[model.Snapshot]

	mu sync.Mutex
	// gen counts completed HandleCounters accumulations. A process's counts are
	// final once gen >= exitGen+2: the exit was handled before the previous call,
	// so the read behind the latest call began after it and holds its last counts.
	gen   uint64
	procs map[model.ProcID]*proc
	index procIndex // procs again, faster to look up
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
	detailAttempted uint64
	eventsReceived  uint64
	restarts        uint64
	missesRetired   uint64 // placeholders retired while still unnamed
	retiredProcs    uint64
	retiredNoHist   uint64 // retired processes whose latency has no histogram of its own

	start   time.Time // of Elapsed
	started bool

	overflowed map[model.ProcID]struct{} // scratch for one HandleCounters call
	missing    []procCounts              // likewise
	order      []procKey                 // scratch for build
	// workers holds the scratch of HandleCounters's goroutines; nw of them
	// work on the current call.
	workers     []worker
	nw          int
	parallelMin int // defaultParallelMin; tests lower it

	// names and classes hold the table's answers per syscall number.
	names   [numNr]string
	classes [numNr]model.Class

	// detail holds the byte counts and what detail events left (detail.go).
	detail detailState
}

// procKey sorts processes in a snapshot.
type procKey struct {
	calls uint64
	id    model.ProcID
	p     *proc
}

// New returns an Aggregator with an empty snapshot published.
func New(cfg Config) *Aggregator {
	if cfg.RetireAfter <= 0 {
		cfg.RetireAfter = DefaultRetireAfter
	}
	if cfg.MaxProcs <= 0 {
		cfg.MaxProcs = DefaultMaxProcs
	}
	if cfg.MaxExited <= 0 {
		cfg.MaxExited = DefaultMaxExited
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
		a.table = syscalls.HostTable()
	}
	for nr := range numNr {
		a.names[nr], a.classes[nr] = a.table.Name(nr), a.table.Classes(nr)
	}
	a.detail = newDetailState(&a.names)
	a.workers = make([]worker, min(max(1, runtime.GOMAXPROCS(0)), maxWorkers))
	a.nw, a.parallelMin = 1, defaultParallelMin
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
		// The old command line is stale, and so may be the v1 cgroup inherited at
		// fork (a service manager moves its child between fork and exec): the
		// collector fills both in from /proc at its next read.
		p.info.Cmdline, p.info.V1Cgroup = "", ""
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

// HandleCounters accumulates the counts read since the previous call, publishes a
// new snapshot and returns the processes retired since the previous call, whose
// kernel map entries the collector may now delete. d is the caller's; nothing in
// it is kept.
//
// A process is retired once it exited more than RetireAfter ago and before the
// previous call (so that its last counts were read), or earlier, oldest exit first,
// when more than MaxExited such processes wait or MaxProcs is reached. An event
// or AddProcess that reaches MaxProcs retires up to MaxProcs/32 at once and
// republishes the snapshot without them.
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
		a.sys[nr].lat.add(&d.SystemHist[nr])
	}
	for nr, c := range d.Unattributed[:min(len(d.Unattributed), numNr)] {
		a.unattributed[nr].Add(c)
	}

	// Each goroutine stages the entries of the processes of its partition. The
	// map of processes is only read meanwhile: counts of untracked processes
	// wait in missing, to be handled on this goroutine.
	nw := 1
	if len(d.Procs)+len(d.ProcHists)+len(d.Errnos)+len(a.procs) >= a.parallelMin {
		nw = len(a.workers)
	}
	a.nw = nw
	cur := a.gen + 1 // number of this call
	a.parallel(nw, func(w int, wk *worker) {
		wk.reset()
		for k, c := range d.Procs {
			if int(k.Nr) >= numNr || c.IsZero() || part(k.Proc, nw) != w {
				continue
			}
			if p := a.index.get(k.Proc); p != nil {
				stageCounts(wk, p, k.Nr, c, now, cur)
			} else {
				wk.missing = append(wk.missing, procCounts{k, c})
			}
		}
	})
	// In a fixed order, so that which of them get room under MaxProcs does not
	// depend on the order of the map or the number of goroutines.
	missing := a.missing[:0]
	for w := range nw {
		missing = append(missing, a.workers[w].missing...)
	}
	slices.SortFunc(missing, func(x, y procCounts) int {
		return cmp.Or(cmp.Compare(x.k.Proc.PID, y.k.Proc.PID), cmp.Compare(x.k.Proc.Start, y.k.Proc.Start), cmp.Compare(x.k.Nr, y.k.Nr))
	})
	clear(a.overflowed)
	for _, m := range missing {
		p := a.procs[m.k.Proc]
		if p == nil {
			if _, ok := a.overflowed[m.k.Proc]; !ok {
				p = a.newPlaceholder(m.k.Proc, now)
			}
			if p == nil {
				// No room: the counts stay in the totals as unattributed.
				a.overflowed[m.k.Proc] = struct{}{}
				a.unattributed[m.k.Nr].Add(m.c)
				continue
			}
		}
		stageCounts(&a.workers[part(m.k.Proc, nw)], p, m.k.Nr, m.c, now, cur)
	}
	clear(missing)
	a.missing = missing[:0]
	// Histograms and errnos of untracked processes only count system-wide: their
	// calls are already unattributed.
	a.parallel(nw, func(w int, wk *worker) {
		for k, n := range d.Errnos {
			if int(k.Nr) >= numNr || n == 0 {
				continue
			}
			if w == 0 {
				a.sys[k.Nr].errs.add(k.Errno, n)
			}
			if part(k.Proc, nw) != w {
				continue
			}
			if p := a.index.get(k.Proc); p != nil {
				p.stage(cur)
				wk.errnos = append(wk.errnos, stagedErrno{n: n, next: p.errnosHead, nr: k.Nr, errno: k.Errno})
				p.errnosHead = int32(len(wk.errnos))
				p.changedGen = cur
			}
		}
		if nw == 1 {
			for k, h := range d.ProcHists {
				if p := a.index.get(k.Proc); p != nil && int(k.Nr) < numNr {
					stageHist(wk, p, k.Nr, &h, cur)
				}
			}
			return
		}
		// Ranging over the keys only, then looking up the own ones, spares
		// copying the (large) histograms of the others.
		for k := range d.ProcHists {
			if int(k.Nr) >= numNr || part(k.Proc, nw) != w {
				continue
			}
			if p := a.index.get(k.Proc); p != nil {
				h := d.ProcHists[k]
				stageHist(wk, p, k.Nr, &h, cur)
			}
		}
	})
	for i, n := range d.Lost {
		a.lost[i] += n
	}
	a.eventsAttempted += d.EventsAttempted
	a.detailAttempted += d.DetailAttempted
	a.restarts += d.Restarts
	// After the placeholders above were made, so that theirs count too.
	a.addIO(d.IO, cur)
	a.gen = cur

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

	a.snap.Store(a.build(at, d))
	return retired
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

// stageHist stages the histogram delta h of syscall nr of p in call number cur.
func stageHist(wk *worker, p *proc, nr uint16, h *model.Hist, cur uint64) {
	at := len(wk.hists)
	wk.hists = append(wk.hists, 0)
	for i, v := range h {
		for v != 0 {
			n := min(v, binMax)
			wk.hists = append(wk.hists, histBin(i, n))
			v -= n
		}
	}
	if len(wk.hists) == at+1 {
		wk.hists = wk.hists[:at]
		return
	}
	p.stage(cur)
	wk.hists[at] = histHeader(p.histsHead, nr, len(wk.hists)-at-1)
	p.histsHead = int32(at + 1)
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

// applyErrnos adds the errnos staged for p in wk to p.errs; p is loaded in wk.
func applyErrnos(p *proc, wk *worker) {
	if p.errnosHead == 0 {
		return
	}
	wk.indexErrs(p, 0)
	for r := p.errnosHead; r != 0; {
		e := &wk.errnos[r-1]
		r = e.next
		wk.sys(p, e.nr) // as for counts: every syscall named has its entry
		p.errsDirty = true
		i := int(wk.eidx[e.nr]) - 1
		if i < 0 {
			i, _ = slices.BinarySearchFunc(p.errs, e.nr, func(x procErrno, nr uint16) int { return cmp.Compare(x.nr, nr) })
		} else {
			for i < len(p.errs) && p.errs[i].nr == e.nr && p.errs[i].Errno < int(e.errno) {
				i++
			}
			if i < len(p.errs) && p.errs[i].nr == e.nr && p.errs[i].Errno == int(e.errno) {
				p.errs[i].Count += e.n
				continue
			}
		}
		p.errs = slices.Insert(p.errs, i, procErrno{e.nr, model.ErrnoCount{Errno: int(e.errno), Name: syscalls.ErrnoName(int(e.errno)), Count: e.n}})
		wk.indexErrs(p, i)
	}
	for _, e := range p.errs {
		wk.eidx[e.nr] = 0
	}
	p.errnosHead = 0
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

// Clear resets every accumulated count, loss, byte count and the elapsed time to
// zero and forgets what detail events left (calls, top tables, TCP connections),
// keeping process identities, and publishes a snapshot reflecting it. The kernel
// keeps counting: later deltas add up from zero.
func (a *Aggregator) Clear() {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.cfg.Now()
	a.sys = [numNr]sysAcc{}
	a.unattributed = [numNr]model.Counts{}
	a.retired = [numNr]model.Counts{}
	a.lost = model.Losses{}
	a.procOverflow, a.eventsAttempted, a.detailAttempted, a.eventsReceived, a.restarts, a.missesRetired = 0, 0, 0, 0, 0, 0
	a.retiredProcs, a.retiredNoHist = 0, 0
	a.start, a.started = now, true
	for _, p := range a.procs {
		p.sys, p.nrs, p.total = nil, nil, model.Counts{}
		p.errs, p.errsDirty = nil, false
		p.stats, p.statsOK = nil, false
	}
	a.clearDetail()
	a.nw = 1
	a.snap.Store(a.build(now, nil))
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
	s.Totals.CallRate, s.Totals.ErrorRate = rateWithin(lastTotal.Calls, s.Totals.Calls, secs), rateWithin(lastTotal.Errors, s.Totals.Errors, secs)

	// Sort small keys rather than the large ProcStats.
	order := a.order[:0]
	var placeholders uint64
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
		p.callRate, p.errorRate = rateWithin(last.Calls, p.total.Calls, secs), rateWithin(last.Errors, p.total.Errors, secs)
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

// publishErrnos rebuilds every errno breakdown of p, in one allocation so that
// its stats never keep older ones alive.
func publishErrnos(p *proc, wk *worker) {
	slab := make([]model.ErrnoCount, len(p.errs))
	for i := 0; i < len(p.errs); {
		j := i + 1
		for j < len(p.errs) && p.errs[j].nr == p.errs[i].nr {
			j++
		}
		list := slab[i:j:j]
		for k := range list {
			list[k] = p.errs[i+k].ErrnoCount
		}
		wk.sys(p, p.errs[i].nr).errnos = sortedErrnos(list)
		i = j
	}
	p.errsDirty = false
}

// publishHists adds the histogram deltas staged for p in wk. The new histograms
// of a process go to one slab, a []model.Hist allocated at once (Hist has no
// pointers, so the GC does not scan it); unchanged ones stay where they are,
// shared with earlier snapshots. An older slab stays alive while any of its
// histograms is in use: when that would make the process hold more than twice
// the histograms it uses, all of them move to the new slab.
func publishHists(p *proc, wk *worker) {
	if p.histsHead == 0 {
		return
	}
	cur := p.stageGen
	// Mark the syscalls with new histograms (a delta names each once, but
	// several staged deltas would add up all the same).
	for r := p.histsHead; r != 0; {
		next, nr, _ := splitHistHeader(wk.hists[r-1])
		wk.sys(p, nr).lat.slabGen = cur
		r = next
	}
	changed, live := 0, 0
	slabs := wk.slabs[:0]
	for i := range p.sys {
		l := &p.sys[i].lat
		switch {
		case l.slabGen == cur:
			changed++
			live++
		case l.hist != nil:
			live++
			slabs = append(slabs, slabUse{l.slabGen, len(l.slab)})
		}
	}
	held := changed
	slices.SortFunc(slabs, func(x, y slabUse) int { return cmp.Compare(x.gen, y.gen) })
	for i, u := range slabs {
		if i == 0 || u.gen != slabs[i-1].gen {
			held += u.len
		}
	}
	wk.slabs = slabs[:0]
	all := held > 2*live
	n := changed
	if all {
		n = live
	}
	// Copy the histograms to their new places, then add the deltas: the slab
	// is not published yet. Often the same syscalls changed as last time: then
	// the last slab holds just their histograms, in order, and copying it whole
	// is cheaper (no zeroing first).
	var slab []model.Hist
	if !all {
		var last []model.Hist
		j := 0
		for i := range p.sys {
			l := &p.sys[i].lat
			if l.slabGen != cur {
				continue
			}
			if j == 0 {
				last = l.slab
			}
			if l.hist == nil || len(l.slab) != n || &l.slab[0] != &last[0] || l.at != j {
				last = nil
				break
			}
			j++
		}
		slab = append(slab, last...)
	}
	if slab == nil {
		slab = make([]model.Hist, n)
		j := 0
		for i := range p.sys {
			l := &p.sys[i].lat
			if l.slabGen != cur && (!all || l.hist == nil) {
				continue
			}
			if l.hist != nil {
				slab[j] = *l.hist
			}
			j++
		}
	}
	j := 0
	for i := range p.sys {
		l := &p.sys[i].lat
		if l.slabGen != cur && (!all || l.hist == nil) {
			continue
		}
		l.hist, l.slab, l.at, l.slabGen = &slab[j], slab, j, cur
		j++
	}
	for r := p.histsHead; r != 0; {
		next, nr, nb := splitHistHeader(wk.hists[r-1])
		h := wk.sys(p, nr).lat.hist
		for _, b := range wk.hists[r : int(r)+nb] {
			i, n := splitHistBin(b)
			h[i] += n
		}
		r = next
	}
	for r := p.histsHead; r != 0; {
		next, nr, _ := splitHistHeader(wk.hists[r-1])
		l := &wk.sys(p, nr).lat
		l.set(l.hist)
		r = next
	}
	p.histsHead = 0
}

// stat builds one SyscallStat. It shares the histogram and the errno list, which
// are immutable.
func (a *Aggregator) stat(nr int, c, last model.Counts, secs float64, lat *latency, errnos []model.ErrnoCount) model.SyscallStat {
	st := model.SyscallStat{
		Nr:        nr,
		Name:      a.names[nr],
		Classes:   a.classes[nr],
		Counts:    c,
		CallRate:  rateWithin(last.Calls, c.Calls, secs),
		ErrorRate: rateWithin(last.Errors, c.Errors, secs),
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

func rate(n uint64, secs float64) float64 {
	if secs <= 0 {
		return 0
	}
	return float64(n) / secs
}

// rateWithin is the rate of n events over secs, never above total, all the
// events counted so far. Over an interval shorter than a second (the first
// read, about 50 ms in, a read forced by attach, -i 100ms) n/secs extrapolates
// to a whole second: a process that made 30 calls in its 20 ms of life would
// read 1,500 calls/s beside a total of 30, a second no part of its life had.
// Nothing made more calls in any second than it made in all, so the total
// bounds the rate; over a second or more the cap never applies (n <= total).
func rateWithin(n, total uint64, secs float64) float64 {
	return min(rate(n, secs), float64(total))
}

// procIndex finds processes by ID like Aggregator.procs, only faster, which
// matters for the entries of a delta: open addressing with linear probing, the
// IDs kept in the slots.
type procIndex struct {
	slots []procSlot // nil or a power of two long, at most half full
	n     int
}

type procSlot struct {
	id model.ProcID
	p  *proc // nil: free
}

func (x *procIndex) home(id model.ProcID) int {
	h := (uint64(id.PID) ^ id.Start*0x9e3779b97f4a7c15) * 0xbf58476d1ce4e5b9
	return int(h>>32) & (len(x.slots) - 1)
}

func (x *procIndex) get(id model.ProcID) *proc {
	if x.n == 0 {
		return nil
	}
	for i := x.home(id); ; i = (i + 1) & (len(x.slots) - 1) {
		s := &x.slots[i]
		if s.p == nil || s.id == id {
			return s.p
		}
	}
}

func (x *procIndex) put(p *proc) {
	if 2*(x.n+1) > len(x.slots) {
		old := x.slots
		x.slots, x.n = make([]procSlot, max(64, 2*len(old))), 0
		for _, s := range old {
			if s.p != nil {
				x.put(s.p)
			}
		}
	}
	i := x.home(p.info.ID)
	for x.slots[i].p != nil && x.slots[i].id != p.info.ID {
		i = (i + 1) & (len(x.slots) - 1)
	}
	if x.slots[i].p == nil {
		x.n++
	}
	x.slots[i] = procSlot{p.info.ID, p}
}

func (x *procIndex) del(id model.ProcID) {
	if x.n == 0 {
		return
	}
	mask := len(x.slots) - 1
	i := x.home(id)
	for x.slots[i].id != id {
		if x.slots[i].p == nil {
			return
		}
		i = (i + 1) & mask
	}
	// Shift back the entries after i that would not be found past a free i.
	for j := (i + 1) & mask; x.slots[j].p != nil; j = (j + 1) & mask {
		if h := x.home(x.slots[j].id); (j-h)&mask >= (j-i)&mask {
			x.slots[i] = x.slots[j]
			i = j
		}
	}
	x.slots[i] = procSlot{}
	x.n--
}

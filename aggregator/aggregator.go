package aggregator

import (
	"cmp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
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
	// OnCall, if set, sees each detail event's call as it is kept (the
	// history and the recording keep them too). It runs under the
	// aggregator's lock: it must be quick and must not call back.
	OnCall func(c *model.CallRecord)
	// OnLifecycle, if set, sees each fork, exec and exit, as OnCall does
	// calls (a recording keeps them).
	OnLifecycle func(r *model.LifeRecord)
	// Mono gives CLOCK_MONOTONIC in ns, the kernel's clock of event times;
	// nil reads it. A call's time is the wall time its event's kernel time
	// was: calls handled together keep their own times.
	Mono func() uint64
}

// numNr bounds syscall numbers: per-syscall state lives in fixed arrays, so memory
// does not depend on what the kernel sends. Counts for larger numbers cannot occur
// (the kernel's arrays have the same size) and are ignored everywhere alike, which
// keeps the accounting invariant.
const numNr = model.MaxSyscallNr

// Aggregator accumulates counts per process and syscall. Its methods are safe for
// concurrent use.
type Aggregator struct {
	cfg   Config
	table *syscalls.Table
	snap  atomic.Pointer[model.Snapshot]
	// published holds a token once a snapshot is stored (Published).
	published chan struct{}

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
	// scope, when not everything, is what the snapshot's processes are
	// limited to (SetScope).
	scope model.Target
	// workers holds the scratch of HandleCounters's goroutines; nw of them
	// work on the current call.
	workers     []worker
	nw          int
	parallelMin int // defaultParallelMin; tests lower it

	// names and classes hold the table's answers per syscall number.
	names [numNr]string
	// connectNr is connect's number (-1: none): its EINPROGRESS is no error.
	connectNr int
	// clocks are the wall and the monotonic clock read together, to place
	// events by their kernel time (eventTime).
	clocks struct {
		wall time.Time
		mono uint64
	}
	classes [numNr]model.Class

	// detail holds the byte counts and what detail events left (detail.go).
	detail detailState
}

// sysAcc accumulates one syscall system-wide.
type sysAcc struct {
	model.Counts
	lat  latency
	errs errnos
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
	a.connectNr = -1
	if sc, ok := a.table.Lookup("connect"); ok {
		a.connectNr = sc.Nr
	}
	a.detail = newDetailState(&a.names)
	a.syncClocks()
	a.workers = make([]worker, min(max(1, runtime.GOMAXPROCS(0)), maxWorkers))
	a.nw, a.parallelMin = 1, defaultParallelMin
	a.published = make(chan struct{}, 1)
	a.publish(&model.Snapshot{At: cfg.Now(), Syscalls: []model.SyscallStat{}, Processes: []model.ProcStat{}})
	return a
}

// publish makes s the snapshot Snapshot returns, and says so on Published.
func (a *Aggregator) publish(s *model.Snapshot) {
	a.snap.Store(s)
	select {
	case a.published <- struct{}{}:
	default: // a token already waits
	}
}

// Published receives once a snapshot has been published since the last
// receive (one reader: a report that follows the counts as they are read).
func (a *Aggregator) Published() <-chan struct{} { return a.published }

// notInProgress takes connect's EINPROGRESS out of d's errors and errnos: a
// non-blocking connect returns it when the connection is under way, which is
// no failure (whether it fails says a later poll and SO_ERROR, or the next
// call on the socket). The kernel counts every negative return as an error;
// here connect's calls that returned EINPROGRESS count as calls only.
func (a *Aggregator) notInProgress(d *model.CounterDelta) {
	if a.connectNr < 0 || a.connectNr >= numNr {
		return
	}
	nr := uint16(a.connectNr)
	for k, n := range d.Errnos {
		if k.Nr != nr || k.Errno != uint16(syscall.EINPROGRESS) {
			continue
		}
		delete(d.Errnos, k)
		ps := model.ProcSyscall{Proc: k.Proc, Nr: nr}
		if c, ok := d.Procs[ps]; ok {
			c.Errors -= min(c.Errors, n)
			d.Procs[ps] = c
		}
		if int(nr) < len(d.System) {
			d.System[nr].Errors -= min(d.System[nr].Errors, n)
		}
	}
}

// SetScope limits the snapshot's processes to target (a process and its
// descendants, or a cgroup subtree; TargetAll: every process) and publishes
// one. The kernel, rescoped live, still counts the return of a call entered
// before (a shell's wait4, a multiplexer's poll): without this the processes
// of the old scope would come back with those calls. Their calls stay in the
// totals.
func (a *Aggregator) SetScope(target model.Target) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.scope = target
	a.publish(a.build(a.cfg.Now(), nil))
}

// inScope says whether p is within a.scope; memo holds the answers of this
// build by PID (a process's ancestors are looked up once).
func (a *Aggregator) inScope(p *proc, memo map[uint32]bool) bool {
	switch a.scope.Kind {
	case model.TargetPID:
		var chain []uint32
		in := false
		for q, depth := p, 0; q != nil && depth < 64; depth++ {
			pid := q.info.ID.PID
			if known, ok := memo[pid]; ok {
				in = known
				break
			}
			chain = append(chain, pid)
			if pid == a.scope.PID {
				in = true
				break
			}
			q = a.procs[q.info.Parent]
		}
		for _, pid := range chain {
			memo[pid] = in
		}
		return in
	case model.TargetCgroup:
		if !p.cgOK || p.cgPath == "" {
			return true // unknown: not hidden
		}
		root := strings.TrimSuffix(a.scope.Cgroup, "/")
		return root == "" || p.cgPath == a.scope.Cgroup || strings.HasPrefix(p.cgPath, root+"/")
	}
	return true
}

// Snapshot returns the latest published snapshot, never nil. It takes no lock.
// The snapshot is immutable: do not modify it.
func (a *Aggregator) Snapshot() *model.Snapshot { return a.snap.Load() }

// HandleCounters accumulates the counts read since the previous call, publishes a
// new snapshot and returns the processes retired since the previous call, whose
// kernel map entries the collector may now delete. d is the caller's; nothing in
// it is kept, and connect's EINPROGRESS is taken out of it (notInProgress).
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

	a.notInProgress(d)
	a.syncClocks()
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

	retired = a.retireDue(now)
	a.publish(a.build(at, d))
	return retired
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
	a.publish(a.build(now, nil))
}

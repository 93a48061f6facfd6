package session

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"tlmon/bpf"
	"tlmon/collector"
	"tlmon/model"
	"tlmon/syscalls"
)

// Counts is what Control needs of the aggregator.
type Counts interface {
	Snapshot() *model.Snapshot
	Clear()
	ProcDetail(id model.ProcID) model.ProcDetail
	// SetScope limits the processes shown to a target's.
	SetScope(t model.Target)
}

// History is what Control needs of the snapshots kept to move back in
// time through.
type History interface {
	Moments() []model.Moment
	At(seq uint64) (*model.Snapshot, error)
	ProcDetailAt(id model.ProcID, seq uint64) model.ProcDetail
}

// Control is the interactive monitor's backend (ui.Backend): it hands out the
// aggregator's snapshots and turns the user's keys into kernel settings: which
// classes are counted, what is watched.
type Control struct {
	probe   *bpf.Probe
	counts  Counts
	flush   func() error // reads the kernel's counters now (Collector.Flush)
	cgroups *collector.Cgroups
	table   *syscalls.Table
	follow  bool
	// history keeps the last snapshots (nil: none kept).
	history History

	// The Threads view's state: whose threads, and the last look for rates.
	threadsMu   sync.Mutex
	threadsPID  uint32
	threadsPrev map[uint32]model.Counts
	threadsAt   time.Time
	// threadsNames are the names the threads had when last read, for those
	// that exited since (a worker pool's short-lived threads).
	threadsNames map[uint32]string

	mu      sync.Mutex
	meta    model.Meta
	target  model.Target // what is watched now
	since   uint64       // CLOCK_MONOTONIC ns when it started being watched
	classes model.Class
	detail  model.Class
	slow    time.Duration
	only    map[int]bool // the -e filter: nil counts every syscall
	traced  model.ProcID // every call of it is sent in detail (zero: none)
}

// NewControl starts with every class on, within the -e filter only (nil: all),
// watching target. flush reads the kernel's counters into counts now (may be
// nil).
func NewControl(p *bpf.Probe, counts Counts, flush func() error, cg *collector.Cgroups, table *syscalls.Table, meta model.Meta, target model.Target, follow bool, only []int) *Control {
	c := &Control{probe: p, counts: counts, flush: flush, cgroups: cg, table: table, meta: meta, follow: follow,
		classes: model.ClassAll, target: target, since: monotonicNow()}
	if only != nil {
		c.only = map[int]bool{}
		for _, nr := range only {
			c.only[nr] = true
		}
	}
	return c
}

// Moments are the snapshots the history keeps, oldest first: none without
// a history.
func (c *Control) Moments() []model.Moment {
	if c.history == nil {
		return nil
	}
	return c.history.Moments()
}

// SnapshotAt rebuilds the kept snapshot numbered seq.
func (c *Control) SnapshotAt(seq uint64) (*model.Snapshot, error) {
	if c.history == nil {
		return nil, errors.New("no history is kept")
	}
	return c.history.At(seq)
}

// ProcDetailAt is what the detail events kept with the history said of
// process id up to moment seq.
func (c *Control) ProcDetailAt(id model.ProcID, seq uint64) model.ProcDetail {
	if c.history == nil {
		return model.ProcDetail{}
	}
	return c.history.ProcDetailAt(id, seq)
}

// Snapshot is the aggregator's latest.
func (c *Control) Snapshot() *model.Snapshot { return c.counts.Snapshot() }

// Meta says what is watched now.
func (c *Control) Meta() model.Meta {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.meta
}

// Classes are the classes counted now.
func (c *Control) Classes() model.Class {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.classes
}

// SetClasses counts, in the kernel, only the syscalls in any of these classes
// (and in the -e filter). The others are skipped at entry, so a class switched
// off costs only the floor of the attached programs.
func (c *Control) SetClasses(cl model.Class) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.probe.SetSyscallFilter(c.syscallsIn(cl)); err != nil {
		return err
	}
	c.classes = cl
	return nil
}

// Detail are the classes sent in detail now.
func (c *Control) Detail() model.Class {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.detail
}

// SetDetail makes the kernel send a detail event for each call of a syscall in
// any of these classes (within the -e filter).
func (c *Control) SetDetail(cl model.Class) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.probe.SetDetail(c.syscallsIn(cl), cl&model.ClassNetwork != 0); err != nil {
		return err
	}
	c.detail = cl
	return nil
}

// syscallsIn lists the syscalls in any of the classes cl, within the -e filter.
func (c *Control) syscallsIn(cl model.Class) []int {
	nrs := []int{}
	for nr := 0; nr < bpf.MaxSyscalls; nr++ {
		if c.table.Classes(nr)&cl != 0 && (c.only == nil || c.only[nr]) {
			nrs = append(nrs, nr)
		}
	}
	return nrs
}

// Slow is the slow-call threshold now (0: off).
func (c *Control) Slow() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.slow
}

// SetSlow sends any call of a watched process slower than d with its arguments.
func (c *Control) SetSlow(d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.probe.SetSlow(d); err != nil {
		return err
	}
	c.slow = d
	return nil
}

// Traced is the process every call of which is sent in detail (Trace), or
// the zero ProcID. Once that process has exited, the trace ends here (a read
// of /proc/PID/stat, at each call: the monitor asks once a refresh). Until
// then it is harmless too: the kernel checks the start time as well, so a
// process that takes the PID is never traced.
func (c *Control) Traced() model.ProcID {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.traced == (model.ProcID{}) {
		return c.traced
	}
	if start, err := collector.StartTicks(c.traced.PID); err != nil || start != c.traced.Start {
		if c.probe.SetTrace(model.ProcID{}) == nil {
			c.traced = model.ProcID{}
		}
	}
	return c.traced
}

// Trace sends every call of process id in detail, whatever the classes in
// detail, as strace would show them (the monitor's d): one process at a time,
// a new one replacing the last; the zero ProcID stops it. The process must
// still be the one id names. Only rungs 1 and 2 send detail: the others
// refuse, and nothing changes.
func (c *Control) Trace(id model.ProcID) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if id != (model.ProcID{}) {
		if !c.probe.HasDetail() {
			return fmt.Errorf("tracing needs detail events, which rung %d lacks: they need rung 1 or 2 (a kernel with BTF, Linux 5.10 or newer)", c.probe.Rung().Number)
		}
		if int(id.PID) == os.Getpid() {
			return errors.New("that is tlmon itself, whose calls are never counted")
		}
		if start, err := collector.StartTicks(id.PID); err != nil || start != id.Start {
			return fmt.Errorf("pid %d has exited", id.PID)
		}
	}
	if err := c.probe.SetTrace(id); err != nil {
		return err
	}
	c.traced = id
	return nil
}

// ProcDetail is what detail events said about one process.
func (c *Control) ProcDetail(id model.ProcID) model.ProcDetail { return c.counts.ProcDetail(id) }

// Targets lists what can be watched: everything, each process alive, each cgroup.
func (c *Control) Targets() ([]model.Target, error) {
	targets := []model.Target{{Kind: model.TargetAll}}
	procs := collector.ScanProcs(nil)
	// User processes first, kernel threads last: the user attaches to the former.
	sort.Slice(procs, func(i, j int) bool {
		if procs[i].Kernel != procs[j].Kernel {
			return !procs[i].Kernel
		}
		return procs[i].ID.PID < procs[j].ID.PID
	})
	for _, p := range procs {
		targets = append(targets, model.Target{Kind: model.TargetPID, PID: p.ID.PID, Comm: p.Comm, Cmdline: p.Cmdline, Kernel: p.Kernel})
	}
	if c.cgroups != nil {
		_ = filepath.WalkDir(c.cgroups.Mount, func(path string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() && path != c.cgroups.Mount {
				targets = append(targets, model.Target{Kind: model.TargetCgroup, Cgroup: strings.TrimPrefix(path, c.cgroups.Mount)})
			}
			return nil
		})
	}
	return targets, nil
}

// Attach rescopes the kernel's filter live and starts the counts afresh, so what
// is shown is the new target's; only its processes are listed (the kernel still
// counts the returns of calls entered before, once each). Back to everything,
// the counts are kept instead: what the narrower scope counted is part of
// everything, and a silent reset of every counter and the losses would lose it.
func (c *Control) Attach(t model.Target) error {
	var err error
	var scope string
	switch t.Kind {
	case model.TargetAll:
		err, scope = c.probe.ScopeAll(), "all"
	case model.TargetPID:
		if _, serr := collector.StartTicks(t.PID); serr != nil {
			return fmt.Errorf("pid %d: no such process", t.PID)
		}
		err, scope = c.probe.ScopePIDs([]uint32{t.PID}, c.follow), fmt.Sprintf("pid %d", t.PID)
	case model.TargetCgroup:
		if c.cgroups == nil {
			return collector.ErrNoCgroup2
		}
		dir, rerr := c.cgroups.Resolve(t.Cgroup)
		if rerr != nil {
			return rerr
		}
		err, scope = c.probe.ScopeCgroup(dir), "cgroup "+t.Cgroup
	default:
		return errors.New("unknown target")
	}
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.meta.Scope, c.target, c.since = scope, t, monotonicNow()
	c.mu.Unlock()
	// What the old scope counted since the last read must not show up as the
	// new target's: read it now, then start afresh.
	if c.flush != nil {
		if err := c.flush(); err != nil {
			return err
		}
	}
	c.counts.SetScope(t)
	if t.Kind != model.TargetAll {
		c.counts.Clear()
	}
	return nil
}

// Clear resets the counts shown; the kernel keeps counting.
func (c *Control) Clear() { c.counts.Clear() }

// InFlight finds the threads inside a syscall now, longest first. /proc says
// which threads are in a syscall; the kernel's entry record says which and since
// when. A thread of a watched process without a record was already inside when
// watching began: it is shown with the time since then, a lower bound (the
// stalled build that made the user start tlmon), unless it started after
// watching began: then with its age, an upper bound.
func (c *Control) InFlight() ([]model.InFlight, error) {
	now := monotonicNow()
	procs, err := os.ReadDir(procRoot)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	target, watchedSince := c.target, c.since
	c.mu.Unlock()
	watched := c.watchedPIDs(target)
	self := uint32(os.Getpid())
	var out []model.InFlight
	for _, pe := range procs {
		pid, err := strconv.ParseUint(pe.Name(), 10, 32)
		if err != nil {
			continue
		}
		tasks, err := os.ReadDir(fmt.Sprintf("%s/%d/task", procRoot, pid))
		if err != nil {
			continue
		}
		checked := false // whether pid is known not to be a kernel thread
		for _, te := range tasks {
			tid, err := strconv.ParseUint(te.Name(), 10, 32)
			if err != nil {
				continue
			}
			inNr, inside := collector.InSyscall(uint32(pid), uint32(tid))
			if !inside {
				continue
			}
			// Only the threads that read as inside a syscall cost the look
			// at stat: most threads of a busy machine are running or not in
			// one.
			if !checked {
				if collector.KernelThread(uint32(pid)) {
					break
				}
				checked = true
			}
			f := model.InFlight{PID: uint32(pid), TID: uint32(tid)}
			if nr, entered, ok := c.probe.EnterTime(uint32(tid)); ok && entered <= now && nr == inNr {
				f.Nr, f.Since = nr, time.Duration(now-entered)
			} else if uint32(pid) != self && watched(uint32(pid)) {
				f.Nr, f.Since, f.AtLeast = inNr, time.Duration(now-watchedSince), true
				// A thread that started after watching began cannot have
				// entered before: its age bounds the call's time instead.
				if age, ok := threadAge(uint32(pid), uint32(tid)); ok && age < f.Since {
					f.Since, f.AtLeast, f.AtMost = age, false, true
				}
			} else {
				continue
			}
			comm, _ := os.ReadFile(fmt.Sprintf("%s/%d/task/%d/comm", procRoot, pid, tid))
			f.Comm, f.Syscall = strings.TrimSpace(string(comm)), c.table.Name(f.Nr)
			out = append(out, f)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Since > out[j].Since })
	return out, nil
}

// threadAge is how long ago thread tid of pid started, from its start time in
// /proc (clock ticks since boot, by CLOCK_BOOTTIME).
func threadAge(pid, tid uint32) (time.Duration, bool) {
	stat, err := os.ReadFile(fmt.Sprintf("%s/%d/task/%d/stat", procRoot, pid, tid))
	if err != nil {
		return 0, false
	}
	_, _, start, err := model.ParseProcStat(stat)
	if err != nil {
		return 0, false
	}
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts) != nil {
		return 0, false
	}
	started := time.Duration(start) * (time.Second / model.ClockTicksPerSecond)
	return max(0, time.Duration(ts.Nano())-started), true
}

// watchedPIDs says whether a process is within target (for threads the kernel
// has no record of).
func (c *Control) watchedPIDs(target model.Target) func(pid uint32) bool {
	switch target.Kind {
	case model.TargetPID:
		pids, _ := c.probe.ScopedPIDs() // followed children included
		set := map[uint32]bool{}
		for _, p := range pids {
			set[p] = true
		}
		return func(pid uint32) bool { return set[pid] }
	case model.TargetCgroup:
		return func(pid uint32) bool {
			p := c.cgroups.PathOfProc(pid)
			return p == target.Cgroup || strings.HasPrefix(p, strings.TrimSuffix(target.Cgroup, "/")+"/")
		}
	}
	return func(uint32) bool { return true }
}

func monotonicNow() uint64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return uint64(ts.Nano())
}

// threadName names thread tid of pid: its comm now, or the one it had when
// last read, or says it exited before it could be read.
func (c *Control) threadName(pid, tid uint32) string {
	if comm, err := os.ReadFile(fmt.Sprintf("%s/%d/task/%d/comm", procRoot, pid, tid)); err == nil {
		name := strings.TrimSpace(string(comm))
		c.threadsNames[tid] = name
		return name
	}
	if name, ok := c.threadsNames[tid]; ok {
		return name
	}
	return "(exited)"
}

// Threads returns the per-thread counts of process pid, counted in the kernel
// from the first call for that pid on (pid 0 stops the counting), with rates
// since the previous call.
func (c *Control) Threads(pid uint32) ([]model.ThreadStat, error) {
	c.threadsMu.Lock()
	defer c.threadsMu.Unlock()
	if pid != c.threadsPID {
		if err := c.probe.WatchThreads(pid); err != nil {
			return nil, err
		}
		c.threadsPID, c.threadsPrev, c.threadsAt, c.threadsNames = pid, nil, time.Now(), map[uint32]string{}
	}
	if pid == 0 {
		return nil, nil
	}
	counts, err := c.probe.ThreadCounts()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	secs := now.Sub(c.threadsAt).Seconds()
	out := make([]model.ThreadStat, 0, len(counts))
	for tid, n := range counts {
		t := model.ThreadStat{TID: tid, Counts: n}
		if old, ok := c.threadsPrev[tid]; ok && secs > 0 {
			t.CallRate = float64(n.Calls-old.Calls) / secs
			t.ErrorRate = float64(n.Errors-old.Errors) / secs
		}
		t.Comm = c.threadName(pid, tid)
		out = append(out, t)
	}
	for tid := range c.threadsNames { // bounded by the threads counted
		if _, ok := counts[tid]; !ok {
			delete(c.threadsNames, tid)
		}
	}
	c.threadsPrev, c.threadsAt = counts, now
	return out, nil
}

// Signal sends sig to process id if it still is that process: its PID not
// reused since (the start time says). tlmon itself is refused: q quits it.
func (c *Control) Signal(id model.ProcID, sig syscall.Signal) error {
	if int(id.PID) == os.Getpid() {
		return errors.New("that is tlmon itself (q quits)")
	}
	if start, err := collector.StartTicks(id.PID); err != nil || start != id.Start {
		return fmt.Errorf("pid %d has exited", id.PID)
	}
	return syscall.Kill(int(id.PID), sig)
}

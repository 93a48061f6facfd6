package collector

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
	"time"

	"golang.org/x/sys/unix"

	"tlmon/bpf"
	"tlmon/model"
)

// Counts is what Control needs of the aggregator.
type Counts interface {
	Snapshot() *model.Snapshot
	Clear()
}

// Control is the interactive monitor's backend (ui.Backend): it hands out the
// aggregator's snapshots and turns the user's keys into kernel settings: which
// classes are counted, what is watched.
type Control struct {
	probe   *bpf.Probe
	counts  Counts
	cgroups *Cgroups
	table   *model.Table
	follow  bool

	mu      sync.Mutex
	meta    model.Meta
	classes model.Class
	only    map[int]bool // the -e filter: nil counts every syscall
}

// NewControl starts with every class on, within the -e filter only (nil: all).
func NewControl(p *bpf.Probe, counts Counts, cg *Cgroups, table *model.Table, meta model.Meta, follow bool, only []int) *Control {
	c := &Control{probe: p, counts: counts, cgroups: cg, table: table, meta: meta, follow: follow,
		classes: allClasses()}
	if only != nil {
		c.only = map[int]bool{}
		for _, nr := range only {
			c.only[nr] = true
		}
	}
	return c
}

func allClasses() model.Class {
	var all model.Class
	for _, cl := range model.AllClasses {
		all |= cl
	}
	return all
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
	enabled := []int{}
	for nr := 0; nr < bpf.MaxSyscalls; nr++ {
		if c.table.Classes(nr)&cl != 0 && (c.only == nil || c.only[nr]) {
			enabled = append(enabled, nr)
		}
	}
	if err := c.probe.SetSyscallFilter(enabled); err != nil {
		return err
	}
	c.classes = cl
	return nil
}

// Targets lists what can be watched: everything, each process alive, each cgroup.
func (c *Control) Targets() ([]model.Target, error) {
	targets := []model.Target{{Kind: model.TargetAll}}
	procs := ScanProcs(nil)
	sort.Slice(procs, func(i, j int) bool { return procs[i].ID.PID < procs[j].ID.PID })
	for _, p := range procs {
		targets = append(targets, model.Target{Kind: model.TargetPID, PID: p.ID.PID, Comm: p.Comm, Cmdline: p.Cmdline})
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
// is shown is the new target's.
func (c *Control) Attach(t model.Target) error {
	var err error
	var scope string
	switch t.Kind {
	case model.TargetAll:
		err, scope = c.probe.ScopeAll(), "all"
	case model.TargetPID:
		if _, serr := StartTicks(t.PID); serr != nil {
			return fmt.Errorf("pid %d: no such process", t.PID)
		}
		err, scope = c.probe.ScopePIDs([]uint32{t.PID}, c.follow), fmt.Sprintf("pid %d", t.PID)
	case model.TargetCgroup:
		if c.cgroups == nil {
			return ErrNoCgroup2
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
	c.meta.Scope = scope
	c.mu.Unlock()
	c.counts.Clear()
	return nil
}

// Clear resets the counts shown; the kernel keeps counting.
func (c *Control) Clear() { c.counts.Clear() }

// InFlight finds the threads inside a syscall now, longest first. /proc says
// which threads are in a syscall; the kernel's entry record says since when, and
// exists only for threads in scope.
func (c *Control) InFlight() ([]model.InFlight, error) {
	now := monotonicNow()
	procs, err := os.ReadDir(procRoot)
	if err != nil {
		return nil, err
	}
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
		for _, te := range tasks {
			tid, err := strconv.ParseUint(te.Name(), 10, 32)
			if err != nil || !inSyscall(uint32(pid), uint32(tid)) {
				continue
			}
			nr, since, ok := c.probe.EnterTime(uint32(tid))
			if !ok || since > now {
				continue
			}
			comm, _ := os.ReadFile(fmt.Sprintf("%s/%d/task/%d/comm", procRoot, pid, tid))
			out = append(out, model.InFlight{
				PID: uint32(pid), TID: uint32(tid), Comm: strings.TrimSpace(string(comm)),
				Nr: nr, Syscall: c.table.Name(nr), Since: time.Duration(now - since),
			})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Since > out[j].Since })
	return out, nil
}

// inSyscall reads /proc/PID/task/TID/syscall: a number while the thread is
// blocked inside a syscall, "running" or -1 otherwise.
func inSyscall(pid, tid uint32) bool {
	b, err := os.ReadFile(fmt.Sprintf("%s/%d/task/%d/syscall", procRoot, pid, tid))
	if err != nil || len(b) == 0 {
		return false
	}
	return b[0] >= '0' && b[0] <= '9'
}

func monotonicNow() uint64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return uint64(ts.Nano())
}

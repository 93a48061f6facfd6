package bpf

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/cilium/ebpf"

	"tlmon/model"
)

// Scope modes, as the kernel side numbers them.
const (
	scopeAll    uint32 = 0
	scopePIDs   uint32 = 1
	scopeCgroup uint32 = 2
	scopeNone   uint32 = 3 // while a rung is tried (climb)
)

// ScopeAll counts every process but tlmon.
func (p *Probe) ScopeAll() error {
	return p.setScope(scopeAll)
}

// ScopePIDs counts only these processes and, with follow, the children they fork
// from now on (a child joins the scope in the kernel, at fork).
func (p *Probe) ScopePIDs(pids []uint32, follow bool) error {
	if err := p.clearPIDs(); err != nil {
		return err
	}
	one := uint8(1)
	for _, pid := range pids {
		if err := p.maps.ScopePids.Put(pid, one); err != nil {
			return fmt.Errorf("add pid %d to scope: %w", pid, err)
		}
	}
	if err := p.fam.setFollowChildren(follow); err != nil {
		return err
	}
	return p.setScope(scopePIDs)
}

// HasCgroupScope says whether the probe can scope by cgroup: rungs 1 and 2.
func (p *Probe) HasCgroupScope() bool { return p.fam.cgroupScope() }

// ScopeOwnChildren counts only the processes this process starts from now
// on, and their children: how rungs without a cgroup scope watch a command.
func (p *Probe) ScopeOwnChildren() error {
	if p.HasCgroupScope() {
		return errCgroupWatchesCommands
	}
	if err := p.clearPIDs(); err != nil {
		return err
	}
	// Go's os package checks clone(CLONE_PIDFD) once, with a child that
	// exits at once, before its first start of a process: made now (FindProcess
	// runs the check), that child is not taken for the command.
	if self, err := os.FindProcess(os.Getpid()); err == nil {
		self.Release()
	}
	return p.fam.adoptChildren(uint32(os.Getpid()))
}

// ScopeCgroup counts only processes in the cgroup v2 directory dir and its
// descendants.
func (p *Probe) ScopeCgroup(dir string) error {
	if err := p.fam.scopeCgroup(dir); err != nil {
		return err
	}
	return p.setScope(scopeCgroup)
}

// ScopeCommand is ScopeCgroup for the cgroup of a command about to start in
// it, counted from its exec on: its launcher's work before (Go's runtime
// resetting signal handlers between fork and exec) is not the command's.
func (p *Probe) ScopeCommand(dir string) error {
	if err := p.ScopeCgroup(dir); err != nil {
		return err
	}
	return p.fam.awaitLaunch()
}

// setScope makes mode the scope from now on, or from Attach on while the
// programs are held (hooked, counting nothing, since the trial).
func (p *Probe) setScope(mode uint32) error {
	if p.held {
		p.heldMode = mode
		return p.fam.startScope(scopeNone) // what else a start resets
	}
	return p.fam.startScope(mode)
}

func (p *Probe) setScopeMode(mode uint32) error { return p.fam.setScopeMode(mode) }

func (p *Probe) clearPIDs() error {
	var key uint32
	var keys []uint32
	it := p.maps.ScopePids.Iterate()
	var v uint8
	for it.Next(&key, &v) {
		keys = append(keys, key)
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("read pid scope: %w", err)
	}
	for _, k := range keys {
		if err := p.maps.ScopePids.Delete(k); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return fmt.Errorf("clear pid scope: %w", err)
		}
	}
	return nil
}

// ScopedPIDs lists the processes in the PID scope now, followed children
// included (dead ones leave it in the kernel).
func (p *Probe) ScopedPIDs() ([]uint32, error) {
	var key uint32
	var v uint8
	var pids []uint32
	it := p.maps.ScopePids.Iterate()
	for it.Next(&key, &v) {
		pids = append(pids, key)
	}
	return pids, it.Err()
}

// SetSyscallFilter counts only the syscalls whose numbers are in enabled; nil
// enables all. The kernel skips the others at entry.
func (p *Probe) SetSyscallFilter(enabled []int) error {
	var disabled [MaxSyscalls]uint8
	if enabled != nil {
		for i := range disabled {
			disabled[i] = 1
		}
		for _, nr := range enabled {
			if nr >= 0 && nr < MaxSyscalls {
				disabled[nr] = 0
			}
		}
	}
	return p.fam.setSyscallFilter(enabled, &disabled)
}

// SetFailedOnly counts only calls that fail (counted at exit instead of entry).
func (p *Probe) SetFailedOnly(on bool) error {
	return p.fam.setFailedOnly(on)
}

// WatchThreads counts the threads of process pid one by one from now on (0
// stops it). Counts of a previous process are dropped.
func (p *Probe) WatchThreads(pid uint32) error {
	if err := p.setThreadTgid(0); err != nil {
		return fmt.Errorf("stop counting threads: %w", err)
	}
	var tids []uint32
	if err := iterateAll(p.maps.ThreadStats, &tids, func(uint32, []tlmonCounts) {}); err != nil {
		return fmt.Errorf("read thread counters: %w", err)
	}
	for _, t := range tids {
		p.maps.ThreadStats.Delete(t)
	}
	if pid == 0 {
		return nil
	}
	if err := p.setThreadTgid(pid); err != nil {
		return fmt.Errorf("count threads of %d: %w", pid, err)
	}
	return nil
}

func (p *Probe) setThreadTgid(pid uint32) error { return p.fam.setThreadTgid(pid) }

// ThreadCounts reads the per-thread counts since WatchThreads, summed over CPUs.
func (p *Probe) ThreadCounts() (map[uint32]model.Counts, error) {
	out := map[uint32]model.Counts{}
	err := iterateAll(p.maps.ThreadStats, nil, func(tid uint32, v []tlmonCounts) {
		var sum model.Counts
		for _, c := range v {
			sum.Add(counts(c))
		}
		out[tid] = sum
	})
	return out, err
}

// flag is b as the kernel side's flags hold it: 1 or 0.
func flag[T uint8 | uint32](b bool) T {
	if b {
		return 1
	}
	return 0
}

// HasDetail says whether the probe can send detail events (calls with their
// arguments, slow calls, TCP connections): rungs 1 and 2 only.
func (p *Probe) HasDetail() bool { return p.fam.detail() }

// SetDetail makes the kernel send a detail event for every call of these
// syscalls by a watched process (none: nil), and, with tcp, the TCP
// connections they establish and close. Calls of 32-bit tasks are never sent.
func (p *Probe) SetDetail(nrs []int, tcp bool) error { return p.fam.setDetail(nrs, tcp) }

// SetTrace sends every call of process id in detail from now on, whatever
// SetDetail said of its syscalls, as strace would show them; the zero ProcID
// stops it. One process at a time: a new one replaces the last. A process
// that later takes its PID is not traced (id.Start differs). Its calls are
// sent only where its syscalls are counted (SetSyscallFilter) and it is in
// scope; its TCP connections are not (they follow SetDetail's tcp). Only
// rungs 1 and 2 send detail (HasDetail): the others refuse.
func (p *Probe) SetTrace(id model.ProcID) error { return p.fam.setTrace(id) }

// SetSlow sends any call of a watched process slower than d with its arguments
// (0 stops it). It needs latency (Options.NoLatency false).
func (p *Probe) SetSlow(d time.Duration) error {
	if d > 0 && p.opts.NoLatency {
		return errors.New("slow calls are found by timing them: not with --no-latency")
	}
	return p.fam.setSlow(d)
}

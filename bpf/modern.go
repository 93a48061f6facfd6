package bpf

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/features"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"tlmon/model"
	"tlmon/syscalls"
)

// modern is a probe's object on rungs 1 and 2 (tlmon.bpf.c): raw
// tracepoints, with BTF and global data. Its settings are global variables,
// written one by one.
type modern struct {
	config
	objs    tlmonObjects
	links   []link.Link
	cached  bool // the per-CPU caches of process counts are on (enableCaches)
	sweepMu sync.Mutex
	sweep   *link.Iter // young_sweep, made at the first sweep
	epoch   uint32     // read_epoch in tlmon.bpf.c

	captureMu sync.Mutex
	captures  [MaxSyscalls]tlmonCapture // as last written to the kernel
}

// newModern loads tlmon.bpf.c for c, relocated against kernelTypes (the
// kernel's BTF, being decoded): an error names the feature the kernel
// lacked, and leaves nothing loaded.
func newModern(c config, kernelTypes *btf.Cache) (family, error) {
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		return nil, missing("kernel BTF (5.2)", errNoBTF)
	}
	if c.enterStore == EnterTaskStorage && !haveTaskBTF() {
		return nil, missing("task-local storage (Linux 5.11)", errors.New("no BTF task pointers"))
	}
	m := &modern{config: c}
	if err := m.load(kernelTypes); err != nil {
		if c.rung.Buffer == BufferRingbuf && features.HaveMapType(ebpf.RingBuf) != nil {
			return nil, missing(ringbufFeature, err)
		}
		return nil, missing("the BPF features of tlmon's programs (BTF, global data and functions: Linux 5.10)", err)
	}
	m.enableCaches()
	return m, nil
}

// procMapBudget caps the memory of the per-CPU process counter map: it costs
// entries × value size × possible CPUs.
const procMapBudget = 64 << 20

func (m *modern) load(kernelTypes *btf.Cache) error {
	spec, err := loadTlmon()
	if err != nil {
		return fmt.Errorf("read BPF object: %w", err)
	}
	set := func(name string, v any) error {
		vs, ok := spec.Variables[name]
		if !ok {
			return fmt.Errorf("BPF object lacks variable %s", name)
		}
		return vs.Set(v)
	}
	for name, v := range map[string]any{
		"self_tgid":        m.opts.SelfPID,
		"use_ringbuf":      m.rung.Buffer == BufferRingbuf,
		"use_task_storage": m.enterStore == EnterTaskStorage,
		"have_task_btf":    haveTaskBTF(),
		"track_latency":    !m.opts.NoLatency,
		"sample_latency":   m.opts.SampleLatency,
		"per_proc_hist":    !m.opts.NoProcHist,
		"young_tables":     m.youngTables(),
		"young_since":      bootNow(),
		"slow_ns":          uint64(m.opts.Slow),
		"nr_accept":        nrOf(m.opts.Table, "accept"),
		"nr_accept4":       nrOf(m.opts.Table, "accept4"),
		"captures":         m.initCaptures(),
	} {
		if err := set(name, v); err != nil {
			return err
		}
	}

	for _, buf := range []struct{ name, wakeup string }{{"events", "wakeup_bytes"}, {"lifecycle", "life_wakeup_bytes"}} {
		ms := spec.Maps[buf.name]
		if m.rung.Buffer == BufferPerf {
			// cilium/ebpf sizes a perf event array to the possible CPUs itself.
			ms.Type = ebpf.PerfEventArray
			ms.KeySize, ms.ValueSize, ms.MaxEntries = 4, 4, 0
		} else if m.opts.RingBytes > 0 {
			ms.MaxEntries = uint32(m.opts.RingBytes)
		}
		if err := set(buf.wakeup, uint64(ms.MaxEntries/8)); err != nil {
			return err
		}
	}
	// The unused enter store becomes a one-entry hash: its code is pruned, but
	// the map must still exist on kernels without task storage.
	unused := "enter_store"
	if m.enterStore == EnterTaskStorage {
		unused = "enter_hash"
	}
	spec.Maps[unused] = &ebpf.MapSpec{Name: unused, Type: ebpf.Hash, KeySize: 4, ValueSize: spec.Maps[unused].ValueSize, MaxEntries: 1}
	unusedCalls := "call_store"
	if m.enterStore == EnterTaskStorage {
		unusedCalls = "call_hash"
	}
	spec.Maps[unusedCalls] = &ebpf.MapSpec{Name: unusedCalls, Type: ebpf.Hash, KeySize: 4, ValueSize: spec.Maps[unusedCalls].ValueSize, MaxEntries: 1}
	if !m.youngTables() {
		// Young threads' tables live in task storage only: without it every
		// process counts in the hashes.
		spec.Maps["young_store"] = &ebpf.MapSpec{Name: "young_store", Type: ebpf.Hash, KeySize: 4, ValueSize: spec.Maps["young_store"].ValueSize, MaxEntries: 1}
	}
	if m.opts.NoProcHist {
		spec.Maps["proc_hists"].MaxEntries = 1
	}
	ps := spec.Maps["proc_stats"]
	perEntry := int(ps.ValueSize) * m.ncpu
	if max := procMapBudget / perEntry; max < int(ps.MaxEntries) {
		ps.MaxEntries = uint32(max)
	}

	if allocOnInsert() {
		for _, name := range []string{"proc_stats", "errno_stats", "proc_io", "thread_stats", "proc_hists"} {
			spec.Maps[name].Flags |= unix.BPF_F_NO_PREALLOC
		}
	}
	if err := loadConcurrently(spec, &m.objs, kernelTypes); err != nil {
		return loadError(m.rung.Buffer+", "+m.enterStore, err)
	}
	return nil
}

// verifiedApart are the programs the verifier takes longest over (some 40
// ms each, most of a start): each is loaded on a goroutine of its own, the
// rest on a third, so that the kernel verifies them on as many CPUs.
var verifiedApart = []string{"sys_enter", "sys_exit"}

// loadConcurrently is spec.LoadAndAssign(objs) with the programs loaded at
// once: the maps first (global variables included), then each group of
// programs as a collection of its own that uses those maps, all with one copy
// of the kernel's BTF, types (each would decode its own otherwise: some 10 ms
// each).
func loadConcurrently(spec *ebpf.CollectionSpec, objs *tlmonObjects, types *btf.Cache) error {
	coll, err := ebpf.NewCollectionWithOptions(withPrograms(spec, nil), ebpf.CollectionOptions{Cache: types})
	if err != nil {
		return err
	}
	defer coll.Close() // what Assign did not take
	groups := make([]map[string]*ebpf.ProgramSpec, len(verifiedApart)+1)
	for name, ps := range spec.Programs {
		g := slices.Index(verifiedApart, name)
		if g < 0 {
			g = len(verifiedApart)
		}
		if groups[g] == nil {
			groups[g] = map[string]*ebpf.ProgramSpec{}
		}
		groups[g][name] = ps
	}
	loaded := make([]*ebpf.Collection, len(groups))
	errs := make([]error, len(groups))
	var wg sync.WaitGroup
	for i, progs := range groups {
		wg.Go(func() {
			loaded[i], errs[i] = ebpf.NewCollectionWithOptions(withPrograms(spec, progs), ebpf.CollectionOptions{MapReplacements: coll.Maps, Cache: types})
		})
	}
	wg.Wait()
	coll.Programs = map[string]*ebpf.Program{}
	for i, l := range loaded {
		if l == nil {
			continue
		}
		maps.Copy(coll.Programs, l.Programs)
		l.Programs = nil
		l.Close() // its clones of coll's maps
		loaded[i] = nil
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return coll.Assign(objs)
}

// withPrograms is spec with only progs, sharing the rest: the loader copies
// what it changes, each map and program it loads (a copy of spec was ~3 ms
// of every start).
func withPrograms(spec *ebpf.CollectionSpec, progs map[string]*ebpf.ProgramSpec) *ebpf.CollectionSpec {
	s := *spec
	s.Programs = progs
	return &s
}

// youngTables says whether young threads count in tables of their own: where
// the kernel has task storage, unless the options say no.
func (m *modern) youngTables() bool {
	return m.enterStore == EnterTaskStorage && !m.opts.NoYoungTables
}

// allocOnInsert says whether the per-process hashes can allocate their entries
// as they are inserted instead of all at load: preallocating them takes ~80 ms of
// every start. Tracing programs may use such maps safely from 6.1 (the BPF
// memory allocator); before, the kernel accepts them with a warning in its log
// about their being unsafe.
func allocOnInsert() bool {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return false
	}
	var major, minor int
	if _, err := fmt.Sscanf(unix.ByteSliceToString(u.Release[:]), "%d.%d", &major, &minor); err != nil {
		return false
	}
	return major > 6 || major == 6 && minor >= 1
}

// nrOf is the number of a syscall in t, or MaxUint32 when t has none.
func nrOf(t *syscalls.Table, name string) uint32 {
	if s, ok := t.Lookup(name); ok {
		return uint32(s.Nr)
	}
	return math.MaxUint32
}

// initCaptures fills, from the table, what each syscall's detail events copy
// and which byte counter it adds to; no syscall is sent in detail yet.
func (m *modern) initCaptures() [MaxSyscalls]tlmonCapture {
	m.captureMu.Lock()
	defer m.captureMu.Unlock()
	t := m.opts.Table
	for nr := range m.captures {
		c := t.Capture(nr)
		if nr == model.CompatNr {
			c = model.NoCapture // another table's numbers: nothing to decode
		}
		m.captures[nr] = tlmonCapture{
			Str: c.Str, Blob: c.Blob, BlobLenArg: c.BlobLenArg, BlobSize: c.BlobSize,
			BlobLenPtr: flag[uint8](c.BlobLenPtr), BlobAtExit: flag[uint8](c.BlobAtExit), Argv: c.Argv,
			Io: uint8(t.IOKind(nr)),
		}
	}
	return m.captures
}

func (m *modern) shared() sharedMaps {
	o := &m.objs
	return sharedMaps{
		SysStats: o.SysStats, Unattributed: o.Unattributed, ProcStats: o.ProcStats, ErrnoStats: o.ErrnoStats,
		ProcHists: o.ProcHists, ProcIo: o.ProcIo, ThreadStats: o.ThreadStats, Counters: o.Counters,
		EnterHash: o.EnterHash, ScopePids: o.ScopePids,
		Lifecycle: o.Lifecycle, Detail: o.Events,
	}
}

func (m *modern) programs() []*ebpf.Program {
	o := &m.objs
	return []*ebpf.Program{o.SysEnter, o.SysExit, o.SchedProcessExec, o.SchedProcessExit, o.SchedProcessFork, o.InetSockSetState}
}

// attach hooks the programs to their raw tracepoints, all of them even in a
// trial.
func (m *modern) attach(bool) error {
	for _, a := range []struct {
		name string
		prog *ebpf.Program
	}{
		{"sched_process_fork", m.objs.SchedProcessFork},
		{"sched_process_exec", m.objs.SchedProcessExec},
		{"sched_process_exit", m.objs.SchedProcessExit},
		{"inet_sock_set_state", m.objs.InetSockSetState},
		{"sys_exit", m.objs.SysExit},
		{"sys_enter", m.objs.SysEnter},
	} {
		l, err := link.AttachRawTracepoint(link.RawTracepointOptions{Name: a.name, Program: a.prog})
		if err != nil {
			return fmt.Errorf("attach %s: %w", a.name, err)
		}
		m.links = append(m.links, l)
	}
	return nil
}

func (m *modern) trialHooksAll() bool { return true }

func (m *modern) startHooked(mode uint32) error {
	// Tasks older than this that exit a syscall we never saw enter were inside
	// it before the scope took them in: the kernel side ignores those exits.
	if err := m.objs.ScopeSince.Set(bootNow()); err != nil {
		return fmt.Errorf("set scope time: %w", err)
	}
	if err := m.setScopeMode(mode); err != nil {
		return fmt.Errorf("set scope: %w", err)
	}
	return nil
}

func (m *modern) detach() {
	for i := len(m.links) - 1; i >= 0; i-- {
		m.links[i].Close()
	}
	m.links = nil
}

func (m *modern) close() error {
	if m.sweep != nil {
		m.sweep.Close()
	}
	return m.objs.Close()
}

// fold flushes the per-CPU caches and, where young threads count in tables of
// their own, promotes those that lived through a whole read (two steps of the
// epoch): their counts come through the lifecycle buffer, with the next
// read's deltas.
func (m *modern) fold() error {
	if err := m.flushCaches(); err != nil {
		return err
	}
	if !m.youngTables() {
		return nil
	}
	return m.sweepYoung(1)
}

func (m *modern) sweepAll() error {
	if !m.youngTables() {
		return nil
	}
	return m.sweepYoung(2) // every table is old enough
}

// sweepYoung moves the read epoch on by steps and promotes every young
// thread's table that has lived through a whole read: its counts go to the
// lifecycle buffer (young_sweep in tlmon.bpf.c). Sweeps never overlap: two at
// once could both send a table.
func (m *modern) sweepYoung(steps uint32) error {
	m.sweepMu.Lock()
	defer m.sweepMu.Unlock()
	m.epoch += steps
	if err := m.objs.ReadEpoch.Set(m.epoch); err != nil {
		return fmt.Errorf("set read epoch: %w", err)
	}
	if m.sweep == nil {
		it, err := link.AttachIter(link.IterOptions{Program: m.objs.YoungSweep})
		if err != nil {
			return fmt.Errorf("attach young_sweep: %w", err)
		}
		m.sweep = it
	}
	rd, err := m.sweep.Open()
	if err != nil {
		return fmt.Errorf("run young_sweep: %w", err)
	}
	defer rd.Close()
	if _, err := io.Copy(io.Discard, rd); err != nil { // the iterator runs as it is read
		return fmt.Errorf("run young_sweep: %w", err)
	}
	return nil
}

// flushRetries bounds the retries of a CPU whose cache cannot be folded now: a
// program is changing it (a task preempted inside one holds it until it runs
// again), or a map that allocates on insert is out of free entries until its
// refill runs, after the interrupt the flush ran in. Counts that still wait
// come with the next read.
const flushRetries = 100

// flushCache folds the per-CPU cache of process counts (cpu_cache in
// tlmon.bpf.c) of one CPU into the process maps, by running flush_cpu_cache
// there. A CPU that is not online has nothing to fold.
func (m *modern) flushCache(cpu int) error {
	opts := ebpf.RunOptions{Flags: unix.BPF_F_TEST_RUN_ON_CPU, CPU: uint32(cpu)}
	for range flushRetries {
		busy, err := m.objs.FlushCpuCache.Run(&opts)
		if errors.Is(err, unix.ENXIO) {
			return nil
		}
		if err != nil || busy == 0 {
			return err
		}
		runtime.Gosched()
	}
	return nil
}

// enableCaches turns the per-CPU caches on when every CPU can be flushed
// (running a program on a given CPU needs 5.10). Without them counts go to the
// maps directly, at the cost of two more hash lookups per call.
func (m *modern) enableCaches() {
	for cpu := range m.ncpu {
		if m.flushCache(cpu) != nil {
			return
		}
	}
	if m.objs.UseCpuCache.Set(true) == nil {
		m.cached = true
	}
}

// flushCaches folds every CPU's cache into the process maps, so that a read
// of them sees every count made before it.
func (m *modern) flushCaches() error {
	if !m.cached {
		return nil
	}
	for cpu := range m.ncpu {
		if err := m.flushCache(cpu); err != nil {
			return fmt.Errorf("flush the counts cached on CPU %d: %w", cpu, err)
		}
	}
	return nil
}

// The kprobes of rung 4 are the only hooks that miss returns.
func (m *modern) returnsMissed() uint64 { return 0 }

func (m *modern) cgroupScope() bool { return true }
func (m *modern) detail() bool      { return true }

func (m *modern) setScopeMode(mode uint32) error { return m.objs.ScopeMode.Set(mode) }

func (m *modern) startScope(mode uint32) error {
	if err := m.objs.LaunchPending.Set(uint32(0)); err != nil {
		return fmt.Errorf("set scope: %w", err)
	}
	return m.startHooked(mode)
}

func (m *modern) setFollowChildren(follow bool) error {
	if err := m.objs.FollowChildren.Set(follow); err != nil {
		return fmt.Errorf("set follow children: %w", err)
	}
	return nil
}

// errCgroupWatchesCommands refuses ScopeOwnChildren where a cgroup scope does
// its job.
var errCgroupWatchesCommands = errors.New("a cgroup scope watches commands on rungs 1 and 2")

func (m *modern) adoptChildren(uint32) error { return errCgroupWatchesCommands }

func (m *modern) scopeCgroup(dir string) error {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return fmt.Errorf("cgroup %s: %w", dir, err)
	}
	if st.Type != unix.CGROUP2_SUPER_MAGIC {
		return fmt.Errorf("cgroup %s: not a cgroup v2 directory", dir)
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open cgroup %s: %w", dir, err)
	}
	// The map keeps its own reference to the cgroup: our fd can go.
	defer unix.Close(fd)
	if err := m.objs.ScopeCgroup.Put(uint32(0), uint32(fd)); err != nil {
		return fmt.Errorf("set cgroup scope %s: %w", dir, err)
	}
	return nil
}

func (m *modern) awaitLaunch() error { return m.objs.LaunchPending.Set(uint32(1)) }

func (m *modern) setSyscallFilter(_ []int, disabled *[MaxSyscalls]uint8) error {
	if err := m.objs.NrDisabled.Set(*disabled); err != nil {
		return fmt.Errorf("set syscall filter: %w", err)
	}
	return nil
}

func (m *modern) setFailedOnly(on bool) error {
	if err := m.objs.FailedOnly.Set(on); err != nil {
		return fmt.Errorf("set failed-only: %w", err)
	}
	return nil
}

func (m *modern) setThreadTgid(pid uint32) error { return m.objs.ThreadTgid.Set(pid) }

func (m *modern) setDetail(nrs []int, tcp bool) error {
	m.captureMu.Lock()
	defer m.captureMu.Unlock()
	for i := range m.captures {
		m.captures[i].Detail = 0
	}
	for _, nr := range nrs {
		if nr >= 0 && nr < MaxSyscalls && nr != model.CompatNr {
			m.captures[nr].Detail = 1
		}
	}
	if err := m.objs.Captures.Set(m.captures); err != nil {
		return fmt.Errorf("set detail classes: %w", err)
	}
	if err := m.objs.TcpDetail.Set(tcp); err != nil {
		return fmt.Errorf("set TCP detail: %w", err)
	}
	return nil
}

// setTrace writes the process's tgid last when it starts and first when it
// stops (and before a new one's start time): the kernel never sees one
// process's tgid with another's start time.
func (m *modern) setTrace(id model.ProcID) error {
	if err := m.objs.TracedTgid.Set(uint32(0)); err != nil {
		return fmt.Errorf("stop tracing: %w", err)
	}
	if id.PID == 0 {
		return nil
	}
	if err := m.objs.TracedStart.Set(id.Start); err != nil {
		return fmt.Errorf("trace pid %d: %w", id.PID, err)
	}
	if err := m.objs.TracedTgid.Set(id.PID); err != nil {
		return fmt.Errorf("trace pid %d: %w", id.PID, err)
	}
	return nil
}

func (m *modern) setSlow(d time.Duration) error {
	if err := m.objs.SlowNs.Set(uint64(max(d, 0))); err != nil {
		return fmt.Errorf("set slow-call threshold: %w", err)
	}
	return nil
}

// enterRecord looks task storage up through a thread pidfd (Linux 6.9+).
func (m *modern) enterRecord(tid uint32) (tlmonEnterRec, bool) {
	if m.enterStore == EnterHash {
		return lookupEnterRec(m.objs.EnterHash, tid)
	}
	fd, err := unix.PidfdOpen(int(tid), unix.PIDFD_THREAD)
	if err != nil {
		return tlmonEnterRec{}, false
	}
	defer unix.Close(fd)
	return lookupEnterRec(m.objs.EnterStore, int32(fd))
}

// lookupEnterRec reads the entry record under key in enter store m.
func lookupEnterRec(m *ebpf.Map, key any) (tlmonEnterRec, bool) {
	var rec tlmonEnterRec
	if err := m.Lookup(key, &rec); err != nil {
		return rec, false
	}
	return rec, true
}

func (m *modern) injectEvent() error {
	var args [2]uint64 // parent and child task pointers: NULL reads as zeros
	_, err := m.objs.SchedProcessFork.Run(&ebpf.RunOptions{Context: args[:]})
	return err
}

func (m *modern) injectCall(nr int, ret int64) error {
	enter := [2]uint64{0, uint64(nr)} // pt_regs pointer (NULL), syscall number
	if _, err := m.objs.SysEnter.Run(&ebpf.RunOptions{Context: enter[:]}); err != nil {
		return fmt.Errorf("run sys_enter: %w", err)
	}
	exit := [2]uint64{0, uint64(ret)} // pt_regs pointer (NULL), return value
	if _, err := m.objs.SysExit.Run(&ebpf.RunOptions{Context: exit[:]}); err != nil {
		return fmt.Errorf("run sys_exit: %w", err)
	}
	return nil
}

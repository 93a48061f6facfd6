// Package bpf loads tlmon's kernel programs, attaches them, sets their scope and
// filters, and reads what they counted. It is the only package that knows the C
// structs: everything it hands out is a model value. It must not import the
// collector, the aggregator or the ui.
package bpf

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"sync"
	"time"
	"tlmon/syscalls"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/features"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"
)

// MaxSyscalls bounds the syscall numbers the kernel side counts (x32 and anything
// above is ignored). It sizes the per-syscall arrays.
const MaxSyscalls = 512

// Buffer kinds for lifecycle events.
const (
	BufferAuto    = "auto"
	BufferRingbuf = "ringbuf"
	BufferPerf    = "perf"
)

// Enter-record stores.
const (
	EnterTaskStorage = "task_storage"
	EnterHash        = "hash"
)

// Options choose how the programs are loaded.
type Options struct {
	// Buffer is BufferAuto (ring buffer where the kernel has it), BufferRingbuf
	// or BufferPerf; Hook is HookAuto (the best the kernel has) or one hook.
	// Together they pick the rungs of the Ladder to try.
	Buffer string
	Hook   string
	// EnterStore is "" (task storage where the kernel has it), EnterTaskStorage
	// or EnterHash.
	EnterStore string
	// SelfPID is excluded from everything in the kernel (default: this process).
	SelfPID uint32
	// NoLatency stops timing syscalls: only calls and errors are counted.
	NoLatency bool
	// NoProcHist drops per-process latency histograms (system-wide ones stay).
	NoProcHist bool
	// NoYoungTables counts every process in the per-process maps, as kernels
	// without task storage do, instead of young threads in tables of their own
	// (young_table in tlmon.bpf.c): for tests and comparisons.
	NoYoungTables bool
	// RingBytes sizes the ring buffer (a power of two ≥ one page; default 4 MiB);
	// PerfBytes sizes each CPU's perf buffer (default 256 KiB).
	RingBytes int
	PerfBytes int
	// Table says what the detail events of each syscall copy from user memory
	// and which byte counter each adds to (default: the host's table).
	Table *syscalls.Table
	// Slow, if non-zero, sends any call slower than this with its arguments
	// (see SetSlow); it needs latency.
	Slow time.Duration
}

// Probe is the loaded and attached kernel side.
type Probe struct {
	objs       tlmonObjects // on rungs 3 and 4, the maps legacy has too
	legacy     *legacy      // rungs 3 and 4 only
	links      []link.Link
	rung       Rung // its Buffer carries the events
	enterStore string
	opts       Options
	ncpu       int
	cached     bool // the per-CPU caches of process counts are on (enableCaches)
	sweepMu    sync.Mutex
	sweep      *link.Iter // young_sweep, made at the first sweep
	epoch      uint32     // read_epoch in tlmon.bpf.c
	possible   []uint32   // scratch keys for batch reads of per-syscall arrays
	reader     reader

	captureMu sync.Mutex
	captures  [MaxSyscalls]tlmonCapture // as last written to the kernel
}

// Errors a caller shows the user as one line.
var (
	ErrNotRoot = errors.New("needs root, or CAP_BPF and CAP_PERFMON (setcap cap_bpf,cap_perfmon+ep on the binary): run it with sudo")
	// errNoBTF is why rungs 1 and 2 cannot run: rungs 3 and 4 need no BTF.
	errNoBTF = errors.New("this kernel has no BTF (/sys/kernel/btf/vmlinux is missing; it needs CONFIG_DEBUG_INFO_BTF)")
)

// CheckSystem reports, before anything is loaded, the problems a user can fix.
// Root can do everything tlmon does; without it, loading and attaching
// tracing programs takes CAP_BPF and CAP_PERFMON (5.8+), or CAP_SYS_ADMIN.
func CheckSystem() error {
	if os.Geteuid() == 0 || hasCaps(unix.CAP_SYS_ADMIN) || hasCaps(unix.CAP_BPF, unix.CAP_PERFMON) {
		return nil
	}
	return ErrNotRoot
}

// hasCaps says whether this process holds every one of caps, effective.
func hasCaps(caps ...int) bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return false
	}
	for _, c := range caps {
		if data[c/32].Effective&(1<<(c%32)) == 0 {
			return false
		}
	}
	return true
}

// Load loads the programs and maps on the best rung of the Ladder the kernel
// runs and opts allow, with the best enter store. Feature probes can mislead
// (here a kprobe probe says yes where kprobes are not compiled in), so each
// rung is decided by loading and attaching it.
func Load(opts Options) (*Probe, error) {
	if err := rlimit.RemoveMemlock(); err != nil {
		// Before 5.11 BPF memory counts against RLIMIT_MEMLOCK, which only
		// root or CAP_SYS_RESOURCE may raise.
		return nil, fmt.Errorf("remove memlock limit (before Linux 5.11, tlmon without root needs CAP_SYS_RESOURCE too): %w", err)
	}
	if opts.SelfPID == 0 {
		opts.SelfPID = uint32(os.Getpid())
	}
	if opts.Table == nil {
		opts.Table = syscalls.HostTable()
	}
	if opts.Slow > 0 && opts.NoLatency {
		return nil, errors.New("slow calls are found by timing them: --slow cannot go with --no-latency")
	}
	rungs, err := Rungs(opts.Buffer, opts.Hook)
	if err != nil {
		return nil, err
	}
	stores := EnterStores()
	switch opts.EnterStore {
	case "":
	case EnterTaskStorage, EnterHash:
		stores = []string{opts.EnterStore}
	default:
		return nil, fmt.Errorf("unknown enter store %q", opts.EnterStore)
	}
	ncpu, err := ebpf.PossibleCPU()
	if err != nil {
		return nil, fmt.Errorf("count possible CPUs: %w", err)
	}

	var probe *Probe
	_, err = climb(rungs, func(r Rung) error {
		var lastErr error // the fallback store's says more: task storage is only the better one
		stores := stores
		if r.Hook != HookRawTP && opts.EnterStore == "" {
			stores = []string{EnterHash} // the legacy object's only one
		}
		for _, store := range stores {
			p := &Probe{rung: r, enterStore: store, opts: opts, ncpu: ncpu}
			if lastErr = p.try(); lastErr == nil {
				probe = p
				return nil
			}
		}
		return lastErr
	})
	if err != nil {
		return nil, err
	}
	probe.enableCaches()
	return probe, nil
}

// try loads the programs of the probe's rung and attaches them for a moment,
// with nothing in scope: an error names the feature the kernel lacked, and
// leaves nothing loaded.
func (p *Probe) try() (err error) {
	if p.rung.Hook != HookRawTP {
		if err := p.loadLegacy(); err != nil {
			return missing(fmt.Sprintf("the BPF features of tlmon's programs for %s (Linux %s)", hookNames[p.rung.Hook], legacySince[p.rung.Hook]), err)
		}
	} else if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		return missing("kernel BTF (5.2)", errNoBTF)
	} else if p.enterStore == EnterTaskStorage && !haveTaskBTF() {
		return missing("task-local storage (Linux 5.11)", errors.New("no BTF task pointers"))
	} else if err := p.load(); err != nil {
		if p.rung.Buffer == BufferRingbuf && features.HaveMapType(ebpf.RingBuf) != nil {
			return missing(ringbufFeature, err)
		}
		return missing("the BPF features of tlmon's programs (BTF, global data and functions: Linux 5.10)", err)
	}
	defer func() {
		if err != nil {
			p.Close()
		}
	}()
	if err := p.setScopeMode(scopeNone); err != nil {
		return err
	}
	if l := p.legacy; l != nil {
		// One kprobe pair says whether kprobes work: hooking every syscall
		// would cost seconds under emulation.
		getppid, _ := p.opts.Table.Lookup("getppid")
		l.enabled, l.trial = map[int]bool{getppid.Nr: true}, true
		defer func() { l.enabled, l.trial = nil, false }()
	}
	if err := p.Attach(); err != nil {
		return missing(hookFeatures[p.rung.Hook], err)
	}
	p.detach()
	return p.setScopeMode(scopeAll)
}

// procMapBudget caps the memory of the per-CPU process counter map: it costs
// entries × value size × possible CPUs.
const procMapBudget = 64 << 20

func (p *Probe) load() error {
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
		"self_tgid":        p.opts.SelfPID,
		"use_ringbuf":      p.rung.Buffer == BufferRingbuf,
		"use_task_storage": p.enterStore == EnterTaskStorage,
		"have_task_btf":    haveTaskBTF(),
		"track_latency":    !p.opts.NoLatency,
		"per_proc_hist":    !p.opts.NoProcHist,
		"young_tables":     p.youngTables(),
		"young_since":      bootNow(),
		"slow_ns":          uint64(p.opts.Slow),
		"nr_accept":        nrOf(p.opts.Table, "accept"),
		"nr_accept4":       nrOf(p.opts.Table, "accept4"),
		"captures":         p.initCaptures(),
	} {
		if err := set(name, v); err != nil {
			return err
		}
	}

	for _, buf := range []struct{ name, wakeup string }{{"events", "wakeup_bytes"}, {"lifecycle", "life_wakeup_bytes"}} {
		m := spec.Maps[buf.name]
		if p.rung.Buffer == BufferPerf {
			// cilium/ebpf sizes a perf event array to the possible CPUs itself.
			m.Type = ebpf.PerfEventArray
			m.KeySize, m.ValueSize, m.MaxEntries = 4, 4, 0
		} else if p.opts.RingBytes > 0 {
			m.MaxEntries = uint32(p.opts.RingBytes)
		}
		if err := set(buf.wakeup, uint64(m.MaxEntries/8)); err != nil {
			return err
		}
	}
	// The unused enter store becomes a one-entry hash: its code is pruned, but
	// the map must still exist on kernels without task storage.
	unused := "enter_store"
	if p.enterStore == EnterTaskStorage {
		unused = "enter_hash"
	}
	spec.Maps[unused] = &ebpf.MapSpec{Name: unused, Type: ebpf.Hash, KeySize: 4, ValueSize: spec.Maps[unused].ValueSize, MaxEntries: 1}
	unusedCalls := "call_store"
	if p.enterStore == EnterTaskStorage {
		unusedCalls = "call_hash"
	}
	spec.Maps[unusedCalls] = &ebpf.MapSpec{Name: unusedCalls, Type: ebpf.Hash, KeySize: 4, ValueSize: spec.Maps[unusedCalls].ValueSize, MaxEntries: 1}
	if !p.youngTables() {
		// Young threads' tables live in task storage only: without it every
		// process counts in the hashes.
		spec.Maps["young_store"] = &ebpf.MapSpec{Name: "young_store", Type: ebpf.Hash, KeySize: 4, ValueSize: spec.Maps["young_store"].ValueSize, MaxEntries: 1}
	}
	if p.opts.NoProcHist {
		spec.Maps["proc_hists"].MaxEntries = 1
	}
	ps := spec.Maps["proc_stats"]
	perEntry := int(ps.ValueSize) * p.ncpu
	if max := procMapBudget / perEntry; max < int(ps.MaxEntries) {
		ps.MaxEntries = uint32(max)
	}

	if allocOnInsert() {
		for _, name := range []string{"proc_stats", "errno_stats", "proc_io", "thread_stats", "proc_hists"} {
			spec.Maps[name].Flags |= unix.BPF_F_NO_PREALLOC
		}
	}
	if err := spec.LoadAndAssign(&p.objs, nil); err != nil {
		return loadError(p.rung.Buffer+", "+p.enterStore, err)
	}
	return nil
}

// loadError says why the kernel refused to load an object (what: which
// variant): the verifier's last lines, or its whole log on stderr with
// TLMON_VERIFIER_LOG set, for work on an older kernel's verifier
// (`make kernels KERNELFLAGS="-env TLMON_VERIFIER_LOG=1"`).
func loadError(what string, err error) error {
	var verr *ebpf.VerifierError
	if !errors.As(err, &verr) {
		return fmt.Errorf("load BPF programs (%s): %w", what, err)
	}
	if os.Getenv("TLMON_VERIFIER_LOG") != "" {
		fmt.Fprintf(os.Stderr, "%+v\n", verr)
	}
	return fmt.Errorf("load BPF programs (%s): %v", what, firstLines(verr))
}

// youngTables says whether young threads count in tables of their own: where
// the kernel has task storage, unless the options say no.
func (p *Probe) youngTables() bool {
	return p.legacy == nil && p.enterStore == EnterTaskStorage && !p.opts.NoYoungTables
}

// EnterStores are the enter stores this kernel can run, best first: task
// storage needs BTF task pointers (5.11).
func EnterStores() []string {
	if haveTaskBTF() {
		return []string{EnterTaskStorage, EnterHash}
	}
	return []string{EnterHash}
}

// haveTaskBTF says whether programs can have the current task as a BTF
// pointer (bpf_get_current_task_btf, 5.11), to load through it; before, they
// read it with probe reads.
func haveTaskBTF() bool {
	return features.HaveProgramHelper(ebpf.RawTracepoint, asm.FnGetCurrentTaskBtf) == nil
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

func firstLines(verr *ebpf.VerifierError) string {
	// The verifier's last lines say why; the whole log is hundreds of lines.
	n := len(verr.Log)
	if n > 3 {
		return fmt.Sprintf("%v: ... %v", verr.Cause, verr.Log[n-3:])
	}
	return verr.Error()
}

// Attach hooks the programs to their tracepoints. Lifecycle hooks go first so no
// process counted is left without a name.
func (p *Probe) Attach() error {
	if p.legacy != nil {
		if err := p.attachLegacy(); err != nil {
			p.detach()
			return err
		}
		return nil
	}
	for _, a := range []struct {
		name string
		prog *ebpf.Program
	}{
		{"sched_process_fork", p.objs.SchedProcessFork},
		{"sched_process_exec", p.objs.SchedProcessExec},
		{"sched_process_exit", p.objs.SchedProcessExit},
		{"inet_sock_set_state", p.objs.InetSockSetState},
		{"sys_exit", p.objs.SysExit},
		{"sys_enter", p.objs.SysEnter},
	} {
		l, err := link.AttachRawTracepoint(link.RawTracepointOptions{Name: a.name, Program: a.prog})
		if err != nil {
			p.detach()
			return fmt.Errorf("attach %s: %w", a.name, err)
		}
		p.links = append(p.links, l)
	}
	return nil
}

// Detach unhooks the programs but keeps the maps readable: after it nothing new
// is counted or sent, so a final read agrees with the events drained. The
// counts of every young thread still alive are sent then.
func (p *Probe) Detach() error {
	p.detach()
	if !p.youngTables() {
		return nil
	}
	return p.sweepYoung(2) // every table is old enough
}

// sweepYoung moves the read epoch on by steps and promotes every young
// thread's table that has lived through a whole read: its counts go to the
// lifecycle buffer (young_sweep in tlmon.bpf.c). Sweeps never overlap: two at
// once could both send a table.
func (p *Probe) sweepYoung(steps uint32) error {
	p.sweepMu.Lock()
	defer p.sweepMu.Unlock()
	p.epoch += steps
	if err := p.objs.ReadEpoch.Set(p.epoch); err != nil {
		return fmt.Errorf("set read epoch: %w", err)
	}
	if p.sweep == nil {
		it, err := link.AttachIter(link.IterOptions{Program: p.objs.YoungSweep})
		if err != nil {
			return fmt.Errorf("attach young_sweep: %w", err)
		}
		p.sweep = it
	}
	rd, err := p.sweep.Open()
	if err != nil {
		return fmt.Errorf("run young_sweep: %w", err)
	}
	defer rd.Close()
	if _, err := io.Copy(io.Discard, rd); err != nil { // the iterator runs as it is read
		return fmt.Errorf("run young_sweep: %w", err)
	}
	return nil
}

func (p *Probe) detach() {
	if p.legacy != nil {
		p.legacy.closeKprobes()
	}
	for i := len(p.links) - 1; i >= 0; i-- {
		p.links[i].Close()
	}
	p.links = nil
}

// Close detaches and frees everything. The kernel frees programs asynchronously.
func (p *Probe) Close() error {
	p.detach()
	if p.sweep != nil {
		p.sweep.Close()
	}
	if p.legacy != nil {
		return p.legacy.close() // p.objs holds some of its maps
	}
	return p.objs.Close()
}

// Rung says which rung of the Ladder the probe is on.
func (p *Probe) Rung() Rung { return p.rung }

// Buffer says which buffer carries events: BufferRingbuf or BufferPerf.
func (p *Probe) Buffer() string { return p.rung.Buffer }

// EnterStore says where enter timestamps live: EnterTaskStorage or EnterHash.
func (p *Probe) EnterStore() string { return p.enterStore }

// ProgramIDs lists the kernel ids of the loaded programs, for leftover checks.
func (p *Probe) ProgramIDs() []ebpf.ProgramID {
	var ids []ebpf.ProgramID
	progs := []*ebpf.Program{p.objs.SysEnter, p.objs.SysExit, p.objs.SchedProcessExec, p.objs.SchedProcessExit, p.objs.SchedProcessFork, p.objs.InetSockSetState}
	if l := p.legacy; l != nil {
		progs = slices.Collect(maps.Values(l.progs))
	}
	for _, prog := range progs {
		if info, err := prog.Info(); err == nil {
			if id, ok := info.ID(); ok {
				ids = append(ids, id)
			}
		}
	}
	return ids
}

// bootNow is CLOCK_BOOTTIME in ns: the clock of task start times.
func bootNow() uint64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts)
	return uint64(ts.Nano())
}

// InjectEvent makes the kernel side emit one fork event without a fork, by
// running the fork program on made-up arguments (BPF_PROG_TEST_RUN, 5.10+). It
// is the synthetic producer of tests and benchmarks of the event path.
func (p *Probe) InjectEvent() error {
	if p.legacy != nil {
		return p.notOnThisRung("running a program on made-up arguments")
	}
	var args [2]uint64 // parent and child task pointers: NULL reads as zeros
	_, err := p.objs.SchedProcessFork.Run(&ebpf.RunOptions{Context: args[:]})
	return err
}

// InjectCall makes the kernel side emit the detail event of one call of
// syscall nr returning ret, without the call: it runs the sys_enter and
// sys_exit programs on made-up arguments in the calling thread
// (BPF_PROG_TEST_RUN), through the same path as a real call. The thread must
// stay locked to its OS thread between the two runs, its process be in scope
// and nr's detail be on. The arguments read as zeros, so no path is copied. It
// is the synthetic producer of the benchmarks of the detail-event path.
func (p *Probe) InjectCall(nr int, ret int64) error {
	if p.legacy != nil {
		return p.notOnThisRung("running a program on made-up arguments")
	}
	enter := [2]uint64{0, uint64(nr)} // pt_regs pointer (NULL), syscall number
	if _, err := p.objs.SysEnter.Run(&ebpf.RunOptions{Context: enter[:]}); err != nil {
		return fmt.Errorf("run sys_enter: %w", err)
	}
	exit := [2]uint64{0, uint64(ret)} // pt_regs pointer (NULL), return value
	if _, err := p.objs.SysExit.Run(&ebpf.RunOptions{Context: exit[:]}); err != nil {
		return fmt.Errorf("run sys_exit: %w", err)
	}
	return nil
}

// EnterTime reads the entry record of thread tid: the syscall it is inside and
// when it entered (CLOCK_MONOTONIC ns), or ok false when it is inside none we
// saw enter. Task storage is looked up through a thread pidfd (Linux 6.9+).
func (p *Probe) EnterTime(tid uint32) (nr int, since uint64, ok bool) {
	var rec tlmonEnterRec
	if p.enterStore == EnterHash {
		if err := p.objs.EnterHash.Lookup(tid, &rec); err != nil {
			return 0, 0, false
		}
	} else {
		fd, err := unix.PidfdOpen(int(tid), unix.PIDFD_THREAD)
		if err != nil {
			return 0, 0, false
		}
		defer unix.Close(fd)
		if err := p.objs.EnterStore.Lookup(int32(fd), &rec); err != nil {
			return 0, 0, false
		}
	}
	return int(rec.Nr), rec.Ts, rec.Ts != 0
}

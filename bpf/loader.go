// Package bpf loads tlmon's kernel programs, attaches them, sets their scope and
// filters, and reads what they counted. It is the only package that knows the C
// structs: everything it hands out is a model value. It must not import the
// collector, the aggregator or the ui.
package bpf

import (
	"errors"
	"fmt"
	"os"
	"time"
	"tlmon/syscalls"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/features"
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
	// SampleLatency times hot calls one in 16, each sample standing for 16
	// calls (sample_weight in tlmon.bpf.c): calls and errors stay exact, the
	// latency's mean, total and percentiles become estimates. Rungs 1 and 2.
	SampleLatency bool
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
	config
	fam    family     // the object loaded: modern (rungs 1 and 2) or legacy (3 and 4)
	maps   sharedMaps // fam's, read and written alike on every rung
	reader reader
	// kernelTypes is the kernel's BTF, for the modern object's relocations,
	// while Load tries the rungs (decoded, ~20 MB: not kept after).
	kernelTypes *btf.Cache
	// held says the programs are hooked since the rung's trial but count
	// nothing until Attach, which starts the scope mode heldMode.
	held     bool
	heldMode uint32
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
	// The kernel's BTF, which the modern object's relocations need, is
	// decoded (~10 ms) while the features are probed and the object read. A
	// failure is not kept: the first relocation tries again, and says why.
	kernelTypes := btf.NewCache()
	if rungs[0].Hook == HookRawTP {
		go func() { _, _ = kernelTypes.Kernel() }()
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
			p := &Probe{config: config{rung: r, enterStore: store, opts: opts, ncpu: ncpu}, kernelTypes: kernelTypes}
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
	probe.kernelTypes = nil
	return probe, nil
}

// try loads the programs of the probe's rung and attaches them for a moment,
// with nothing in scope: an error names the feature the kernel lacked, and
// leaves nothing loaded.
func (p *Probe) try() (err error) {
	// The family is chosen here, and only here: by the rung's hook.
	if p.rung.Hook == HookRawTP {
		p.fam, err = newModern(p.config, p.kernelTypes)
	} else {
		p.fam, err = newLegacy(p.config)
	}
	if err != nil {
		return err
	}
	p.maps = p.fam.shared()
	defer func() {
		if err != nil {
			p.Close()
		}
	}()
	if err := p.setScopeMode(scopeNone); err != nil {
		return err
	}
	if err := p.attach(true); err != nil {
		return missing(hookFeatures[p.rung.Hook], err)
	}
	if p.fam.trialHooksAll() {
		// The hooks stay, with nothing in scope until Attach: hooked again at
		// once, the tracepoints would wait for an RCU grace period (~15 ms
		// of every start).
		p.held, p.heldMode = true, scopeAll
		return nil
	}
	p.fam.detach()
	return p.setScopeMode(scopeAll)
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

func firstLines(verr *ebpf.VerifierError) string {
	// The verifier's last lines say why; the whole log is hundreds of lines.
	n := len(verr.Log)
	if n > 3 {
		return fmt.Sprintf("%v: ... %v", verr.Cause, verr.Log[n-3:])
	}
	return verr.Error()
}

// Attach hooks the programs to their tracepoints, or starts the scope of those
// hooked since the trial. Lifecycle hooks go first so no process counted is
// left without a name.
func (p *Probe) Attach() error {
	if p.held {
		p.held = false
		return p.fam.startHooked(p.heldMode)
	}
	return p.attach(false)
}

// attach hooks the programs, or in a trial just enough to prove the rung
// works, and leaves none hooked when it fails.
func (p *Probe) attach(trial bool) error {
	if err := p.fam.attach(trial); err != nil {
		p.fam.detach()
		return err
	}
	return nil
}

// Detach unhooks the programs but keeps the maps readable: after it nothing new
// is counted or sent, so a final read agrees with the events drained. The
// counts of every young thread still alive are sent then.
func (p *Probe) Detach() error {
	p.held = false
	p.fam.detach()
	return p.fam.sweepAll()
}

// Close detaches and frees everything. The kernel frees programs asynchronously.
func (p *Probe) Close() error {
	p.fam.detach()
	return p.fam.close()
}

// Rung says which rung of the Ladder the probe is on.
func (p *Probe) Rung() Rung { return p.rung }

// LatencySampled says whether hot calls are timed one in 16: asked for
// (Options.SampleLatency), on rungs 1 and 2, which alone can.
func (p *Probe) LatencySampled() bool { return p.opts.SampleLatency && p.rung.Hook == HookRawTP }

// Buffer says which buffer carries events: BufferRingbuf or BufferPerf.
func (p *Probe) Buffer() string { return p.rung.Buffer }

// EnterStore says where enter timestamps live: EnterTaskStorage or EnterHash.
func (p *Probe) EnterStore() string { return p.enterStore }

// ProgramIDs lists the kernel ids of the loaded programs, for leftover checks.
func (p *Probe) ProgramIDs() []ebpf.ProgramID {
	var ids []ebpf.ProgramID
	for _, prog := range p.fam.programs() {
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
func (p *Probe) InjectEvent() error { return p.fam.injectEvent() }

// InjectCall makes the kernel side emit the detail event of one call of
// syscall nr returning ret, without the call: it runs the sys_enter and
// sys_exit programs on made-up arguments in the calling thread
// (BPF_PROG_TEST_RUN), through the same path as a real call. The thread must
// stay locked to its OS thread between the two runs, its process be in scope
// and nr's detail be on. The arguments read as zeros, so no path is copied. It
// is the synthetic producer of the benchmarks of the detail-event path.
func (p *Probe) InjectCall(nr int, ret int64) error { return p.fam.injectCall(nr, ret) }

// EnterTime reads the entry record of thread tid: the syscall it is inside and
// when it entered (CLOCK_MONOTONIC ns), or ok false when it is inside none we
// saw enter. Task storage is looked up through a thread pidfd (Linux 6.9+).
func (p *Probe) EnterTime(tid uint32) (nr int, since uint64, ok bool) {
	rec, ok := p.fam.enterRecord(tid)
	if !ok {
		return 0, 0, false
	}
	return int(rec.Nr), rec.Ts, rec.Ts != 0
}

package bpf

import (
	"bufio"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/features"
	"github.com/cilium/ebpf/link"

	"tlmon/internal/tracefs"
	"tlmon/model"
)

// legacy is a probe's object on rungs 3 and 4 (legacy.bpf.c): the object that
// loads on kernels without BTF, and its settings, which live in a map and are
// written whole.
type legacy struct {
	config
	maps     legacyMaps
	progs    map[string]*ebpf.Program // by role: sys_enter, sys_exit, fork, exec, exit
	links    []link.Link              // the hooks but the syscall functions' (kprobes)
	old      bool                     // the _old syscall hooks: no histograms
	settings legacyLegacySettings

	// Rung 4: the syscall functions, the syscalls counted (nil: all) and the
	// kprobe and kretprobe of each syscall hooked now (one pair per syscall
	// counted: each costs its registration, ~10 ms under emulation).
	funcs    []syscallFunction
	forkFunc string // the kernel's fork function, where kprobes see the lifecycle
	enabled  map[int]bool
	trial    bool // hook only the syscalls enabled (a rung's trial)
	kprobes  map[int][2]link.Link
	unprobed []string // functions the kernel would not probe

	noMaxActive bool // the kernel cannot set a kretprobe's room (before 4.12)
	// The returns each of this process's kretprobes missed, by tracefs event
	// (group/name), as last read; and those of kretprobes gone since. Read
	// with the counters and before kretprobes go (a class switched off).
	missMu     sync.Mutex
	misses     map[string]uint64
	missesGone uint64
}

// tracepointOffset reads where field sits in the records of tracepoint
// group/event, from its tracefs format file.
func tracepointOffset(dir, group, event, field string) (uint32, error) {
	f, err := os.Open(filepath.Join(dir, "events", group, event, "format"))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return formatOffset(f, field)
}

// formatOffset finds field in a tracefs format file: lines like
// "field:pid_t child_pid;	offset:20;	size:4;	signed:1;".
func formatOffset(f *os.File, field string) (uint32, error) {
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		decl, rest, ok := strings.Cut(strings.TrimSpace(sc.Text()), ";")
		if !ok || !strings.HasPrefix(decl, "field:") {
			continue
		}
		name := decl[strings.LastIndexAny(decl, " *")+1:]
		if i := strings.IndexByte(name, '['); i >= 0 {
			name = name[:i]
		}
		if name != field {
			continue
		}
		_, off, _ := strings.Cut(rest, "offset:")
		off, _, _ = strings.Cut(off, ";")
		n, err := strconv.ParseUint(strings.TrimSpace(off), 10, 8)
		if err != nil {
			return 0, fmt.Errorf("%s: field %s has no offset below 256: %q", f.Name(), field, sc.Text())
		}
		return uint32(n), nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("%s: no field %s", f.Name(), field)
}

// legacyFixedFields are the tracepoint fields legacy.bpf.c reads at fixed
// offsets; a kernel that moved one is refused rather than misread.
var legacyFixedFields = []struct {
	group, event, field string
	offset              uint32
}{
	{"raw_syscalls", "sys_enter", "id", 8},
	{"raw_syscalls", "sys_enter", "args", 16},
	{"raw_syscalls", "sys_exit", "id", 8},
	{"raw_syscalls", "sys_exit", "ret", 16},
}

// newLegacy loads legacy.bpf.c for c: an error names the features the kernel
// lacked, and leaves nothing loaded.
func newLegacy(c config) (family, error) {
	l := &legacy{config: c}
	if err := l.load(); err != nil {
		return nil, missing(fmt.Sprintf("the BPF features of tlmon's programs for %s (Linux %s)", hookNames[c.rung.Hook], legacySince[c.rung.Hook]), err)
	}
	return l, nil
}

// load loads the object as the kernel takes it, and writes the settings.
func (l *legacy) load() error {
	if l.enterStore != EnterHash {
		return errors.New("rungs 3 and 4 keep entries in a hash (--enter-store hash)")
	}
	dir, err := tracefs.Dir()
	if err != nil {
		return err
	}
	for _, f := range legacyFixedFields {
		off, err := tracepointOffset(dir, f.group, f.event, f.field)
		if err != nil {
			return err
		}
		if off != f.offset {
			return fmt.Errorf("tracepoint %s/%s has %s at offset %d, not %d", f.group, f.event, f.field, off, f.offset)
		}
	}
	s := &l.settings
	s.SelfTgid = l.opts.SelfPID
	s.ScopeMode = scopeAll
	s.TrackLatency = flag[uint32](!l.opts.NoLatency)
	for _, f := range []struct {
		event, field string
		to           *uint32
	}{
		{"sched_process_fork", "child_pid", &s.ForkChildPidOff},
		{"sched_process_exec", "filename", &s.ExecFilenameOff},
		{"sched_process_exec", "old_pid", &s.ExecOldPidOff},
	} {
		if *f.to, err = tracepointOffset(dir, "sched", f.event, f.field); err != nil {
			return err
		}
	}

	// What the kernel has, by trying (a probe creates a map or loads a
	// program); tests ask for what 4.4 has.
	kprobes := l.rung.Hook == HookKprobe
	perCPUMaps := !asOldKernel && features.HaveMapType(ebpf.PerCPUHash) == nil
	tracepointProgs := !(asOldKernel && kprobes) && features.HaveProgramType(ebpf.TracePoint) == nil
	if !kprobes && !tracepointProgs {
		return errors.New("no BPF programs on tracepoints")
	}
	s.LifecycleKprobes = flag[uint32](!tracepointProgs)
	spec, err := loadLegacy()
	if err != nil {
		return fmt.Errorf("read BPF object: %w", err)
	}
	if !perCPUMaps {
		withoutPerCPUMaps(spec)
	}
	// The hooks with histograms, else those without (verifiers before 4.9).
	variants := []bool{false, true}
	if asOldKernel {
		variants = variants[1:]
	}
	for _, old := range variants {
		if err = l.loadVariant(spec, kprobes, old); err == nil {
			break
		}
	}
	if err != nil {
		return loadError(fmt.Sprintf("rung %d", l.rung.Number), err)
	}
	if err := l.putSettings(); err != nil {
		l.close()
		return err
	}
	return nil
}

// asOldKernel makes the tests load the legacy object as on Linux 4.4: plain
// maps, the _old hooks and, on rung 4, the lifecycle from kprobes (rung 3
// keeps its tracepoint programs: it is for 4.7).
var asOldKernel bool

// withoutPerCPUMaps makes the per-CPU maps of spec plain ones, for kernels
// before 4.6: the programs add to every counter atomically, and the
// counters are read as of one CPU.
func withoutPerCPUMaps(spec *ebpf.CollectionSpec) {
	for _, m := range spec.Maps {
		switch m.Type {
		case ebpf.PerCPUArray:
			m.Type = ebpf.Array
		case ebpf.PerCPUHash:
			m.Type = ebpf.Hash
		}
	}
}

// loadVariant loads the maps of spec and the programs of one variant: the
// syscall hooks of the rung (kprobes or tracepoints), with histograms or
// _old, and the lifecycle from the sched tracepoints or, without tracepoint
// programs, from kprobes (no exec program: exec's return sends it).
func (l *legacy) loadVariant(spec *ebpf.CollectionSpec, kprobes, old bool) error {
	hook, suffix := "tp_sys_", ""
	if kprobes {
		hook = "kp_sys_"
	}
	if old {
		suffix = "_old"
	}
	roles := map[string]string{"sys_enter": hook + "enter" + suffix, "sys_exit": hook + "exit" + suffix,
		"fork": "tp_sched_fork", "exec": "tp_sched_exec", "exit": "tp_sched_exit"}
	if l.settings.LifecycleKprobes != 0 {
		roles["fork"], roles["exit"] = "kp_fork_return", "kp_do_exit"
		delete(roles, "exec")
	}
	wanted := slices.Collect(maps.Values(roles))
	spec = spec.Copy()
	for name := range spec.Programs {
		if !slices.Contains(wanted, name) {
			delete(spec.Programs, name)
		}
	}
	coll, err := ebpf.NewCollection(spec)
	if err != nil {
		return err
	}
	defer coll.Close()
	if err := coll.Assign(&l.maps); err != nil {
		return err
	}
	l.progs = map[string]*ebpf.Program{}
	for role, name := range roles {
		l.progs[role] = coll.DetachProgram(name)
	}
	l.old = old
	return nil
}

// shared returns the legacy object's maps that the modern object has too.
// Rungs 3 and 4 have one buffer, and no detail.
func (l *legacy) shared() sharedMaps {
	m := &l.maps
	return sharedMaps{
		SysStats: m.SysStats, Unattributed: m.Unattributed, ProcStats: m.ProcStats, ErrnoStats: m.ErrnoStats,
		ProcHists: m.ProcHists, ThreadStats: m.ThreadStats, Counters: m.Counters,
		EnterHash: m.EnterHash, ScopePids: m.ScopePids,
		Lifecycle: m.Events,
	}
}

func (l *legacy) programs() []*ebpf.Program { return slices.Collect(maps.Values(l.progs)) }

// close frees the programs and maps.
func (l *legacy) close() error {
	for _, prog := range l.progs {
		prog.Close()
	}
	return l.maps.Close()
}

// putSettings writes the settings to the kernel; the programs read them at
// every call.
func (l *legacy) putSettings() error {
	if err := l.maps.Settings.Put(uint32(0), &l.settings); err != nil {
		return fmt.Errorf("write settings: %w", err)
	}
	return nil
}

// The settings: each writes them all, as one map value. Those that go with
// a scope are written with it (startScope).

func (l *legacy) setScopeMode(mode uint32) error {
	l.settings.ScopeMode = mode
	return l.putSettings()
}

func (l *legacy) startScope(mode uint32) error {
	l.settings.AdoptTgid = 0 // only adoptChildren (ScopeOwnChildren) adopts
	if err := l.setScopeMode(mode); err != nil {
		return fmt.Errorf("set scope: %w", err)
	}
	return nil
}

func (l *legacy) setFollowChildren(follow bool) error {
	l.settings.FollowChildren = flag[uint32](follow)
	return nil
}

func (l *legacy) adoptChildren(tgid uint32) error {
	l.settings.AdoptTgid = tgid
	l.settings.FollowChildren = 1
	return l.setScopeMode(scopePIDs)
}

func (l *legacy) setFailedOnly(on bool) error {
	l.settings.FailedOnly = flag[uint32](on)
	return l.putSettings()
}

func (l *legacy) setThreadTgid(pid uint32) error {
	l.settings.ThreadTgid = pid
	return l.putSettings()
}

// What only the modern object does: asking for none of it is no error.

func (l *legacy) cgroupScope() bool { return false }
func (l *legacy) detail() bool      { return false }

func (l *legacy) scopeCgroup(string) error { return l.notOnThisRung("a cgroup scope") }
func (l *legacy) awaitLaunch() error       { return l.notOnThisRung("a cgroup scope") }

func (l *legacy) setDetail(nrs []int, tcp bool) error {
	if len(nrs) > 0 || tcp {
		return l.notOnThisRung("detail events")
	}
	return nil
}

// setTrace refuses a process to trace: tracing sends detail events, which
// the legacy object has none of.
func (l *legacy) setTrace(id model.ProcID) error {
	if id.PID != 0 {
		return fmt.Errorf("tracing a process sends its calls in detail, which needs rung 1 or 2 (a kernel with BTF, Linux 5.10 or newer); this is rung %d", l.rung.Number)
	}
	return nil
}

func (l *legacy) setSlow(d time.Duration) error {
	if d > 0 {
		return l.notOnThisRung("slow-call events")
	}
	return nil
}

func (l *legacy) injectEvent() error {
	return l.notOnThisRung("running a program on made-up arguments")
}

func (l *legacy) injectCall(int, int64) error {
	return l.notOnThisRung("running a program on made-up arguments")
}

// The counters are all in the maps, the entry records in a hash.

func (l *legacy) fold() error     { return nil }
func (l *legacy) sweepAll() error { return nil }

func (l *legacy) enterRecord(tid uint32) (tlmonEnterRec, bool) {
	return lookupEnterRec(l.maps.EnterHash, tid)
}

// attach hooks the programs of rung 3 (syscall tracepoints) or 4
// (kprobes), and first those that see processes come and go.
func (l *legacy) attach(trial bool) error {
	if trial {
		// One kprobe pair says whether kprobes work: hooking every syscall
		// would cost seconds under emulation.
		getppid, _ := l.opts.Table.Lookup("getppid")
		l.enabled, l.trial = map[int]bool{getppid.Nr: true}, true
		defer func() { l.enabled, l.trial = nil, false }()
	}
	if l.settings.LifecycleKprobes != 0 {
		if err := l.attachLifecycleKprobes(); err != nil {
			return err
		}
	} else if err := l.attachTracepoints("sched", map[string]*ebpf.Program{
		"sched_process_fork": l.progs["fork"], "sched_process_exec": l.progs["exec"], "sched_process_exit": l.progs["exit"],
	}); err != nil {
		return err
	}
	if !trial {
		l.seedProcStarts()
	}
	if l.rung.Hook == HookKprobe {
		return l.syncKprobes()
	}
	return l.attachTracepoints("raw_syscalls", map[string]*ebpf.Program{"sys_exit": l.progs["sys_exit"], "sys_enter": l.progs["sys_enter"]})
}

// trialHooksAll: a trial hooks one kprobe pair (see attach).
func (l *legacy) trialHooksAll() bool { return false }

func (l *legacy) startHooked(uint32) error { return errors.New("legacy programs are hooked by Attach") }

// detach unhooks every program.
func (l *legacy) detach() {
	l.closeKprobes()
	for i := len(l.links) - 1; i >= 0; i-- {
		l.links[i].Close()
	}
	l.links = nil
}

// attachTracepoints attaches each program to its tracepoint of group.
func (l *legacy) attachTracepoints(group string, progs map[string]*ebpf.Program) error {
	for name, prog := range progs {
		tp, err := link.Tracepoint(group, name, prog, nil)
		if err != nil {
			return fmt.Errorf("attach %s: %w", name, err)
		}
		l.links = append(l.links, tp)
	}
	return nil
}

// seedProcStarts gives the kernel the start time of every process already
// running, from /proc, so that their counts and events carry the identity
// the collector knows them by. The fork tracepoint is attached first: a
// process forked since has its start from it, which this does not overwrite.
// (The kernel side's clock is CLOCK_MONOTONIC, /proc's CLOCK_BOOTTIME: they
// agree until a suspend.)
func (l *legacy) seedProcStarts() {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	for _, e := range entries {
		pid, err := strconv.ParseUint(e.Name(), 10, 32)
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		if _, _, ticks, err := model.ParseProcStat(stat); err == nil {
			ns := ticks * (1e9 / model.ClockTicksPerSecond)
			l.maps.ProcStarts.Update(uint32(pid), ns, ebpf.UpdateNoExist)
		}
	}
}

// setSyscallFilter counts only the syscalls enabled (nil: all); on rung 4
// while attached it hooks and unhooks their functions to match.
func (l *legacy) setSyscallFilter(enabled []int, disabled *[MaxSyscalls]uint8) error {
	if err := putEach(l.maps.NrDisabled, disabled[:]); err != nil {
		return fmt.Errorf("set syscall filter: %w", err)
	}
	l.enabled = nil
	if enabled != nil {
		l.enabled = make(map[int]bool, len(enabled))
		for _, nr := range enabled {
			l.enabled[nr] = true
		}
	}
	if l.kprobes != nil && len(l.links) > 0 {
		return l.syncKprobes()
	}
	return nil
}

// putEach writes vals to the array m, the value of key i at i: in one call
// where the kernel has batch operations (5.6).
func putEach[V any](m *ebpf.Map, vals []V) error {
	keys := make([]uint32, len(vals))
	for i := range keys {
		keys[i] = uint32(i)
	}
	_, err := m.BatchUpdate(keys, vals, nil)
	if !errors.Is(err, ebpf.ErrNotSupported) {
		return err
	}
	for i := range vals {
		if err := m.Put(keys[i], vals[i]); err != nil {
			return err
		}
	}
	return nil
}

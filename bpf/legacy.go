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

// detach unhooks every program.
func (l *legacy) detach() {
	l.closeKprobes()
	for i := len(l.links) - 1; i >= 0; i-- {
		l.links[i].Close()
	}
	l.links = nil
}

// attachLifecycleKprobes hooks do_exit and the return of the kernel's fork
// function, where there are no tracepoint programs.
func (l *legacy) attachLifecycleKprobes() error {
	if err := l.findSyscallFunctions(l.opts.Table); err != nil {
		return err
	}
	if l.forkFunc == "" {
		return errors.New("no fork function (kernel_clone, _do_fork, do_fork) in /proc/kallsyms")
	}
	exit, err := link.Kprobe("do_exit", l.progs["exit"], &link.KprobeOptions{TraceFSPrefix: kprobeGroup})
	if err != nil {
		return fmt.Errorf("kprobe do_exit: %w", err)
	}
	l.links = append(l.links, exit)
	fork, err := l.kretprobe(l.forkFunc, l.progs["fork"])
	if err != nil {
		return fmt.Errorf("kretprobe %s: %w", l.forkFunc, err)
	}
	l.links = append(l.links, fork)
	return nil
}

// kretprobe hooks prog to the return of fn, with room for
// retprobeMaxActive calls where the kernel can set it (4.12).
func (l *legacy) kretprobe(fn string, prog *ebpf.Program) (link.Link, error) {
	opts := &link.KprobeOptions{TraceFSPrefix: kprobeGroup, RetprobeMaxActive: retprobeMaxActive}
	if l.noMaxActive {
		opts.RetprobeMaxActive = 0
	}
	krp, err := link.Kretprobe(fn, prog, opts)
	if err != nil && opts.RetprobeMaxActive != 0 && errors.Is(err, link.ErrNotSupported) {
		l.noMaxActive, opts.RetprobeMaxActive = true, 0
		krp, err = link.Kretprobe(fn, prog, opts)
	}
	return krp, err
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

// kprobeGroupPrefix starts the tracefs group of every kprobe event tlmon
// makes; the group goes on with the maker's PID. Such events outlive a killed
// tlmon (the kretprobes always: they are made through tracefs to set their
// room; every probe before 4.17), and the next tlmon removes them.
const kprobeGroupPrefix = "tlmon_"

// kprobeGroup is this process's group prefix (cilium/ebpf appends a random
// part to it).
var kprobeGroup = fmt.Sprintf("%s%d", kprobeGroupPrefix, os.Getpid())

// retprobeMaxActive is how many calls of one syscall function a kretprobe
// follows at once (the kernel's default is 2 per CPU, at least 10): calls
// past it are still counted, at entry, but their return is missed (and
// counted as such). Blocking calls (read, wait4, poll) need room.
var retprobeMaxActive = 64

// findSyscallFunctions finds the kernel function of every syscall of the
// table, once, and tells the programs which address is which syscall.
func (l *legacy) findSyscallFunctions(t *model.Table) error {
	if l.funcs != nil {
		return nil
	}
	removeStaleKprobes()
	funcs, ptregs, forkFunc, err := syscallFunctions(t.All())
	if err != nil {
		return err
	}
	l.settings.ArgsInPtregs = flag[uint32](ptregs)
	if err := l.putSettings(); err != nil {
		return err
	}
	for _, f := range funcs {
		// The probe reports the function's address plus the breakpoint
		// (1 byte), plus an endbr64 (4 bytes) where the kernel put the
		// probe after one.
		for _, ip := range []uint64{f.addr + 1, f.addr + 5} {
			if err := l.maps.KprobeNrs.Put(ip, uint32(f.nr)); err != nil {
				return fmt.Errorf("map %s: %w", f.symbol, err)
			}
		}
	}
	l.funcs, l.forkFunc = funcs, forkFunc
	return nil
}

// syncKprobes hooks the function of every syscall counted and unhooks the
// others. A function the kernel refuses to probe is left out (and listed);
// only a kernel that probes none fails.
func (l *legacy) syncKprobes() error {
	if err := l.findSyscallFunctions(l.opts.Table); err != nil {
		return err
	}
	if l.kprobes == nil {
		l.kprobes = map[int][2]link.Link{}
	}
	opts := &link.KprobeOptions{TraceFSPrefix: kprobeGroup}
	l.countMisses() // before their kretprobes go
	var firstErr error
	l.unprobed = l.unprobed[:0]
	for _, f := range l.funcs {
		pair, hooked := l.kprobes[f.nr]
		// The lifecycle's syscalls are always seen (only recorded when
		// not counted): a clone's flags tell a thread from a process, an
		// exec's return is its event where kprobes see the lifecycle.
		want := l.enabled == nil || l.enabled[f.nr] || !l.trial && lifecycleSyscalls[f.name]
		if hooked && !want {
			pair[0].Close()
			pair[1].Close()
			delete(l.kprobes, f.nr)
		}
		if hooked || !want {
			continue
		}
		kp, err := link.Kprobe(f.symbol, l.progs["sys_enter"], opts)
		if err == nil {
			var krp link.Link = noReturn{}
			if f.name != "exit" && f.name != "exit_group" { // they never return
				krp, err = l.kretprobe(f.symbol, l.progs["sys_exit"])
			}
			if err == nil {
				l.kprobes[f.nr] = [2]link.Link{kp, krp}
				continue
			}
			kp.Close()
		}
		l.unprobed = append(l.unprobed, f.symbol)
		if firstErr == nil {
			firstErr = fmt.Errorf("kprobe %s: %w", f.symbol, err)
		}
	}
	if len(l.kprobes) == 0 && firstErr != nil {
		return firstErr
	}
	return nil
}

// noReturn stands for the kretprobe of a syscall that never returns.
type noReturn struct{ link.Link }

func (noReturn) Close() error { return nil }

// closeKprobes unhooks every syscall function.
func (l *legacy) closeKprobes() {
	for nr, pair := range l.kprobes {
		pair[0].Close()
		pair[1].Close()
		delete(l.kprobes, nr)
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

// syscallFunction is a syscall's function in the kernel.
type syscallFunction struct {
	nr     int
	name   string // the syscall's
	symbol string
	addr   uint64
}

// lifecycleSyscalls are hooked on rung 4 whether counted or not.
var lifecycleSyscalls = map[string]bool{
	"clone": true, "clone3": true, "fork": true, "vfork": true, "execve": true, "execveat": true, "exit_group": true,
}

// forkFunctions are the names the kernel's fork function had: kernel_clone
// (5.10), _do_fork (4.2), do_fork.
var forkFunctions = []string{"kernel_clone", "_do_fork", "do_fork"}

// syscallFunctions finds in /proc/kallsyms the function of each syscall:
// __x64_sys_NAME where syscalls go through wrappers that take the user's
// pt_regs (4.17+, ptregs true), else SyS_NAME or sys_NAME; and the kernel's
// fork function.
func syscallFunctions(calls []model.Syscall) (funcs []syscallFunction, ptregs bool, forkFunc string, err error) {
	f, err := os.Open("/proc/kallsyms")
	if err != nil {
		return nil, false, "", err
	}
	defer f.Close()
	addrs := map[string]uint64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 3 { // module symbols have a 4th field
			continue
		}
		sym := fields[2]
		if !strings.HasPrefix(sym, "__x64_sys_") && !strings.HasPrefix(sym, "SyS_") && !strings.HasPrefix(sym, "sys_") &&
			!slices.Contains(forkFunctions, sym) {
			continue
		}
		a, err := strconv.ParseUint(fields[0], 16, 64)
		if err != nil || a == 0 {
			continue
		}
		addrs[sym] = a
	}
	if err := sc.Err(); err != nil {
		return nil, false, "", err
	}
	if len(addrs) == 0 {
		return nil, false, "", errors.New("no syscall functions in /proc/kallsyms (addresses hidden? kptr_restrict)")
	}
	_, ptregs = addrs["__x64_sys_getppid"]
	for _, c := range calls {
		for _, sym := range []string{"__x64_sys_" + c.Name, "SyS_" + c.Name, "sys_" + c.Name} {
			if a, ok := addrs[sym]; ok {
				funcs = append(funcs, syscallFunction{c.Nr, c.Name, sym, a})
				break
			}
		}
	}
	for _, fn := range forkFunctions {
		if _, ok := addrs[fn]; ok {
			return funcs, ptregs, fn, nil
		}
	}
	return funcs, ptregs, "", nil
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

// removeStaleKprobes removes the tracefs kprobe events that a tlmon no
// longer running left (another's, running, are left alone).
func removeStaleKprobes() {
	dir, err := tracefs.Dir()
	if err != nil {
		return
	}
	b, err := os.ReadFile(filepath.Join(dir, "kprobe_events"))
	if err != nil {
		return
	}
	for _, e := range parseKprobeEvents(string(b)) {
		if e.stale() {
			writeKprobeEvents("-:" + e.group + "/" + e.name)
		}
	}
}

// writeKprobeEvents appends a definition (or a "-:" removal) to tracefs's
// kprobe_events: each write is one command, without touching the others.
func writeKprobeEvents(line string) error {
	dir, err := tracefs.Dir()
	if err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(dir, "kprobe_events"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(line + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// kprobeEvent is a line of tracefs's kprobe_events:
// "r64:tlmon_812_1a2b3c4d5e6f7a8b/__x64_sys_read __x64_sys_read".
type kprobeEvent struct {
	ret         bool
	group, name string
}

func parseKprobeEvents(text string) []kprobeEvent {
	var events []kprobeEvent
	for _, line := range strings.Split(text, "\n") {
		def, _, _ := strings.Cut(line, " ")
		kind, event, ok := strings.Cut(def, ":")
		group, name, ok2 := strings.Cut(event, "/")
		if !ok || !ok2 || kind == "" {
			continue
		}
		events = append(events, kprobeEvent{ret: kind[0] == 'r', group: group, name: name})
	}
	return events
}

// stale says whether e is a tlmon's whose maker is gone: its group is
// "tlmon_PID_random" (or an older "tlmon_random").
func (e kprobeEvent) stale() bool {
	rest, ok := strings.CutPrefix(e.group, kprobeGroupPrefix)
	if !ok {
		return false
	}
	pid, _, _ := strings.Cut(rest, "_")
	if _, err := strconv.ParseUint(pid, 10, 32); err != nil {
		return true
	}
	_, err := os.Stat("/proc/" + pid)
	return err != nil
}

// returnsMissed is how many returns the kretprobes of this probe missed
// since it loaded: 0 off rung 4.
func (l *legacy) returnsMissed() uint64 {
	if l.rung.Hook != HookKprobe {
		return 0
	}
	l.countMisses()
	l.missMu.Lock()
	defer l.missMu.Unlock()
	n := l.missesGone
	for _, m := range l.misses {
		n += m
	}
	return n
}

// countMisses reads the misses of this process's kretprobes from tracefs:
// kprobe_profile lists every kprobe event, in kprobe_events's order, by name
// (without group) with its hits and misses. A kretprobe no longer listed
// keeps the misses last read of it.
func (l *legacy) countMisses() {
	dir, err := tracefs.Dir()
	if err != nil {
		return
	}
	events, err1 := os.ReadFile(filepath.Join(dir, "kprobe_events"))
	profile, err2 := os.ReadFile(filepath.Join(dir, "kprobe_profile"))
	if err1 != nil || err2 != nil {
		return
	}
	now := map[string]uint64{}
	lines := strings.Split(strings.TrimSpace(string(profile)), "\n")
	for i, e := range parseKprobeEvents(string(events)) {
		if !e.ret || !strings.HasPrefix(e.group, kprobeGroup+"_") || i >= len(lines) {
			continue
		}
		f := strings.Fields(lines[i])
		if len(f) != 3 || f[0] != e.name {
			return // the list changed between the reads: next time
		}
		if n, err := strconv.ParseUint(f[2], 10, 64); err == nil {
			now[e.group+"/"+e.name] = n
		}
	}
	l.missMu.Lock()
	defer l.missMu.Unlock()
	for k, n := range l.misses {
		if _, ok := now[k]; !ok {
			l.missesGone += n
		}
	}
	l.misses = now
}

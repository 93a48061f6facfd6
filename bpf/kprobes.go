package bpf

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"tlmon/internal/tracefs"
	"tlmon/syscalls"
)

// Rung 4 hooks kprobes on the kernel's syscall functions, found in
// /proc/kallsyms, one pair per syscall counted, and, where the kernel has no
// tracepoint programs (before 4.7), on do_exit and the fork function for the
// lifecycle. Its kprobe events live in tracefs: a killed tlmon's are removed
// at the next start, and the kretprobes' misses are read from there.

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
func (l *legacy) findSyscallFunctions(t *syscalls.Table) error {
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
func syscallFunctions(calls []syscalls.Syscall) (funcs []syscallFunction, ptregs bool, forkFunc string, err error) {
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

package model

import (
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// MaxSyscallNr bounds syscall numbers: the kernel-side per-syscall arrays have this
// many slots, so every syscall tlmon counts has a number below it.
const MaxSyscallNr = 512

// Class is a set of syscall classes, after strace's %file, %desc, ... A syscall may
// be in several classes; one in none of them is ClassOther.
type Class uint16

const (
	ClassFile    Class = 1 << iota // takes a file name: open, openat, stat, unlink, execve, ...
	ClassDesc                      // operates on descriptors: read, write, close, poll, epoll_*, fcntl, dup, pipe, ...
	ClassNetwork                   // socket, connect, accept, sendto, recvmsg, setsockopt, ...
	ClassProcess                   // fork, clone, clone3, execve, exit, exit_group, wait4, kill, ...
	ClassMemory                    // mmap, munmap, mprotect, brk, madvise, mremap, ...
	ClassSignal                    // kill, tgkill, rt_sigaction, rt_sigprocmask, rt_sigreturn, sigaltstack, ...
	ClassIPC                       // SysV IPC: msgget, semop, shmat, ...
	ClassTime                      // clocks, sleeps and timers: clock_gettime, nanosleep, timer_*, timerfd_*, ...
	ClassCreds                     // setuid, getuid, capget, setresuid, ...
	ClassOther                     // in no class above

	// ClassAll is every class.
	ClassAll = ClassOther<<1 - 1
)

// AllClasses lists every class in bit order; ClassNames holds their names, in the
// same order.
var (
	AllClasses = []Class{ClassFile, ClassDesc, ClassNetwork, ClassProcess, ClassMemory, ClassSignal, ClassIPC, ClassTime, ClassCreds, ClassOther}
	ClassNames = []string{"file", "desc", "network", "process", "memory", "signal", "ipc", "time", "creds", "other"}
)

// classAliases are further names ParseClass accepts.
var classAliases = map[string]Class{"net": ClassNetwork, "proc": ClassProcess, "mem": ClassMemory, "clock": ClassTime}

// String gives the names of the classes in c, comma-separated in bit order, such
// as "file,desc"; bits that name no class are appended in hex. The empty set is "".
func (c Class) String() string {
	var b strings.Builder
	for i, cl := range AllClasses {
		if c&cl == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(ClassNames[i])
		c &^= cl
	}
	if c != 0 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%#x", uint16(c))
	}
	return b.String()
}

// ParseClass parses a class name ("file", "desc", "network" or "net", "process"
// or "proc", "memory" or "mem", "signal", "ipc", "time" or "clock", "creds",
// "other"), case-insensitively and with an optional leading "%", or a
// comma-separated list of them such as Class.String gives.
func ParseClass(s string) (Class, error) {
	var c Class
	for _, part := range strings.Split(s, ",") {
		name := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(part), "%"))
		cl, ok := classAliases[name]
		if i := slices.Index(ClassNames, name); i >= 0 {
			cl, ok = AllClasses[i], true
		}
		if !ok {
			return 0, fmt.Errorf("unknown syscall class %q", strings.TrimSpace(part))
		}
		c |= cl
	}
	return c, nil
}

// Syscall is one syscall of an architecture.
type Syscall struct {
	Nr      int
	Name    string
	Classes Class
}

// Table holds the syscalls of one architecture. It is immutable and safe for
// concurrent use.
type Table struct {
	arch   string
	all    []Syscall      // sorted by Nr
	byNr   []Syscall      // indexed by Nr; Name is "" where no syscall has the number
	byName map[string]int // index into all
}

func newTable(arch string, list []Syscall) *Table {
	t := &Table{arch: arch, all: slices.Clone(list), byName: make(map[string]int, len(list))}
	slices.SortFunc(t.all, func(a, b Syscall) int { return a.Nr - b.Nr })
	if n := len(t.all); n > 0 {
		t.byNr = make([]Syscall, t.all[n-1].Nr+1)
	}
	for i, s := range t.all {
		t.byNr[s.Nr] = s
		t.byName[s.Name] = i
	}
	return t
}

var tables = map[string]func() *Table{
	"amd64": sync.OnceValue(func() *Table { return newTable("amd64", syscallsAMD64) }),
	"arm64": sync.OnceValue(func() *Table { return newTable("arm64", syscallsARM64) }),
}

// TableFor returns the syscall table of a Go architecture name: "amd64" or
// "arm64". Every call for one architecture returns the same table.
func TableFor(goarch string) (*Table, error) {
	if f, ok := tables[goarch]; ok {
		return f(), nil
	}
	return nil, fmt.Errorf("no syscall table for architecture %q (have amd64, arm64)", goarch)
}

var hostTable = sync.OnceValue(func() *Table {
	if t, err := TableFor(runtime.GOARCH); err == nil {
		return t
	}
	return newTable(runtime.GOARCH, nil)
})

// HostTable returns the table of the architecture the program runs on. On an
// architecture without a table it returns an empty one, whose Name gives
// "syscall_N" for every number.
func HostTable() *Table { return hostTable() }

// Arch returns the Go architecture name of the table.
func (t *Table) Arch() string { return t.arch }

func (t *Table) get(nr int) (Syscall, bool) {
	if nr < 0 || nr >= len(t.byNr) || t.byNr[nr].Name == "" {
		return Syscall{}, false
	}
	return t.byNr[nr], true
}

// Name returns the name of syscall nr, or "syscall_<nr>" for a number the table
// does not know; CompatNr, where every table counts the calls of 32-bit tasks,
// is CompatName.
func (t *Table) Name(nr int) string {
	if nr == CompatNr {
		return CompatName
	}
	if s, ok := t.get(nr); ok {
		return s.Name
	}
	return "syscall_" + strconv.Itoa(nr)
}

// Classes returns the classes of syscall nr; ClassOther for an unknown number
// and for CompatNr.
func (t *Table) Classes(nr int) Class {
	if nr == CompatNr {
		return ClassOther
	}
	if s, ok := t.get(nr); ok {
		return s.Classes
	}
	return ClassOther
}

// Lookup finds a syscall by its (lowercase) name.
func (t *Table) Lookup(name string) (Syscall, bool) {
	i, ok := t.byName[name]
	if !ok {
		return Syscall{}, false
	}
	return t.all[i], true
}

// MaxNr returns the highest syscall number the table knows, or -1 for an empty
// table.
func (t *Table) MaxNr() int { return len(t.byNr) - 1 }

// All returns every syscall of the table, sorted by number. The slice is the
// caller's.
func (t *Table) All() []Syscall { return slices.Clone(t.all) }

// ParseSyscallList resolves a list of syscall selectors against t (nil means
// HostTable()) and returns the selected numbers, sorted and without duplicates.
// A selector is a syscall name ("openat"), a number below MaxSyscallNr ("257" or
// "syscall_257", known to the table or not), or a class prefixed by "%"
// ("%file", see ParseClass) standing for every syscall of the table in that
// class. Items may themselves be comma-separated lists; blank items are skipped.
func ParseSyscallList(t *Table, list []string) ([]int, error) {
	if t == nil {
		t = HostTable()
	}
	nrs := []int{}
	for _, item := range list {
		for _, sel := range strings.Split(item, ",") {
			sel = strings.TrimSpace(sel)
			switch {
			case sel == "":
				continue
			case strings.HasPrefix(sel, "%"):
				c, err := ParseClass(sel)
				if err != nil {
					return nil, err
				}
				for _, s := range t.all {
					if s.Classes&c != 0 {
						nrs = append(nrs, s.Nr)
					}
				}
				continue
			}
			num := strings.TrimPrefix(sel, "syscall_")
			if nr, err := strconv.Atoi(num); err == nil {
				if nr < 0 || nr >= MaxSyscallNr {
					return nil, fmt.Errorf("syscall number %d out of range [0, %d)", nr, MaxSyscallNr)
				}
				nrs = append(nrs, nr)
				continue
			}
			s, ok := t.Lookup(strings.ToLower(sel))
			if !ok {
				return nil, fmt.Errorf("unknown syscall %q", sel)
			}
			nrs = append(nrs, s.Nr)
		}
	}
	slices.Sort(nrs)
	return slices.Compact(nrs), nil
}

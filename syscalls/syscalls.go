// Package syscalls is tlmon's knowledge of Linux system calls: the tables of
// numbers, names and classes per architecture (generated from x/sys/unix),
// the argument specs that say what the kernel copies for detail, the
// strace-style formatter of a call, and errno and signal names (x/sys/unix's,
// plus the kernel's restart codes). It does no I/O; it imports only model.
package syscalls

import (
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"tlmon/model"
)

// Syscall is one syscall of an architecture.
type Syscall struct {
	Nr      int
	Name    string
	Classes model.Class
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
// does not know; model.CompatNr, where every table counts the calls of 32-bit tasks,
// is model.CompatName.
func (t *Table) Name(nr int) string {
	if nr == model.CompatNr {
		return model.CompatName
	}
	if s, ok := t.get(nr); ok {
		return s.Name
	}
	return "syscall_" + strconv.Itoa(nr)
}

// Classes returns the classes of syscall nr; model.ClassOther for an unknown number
// and for model.CompatNr.
func (t *Table) Classes(nr int) model.Class {
	if nr == model.CompatNr {
		return model.ClassOther
	}
	if s, ok := t.get(nr); ok {
		return s.Classes
	}
	return model.ClassOther
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
// A selector is a syscall name ("openat"), a number below model.MaxSyscallNr ("257" or
// "syscall_257", known to the table or not), or a class prefixed by "%"
// ("%file", see model.ParseClass) standing for every syscall of the table in that
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
				c, err := model.ParseClass(sel)
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
				if nr < 0 || nr >= model.MaxSyscallNr {
					return nil, fmt.Errorf("syscall number %d out of range [0, %d)", nr, model.MaxSyscallNr)
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

package model

import (
	"fmt"
	"slices"
	"strings"
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

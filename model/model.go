// Package model is tlmon's shared vocabulary: the types that flow between
// packages (syscall classes, process identity, lifecycle and detail events, the
// counter deltas from the collector to the aggregator, snapshots, meta) and
// the escaping of untrusted text. What a syscall is (numbers, names, arguments,
// errno and signal names, strace notation) is package syscalls'. It does no
// I/O and imports nothing of tlmon's.
package model

import (
	"bytes"
	"fmt"
	"strconv"
	"time"
)

// ClockTicksPerSecond is USER_HZ, the unit of /proc/PID/stat's start time. The
// kernel reports start times in nanoseconds since boot; both are turned into ticks
// so a process read from /proc and one named by a kernel event get one identity.
const ClockTicksPerSecond = 100

// NsToTicks converts a boot-time nanosecond timestamp to clock ticks since boot.
func NsToTicks(ns uint64) uint64 { return ns / (1e9 / ClockTicksPerSecond) }

// ProcID identifies a process across PID reuse: the PID (thread-group id) and its
// start time in clock ticks since boot, as /proc/PID/stat field 22 gives it.
type ProcID struct {
	PID   uint32
	Start uint64
}

// EventKind tells lifecycle events apart.
type EventKind uint8

const (
	EventExec EventKind = iota + 1
	EventFork
	EventExit
)

func (k EventKind) String() string {
	switch k {
	case EventExec:
		return "exec"
	case EventFork:
		return "fork"
	case EventExit:
		return "exit"
	case EventCounts:
		return "counts"
	}
	return "unknown"
}

// CommLen and FilenameLen are the fixed sizes of the strings a lifecycle event
// carries; the kernel truncates longer ones.
const (
	CommLen     = 16
	FilenameLen = 256
)

// Event is one lifecycle event from the kernel. It holds fixed-size arrays rather
// than strings so that the collector can decode into one reused value without
// allocating; call Comm() or Filename() to get strings when they are kept.
type Event struct {
	Kind EventKind
	// Time is the kernel's monotonic clock (CLOCK_MONOTONIC, ns) at the event.
	Time uint64
	// Proc is the process the event is about: for a fork, the new child.
	Proc ProcID
	TID  uint32
	// Parent is the parent process (for fork, the forking process).
	Parent   ProcID
	CgroupID uint64
	// ExitCode is the exit status (0-255) and ExitSignal the killing signal (0 if
	// none), for exit events.
	ExitCode   uint8
	ExitSignal uint8
	CoreDumped bool

	CommBytes     [CommLen]byte
	FilenameBytes [FilenameLen]byte

	// Call is the detail of an EventSyscall, TCP of an EventTCP (see detail.go),
	// Counts of an EventCounts.
	Call   CallData
	TCP    TCPData
	Counts ThreadCounts
}

// EventCounts carries what a young thread counted (Event.Counts): threads of
// processes born after tlmon started count in a table of their own in the
// kernel, sent when the thread exits or once it has lived through a whole read
// of the counters, instead of in the per-process maps, which process churn
// would fill. Proc and TID say whose counts they are.
const EventCounts EventKind = 6

// Sizes of a young thread's table: syscalls and (syscall, errno) pairs beyond
// them are counted in the per-process maps.
const (
	YoungSyscalls = 64
	YoungErrnos   = 16
)

// ThreadCounts is a young thread's counts since its previous EventCounts:
// deltas, to be added. It has no latency histogram: its calls' latencies are
// in the system-wide histograms only.
type ThreadCounts struct {
	// Final says the thread exited: no more counts come from it.
	Final    bool
	NSyscall int
	Syscalls [YoungSyscalls]SyscallCounts
	NErrno   int
	Errnos   [YoungErrnos]ErrnoCounts
	IO       IOCounts
}

// SyscallCounts are the counts of syscall Nr.
type SyscallCounts struct {
	Nr uint16
	Counts
}

// ErrnoCounts counts the errno Errno of syscall Nr.
type ErrnoCounts struct {
	Nr, Errno uint16
	Count     uint64
}

// Comm returns the task name carried by the event (an allocation: call it only for
// what is kept).
func (e *Event) Comm() string { return cString(e.CommBytes[:]) }

// Filename returns the executed file of an exec event.
func (e *Event) Filename() string { return cString(e.FilenameBytes[:]) }

func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// Counts are the counters kept per syscall, system-wide or per process. Calls are
// counted at syscall entry; Errors, the latency sum and the number of latency
// samples at exit. Latency is wall time from entry to exit, including time blocked.
type Counts struct {
	Calls    uint64
	Errors   uint64
	LatSumNs uint64
	LatCount uint64
}

// Add adds o to c.
func (c *Counts) Add(o Counts) {
	c.Calls += o.Calls
	c.Errors += o.Errors
	c.LatSumNs += o.LatSumNs
	c.LatCount += o.LatCount
}

// Sub subtracts o from c (used for baselines).
func (c *Counts) Sub(o Counts) {
	c.Calls -= o.Calls
	c.Errors -= o.Errors
	c.LatSumNs -= o.LatSumNs
	c.LatCount -= o.LatCount
}

// Since is c minus prev, for a counter read twice: c whole when any of
// prev's counts is above c's (the counter was deleted and made anew, or
// cleared, in between).
func (c Counts) Since(prev Counts) Counts {
	if prev.Calls > c.Calls || prev.Errors > c.Errors || prev.LatSumNs > c.LatSumNs || prev.LatCount > c.LatCount {
		return c
	}
	c.Sub(prev)
	return c
}

// IsZero reports whether nothing was counted.
func (c Counts) IsZero() bool { return c == Counts{} }

// ProcSyscall names one syscall of one process.
type ProcSyscall struct {
	Proc ProcID
	Nr   uint16
}

// ProcErrno names one errno returned by one syscall of one process.
type ProcErrno struct {
	Proc  ProcID
	Nr    uint16
	Errno uint16
}

// LossCause says why something was lost. Each cause but LossReturnMissed is
// counted by tlmon's programs; that one the kernel's kprobes count.
type LossCause int

const (
	// LossBuffer: a detail event (a call, a TCP connection) could not be
	// written to its ring or perf buffer.
	LossBuffer LossCause = iota
	// LossProcMapFull: the per-process counter map was full; the call still counts
	// system-wide and as an attribution miss.
	LossProcMapFull
	// LossErrnoMapFull: the per-errno map was full; the error counts but its errno
	// is unknown.
	LossErrnoMapFull
	// LossHistMapFull: the per-process latency histogram map was full.
	LossHistMapFull
	// LossEnterMapFull: no room to remember a syscall's entry; its latency is lost.
	LossEnterMapFull
	// LossScopeMapFull: a followed child could not be added to the PID scope.
	LossScopeMapFull
	// LossLifecycle: a lifecycle event (exec, fork, exit, a young thread's
	// counts) could not be written to its buffer, which detail events never
	// share: a process may go unnamed, its counts then go to no process.
	LossLifecycle
	// LossReturnMissed: a kretprobe missed a call's return (rung 4: more
	// threads were in the function than it had room for); the call counts,
	// its error and latency are unknown. The kernel counts these before any
	// scope: they may be other processes' calls.
	LossReturnMissed
	NumLossCauses
)

var lossNames = [NumLossCauses]string{"buffer", "proc_map_full", "errno_map_full", "hist_map_full", "enter_map_full", "scope_map_full", "lifecycle_buffer", "return_missed"}

func (c LossCause) String() string {
	if c >= 0 && c < NumLossCauses {
		return lossNames[c]
	}
	return "unknown"
}

// Losses counts lost items per cause.
type Losses [NumLossCauses]uint64

// Total sums all causes.
func (l Losses) Total() uint64 {
	var t uint64
	for _, v := range l {
		t += v
	}
	return t
}

// CounterDelta is what the collector hands the aggregator after each read of the
// kernel's counter maps: everything counted since the previous read. Slices are
// indexed by syscall number.
type CounterDelta struct {
	At       time.Time
	Interval time.Duration

	// System is the always-exact total of every call in scope, per syscall.
	System []Counts
	// SystemHist holds the latency histogram per syscall (see HistBuckets).
	SystemHist []Hist
	// Unattributed are calls counted system-wide but in no process, because the
	// per-process map was full (attribution misses).
	Unattributed []Counts

	Procs     map[ProcSyscall]Counts
	ProcHists map[ProcSyscall]Hist
	Errnos    map[ProcErrno]uint64
	// IO is the bytes each process moved in the interval (see IOKind).
	IO map[ProcID]IOCounts

	Lost Losses
	// EventsAttempted counts events the kernel tried to send;
	// EventsAttempted = received + Lost[LossBuffer] + Lost[LossLifecycle].
	EventsAttempted uint64
	// DetailAttempted counts the detail events (calls, TCP connections) among
	// EventsAttempted.
	DetailAttempted uint64
	// Restarts counts exits with ERESTART* (512-516): the call will be re-entered,
	// so it is neither an error nor a latency sample.
	Restarts uint64
}

// ParseProcStat takes comm, ppid and start time from /proc/PID/stat. comm may hold
// spaces and parentheses, so fields are counted from the last ')'.
func ParseProcStat(b []byte) (comm string, ppid uint32, start uint64, err error) {
	open := bytes.IndexByte(b, '(')
	close := bytes.LastIndexByte(b, ')')
	if open < 0 || close < open {
		return "", 0, 0, fmt.Errorf("malformed stat")
	}
	comm = string(b[open+1 : close])
	fields := bytes.Fields(b[close+1:])
	// fields[0] is field 3 (state); ppid is field 4, starttime field 22.
	if len(fields) < 20 {
		return "", 0, 0, fmt.Errorf("malformed stat: %d fields", len(fields))
	}
	p, err := strconv.ParseUint(string(fields[1]), 10, 32)
	if err != nil {
		return "", 0, 0, fmt.Errorf("ppid: %w", err)
	}
	start, err = strconv.ParseUint(string(fields[19]), 10, 64)
	if err != nil {
		return "", 0, 0, fmt.Errorf("starttime: %w", err)
	}
	return comm, uint32(p), start, nil
}

// LifeRecord is a lifecycle event (EventFork, EventExec, EventExit) as a
// recording keeps it: Time is the wall time of its kernel timestamp.
type LifeRecord struct {
	Kind       EventKind
	Time       time.Time
	Proc       ProcID // for a fork, the child
	TID        uint32
	Parent     ProcID // for a fork, the forking process
	ExitCode   uint8
	ExitSignal uint8
	CoreDumped bool
	Comm       string
	Filename   string // an exec's
}

// IsLifecycle says whether events of kind k are lifecycle events.
func IsLifecycle(k EventKind) bool { return k == EventFork || k == EventExec || k == EventExit }

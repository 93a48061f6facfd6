package model

import "time"

// Meta says how counts are being taken: shown in every report and header.
type Meta struct {
	Version string
	Buffer  string // ringbuf or perf
	Hook    string // raw_tp, tracepoint or kprobe
	Rung    int    // place of (Buffer, Hook) on the ladder of ways, 1 the best
	Scope   string // "all", "pids 12,13", "cgroup /x", "command make"
	// Boot is when the machine booted (process start times count from it).
	Boot time.Time
	// HybridCgroups says cgroup v1 hierarchies are mounted beside v2: scoping
	// is by v2 all the same, and processes at the v2 root are named by v1.
	HybridCgroups bool
	// LatencySampled says hot calls were timed one in 16 (--sample-latency):
	// the latencies are estimates, the calls and errors exact.
	LatencySampled bool
	// CommandEnd says how the command tlmon started ended ("exit 3", "killed
	// by SIGKILL"); "" while it runs, or when there is none.
	CommandEnd string
}

// TargetKind tells what an attach target is.
type TargetKind int

const (
	TargetAll TargetKind = iota
	TargetPID
	TargetCgroup
)

// Target is something tlmon can watch: everything, one process or a cgroup v2
// subtree.
type Target struct {
	Kind    TargetKind
	PID     uint32 // TargetPID
	Comm    string // TargetPID
	Cmdline string // TargetPID
	Kernel  bool   // TargetPID: a kernel thread (listed after the user processes)
	Cgroup  string // TargetCgroup: path inside the cgroup v2 hierarchy
}

// InFlight is a thread inside a syscall now.
type InFlight struct {
	PID, TID uint32
	Comm     string
	Nr       int
	Syscall  string
	Since    time.Duration // how long it has been inside
	// AtLeast: the thread was already inside when tlmon started watching it, so
	// Since is a lower bound (the time since then).
	AtLeast bool
	// AtMost: the thread has no entry record but started after watching began,
	// so it entered after it started: Since is its age, an upper bound.
	AtMost bool
}

// ThreadStat is one thread's counts, for the monitor's Threads view: counted
// only while that view shows its process.
type ThreadStat struct {
	TID  uint32
	Comm string
	Counts
	CallRate, ErrorRate float64 // per second since the previous look
}

package recording

import "time"

// Header describes a recording: what a replay needs to show it as it was
// seen, on another machine, another architecture and another tlmon. It is
// stored as JSON so that it describes itself and grows without a new format
// version: a field added later is ignored by an older reader and is zero when
// a newer reader opens an older file.
//
// Its strings come from the recording machine, and when read back from a
// file they are as untrusted as the file: escape them before showing them.
type Header struct {
	Tlmon  string `json:"tlmon"`  // version of the tlmon that recorded
	Host   string `json:"host"`   // host name
	Kernel string `json:"kernel"` // kernel release (uname -r)
	Arch   string `json:"arch"`   // machine architecture (GOARCH); syscall numbers are its
	Rung   int    `json:"rung"`   // place on the ladder of ways of getting syscalls, 1 the best
	Buffer string `json:"buffer"` // ringbuf or perf
	Hook   string `json:"hook"`   // raw_tp, tracepoint or kprobe
	Scope  string `json:"scope"`  // "all", "pids 12,13", "cgroup /x", "command make"
	// HybridCgroups says cgroup v1 hierarchies were mounted beside v2
	// (processes at the v2 root are named by v1).
	HybridCgroups bool `json:"hybrid_cgroups,omitempty"`
	// LatencySampled says hot calls were timed one in 16 (--sample-latency).
	LatencySampled bool `json:"latency_sampled,omitempty"`
	// Classes were counted and Detail sent one by one when recording began
	// (class names).
	Classes []string `json:"classes,omitempty"`
	Detail  []string `json:"detail,omitempty"`
	// Start is when recording began; Boot when the recording machine booted
	// (process start times count from it). Kept to the nanosecond.
	Start    time.Time     `json:"start"`
	Boot     time.Time     `json:"boot"`
	Interval time.Duration `json:"interval_ns"` // between snapshot frames
	// Syscalls is the syscall table of the recording machine, so a replay
	// names the calls of another architecture or a newer kernel right.
	Syscalls []Syscall `json:"syscalls"`
}

// Syscall is one entry of the recording machine's syscall table.
type Syscall struct {
	Nr      int      `json:"nr"`
	Name    string   `json:"name"`
	Classes []string `json:"classes,omitempty"`
}

package model

import (
	"encoding/json"
	"net/netip"
	"strings"
	"time"
)

// ProcInfo is what is known about a process from /proc or from lifecycle events:
// its identity, parent, names and cgroup.
type ProcInfo struct {
	ID       ProcID
	Parent   ProcID
	Comm     string
	Exe      string
	Cmdline  string
	CgroupID uint64
	// V1Cgroup is the process's place in a cgroup v1 hierarchy on hybrid hosts,
	// where every process may sit at the v2 root and the meaningful grouping is
	// in v1 ("name=systemd:/system.slice/x.service"); "" elsewhere.
	V1Cgroup string
	// Kernel marks a kernel thread (PF_KTHREAD in /proc/PID/stat's flags):
	// it never makes a syscall, and its /proc/PID/syscall reads as a read
	// (syscall 0) with no user context.
	Kernel bool
}

// Snapshot is the aggregator's picture of everything counted since the first
// counters (or the last Clear). Once published it is immutable: readers on any
// goroutine may keep and read it without locks, and nothing in it is modified
// afterwards. Later snapshots may share unchanged parts (such as a process's
// Syscalls slice) with it, so readers must not modify it either: copy a slice
// before sorting it.
//
// Snapshot has no MarshalJSON of its own (its fields have), so that it can be
// embedded in a larger JSON object such as the headless report.
type Snapshot struct {
	// At is when the counters it holds were read.
	At time.Time `json:"at"`
	// Interval is the length of the last interval, over which rates are computed.
	Interval time.Duration `json:"interval_ns"`
	// Elapsed is the time the counts cover: since the start of the first interval
	// (At minus Interval of the first counters), or since the last Clear.
	Elapsed time.Duration `json:"elapsed_ns"`
	// Totals adds up all syscalls.
	Totals SyscallTotals `json:"totals"`
	// Syscalls holds the system-wide stats of each syscall with calls or errors,
	// sorted by calls (descending), then by number.
	Syscalls []SyscallStat `json:"syscalls"`
	// Processes holds every tracked process, sorted by calls (descending), then
	// by PID and start time.
	Processes []ProcStat `json:"processes"`
	// Retired adds up the processes no longer in Processes: they exited and
	// were retired (after a while, or early when many exited at once).
	Retired RetiredStats `json:"retired"`
	// Lost tells what could not be counted or attributed.
	Lost LossStats `json:"lost"`
	// Restarts counts syscall exits with ERESTART* (neither errors nor latency
	// samples).
	Restarts uint64 `json:"restarts"`
	// IO adds up the bytes every process moved (see ProcStat.IO).
	IO IOStat `json:"io"`
	// Files, Endpoints and Conns come from detail events (file and network
	// classes with detail on): the paths opened, by opens (descending); the
	// socket addresses connected to, bound or accepted from, by calls; the TCP
	// connections seen established or closed, most recent first. All bounded.
	Files     []FileStat     `json:"files,omitempty"`
	Endpoints []EndpointStat `json:"endpoints,omitempty"`
	Conns     []TCPConn      `json:"tcp,omitempty"`
	// FilesRefused and EndpointsRefused count the calls on paths and
	// endpoints first seen once their table was full (4,096 each): those
	// tables take no new key, so that every count they show stays exact.
	FilesRefused     uint64 `json:"files_refused"`
	EndpointsRefused uint64 `json:"endpoints_refused"`
	// LatencyPerSyscallOnly counts the processes, live and retired, whose
	// calls were timed but have no latency histogram of their own: processes
	// born while tlmon watched count in their threads' young tables until they
	// exit or have lived through a whole read, and those keep a mean latency
	// per syscall, no histogram. Their latencies are in the system-wide
	// histograms; their percentiles are absent (null in JSON), never zero.
	LatencyPerSyscallOnly uint64 `json:"latency_per_syscall_only"`
	// PendingCalls are the calls counted system-wide that no process, retired
	// total or unattributed count holds yet: young threads' counts wait in the
	// kernel until their thread exits or has lived through a whole read (at
	// most two intervals), and their events may be on their way. With them
	// the sum of processes + retired + unattributed is the system-wide total.
	// A final summary has none; a few calls either way come from reading the
	// maps one after the other while the kernel counts.
	PendingCalls int64 `json:"pending_calls"`
	// DetailEvents counts the detail events received since the first counters
	// or Clear.
	DetailEvents uint64 `json:"detail_events"`
	// DetailAttempted counts the detail events the kernel tried to send (those
	// lost in a full buffer included) since the first counters or Clear.
	DetailAttempted uint64 `json:"detail_attempted"`
}

// RetiredStats counts the retired processes and their calls and errors: with
// Processes and Lost.Unattributed, they add up to Totals.
type RetiredStats struct {
	Processes uint64 `json:"processes"`
	Calls     uint64 `json:"calls"`
	Errors    uint64 `json:"errors"`
}

// IOStat is bytes moved, in total and per second over the last interval.
type IOStat struct {
	IOCounts
	ReadRate, WriteRate, RecvRate, SendRate float64
}

// MarshalJSON writes the bytes as {read_bytes, write_bytes, recv_bytes,
// send_bytes} and their rates in bytes per second as {read_rate, write_rate,
// recv_rate, send_rate}.
func (s IOStat) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		ReadBytes  uint64  `json:"read_bytes"`
		WriteBytes uint64  `json:"write_bytes"`
		RecvBytes  uint64  `json:"recv_bytes"`
		SendBytes  uint64  `json:"send_bytes"`
		ReadRate   float64 `json:"read_rate"`
		WriteRate  float64 `json:"write_rate"`
		RecvRate   float64 `json:"recv_rate"`
		SendRate   float64 `json:"send_rate"`
	}{s.Read, s.Written, s.Received, s.Sent, s.ReadRate, s.WriteRate, s.RecvRate, s.SendRate})
}

// MarshalJSON writes the file as {path, opens, errors, errno (map of errno name
// to count, as for syscalls), last_pid, last_start_time, last_comm}.
func (f FileStat) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Path          string            `json:"path"`
		Opens         uint64            `json:"opens"`
		Errors        uint64            `json:"errors"`
		Errno         map[string]uint64 `json:"errno"`
		LastPID       uint32            `json:"last_pid"`
		LastStartTime uint64            `json:"last_start_time"`
		LastComm      string            `json:"last_comm"`
	}{Escape(f.Path), f.Opens, f.Errors, errnoMap(f.Errnos), f.LastProc.PID, f.LastProc.Start, Escape(f.LastComm)})
}

// MarshalJSON writes the endpoint as {endpoint, connects, accepts, binds,
// errors, errno (map of errno name to count), last_pid, last_start_time,
// last_comm}.
func (e EndpointStat) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Endpoint      string            `json:"endpoint"`
		Connects      uint64            `json:"connects"`
		Accepts       uint64            `json:"accepts"`
		Binds         uint64            `json:"binds"`
		Errors        uint64            `json:"errors"`
		Errno         map[string]uint64 `json:"errno"`
		LastPID       uint32            `json:"last_pid"`
		LastStartTime uint64            `json:"last_start_time"`
		LastComm      string            `json:"last_comm"`
	}{Escape(e.Endpoint), e.Connects, e.Accepts, e.Binds, e.Errors, errnoMap(e.Errnos), e.LastProc.PID, e.LastProc.Start, Escape(e.LastComm)})
}

// MarshalJSON writes the connection as {pid, start_time, comm, local, remote
// ("addr:port"), state ("established" or "closed"), time}.
func (c TCPConn) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		PID       uint32         `json:"pid"`
		StartTime uint64         `json:"start_time"`
		Comm      string         `json:"comm"`
		Local     netip.AddrPort `json:"local"`
		Remote    netip.AddrPort `json:"remote"`
		State     string         `json:"state"`
		Time      time.Time      `json:"time"`
	}{c.Proc.PID, c.Proc.Start, Escape(c.Comm), c.Local, c.Remote, c.State, c.Time})
}

// errnoMap is an errno breakdown as JSON writes it: errno name to count.
func errnoMap(list []ErrnoCount) map[string]uint64 {
	m := make(map[string]uint64, len(list))
	for _, e := range list {
		m[e.Name] += e.Count
	}
	return m
}

// SyscallTotals are the counts of all syscalls together, with rates over the last
// interval.
type SyscallTotals struct {
	Counts
	CallRate  float64 // calls per second
	ErrorRate float64 // errors per second
}

// MarshalJSON writes the totals as {calls, errors, total_ns, latency_samples,
// call_rate, error_rate}.
func (t SyscallTotals) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		countsJSON
		CallRate  float64 `json:"call_rate"`
		ErrorRate float64 `json:"error_rate"`
	}{countsToJSON(t.Counts), t.CallRate, t.ErrorRate})
}

// SyscallStat is one syscall's stats, system-wide or within one process.
type SyscallStat struct {
	Nr      int
	Name    string
	Classes Class
	Counts
	// CallRate and ErrorRate are per second over the last interval.
	CallRate  float64
	ErrorRate float64
	// Errnos breaks Errors down by errno, largest count first. Errors whose errno
	// could not be recorded (see LossErrnoMapFull) are in no entry.
	Errnos []ErrnoCount
	// AvgNs is LatSumNs/LatCount. The percentiles come from Hist's half-octave
	// buckets and are within 25% of the true value; they are 0 without a
	// histogram, and absent (HasQuantiles false, null in JSON).
	AvgNs, P50Ns, P95Ns, P99Ns uint64
	// Hist is the latency histogram (nil if none was read). Do not modify it.
	Hist *Hist
}

// ErrnoCount is how often one errno was returned.
type ErrnoCount struct {
	Errno int    `json:"errno"`
	Name  string `json:"name"`
	Count uint64 `json:"count"`
}

// MarshalJSON writes the stat as {nr, name, classes (list of names), calls,
// errors, total_ns, latency_samples, call_rate, error_rate, errno (map of errno
// name to count), avg_ns, p50_ns, p95_ns, p99_ns}. The histogram is left out.
func (s SyscallStat) MarshalJSON() ([]byte, error) {
	errno := errnoMap(s.Errnos)
	classes := []string{}
	if c := s.Classes.String(); c != "" {
		classes = strings.Split(c, ",")
	}
	return json.Marshal(struct {
		Nr      int      `json:"nr"`
		Name    string   `json:"name"`
		Classes []string `json:"classes"`
		countsJSON
		CallRate  float64           `json:"call_rate"`
		ErrorRate float64           `json:"error_rate"`
		Errno     map[string]uint64 `json:"errno"`
		AvgNs     uint64            `json:"avg_ns"`
		P50Ns     *uint64           `json:"p50_ns"`
		P95Ns     *uint64           `json:"p95_ns"`
		P99Ns     *uint64           `json:"p99_ns"`
	}{s.Nr, s.Name, classes, countsToJSON(s.Counts), s.CallRate, s.ErrorRate, errno, s.AvgNs,
		s.quantile(s.P50Ns), s.quantile(s.P95Ns), s.quantile(s.P99Ns)})
}

// quantile is q where a histogram is behind it, else nil (JSON null): a
// percentile of no samples is absent, not zero.
func (s SyscallStat) quantile(q uint64) *uint64 {
	if !s.HasQuantiles() {
		return nil
	}
	return &q
}

// HasQuantiles says whether the percentiles come from a histogram with
// samples: a young process's syscalls have a mean latency but no histogram.
func (s SyscallStat) HasQuantiles() bool { return s.Hist != nil }

// LatencyPerSyscallOnly says whether p's calls were timed but none has a
// histogram of its own (see Snapshot.LatencyPerSyscallOnly).
func (p *ProcStat) LatencyPerSyscallOnly() bool {
	if p.LatCount == 0 {
		return false
	}
	for _, s := range p.Syscalls {
		if s.Hist != nil {
			return false
		}
	}
	return true
}

// ProcStat is one tracked process with its counts.
type ProcStat struct {
	ID         ProcID
	Comm       string
	Exe        string
	Cmdline    string
	Parent     ProcID
	CgroupID   uint64
	CgroupPath string
	V1Cgroup   string // see ProcInfo.V1Cgroup
	// Alive is false once the process exited, or when it is a placeholder (a
	// process known only from its counts is presumed gone).
	Alive      bool
	ExitCode   int
	ExitSignal int
	CoreDumped bool
	// ExitedAt is when the exit event was handled (zero unless one was).
	ExitedAt time.Time
	// Placeholder marks a process named by no event and not (yet) found in /proc:
	// its Comm is "?" and it counts as an attribution miss.
	Placeholder bool
	// Kernel marks a kernel thread (see ProcInfo.Kernel), or a child of
	// kthreadd (PID 2) that has not exec'd a program.
	Kernel bool
	Counts
	CallRate  float64
	ErrorRate float64
	// IO is the bytes this process moved with successful reads, writes, sends
	// and receives (summed in the kernel), with rates.
	IO IOStat
	// Syscalls holds this process's own syscalls with calls or errors, sorted by
	// calls (descending), then by number.
	Syscalls []SyscallStat
}

// Every string from outside tlmon (names, paths, command lines, cgroups) is
// written escaped (Escape): inert, and its exact bytes recoverable (Unescape).

// MarshalJSON writes the process flat: {pid, start_time (clock ticks since
// boot), comm, exe, cmdline, ppid, parent_start_time, cgroup_id, cgroup_path,
// cgroup_v1 (hybrid hosts only), kernel (a kernel thread), alive, exit_code,
// exit_signal, core_dumped,
// exited_at (omitted unless exited), placeholder, calls, errors, total_ns,
// latency_samples, call_rate, error_rate, io (see IOStat), syscalls}.
func (p ProcStat) MarshalJSON() ([]byte, error) {
	var exited *time.Time
	if !p.ExitedAt.IsZero() {
		exited = &p.ExitedAt
	}
	syscalls := p.Syscalls
	if syscalls == nil {
		syscalls = []SyscallStat{}
	}
	return json.Marshal(struct {
		PID             uint32     `json:"pid"`
		StartTime       uint64     `json:"start_time"`
		Comm            string     `json:"comm"`
		Exe             string     `json:"exe"`
		Cmdline         string     `json:"cmdline"`
		PPID            uint32     `json:"ppid"`
		ParentStartTime uint64     `json:"parent_start_time"`
		CgroupID        uint64     `json:"cgroup_id"`
		CgroupPath      string     `json:"cgroup_path"`
		V1Cgroup        string     `json:"cgroup_v1,omitempty"`
		Kernel          bool       `json:"kernel"`
		Alive           bool       `json:"alive"`
		ExitCode        int        `json:"exit_code"`
		ExitSignal      int        `json:"exit_signal"`
		CoreDumped      bool       `json:"core_dumped"`
		ExitedAt        *time.Time `json:"exited_at,omitempty"`
		Placeholder     bool       `json:"placeholder"`
		countsJSON
		CallRate  float64       `json:"call_rate"`
		ErrorRate float64       `json:"error_rate"`
		IO        IOStat        `json:"io"`
		Syscalls  []SyscallStat `json:"syscalls"`
	}{
		p.ID.PID, p.ID.Start, Escape(p.Comm), Escape(p.Exe), Escape(p.Cmdline), p.Parent.PID, p.Parent.Start,
		p.CgroupID, Escape(p.CgroupPath), Escape(p.V1Cgroup), p.Kernel, p.Alive, p.ExitCode, p.ExitSignal, p.CoreDumped, exited,
		p.Placeholder, countsToJSON(p.Counts), p.CallRate, p.ErrorRate, p.IO, syscalls,
	})
}

// LossStats counts what was lost, per cause, since the first counters or Clear.
type LossStats struct {
	// ByCause holds the kernel's loss counters, indexed by LossCause.
	ByCause Losses
	// ProcOverflow counts processes refused because MaxProcs processes were
	// already tracked, once per refused event or lookup and once per interval in
	// which such a process had counts; those counts went to Unattributed.
	ProcOverflow uint64
	// Total is ByCause.Total() + ProcOverflow.
	Total uint64
	// EventsAttempted counts the events the kernel tried to send (lifecycle
	// and detail), EventsReceived those that reached the aggregator.
	EventsAttempted uint64
	EventsReceived  uint64
	// AttributionMisses counts processes named by nothing (placeholders), both
	// tracked now and retired.
	AttributionMisses uint64
	// Unattributed are counts in no tracked or retired process: the kernel's
	// per-process map was full, or the process overflowed MaxProcs.
	Unattributed Counts
}

// MarshalJSON writes the losses flat: {total, buffer, proc_map_full,
// errno_map_full, hist_map_full, enter_map_full, scope_map_full,
// lifecycle_buffer, return_missed, proc_overflow,
// events_attempted, events_received, attribution_misses, unattributed (counts)}.
func (l LossStats) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, int(NumLossCauses)+6)
	for c := LossCause(0); c < NumLossCauses; c++ {
		m[c.String()] = l.ByCause[c]
	}
	m["total"] = l.Total
	m["proc_overflow"] = l.ProcOverflow
	m["events_attempted"] = l.EventsAttempted
	m["events_received"] = l.EventsReceived
	m["attribution_misses"] = l.AttributionMisses
	m["unattributed"] = countsToJSON(l.Unattributed)
	return json.Marshal(m)
}

// countsJSON is the JSON form of Counts, embedded in the objects above.
type countsJSON struct {
	Calls          uint64 `json:"calls"`
	Errors         uint64 `json:"errors"`
	TotalNs        uint64 `json:"total_ns"`
	LatencySamples uint64 `json:"latency_samples"`
}

func countsToJSON(c Counts) countsJSON {
	return countsJSON{Calls: c.Calls, Errors: c.Errors, TotalNs: c.LatSumNs, LatencySamples: c.LatCount}
}

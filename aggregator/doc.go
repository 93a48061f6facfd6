// Package aggregator turns the collector's lifecycle events and counter deltas into
// per-process and per-syscall accounting, published as an immutable
// model.Snapshot.
//
// The collector calls AddProcess for processes read from /proc, HandleEvent for
// every exec/fork/exit event (from its buffer-reader goroutine) and HandleCounters
// once per interval with the counts read since the previous call (from another
// goroutine). Each HandleCounters call accumulates the delta, computes rates over
// its interval, retires processes that exited long enough ago (or, past
// Config.MaxExited, the oldest exits early), and publishes a new Snapshot;
// readers take the latest one with Snapshot, without locks.
//
// Processes are identified by PID and start time (model.ProcID), so a reused PID is
// a new process. A process whose counts arrive before any event or /proc entry
// names it is kept under a placeholder (Comm "?") and counted as an attribution
// miss until something names it.
//
// Counts are never dropped: for every syscall, the sum over tracked processes, plus
// the counts of retired processes, plus the unattributed counts (the kernel's
// per-process map was full, or MaxProcs was reached) equals the system-wide total,
// as long as each delta handed in satisfies the same equation.
//
// Memory is bounded by the number of tracked processes, which never exceeds
// Config.MaxProcs; per-syscall state is kept in fixed arrays of
// model.MaxSyscallNr entries.
//
// A snapshot costs what changed since the last one: an idle process's syscall
// list, and every histogram or errno breakdown that did not change, is shared
// with the previous snapshot (nothing reachable from a published snapshot is ever
// modified; a change makes a new copy). HandleCounters spreads a large delta over
// up to GOMAXPROCS goroutines (at most 8), each owning a partition of the
// processes; it returns only when all are done, and a panic on one of them is
// raised again on the caller's goroutine.
//
// Detail events (one per syscall of a class with detail on, and one per TCP
// connection established or closed) also come through HandleEvent, at up to
// ~100k per second, so each costs a map lookup or two and an append; sorting
// waits for a snapshot (see detail.go). They leave bounded state: per process
// its last 256 calls (ProcDetail; 32 once it exited) and the 64 paths it
// opened and 64 socket addresses it named first; system-wide the first 4096
// paths and 4096 addresses (Snapshot.Files and Endpoints; once a table is
// full, new keys are refused so that every count shown stays exact) and the
// last 256 TCP connections. The bytes each process read, wrote, received and
// sent come with the counters (CounterDelta.IO).
//
// Latency is wall time from syscall entry to exit, including time blocked. Its
// percentiles come from the kernel's half-octave histogram buckets (see
// model/hist.go), so a reported percentile is up to 25% away from the true value;
// averages are exact (sum over count).
//
// This package depends only on model: it must not import bpf, collector or ui, so
// that it can be tested without privileges and reused by any front end.
//
// # Files
//
// One job per file; its tests are in the _test.go file of the same name (the
// shared test helpers in aggregator_test.go, the HandleCounters benchmarks in
// bench_test.go):
//
//   - aggregator.go: the Aggregator, its Config and state (per system, process and syscall); New, Snapshot, and the two calls that touch it all: HandleCounters (one interval: accumulate, retire, publish) and Clear.
//   - lifecycle.go: processes coming and going: AddProcess, lifecycle events (fork, exec, exit), placeholders, MaxProcs, and when exited processes retire.
//   - stage.go: staging a delta's per-process entries, in one worker per goroutine, each owning a partition of the processes, until the process's stats are built.
//   - snapshot.go: building the immutable model.Snapshot: system-wide and per-process syscall stats, rates, losses.
//   - hist.go: latency histograms and percentiles: histogram deltas staged packed, new histograms published in per-process slabs.
//   - errnos.go: errno breakdowns, system-wide and per process, published as sorted immutable lists.
//   - procindex.go: the process index, the hash table that finds a process by ID for each entry of a delta (and why not a map).
//   - detail.go: detail events (calls, files opened, endpoints, TCP connections) and byte counts.
package aggregator

package ui

import (
	"syscall"
	"time"

	"tlmon/model"
)

// Backend is everything the interactive monitor reads and asks of the rest of
// tlmon. The UI holds no kernel or /proc knowledge: main wires a real backend
// (collector.Control), tests a fake one.
type Backend interface {
	// Snapshot is the aggregator's latest picture (immutable; never nil).
	Snapshot() *model.Snapshot
	// Moments are the snapshots the history keeps, oldest first (none
	// without a history); SnapshotAt rebuilds the one numbered seq.
	Moments() []model.Moment
	SnapshotAt(seq uint64) (*model.Snapshot, error)
	// Meta says which buffer is in use and what is watched now.
	Meta() Meta
	// Classes are the event classes collected now; SetClasses changes what the
	// kernel counts: a syscall is counted while any of its classes is on.
	Classes() model.Class
	SetClasses(c model.Class) error
	// Detail are the classes whose syscalls the kernel sends one by one, with
	// their arguments (detail events); SetDetail changes them. A class's detail
	// is sent only while the class is counted too.
	Detail() model.Class
	SetDetail(c model.Class) error
	// ProcDetail is what the detail events said about one process: its recent
	// calls (most recent first), its top files and endpoints. Call it only
	// while a view shows them.
	ProcDetail(id model.ProcID) model.ProcDetail
	// ProcDetailAt is the same up to the history's moment seq, from the
	// detail events kept with it.
	ProcDetailAt(id model.ProcID, seq uint64) model.ProcDetail
	// Slow is the slow-call threshold (0: off); SetSlow changes it: any call
	// of a watched process slower than it is sent with its arguments.
	Slow() time.Duration
	SetSlow(d time.Duration) error
	// Targets lists what the attach picker offers: "everything", the processes
	// alive now and the cgroups. Attach rescopes the kernel's filter live.
	Targets() ([]Target, error)
	Attach(t Target) error
	// Clear resets the counters shown (the kernel keeps counting).
	Clear()
	// Traced is the process every call of which the kernel sends in detail,
	// whatever the classes in detail (zero: none); Trace makes it id (d), the
	// zero ProcID stops it. It fails, changing nothing, where the rung has no
	// detail events or id is no longer that process.
	Traced() model.ProcID
	Trace(id model.ProcID) error
	// Signal sends sig to process id, if it still is that process (the
	// signal overlay, x or F9).
	Signal(id model.ProcID, sig syscall.Signal) error
	// InFlight lists the threads of the watched processes that are inside a
	// syscall right now, longest first. It costs a walk of /proc: call it only
	// while the In-flight view is visible.
	InFlight() ([]InFlight, error)
	// Threads returns the per-thread counts of process pid, counted in the
	// kernel from the first call for that pid on; pid 0 stops the counting.
	// Call it only while the Threads view is visible.
	Threads(pid uint32) ([]ThreadStat, error)
}

// Player is a Backend that plays a recording (package replay): its
// snapshot is the play head's, which moves with the clock. The monitor's
// pause pauses it, moving back through it pauses it there, and resuming
// plays on from the moment shown; - and + change its speed.
type Player interface {
	SetPaused(paused bool)
	Seek(at time.Time)
	Speed() float64
	SetSpeed(x float64)
	// Ended says the play head is at the recording's end.
	Ended() bool
}

// The backend's vocabulary lives in model, so the collector can implement
// Backend without importing ui.
type (
	Meta       = model.Meta
	TargetKind = model.TargetKind
	Target     = model.Target
	InFlight   = model.InFlight
	ThreadStat = model.ThreadStat
)

const (
	TargetAll    = model.TargetAll
	TargetPID    = model.TargetPID
	TargetCgroup = model.TargetCgroup
)

package ui

import (
	"time"

	"tlmon/model"
)

// Backend is everything the interactive monitor reads and asks of the rest of
// tlmon. The UI holds no kernel or /proc knowledge: main wires a real backend
// (collector.Control), tests a fake one.
type Backend interface {
	// Snapshot is the aggregator's latest picture (immutable; never nil).
	Snapshot() *model.Snapshot
	// Meta says which buffer is in use and what is watched now.
	Meta() Meta
	// Classes are the event classes collected now; SetClasses changes what the
	// kernel counts: a syscall is counted while any of its classes is on.
	Classes() model.Class
	SetClasses(c model.Class) error
	// Targets lists what the attach picker offers: "everything", the processes
	// alive now and the cgroups. Attach rescopes the kernel's filter live.
	Targets() ([]Target, error)
	Attach(t Target) error
	// Clear resets the counters shown (the kernel keeps counting).
	Clear()
	// InFlight lists the threads of the watched processes that are inside a
	// syscall right now, longest first. It costs a walk of /proc: call it only
	// while the In-flight view is visible.
	InFlight() ([]InFlight, error)
}

// TargetKind tells what an attach target is.
type TargetKind int

const (
	TargetAll TargetKind = iota
	TargetPID
	TargetCgroup
)

// Target is one entry of the attach picker.
type Target struct {
	Kind    TargetKind
	PID     uint32 // TargetPID
	Comm    string // TargetPID
	Cmdline string // TargetPID
	Cgroup  string // TargetCgroup: path inside the cgroup v2 hierarchy
}

// InFlight is a thread inside a syscall now.
type InFlight struct {
	PID, TID uint32
	Comm     string
	Nr       int
	Syscall  string
	Since    time.Duration // how long it has been inside
}

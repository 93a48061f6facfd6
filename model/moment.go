package model

import "time"

// Moment is one snapshot the history keeps, as its timeline shows it: the
// snapshot is rebuilt only when a view needs it (Backend.SnapshotAt).
type Moment struct {
	// Seq numbers the snapshots of a session in order; dropping the oldest
	// never renumbers the others.
	Seq uint64
	// At is when the snapshot's counters were read.
	At time.Time
	// CallRate and ErrorRate are system-wide, per second over the snapshot's
	// interval.
	CallRate, ErrorRate float64
}

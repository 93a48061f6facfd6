package collector

import "tlmon/model"

// youngCounts holds the counts of young threads (model.EventCounts) between
// two reads of the counter maps: each event is a delta of its own, which the
// next read adds to the deltas it took from the maps. They are kept as lists
// and added up into the delta's maps only then, one map operation per entry:
// under churn thousands of events come between two reads. The lists are kept
// and emptied, so steady churn allocates nothing here.
type youngCounts struct {
	procs  []youngSyscall
	errnos []youngErrno
	io     []youngIO
}

type youngSyscall struct {
	key model.ProcSyscall
	c   model.Counts
}

type youngErrno struct {
	key model.ProcErrno
	n   uint64
}

type youngIO struct {
	id model.ProcID
	io model.IOCounts
}

// add takes in one thread's counts of process id.
func (y *youngCounts) add(id model.ProcID, tc *model.ThreadCounts) {
	for _, s := range tc.Syscalls[:tc.NSyscall] {
		y.procs = append(y.procs, youngSyscall{model.ProcSyscall{Proc: id, Nr: s.Nr}, s.Counts})
	}
	for _, e := range tc.Errnos[:tc.NErrno] {
		y.errnos = append(y.errnos, youngErrno{model.ProcErrno{Proc: id, Nr: e.Nr, Errno: e.Errno}, e.Count})
	}
	if tc.IO != (model.IOCounts{}) {
		y.io = append(y.io, youngIO{id, tc.IO})
	}
}

// moveTo adds what was taken in to the delta d and empties y.
func (y *youngCounts) moveTo(d *model.CounterDelta) {
	for _, e := range y.procs {
		c := d.Procs[e.key]
		c.Add(e.c)
		d.Procs[e.key] = c
	}
	for _, e := range y.errnos {
		d.Errnos[e.key] += e.n
	}
	for _, e := range y.io {
		io := d.IO[e.id]
		io.Add(e.io)
		d.IO[e.id] = io
	}
	y.procs, y.errnos, y.io = y.procs[:0], y.errnos[:0], y.io[:0]
}

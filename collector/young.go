package collector

import "tlmon/model"

// youngCounts adds up the counts of young threads (model.EventCounts) between
// two reads of the counter maps: each event is a delta of its own, which the
// next read adds to the deltas it took from the maps. Its maps are kept and
// cleared, so steady churn allocates nothing here.
type youngCounts struct {
	procs  map[model.ProcSyscall]model.Counts
	errnos map[model.ProcErrno]uint64
	io     map[model.ProcID]model.IOCounts
}

func newYoungCounts() youngCounts {
	return youngCounts{
		procs:  map[model.ProcSyscall]model.Counts{},
		errnos: map[model.ProcErrno]uint64{},
		io:     map[model.ProcID]model.IOCounts{},
	}
}

// add takes in one thread's counts of process id.
func (y *youngCounts) add(id model.ProcID, tc *model.ThreadCounts) {
	for _, s := range tc.Syscalls[:tc.NSyscall] {
		k := model.ProcSyscall{Proc: id, Nr: s.Nr}
		c := y.procs[k]
		c.Add(s.Counts)
		y.procs[k] = c
	}
	for _, e := range tc.Errnos[:tc.NErrno] {
		y.errnos[model.ProcErrno{Proc: id, Nr: e.Nr, Errno: e.Errno}] += e.Count
	}
	if tc.IO != (model.IOCounts{}) {
		io := y.io[id]
		io.Add(tc.IO)
		y.io[id] = io
	}
}

// moveTo adds what was taken in to the delta d and empties y.
func (y *youngCounts) moveTo(d *model.CounterDelta) {
	for k, v := range y.procs {
		c := d.Procs[k]
		c.Add(v)
		d.Procs[k] = c
	}
	for k, v := range y.errnos {
		d.Errnos[k] += v
	}
	for k, v := range y.io {
		io := d.IO[k]
		io.Add(v)
		d.IO[k] = io
	}
	clear(y.procs)
	clear(y.errnos)
	clear(y.io)
}

package ui

import (
	"strconv"
	"strings"
	"time"

	"tlmon/model"
)

// The process lists: the Processes view, one row per process or, grouped (C),
// per command, and the processes of one command. Under churn (a build, a
// shell loop) thousands of short processes pass through them: the exited ones
// come after the live ones, fold away a little after their exit, and a
// command's row sums them up.

// exitedGrace is how long an exited process stays in the lists after its
// exit, marked: long enough to be seen, short enough that a shell loop's
// thousands do not bury the live processes. The aggregator may keep it
// longer; the lists fold it away.
const exitedGrace = 5 * time.Second

// shownProc says whether the process lists show p: it made a call in scope
// (the others are only known from /proc), E or K does not hide it, and if it
// exited, it did less than exitedGrace before the snapshot. A placeholder,
// presumed gone with no known exit, shows until the aggregator retires it.
func shownProc(p *model.ProcStat, d *data) bool {
	switch {
	case p.Calls == 0 && p.Errors == 0:
		return false
	case p.Kernel && d.hideKernel:
		return false
	case p.Alive:
		return true
	case d.hideExited:
		return false
	}
	return p.ExitedAt.IsZero() || d.snap.At.Sub(p.ExitedAt) <= exitedGrace
}

// procsEmpty says why a process list is empty: nothing to show, or what E
// and K hide.
func procsEmpty(d *data, plain string) string {
	var hidden []string
	if d.hideExited {
		hidden = append(hidden, "exited processes (E shows them)")
	}
	if d.hideKernel {
		hidden = append(hidden, "kernel threads (K shows them)")
	}
	if len(hidden) == 0 {
		return plain
	}
	return plain + "; hidden: " + strings.Join(hidden, ", ")
}

func newProcessesView() *tableView {
	lat := newLatCache()
	return &tableView{
		table: table{cols: processColumns, sortCol: 3, treeCol: 1},
		name:  "Processes", isTree: true, procs: true,
		build:    func(d *data) []row { return processRows(d, lat, nil) },
		whyEmpty: func(d *data) string { return procsEmpty(d, "no process made a syscall yet") },
		drill:    func(r row, d *data) view { return newProcSyscallsView(r.key.proc, d) },
	}
}

// newCommandsView is the Processes view grouped by command (C): one row per
// comm, with its processes counted and their rates and totals summed.
func newCommandsView() *tableView {
	lat := newLatCache()
	return &tableView{
		table: table{cols: commandColumns, sortCol: 1},
		name:  "Processes", procs: true, commands: true,
		build:    func(d *data) []row { return commandRows(d, lat) },
		whyEmpty: func(d *data) string { return procsEmpty(d, "no process made a syscall yet") },
		drill:    func(r row, d *data) view { return newCommandView(r.comm) },
	}
}

// newCommandView lists the processes of one command.
func newCommandView(comm string) *tableView {
	lat := newLatCache()
	return &tableView{
		table: table{cols: processColumns, sortCol: 3, treeCol: 1},
		name:  model.Escape(comm), isTree: true, procs: true,
		build:    func(d *data) []row { return processRows(d, lat, &comm) },
		whyEmpty: func(d *data) string { return procsEmpty(d, "no process of this command shows now") },
		drill:    func(r row, d *data) view { return newProcSyscallsView(r.key.proc, d) },
	}
}

// processRows makes a row of each process shown, of command comm only if
// comm is not nil.
func processRows(d *data, lat *latCache, comm *string) []row {
	lat.begin()
	defer lat.end()
	var rows []row
	for i := range d.snap.Processes {
		p := &d.snap.Processes[i]
		if !shownProc(p, d) || comm != nil && p.Comm != *comm {
			continue
		}
		r := procRow(p, len(processColumns))
		top := ""
		if len(p.Syscalls) > 0 {
			top = p.Syscalls[0].Name
		}
		l := lat.get(p)
		read, written := p.IO.ReadRate+p.IO.RecvRate, p.IO.WriteRate+p.IO.SendRate
		r.cells = append(r.cells, rate(p.CallRate), count(p.Calls), rate(p.ErrorRate), top,
			quantileCell(l.p99, l.hist != nil), rate(read), rate(written))
		r.nums[3], r.nums[4], r.nums[5], r.nums[7], r.nums[8], r.nums[9] = p.CallRate, float64(p.Calls), p.ErrorRate, float64(l.p99), read, written
		rows = append(rows, r)
	}
	return rows
}

// command sums up the processes of one comm.
type command struct {
	comm        string
	procs, live int
	model.Counts
	callRate, errorRate, read, written float64
	calls                              map[string]uint64 // by syscall, for the top one
	hist                               model.Hist
}

func commandRows(d *data, lat *latCache) []row {
	lat.begin()
	defer lat.end()
	index := map[string]int{}
	var cmds []*command
	for i := range d.snap.Processes {
		p := &d.snap.Processes[i]
		if !shownProc(p, d) {
			continue
		}
		j, ok := index[p.Comm]
		if !ok {
			j = len(cmds)
			index[p.Comm] = j
			cmds = append(cmds, &command{comm: p.Comm, calls: map[string]uint64{}})
		}
		c := cmds[j]
		c.procs++
		if p.Alive {
			c.live++
		}
		c.Counts.Add(p.Counts)
		c.callRate += p.CallRate
		c.errorRate += p.ErrorRate
		c.read += p.IO.ReadRate + p.IO.RecvRate
		c.written += p.IO.WriteRate + p.IO.SendRate
		for k := range p.Syscalls {
			c.calls[p.Syscalls[k].Name] += p.Syscalls[k].Calls
		}
		if l := lat.get(p); l.hist != nil {
			c.hist.Add(l.hist)
		}
	}
	rows := make([]row, len(cmds))
	for i, c := range cmds {
		top, most := "", uint64(0)
		for name, n := range c.calls {
			if n > most || n == most && name < top {
				top, most = name, n
			}
		}
		p99 := c.hist.Quantile(0.99)
		comm := model.Escape(c.comm)
		rows[i] = row{
			key:  rowKey{name: c.comm},
			comm: c.comm,
			cells: []string{comm + " ×" + thousands(uint64(c.procs)) + ", " + strconv.Itoa(c.live) + " live",
				rate(c.callRate), count(c.Calls), rate(c.errorRate), top, quantileCell(p99, c.hist.Count() > 0),
				rate(c.read), rate(c.written)},
			nums:  []float64{0, c.callRate, float64(c.Calls), c.errorRate, 0, float64(p99), c.read, c.written},
			match: strings.ToLower(comm),
			// A command is gone when none of its processes lives and it made
			// no call in the last interval: a shell loop's ls, whose
			// processes rarely live at the instant of a snapshot, is busy.
			dim: c.live == 0 && c.callRate == 0 && c.errorRate == 0,
		}
	}
	return rows
}

// latCache keeps each process's latency histogram over all its syscalls and
// its 99th percentile. It takes merging the histograms of all its syscalls,
// which for thousands of processes costs more than the rest of a refresh; most
// processes made no call since the last one, so their latency counters tell
// it is unchanged.
type latCache struct {
	m    map[model.ProcID]*latEntry
	gen  uint64 // of the refresh under way
	used int    // entries used by it
}

type latEntry struct {
	counts model.Counts
	hist   *model.Hist // merged, or nil: no histogram with samples behind the process
	merged *model.Hist // kept for the next merge
	p99    uint64
	gen    uint64 // the last refresh that used it
}

func newLatCache() *latCache { return &latCache{m: map[model.ProcID]*latEntry{}} }

func (c *latCache) begin() { c.gen, c.used = c.gen+1, 0 }

func (c *latCache) get(p *model.ProcStat) *latEntry {
	c.used++
	e := c.m[p.ID]
	if e == nil {
		e = &latEntry{}
		c.m[p.ID] = e
	} else if e.counts == p.Counts {
		e.gen = c.gen
		return e
	}
	h := e.merged
	if h == nil {
		h = new(model.Hist)
	}
	*h = model.Hist{}
	for i := range p.Syscalls {
		if p.Syscalls[i].Hist != nil {
			h.Add(p.Syscalls[i].Hist)
		}
	}
	e.counts, e.gen, e.merged, e.hist, e.p99 = p.Counts, c.gen, h, nil, 0
	if h.Count() > 0 {
		e.hist, e.p99 = h, h.Quantile(0.99)
	}
	return e
}

// end drops the processes this refresh did not show.
func (c *latCache) end() {
	if len(c.m) <= c.used {
		return
	}
	for id, e := range c.m {
		if e.gen != c.gen {
			delete(c.m, id)
		}
	}
}

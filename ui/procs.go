package ui

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"tlmon/model"
	"tlmon/output"
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

// procItem is what a row of a process list is built from: the process,
// its latency over all its syscalls (the Processes view) or one syscall of
// it (the processes of a syscall).
type procItem struct {
	p     *model.ProcStat
	lat   *latEntry
	s     *model.SyscallStat
	trend [trendLen]float64 // the process's last call rates (data.trend)
}

// procIdentity are the first columns of every list of processes, which
// procRow reads: PID, COMM and CGROUP, dropped at cgroupDrop.
func procIdentity(cgroupDrop int) []column {
	return []column{
		{title: "PID", width: 7, right: true, cell: idCell(func(x *procItem) uint32 { return x.p.ID.PID })},
		{title: "COMM", width: 16, cell: textCell(func(x *procItem) string { return model.Escape(x.p.Comm) })},
		{title: "CGROUP", width: 12, flex: true, drop: cgroupDrop, cell: textCell(func(x *procItem) string { return model.Escape(cgroupLabel(x.p)) })},
	}
}

// The columns of the process lists. Widths fit the titles with a sort arrow.
var (
	processColumns = append(procIdentity(5),
		column{title: "SYSCALLS/s", width: 11, right: true, cell: rateCell(func(x *procItem) float64 { return x.p.CallRate })},
		column{title: "TOTAL", width: 7, right: true, cell: countCell(func(x *procItem) uint64 { return x.p.Calls })},
		column{title: "ERR/s", width: 7, right: true, alert: nonZero, drop: 1, cell: rateCell(func(x *procItem) float64 { return x.p.ErrorRate })},
		column{title: "TOP SYSCALL", width: 14, cell: textCell(func(x *procItem) string { return x.lat.top })},
		// P95 gives way before the IO pair, P99 after it.
		column{title: "P95", width: 7, right: true, drop: 4, cell: cellOf(func(x *procItem) (string, float64) {
			return quantileCell(x.lat.p95, x.lat.hist != nil), float64(x.lat.p95)
		})},
		// P99 draws the eye when a syscall of the process that should be
		// quick is slow (latEntry.slow), whatever its waits make the p99.
		column{title: "P99", width: 7, right: true, drop: 2, alert: alertOf(func(x *procItem, _ float64) bool { return x.lat.slow }), cell: cellOf(func(x *procItem) (string, float64) {
			return quantileCell(x.lat.p99, x.lat.hist != nil), float64(x.lat.p99)
		})},
		// Bytes per second read and written (in B/s, KiB/s…) (received and sent included): a
		// pair that 80 columns leave out, so that the counts stay.
		column{title: "READ", width: 9, right: true, drop: 3, cell: byteRateCell(func(x *procItem) float64 { return x.p.IO.ReadRate + x.p.IO.RecvRate })},
		column{title: "WRITE", width: 9, right: true, drop: 3, cell: byteRateCell(func(x *procItem) float64 { return x.p.IO.WriteRate + x.p.IO.SendRate })},
		// The last call rates, one a refresh: the first column to give way.
		column{title: "TREND", width: trendLen, drop: 6, cell: textCell(func(x *procItem) string { return sparkline(x.trend[:]) })},
		// The command line, hidden until the column chooser (o) shows it;
		// then the others give way to it.
		column{title: "COMMAND LINE", width: 40, hidden: true, cell: textCell(func(x *procItem) string { return model.Escape(x.p.Cmdline) })},
	)
	// commandColumns are the Processes view's grouped by command: a command's
	// processes are counted in its first column ("ls ×3,214, 2 live").
	commandColumns = []column{
		{title: "COMMAND", width: 22, flex: true, gap: true, cell: textCell(func(c *command) string {
			return c.name + " ×" + thousands(uint64(c.procs)) + ", " + strconv.Itoa(c.live) + " live"
		})},
		{title: "SYSCALLS/s", width: 11, right: true, cell: rateCell(func(c *command) float64 { return c.callRate })},
		{title: "TOTAL", width: 7, right: true, cell: countCell(func(c *command) uint64 { return c.Calls })},
		{title: "ERR/s", width: 7, right: true, alert: nonZero, drop: 1, cell: rateCell(func(c *command) float64 { return c.errorRate })},
		{title: "TOP SYSCALL", width: 14, cell: textCell(func(c *command) string { return c.top })},
		{title: "P95", width: 7, right: true, drop: 4, cell: cellOf(func(c *command) (string, float64) {
			return quantileCell(c.p95, c.hist.Count() > 0), float64(c.p95)
		})},
		{title: "P99", width: 7, right: true, drop: 2, cell: cellOf(func(c *command) (string, float64) {
			return quantileCell(c.p99, c.hist.Count() > 0), float64(c.p99)
		})},
		{title: "READ", width: 9, right: true, drop: 3, cell: byteRateCell(func(c *command) float64 { return c.read })},
		{title: "WRITE", width: 9, right: true, drop: 3, cell: byteRateCell(func(c *command) float64 { return c.written })},
	}
	threadColumns = []column{
		{title: "TID", width: 7, right: true, cell: idCell(func(t *ThreadStat) uint32 { return t.TID })},
		{title: "COMM", width: 16, flex: true, cell: textCell(func(t *ThreadStat) string { return model.Escape(t.Comm) })},
		{title: "CALLS/s", width: 9, right: true, cell: rateCell(func(t *ThreadStat) float64 { return t.CallRate })},
		{title: "TOTAL", width: 7, right: true, cell: countCell(func(t *ThreadStat) uint64 { return t.Calls })},
		{title: "ERR/s", width: 7, right: true, alert: nonZero, cell: rateCell(func(t *ThreadStat) float64 { return t.ErrorRate })},
		{title: "AVG", width: 7, right: true, cell: cellOf(func(t *ThreadStat) (string, float64) {
			if t.LatCount == 0 {
				return noSamples, 0
			}
			avg := t.LatSumNs / t.LatCount
			return output.Duration(avg), float64(avg)
		})},
	}
)

// newProcessViews are the two Processes views, a row per process and a row
// per command, each the other's twin (C).
func newProcessViews() (procs, commands *tableView) {
	lat := newLatCache()
	procs = &tableView{
		table: table{cols: processColumns, sortCol: 3, treeCol: 1},
		vid:   viewProcesses, name: "Processes", isTree: true,
		build:    func(d *data) []row { return processRows(d, lat, nil) },
		whyEmpty: func(d *data) string { return procsEmpty(d, "no process made a syscall yet") },
		drill:    func(r row, d *data) view { return newProcSyscallsView(r.key.proc, d) },
	}
	commands = newCommandsView()
	procs.twin, commands.twin = commands, procs
	return procs, commands
}

// newCommandsView is the Processes view grouped by command (C): one row per
// comm, with its processes counted and their rates and totals summed.
func newCommandsView() *tableView {
	lat := newLatCache()
	return &tableView{
		table: table{cols: commandColumns, sortCol: 1},
		vid:   viewCommands, name: "Processes",
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
		vid:   viewCommand, name: model.Escape(comm), isTree: true,
		build:    func(d *data) []row { return processRows(d, lat, &comm) },
		whyEmpty: func(d *data) string { return procsEmpty(d, "no process of this command shows now") },
		drill:    func(r row, d *data) view { return newProcSyscallsView(r.key.proc, d) },
	}
}

// newThreadsView lists the threads of one process with their own counts, which
// the kernel keeps only while this view shows.
func newThreadsView(id model.ProcID, d *data) *tableView {
	name := "threads of pid " + strconv.FormatUint(uint64(id.PID), 10)
	if p := d.procs[id]; p != nil {
		name = "threads of " + procLabel(p)
	}
	return &tableView{
		table: table{cols: threadColumns, sortCol: 2},
		vid:   viewThreads, name: name, empty: "no thread has made a syscall since T was pressed",
		// The kernel counts a process's threads one by one only while this
		// view shows: its TOTAL is not the process's.
		note:  "counted since T was pressed",
		build: threadRows, proc: id,
	}
}

// procRow is the row of a process in a list of processes whose columns
// start with procIdentity's.
func procRow(rm *rowMaker, x *procItem) row {
	r := rm.row(x)
	p := x.p
	r.key, r.parent = rowKey{proc: p.ID}, rowKey{proc: p.Parent}
	r.match = strings.ToLower(r.cells[0] + " " + r.cells[1] + " " + r.cells[2])
	r.dim, r.comm = !p.Alive, p.Comm
	return r
}

// processRows makes a row of each process shown, of command comm only if
// comm is not nil.
func processRows(d *data, lat *latCache, comm *string) []row {
	lat.begin()
	defer lat.end()
	var rows []row
	rm := newRowMaker(processColumns, 0) // under churn most processes may be hidden
	x := new(procItem)                   // one for all rows: an item per row would be allocated each
	for i := range d.snap.Processes {
		p := &d.snap.Processes[i]
		if !shownProc(p, d) || comm != nil && p.Comm != *comm {
			continue
		}
		x.p, x.lat = p, lat.get(p)
		d.trend(p.ID, &x.trend)
		r := procRow(&rm, x)
		if len(d.rules) > 0 { // procErrno walks every errno of the process
			r.hl = highlightOf(d.rules, x.lat.top, procErrno(p), p.Comm, time.Duration(x.lat.p99))
		}
		rows = append(rows, r)
	}
	return rows
}

// command sums up the processes of one comm.
type command struct {
	comm        string
	name        string // comm, escaped
	procs, live int
	model.Counts
	callRate, errorRate, read, written float64
	calls                              map[string]uint64 // by syscall, for the top one
	top                                string
	hist                               model.Hist
	p95, p99                           uint64
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
	rm := newRowMaker(commandColumns, len(cmds))
	tops := make(map[string]string, len(cmds)) // of the commands shown only
	for i, c := range cmds {
		most := uint64(0)
		for name, n := range c.calls {
			if n > most || n == most && name < c.top {
				c.top, most = name, n
			}
		}
		if prev, ok := lat.tops[c.comm]; ok {
			if n, ok := c.calls[prev]; ok {
				c.top = keepTop(prev, c.top, n, most)
			}
		}
		tops[c.comm] = c.top
		c.p95, c.p99, c.name = c.hist.Quantile(0.95), c.hist.Quantile(0.99), model.Escape(c.comm)
		rows[i] = rm.row(c)
		rows[i].key, rows[i].comm = rowKey{name: c.comm}, c.comm
		rows[i].match = strings.ToLower(c.name)
		// A command is gone when none of its processes lives and it made
		// no call in the last interval: a shell loop's ls, whose
		// processes rarely live at the instant of a snapshot, is busy.
		rows[i].dim = c.live == 0 && c.callRate == 0 && c.errorRate == 0
	}
	lat.tops = tops
	return rows
}

func threadRows(d *data) []row {
	rows := make([]row, len(d.threads))
	rm := newRowMaker(threadColumns, len(d.threads))
	for i := range d.threads {
		t := &d.threads[i]
		rows[i] = rm.row(t)
		rows[i].key = rowKey{tid: t.TID}
		rows[i].match = strings.ToLower(rows[i].cells[0] + " " + rows[i].cells[1])
	}
	return rows
}

// procLabel names a process in a line of text: "nginx 1234".
func procLabel(p *model.ProcStat) string {
	return fmt.Sprintf("%s %d", model.Escape(p.Comm), p.ID.PID)
}

// latCache keeps each process's latency histogram over all its syscalls and
// its 95th and 99th percentiles. It takes merging the histograms of all its syscalls,
// which for thousands of processes costs more than the rest of a refresh; most
// processes made no call since the last one, so their latency counters tell
// it is unchanged.
type latCache struct {
	m    map[model.ProcID]*latEntry
	tops map[string]string // each command's top syscall, for commandRows
	gen  uint64            // of the refresh under way
	used int               // entries used by it
}

type latEntry struct {
	counts model.Counts
	hist   *model.Hist // merged, or nil: no histogram with samples behind the process
	merged *model.Hist // kept for the next merge
	p95    uint64
	p99    uint64
	gen    uint64 // the last refresh that used it
	top    string // the TOP SYSCALL shown, kept while no other beats it clearly
	// slow says a syscall of the process that does not wait by design has
	// a slow p99 (slowCall).
	slow bool
}

// trendLen is how many snapshots the TREND column draws.
const trendLen = 8

// sparkline draws rates as bars of eight heights, the highest full: a
// blank for none.
func sparkline(rates []float64) string {
	const bars = "▁▂▃▄▅▆▇█"
	peak := slices.Max(rates)
	var b strings.Builder
	for _, r := range rates {
		if r <= 0 || peak <= 0 {
			b.WriteByte(' ')
			continue
		}
		i := max(0, int(math.Ceil(r/peak*8))-1) // eighths of the peak, rounded up
		b.WriteString(string([]rune(bars)[i]))
	}
	return b.String()
}

func newLatCache() *latCache {
	return &latCache{m: map[model.ProcID]*latEntry{}, tops: map[string]string{}}
}

// procErrno is the errno a process's calls failed with most.
func procErrno(p *model.ProcStat) string {
	best, n := "", uint64(0)
	for i := range p.Syscalls {
		for _, e := range p.Syscalls[i].Errnos {
			if e.Count > n {
				best, n = e.Name, e.Count
			}
		}
	}
	return best
}

// keepTop chooses the top syscall to show: best, the one with the most calls,
// unless prev, shown so far, has about as many (within 5%, or 2 calls): two
// calls made in turn, such as dd's read and write, lead by one call in turn
// and would swap places every refresh.
func keepTop(prev, best string, prevCalls, bestCalls uint64) string {
	if prev != "" && prev != best && bestCalls <= prevCalls+max(2, prevCalls/20) {
		return prev
	}
	return best
}

// procTop is p's top syscall, prev kept as keepTop says.
func procTop(prev string, p *model.ProcStat) string {
	if len(p.Syscalls) == 0 {
		return ""
	}
	best := &p.Syscalls[0]
	for i := range p.Syscalls {
		if p.Syscalls[i].Name == prev {
			return keepTop(prev, best.Name, p.Syscalls[i].Calls, best.Calls)
		}
	}
	return best.Name
}

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
	slow := false
	for i := range p.Syscalls {
		s := &p.Syscalls[i]
		if s.Hist != nil {
			h.Add(s.Hist)
		}
		slow = slow || slowCall(s.Name, float64(s.P99Ns))
	}
	e.counts, e.gen, e.merged, e.hist, e.p95, e.p99, e.slow = p.Counts, c.gen, h, nil, 0, 0, slow
	e.top = procTop(e.top, p)
	if h.Count() > 0 {
		e.hist, e.p95, e.p99 = h, h.Quantile(0.95), h.Quantile(0.99)
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

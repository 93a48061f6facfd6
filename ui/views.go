package ui

import (
	"time"

	"fmt"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"tlmon/model"
	"tlmon/output"
	"tlmon/themes"
)

// data is what the views show: the snapshot, an index of its processes and
// the last in-flight list. The root model owns it; views only read it.
type data struct {
	snap     *model.Snapshot
	procs    map[model.ProcID]*model.ProcStat
	inflight []InFlight
	threads  []ThreadStat // of the process the Threads view shows
	boot     time.Time    // when the machine booted, for start times (zero: unknown)
	// classes are counted, detail sends their calls one by one: the views
	// fed by detail events say which key switches them on.
	classes, detail model.Class
	// procDetail is what the detail events said about the process whose events
	// pane shows (procDetailOf; the zero ProcID when none shows).
	procDetail   model.ProcDetail
	procDetailOf model.ProcID
	// hideExited and hideKernel leave exited processes and kernel threads
	// out of the process lists (E and K).
	hideExited, hideKernel bool
}

func (d *data) setSnapshot(s *model.Snapshot) {
	d.snap = s
	d.procs = make(map[model.ProcID]*model.ProcStat, len(s.Processes))
	for i := range s.Processes {
		d.procs[s.Processes[i].ID] = &s.Processes[i]
	}
}

// view is one screen under the header: a top-level view or a drill-down level.
type view interface {
	// crumb names the level in the breadcrumb.
	crumb() string
	// refresh rebuilds what is shown from d; called when the view becomes
	// visible and on each new snapshot while it is.
	refresh(d *data)
	setSize(width, height int)
	// key handles a key the root left to the view; it returns the level to
	// drill into, if any.
	key(msg tea.KeyPressMsg, k *KeyMap, d *data) view
	// wheel scrolls, click selects the line y of the view.
	wheel(delta int)
	click(y int)
	render(th *themes.Theme) []string
}

// tableView is every view that is a table.
type tableView struct {
	table
	name   string
	empty  string // shown when there is no row
	build  func(d *data) []row
	drill  func(r row, d *data) view // nil: the rows lead nowhere
	isTree bool                      // the tree key applies
	// whyEmpty, when set, says why there is no row, from what d says is on.
	whyEmpty func(d *data) string
	// other is the view e puts in this one's place (a process's syscalls and
	// its events, the endpoints and the TCP connections); otherName says what
	// it shows.
	other     func(d *data) *tableView
	otherName string
	// foot, when set, draws lines under the table in at most n lines (a third
	// of the view).
	foot      func(d *data, n int) []textLine
	footLines []textLine
	// proc is the process a view is about (its syscalls, its threads, its
	// events), or the zero ProcID; threads marks the Threads view, events the
	// events pane.
	proc    model.ProcID
	threads bool
	events  bool
	// procs marks the lists of processes, which E and K thin out; commands
	// the Processes view grouped by command.
	procs, commands bool
	// viewHeight is the height of the view: the table's and the foot's.
	viewHeight int
}

func (v *tableView) crumb() string { return v.name }

// A user who moves the cursor takes it back from the row it followed.
func (v *tableView) wheel(delta int) {
	v.follow = false
	v.move(delta)
}

func (v *tableView) click(y int) {
	v.follow = false
	v.clickAt(y)
}

func (v *tableView) refresh(d *data) {
	if v.whyEmpty != nil {
		v.empty = v.whyEmpty(d)
	}
	if v.foot != nil {
		v.footLines = v.foot(d, v.viewHeight/3)
		v.setHeight(v.viewHeight - 1 - len(v.footLines))
	}
	v.setRows(v.build(d))
}

func (v *tableView) setSize(w, h int) {
	v.width, v.viewHeight = w, h
	v.setHeight(h - 1 - len(v.footLines)) // 1: the table header
}

func (v *tableView) render(th *themes.Theme) []string {
	empty := v.empty
	if v.filter != "" && len(v.rows) > 0 {
		empty = "nothing matches the filter"
	}
	lines := v.table.render(v.height+1, th, empty)
	if len(v.footLines) == 0 {
		return lines
	}
	for len(lines) < v.height+1 {
		lines = append(lines, "")
	}
	return append(lines, renderLines(v.footLines, 0, v.width, len(v.footLines), th)...)
}

func (v *tableView) key(msg tea.KeyPressMsg, k *KeyMap, d *data) view {
	page := max(1, v.height-1)
	if key.Matches(msg, k.Up, k.Down, k.PageUp, k.PageDown, k.Home, k.End) {
		v.follow = false // the user takes the cursor back
	}
	switch {
	case key.Matches(msg, k.Follow):
		v.toggleFollow()
	case key.Matches(msg, k.Up):
		v.move(-1)
	case key.Matches(msg, k.Down):
		v.move(1)
	case key.Matches(msg, k.PageUp):
		v.move(-page)
	case key.Matches(msg, k.PageDown):
		v.move(page)
	case key.Matches(msg, k.Home):
		v.move(-len(v.shown))
	case key.Matches(msg, k.End):
		v.move(len(v.shown))
	case key.Matches(msg, k.Sort):
		v.sortBy(true, false)
	case key.Matches(msg, k.SortReverse):
		v.sortBy(false, true)
	case key.Matches(msg, k.Tree) && v.isTree:
		v.toggleTree()
	case key.Matches(msg, k.Drill) && v.drill != nil:
		if r, ok := v.selected(); ok {
			return v.drill(r, d)
		}
	}
	return nil
}

// Cells of a syscall's counts, shared by the lists of syscalls and of the
// processes that made one.
func syscallRate(s *model.SyscallStat) (string, float64) {
	return rate(s.CallRate), s.CallRate
}
func syscallCalls(s *model.SyscallStat) (string, float64) {
	return count(s.Calls), float64(s.Calls)
}
func syscallErrors(s *model.SyscallStat) (string, float64) {
	return count(s.Errors), float64(s.Errors)
}
func syscallAvg(s *model.SyscallStat) (string, float64) {
	return avgCell(s.AvgNs, s.LatCount), float64(s.AvgNs)
}
func syscallP50(s *model.SyscallStat) (string, float64) {
	return quantileCell(s.P50Ns, s.HasQuantiles()), float64(s.P50Ns)
}
func syscallP99(s *model.SyscallStat) (string, float64) {
	return quantileCell(s.P99Ns, s.HasQuantiles()), float64(s.P99Ns)
}

// ofSyscall makes a cell of the syscall of a process item.
func ofSyscall(f func(*model.SyscallStat) (string, float64)) func(any) (string, float64) {
	return cellOf(func(x *procItem) (string, float64) { return f(x.s) })
}

// The columns of the syscall lists and of the threads in flight. Widths fit
// the titles with a sort arrow.
var (
	syscallColumns = []column{
		{title: "NAME", width: 16, flex: true, cell: textCell(func(s *model.SyscallStat) string { return s.Name })},
		{title: "CLASS", width: 12, drop: 4, cell: textCell(func(s *model.SyscallStat) string { return s.Classes.String() })},
		{title: "CALLS/s", width: 9, right: true, cell: cellOf(syscallRate)},
		{title: "TOTAL", width: 7, right: true, cell: cellOf(syscallCalls)},
		{title: "ERRORS", width: 7, right: true, cell: cellOf(syscallErrors)},
		{title: "TOP ERRNO", width: 12, drop: 2, cell: textCell(topErrno)},
		{title: "AVG", width: 7, right: true, drop: 1, cell: cellOf(syscallAvg)},
		{title: "P50", width: 7, right: true, drop: 3, cell: cellOf(syscallP50)},
		{title: "P99", width: 7, right: true, cell: cellOf(syscallP99)},
	}
	syscallProcColumns = append(procIdentity(3),
		column{title: "CALLS/s", width: 9, right: true, cell: ofSyscall(syscallRate)},
		column{title: "TOTAL", width: 7, right: true, cell: ofSyscall(syscallCalls)},
		column{title: "ERRORS", width: 7, right: true, cell: ofSyscall(syscallErrors)},
		column{title: "TOP ERRNO", width: 12, drop: 2, cell: textCell(func(x *procItem) string { return topErrno(x.s) })},
		column{title: "AVG", width: 7, right: true, drop: 1, cell: ofSyscall(syscallAvg)},
		column{title: "P99", width: 7, right: true, cell: ofSyscall(syscallP99)},
	)
	inFlightColumns = []column{
		{title: "PID", width: 7, right: true, cell: idCell(func(f *InFlight) uint32 { return f.PID })},
		{title: "TID", width: 7, right: true, cell: idCell(func(f *InFlight) uint32 { return f.TID })},
		{title: "COMM", width: 16, cell: textCell(func(f *InFlight) string { return model.Escape(f.Comm) })},
		{title: "SYSCALL", width: 16, flex: true, cell: textCell(func(f *InFlight) string { return f.Syscall })},
		{title: "FOR", width: 9, right: true, cell: cellOf(func(f *InFlight) (string, float64) { return inFlightFor(*f), float64(f.Since) })},
	}
)

func newSyscallsView() *tableView {
	return &tableView{
		table: table{cols: syscallColumns, sortCol: 2},
		name:  "Syscalls", empty: "no syscall counted yet",
		build: func(d *data) []row { return syscallRows(d.snap.Syscalls) },
		drill: func(r row, d *data) view { return newSyscallProcsView(r.key.nr, r.cells[0]) },
	}
}

func newInFlightView() *tableView {
	return &tableView{
		table: table{cols: inFlightColumns, sortCol: 4},
		name:  "In flight", empty: "no thread is inside a syscall",
		build: inFlightRows,
		drill: func(r row, d *data) view {
			// In-flight rows know the PID only: the live process with it.
			for id, p := range d.procs {
				if id.PID == r.key.proc.PID && p.Alive {
					return newProcSyscallsView(id, d)
				}
			}
			return nil
		},
	}
}

// newProcSyscallsView lists one process's syscalls.
func newProcSyscallsView(id model.ProcID, d *data) *tableView {
	name := "pid " + strconv.FormatUint(uint64(id.PID), 10)
	if p := d.procs[id]; p != nil {
		name = procLabel(p)
	}
	v := &tableView{
		table: table{cols: syscallColumns, sortCol: 2},
		name:  name, empty: "this process made no syscall (or is no longer tracked)",
		build: func(d *data) []row {
			if p := d.procs[id]; p != nil {
				return syscallRows(p.Syscalls)
			}
			return nil
		},
		drill: func(r row, d *data) view { return newDetailView(id, r.key.nr, r.cells[0]) },
		proc:  id,
	}
	var events *tableView
	v.other, v.otherName = func(d *data) *tableView {
		if events == nil {
			events = newEventsView(id, d)
			events.other, events.otherName = func(*data) *tableView { return v }, "syscalls"
		}
		return events
	}, "events"
	return v
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
		name:  name, empty: "no thread has made a syscall since this view opened",
		build: threadRows, proc: id, threads: true,
	}
}

func threadRows(d *data) []row {
	rows := make([]row, len(d.threads))
	for i := range d.threads {
		t := &d.threads[i]
		rows[i] = newRow(threadColumns, t)
		rows[i].key = rowKey{tid: t.TID}
		rows[i].match = strings.ToLower(rows[i].cells[0] + " " + rows[i].cells[1])
	}
	return rows
}

// newSyscallProcsView lists the processes that made one syscall.
func newSyscallProcsView(nr int, name string) *tableView {
	return &tableView{
		table: table{cols: syscallProcColumns, sortCol: 3},
		name:  name, procs: true,
		whyEmpty: func(d *data) string { return procsEmpty(d, "no process made this syscall") },
		build:    func(d *data) []row { return syscallProcRows(d, nr) },
		drill:    func(r row, d *data) view { return newDetailView(r.key.proc, nr, name) },
	}
}

// procRow is the row of a process in a list of processes whose columns
// start with procIdentity's.
func procRow(cols []column, x *procItem) row {
	r := newRow(cols, x)
	p := x.p
	r.key, r.parent = rowKey{proc: p.ID}, rowKey{proc: p.Parent}
	r.match = strings.ToLower(r.cells[0] + " " + r.cells[1] + " " + r.cells[2])
	r.dim, r.comm = !p.Alive, p.Comm
	return r
}

func syscallRows(stats []model.SyscallStat) []row {
	rows := make([]row, len(stats))
	for i := range stats {
		s := &stats[i]
		rows[i] = newRow(syscallColumns, s)
		rows[i].key = rowKey{nr: s.Nr}
		rows[i].match = strings.ToLower(rows[i].cells[0] + " " + rows[i].cells[1])
	}
	return rows
}

func syscallProcRows(d *data, nr int) []row {
	var rows []row
	x := new(procItem)
	for i := range d.snap.Processes {
		p := &d.snap.Processes[i]
		if !shownProc(p, d) {
			continue
		}
		for j := range p.Syscalls {
			if s := &p.Syscalls[j]; s.Nr == nr {
				x.p, x.s = p, s
				r := procRow(syscallProcColumns, x)
				r.key.nr = nr
				rows = append(rows, r)
				break
			}
		}
	}
	return rows
}

func inFlightRows(d *data) []row {
	rows := make([]row, len(d.inflight))
	for i := range d.inflight {
		f := &d.inflight[i]
		r := newRow(inFlightColumns, f)
		r.key = rowKey{proc: model.ProcID{PID: f.PID}, tid: f.TID}
		r.match = strings.ToLower(r.cells[0] + " " + r.cells[1] + " " + r.cells[2] + " " + r.cells[3])
		rows[i] = r
	}
	return rows
}

func topErrno(s *model.SyscallStat) string {
	if len(s.Errnos) == 0 {
		return ""
	}
	return s.Errnos[0].Name
}

// procLabel names a process in a line of text: "nginx 1234".
func procLabel(p *model.ProcStat) string {
	return fmt.Sprintf("%s %d", model.Escape(p.Comm), p.ID.PID)
}

// inFlightFor formats how long a thread has been inside its syscall; "≥" marks a
// lower bound (it was inside before tlmon started watching).
func inFlightFor(f InFlight) string {
	if f.AtLeast {
		return "≥" + output.Duration(uint64(f.Since))
	}
	return output.Duration(uint64(f.Since))
}

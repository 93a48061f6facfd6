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

// The columns of each table. Widths fit the titles with a sort arrow.
var (
	processColumns = []column{
		{title: "PID", width: 7, right: true},
		{title: "COMM", width: 16},
		{title: "CGROUP", width: 12, flex: true, drop: 4},
		{title: "SYSCALLS/s", width: 11, right: true},
		{title: "TOTAL", width: 7, right: true},
		{title: "ERR/s", width: 7, right: true, drop: 1},
		{title: "TOP SYSCALL", width: 14},
		{title: "P99", width: 7, right: true, drop: 2},
		// Bytes per second read and written (received and sent included): a
		// pair that 80 columns leave out, so that the counts stay.
		{title: "READ/s", width: 7, right: true, drop: 3},
		{title: "WRITE/s", width: 8, right: true, drop: 3},
	}
	// commandColumns are the Processes view's grouped by command: a command's
	// processes are counted in its first column ("ls ×3,214, 2 live").
	commandColumns = []column{
		{title: "COMMAND", width: 22, flex: true, gap: true},
		{title: "SYSCALLS/s", width: 11, right: true},
		{title: "TOTAL", width: 7, right: true},
		{title: "ERR/s", width: 7, right: true, drop: 1},
		{title: "TOP SYSCALL", width: 14},
		{title: "P99", width: 7, right: true, drop: 2},
		{title: "READ/s", width: 7, right: true, drop: 3},
		{title: "WRITE/s", width: 8, right: true, drop: 3},
	}
	syscallColumns = []column{
		{title: "NAME", width: 16, flex: true},
		{title: "CLASS", width: 12, drop: 4},
		{title: "CALLS/s", width: 9, right: true},
		{title: "TOTAL", width: 7, right: true},
		{title: "ERRORS", width: 7, right: true},
		{title: "TOP ERRNO", width: 12, drop: 2},
		{title: "AVG", width: 7, right: true, drop: 1},
		{title: "P50", width: 7, right: true, drop: 3},
		{title: "P99", width: 7, right: true},
	}
	syscallProcColumns = []column{
		{title: "PID", width: 7, right: true},
		{title: "COMM", width: 16},
		{title: "CGROUP", width: 12, flex: true, drop: 3},
		{title: "CALLS/s", width: 9, right: true},
		{title: "TOTAL", width: 7, right: true},
		{title: "ERRORS", width: 7, right: true},
		{title: "TOP ERRNO", width: 12, drop: 2},
		{title: "AVG", width: 7, right: true, drop: 1},
		{title: "P99", width: 7, right: true},
	}
	threadColumns = []column{
		{title: "TID", width: 7, right: true},
		{title: "COMM", width: 16, flex: true},
		{title: "CALLS/s", width: 9, right: true},
		{title: "TOTAL", width: 7, right: true},
		{title: "ERR/s", width: 7, right: true},
		{title: "AVG", width: 7, right: true},
	}
	inFlightColumns = []column{
		{title: "PID", width: 7, right: true},
		{title: "TID", width: 7, right: true},
		{title: "COMM", width: 16},
		{title: "SYSCALL", width: 16, flex: true},
		{title: "FOR", width: 9, right: true},
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
	rows := make([]row, 0, len(d.threads))
	for _, t := range d.threads {
		tid := strconv.FormatUint(uint64(t.TID), 10)
		comm := model.Escape(t.Comm)
		var avg uint64
		avgText := noSamples
		if t.LatCount > 0 {
			avg = t.LatSumNs / t.LatCount
			avgText = output.Duration(avg)
		}
		rows = append(rows, row{
			key:   rowKey{tid: t.TID},
			cells: []string{tid, comm, rate(t.CallRate), count(t.Calls), rate(t.ErrorRate), avgText},
			nums:  []float64{float64(t.TID), 0, t.CallRate, float64(t.Calls), t.ErrorRate, float64(avg)},
			match: strings.ToLower(tid + " " + comm),
		})
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

// procCells are the identity columns of a process row: PID, COMM, CGROUP.
func procRow(p *model.ProcStat, ncols int) row {
	comm, cg := model.Escape(p.Comm), model.Escape(cgroupLabel(p))
	pid := strconv.FormatUint(uint64(p.ID.PID), 10)
	r := row{
		key:    rowKey{proc: p.ID},
		parent: rowKey{proc: p.Parent},
		cells:  make([]string, 3, ncols),
		nums:   make([]float64, ncols),
		match:  strings.ToLower(pid + " " + comm + " " + cg),
		dim:    !p.Alive,
		comm:   p.Comm,
	}
	r.cells[0], r.cells[1], r.cells[2] = pid, comm, cg
	r.nums[0] = float64(p.ID.PID)
	return r
}

func syscallRows(stats []model.SyscallStat) []row {
	rows := make([]row, len(stats))
	for i := range stats {
		s := &stats[i]
		class := s.Classes.String()
		rows[i] = row{
			key: rowKey{nr: s.Nr},
			cells: []string{s.Name, class, rate(s.CallRate), count(s.Calls), count(s.Errors), topErrno(s),
				avgCell(s.AvgNs, s.LatCount), quantileCell(s.P50Ns, s.HasQuantiles()), quantileCell(s.P99Ns, s.HasQuantiles())},
			nums:  []float64{0, 0, s.CallRate, float64(s.Calls), float64(s.Errors), 0, float64(s.AvgNs), float64(s.P50Ns), float64(s.P99Ns)},
			match: strings.ToLower(s.Name + " " + class),
		}
	}
	return rows
}

func syscallProcRows(d *data, nr int) []row {
	var rows []row
	for i := range d.snap.Processes {
		p := &d.snap.Processes[i]
		if !shownProc(p, d) {
			continue
		}
		for j := range p.Syscalls {
			s := &p.Syscalls[j]
			if s.Nr != nr {
				continue
			}
			r := procRow(p, len(syscallProcColumns))
			r.key.nr = nr
			r.cells = append(r.cells, rate(s.CallRate), count(s.Calls), count(s.Errors), topErrno(s),
				avgCell(s.AvgNs, s.LatCount), quantileCell(s.P99Ns, s.HasQuantiles()))
			r.nums[3], r.nums[4], r.nums[5] = s.CallRate, float64(s.Calls), float64(s.Errors)
			r.nums[7], r.nums[8] = float64(s.AvgNs), float64(s.P99Ns)
			rows = append(rows, r)
			break
		}
	}
	return rows
}

func inFlightRows(d *data) []row {
	rows := make([]row, len(d.inflight))
	for i, f := range d.inflight {
		pid, tid := strconv.FormatUint(uint64(f.PID), 10), strconv.FormatUint(uint64(f.TID), 10)
		comm := model.Escape(f.Comm)
		rows[i] = row{
			key:   rowKey{proc: model.ProcID{PID: f.PID}, tid: f.TID},
			cells: []string{pid, tid, comm, f.Syscall, inFlightFor(f)},
			nums:  []float64{float64(f.PID), float64(f.TID), 0, 0, float64(f.Since)},
			match: strings.ToLower(pid + " " + tid + " " + comm + " " + f.Syscall),
		}
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

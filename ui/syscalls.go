package ui

import (
	"strconv"
	"strings"
	"time"

	"tlmon/model"
	"tlmon/output"
	"tlmon/syscalls"
)

// The syscall lists: the Syscalls view, one process's syscalls, the
// processes that made one syscall; and the threads in flight.

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
func syscallP95(s *model.SyscallStat) (string, float64) {
	return quantileCell(s.P95Ns, s.HasQuantiles()), float64(s.P95Ns)
}
func syscallP99(s *model.SyscallStat) (string, float64) {
	return quantileCell(s.P99Ns, s.HasQuantiles()), float64(s.P99Ns)
}

// slowP99 is the p99 that draws the eye in a syscall that does not wait by
// design (syscalls.Waits): 10 ms is a disk seek, or a page-cache hit a
// thousand times over.
const slowP99 = 10 * time.Millisecond

// slowCall says whether a p99 (ns) of the syscall named name should draw
// the eye.
func slowCall(name string, p99 float64) bool {
	return p99 >= float64(slowP99) && !syscalls.Waits(name)
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
		{title: "CLASS", width: 12, drop: 5, cell: textCell(func(s *model.SyscallStat) string { return s.Classes.String() })},
		{title: "CALLS/s", width: 9, right: true, cell: cellOf(syscallRate)},
		{title: "TOTAL", width: 7, right: true, cell: cellOf(syscallCalls)},
		{title: "ERRORS", width: 7, right: true, alert: nonZero, cell: cellOf(syscallErrors)},
		{title: "TOP ERRNO", width: 12, drop: 2, cell: textCell(topErrno)},
		{title: "AVG", width: 7, right: true, drop: 1, cell: cellOf(syscallAvg)},
		{title: "P50", width: 7, right: true, drop: 4, cell: cellOf(syscallP50)},
		{title: "P95", width: 7, right: true, drop: 3, cell: cellOf(syscallP95)},
		{title: "P99", width: 7, right: true, alert: alertOf(func(s *model.SyscallStat, v float64) bool { return slowCall(s.Name, v) }), cell: cellOf(syscallP99)},
	}
	syscallProcColumns = append(procIdentity(4),
		column{title: "CALLS/s", width: 9, right: true, cell: ofSyscall(syscallRate)},
		column{title: "TOTAL", width: 7, right: true, cell: ofSyscall(syscallCalls)},
		column{title: "ERRORS", width: 7, right: true, alert: nonZero, cell: ofSyscall(syscallErrors)},
		column{title: "TOP ERRNO", width: 12, drop: 2, cell: textCell(func(x *procItem) string { return topErrno(x.s) })},
		column{title: "AVG", width: 7, right: true, drop: 1, cell: ofSyscall(syscallAvg)},
		column{title: "P95", width: 7, right: true, drop: 3, cell: ofSyscall(syscallP95)},
		column{title: "P99", width: 7, right: true, alert: alertOf(func(x *procItem, v float64) bool { return slowCall(x.s.Name, v) }), cell: ofSyscall(syscallP99)},
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
		vid:   viewSyscalls, name: "Syscalls", empty: "no syscall counted yet",
		build: func(d *data) []row { return syscallRows(d.snap.Syscalls, d.rules, "") },
		drill: func(r row, d *data) view { return newSyscallProcsView(r.key.nr, r.cells[0]) },
	}
}

func newInFlightView() *tableView {
	return &tableView{
		table: table{cols: inFlightColumns, sortCol: 4},
		vid:   viewInFlight, name: "In flight", empty: "no thread is inside a syscall",
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

// newProcSyscallsView lists one process's syscalls; e swaps it for the
// process's events.
func newProcSyscallsView(id model.ProcID, d *data) *tableView {
	name := "pid " + strconv.FormatUint(uint64(id.PID), 10)
	if p := d.procs[id]; p != nil {
		name = procLabel(p)
	}
	v := &tableView{
		table: table{cols: syscallColumns, sortCol: 2},
		vid:   viewProcSyscalls, name: name, empty: "this process made no syscall (or is no longer tracked)",
		build: func(d *data) []row {
			if p := d.procs[id]; p != nil {
				return syscallRows(p.Syscalls, d.rules, p.Comm)
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

// newSyscallProcsView lists the processes that made one syscall.
func newSyscallProcsView(nr int, name string) *tableView {
	return &tableView{
		table: table{cols: syscallProcColumns, sortCol: 3},
		vid:   viewSyscallProcs, name: name,
		whyEmpty: func(d *data) string { return procsEmpty(d, "no process made this syscall") },
		build:    func(d *data) []row { return syscallProcRows(d, nr) },
		drill: func(r row, d *data) view {
			// The breadcrumb has the syscall already: this level is the process.
			v := newDetailView(r.key.proc, nr, name)
			v.label = "pid " + strconv.FormatUint(uint64(r.key.proc.PID), 10)
			if p := d.procs[r.key.proc]; p != nil {
				v.label = procLabel(p)
			}
			return v
		},
	}
}

// syscallRows are the rows of stats, of process comm's ("": system-wide),
// highlighted by rules.
func syscallRows(stats []model.SyscallStat, rules []Highlight, comm string) []row {
	rows := make([]row, len(stats))
	rm := newRowMaker(syscallColumns, len(stats))
	for i := range stats {
		s := &stats[i]
		rows[i] = rm.row(s)
		rows[i].key = rowKey{nr: s.Nr}
		rows[i].hl = highlightOf(rules, s.Name, topErrno(s), comm, time.Duration(s.P99Ns))
		rows[i].match = strings.ToLower(rows[i].cells[0] + " " + rows[i].cells[1])
	}
	return rows
}

func syscallProcRows(d *data, nr int) []row {
	var rows []row
	rm := newRowMaker(syscallProcColumns, 0)
	x := new(procItem)
	for i := range d.snap.Processes {
		p := &d.snap.Processes[i]
		if !shownProc(p, d) {
			continue
		}
		for j := range p.Syscalls {
			if s := &p.Syscalls[j]; s.Nr == nr {
				x.p, x.s = p, s
				r := procRow(&rm, x)
				r.key.nr = nr
				r.hl = highlightOf(d.rules, s.Name, topErrno(s), p.Comm, time.Duration(s.P99Ns))
				rows = append(rows, r)
				break
			}
		}
	}
	return rows
}

func inFlightRows(d *data) []row {
	rows := make([]row, len(d.inflight))
	rm := newRowMaker(inFlightColumns, len(d.inflight))
	for i := range d.inflight {
		f := &d.inflight[i]
		r := rm.row(f)
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

// inFlightFor formats how long a thread has been inside its syscall; "≥" marks a
// lower bound (it was inside before tlmon started watching).
func inFlightFor(f InFlight) string {
	switch {
	case f.AtLeast:
		return "≥" + output.Duration(uint64(f.Since))
	case f.AtMost:
		return "≤" + output.Duration(uint64(f.Since))
	}
	return output.Duration(uint64(f.Since))
}

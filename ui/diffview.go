package ui

import (
	"math"
	"time"

	tea "charm.land/bubbletea/v2"

	"tlmon/diff"
	"tlmon/model"
	"tlmon/output"
)

// The diff: A and B mark two windows of the history (the interval shown;
// pressed again at another moment, the range between), D compares them: the
// commands and the syscalls whose calls/s, errors/s and p99 changed most,
// new and vanished ones marked (e swaps the two lists, enter drills into a
// row's parts). With B unmarked, A is compared with the interval shown.

// mark is a window marked A or B.
type mark struct {
	w      diff.Window
	ranged bool // a range of intervals, not one
}

func (k mark) set() bool { return k.w.To != nil }

// label says when a window was: its end's time and its span.
func (k mark) label() string {
	return k.w.To.At.Format("15:04:05") + " (" + k.w.Span().Round(10*time.Millisecond).String() + ")"
}

// shownWindow is the interval the picture shows: the snapshot shown, less
// the one before it (the history's; none: since the start).
func (m *app) shownWindow() diff.Window {
	w := diff.Window{To: m.data.snap}
	i := m.shownMoment()
	if i > 0 && i-1 < len(m.hist.moments) {
		if s, err := m.b.SnapshotAt(m.hist.moments[i-1].Seq); err == nil && s.At.Before(w.To.At) {
			w.From = s
		}
	}
	return w
}

// markWindow marks the interval shown as A (which 0) or B (1); marked
// already with one interval, it widens to the range from there to here.
func (m *app) markWindow(which int) {
	k := &m.marks[which]
	w := m.shownWindow()
	if k.set() && !k.ranged && k.w.To != w.To {
		lo, hi := k.w, w
		if hi.To.At.Before(lo.To.At) {
			lo, hi = hi, lo
		}
		k.w, k.ranged = diff.Window{From: lo.From, To: hi.To}, true
	} else {
		k.w, k.ranged = w, false
	}
	name := string("AB"[which])
	with := "the interval shown"
	if m.marks[1].set() {
		with = "B"
	}
	m.setStatus(false, "%s is %s; %s again elsewhere marks a range; D compares A with %s", name, k.label(), name, with)
}

// diffView opens the comparison of A with B, or with the interval shown.
func (m *app) diffView() tea.Cmd {
	a, b := m.marks[0], m.marks[1]
	if !a.set() {
		m.setStatus(true, "mark a window first: A marks the interval shown, B another")
		return nil
	}
	if !b.set() {
		b = mark{w: m.shownWindow()}
	}
	return m.do(push(newDiffView(a, b, diff.Compare(a.w, b.w))))
}

// diffColumns are a diff's: the name, then calls/s, errors/s and p99 in A,
// in B and their change; a change sorts by its size, either way.
func diffColumns(name string) []column {
	return []column{
		{title: name, width: 16, flex: true, gap: true, cell: textCell(func(r *diff.Row) string { return model.Escape(r.Name) })},
		{title: "A CALLS/s", width: 10, right: true, drop: 2, cell: rateCell(func(r *diff.Row) float64 { return r.A.CallRate })},
		{title: "B CALLS/s", width: 10, right: true, drop: 2, cell: rateCell(func(r *diff.Row) float64 { return r.B.CallRate })},
		{title: "ΔCALLS/s", width: 9, right: true, cell: deltaCell(func(r *diff.Row) (float64, string) { return r.DeltaCallRate(), signedRate(r.DeltaCallRate()) })},
		{title: "A ERR/s", width: 8, right: true, drop: 3, cell: rateCell(func(r *diff.Row) float64 { return r.A.ErrorRate })},
		{title: "B ERR/s", width: 8, right: true, drop: 3, cell: rateCell(func(r *diff.Row) float64 { return r.B.ErrorRate })},
		{title: "ΔERR/s", width: 8, right: true, alert: alertOf(func(r *diff.Row, _ float64) bool { return r.DeltaErrorRate() > 0 }),
			cell: deltaCell(func(r *diff.Row) (float64, string) { return r.DeltaErrorRate(), signedRate(r.DeltaErrorRate()) })},
		{title: "A P99", width: 7, right: true, drop: 1, cell: cellOf(func(r *diff.Row) (string, float64) { return quantileCell(r.A.P99Ns, r.A.HasP99), float64(r.A.P99Ns) })},
		{title: "B P99", width: 7, right: true, drop: 1, cell: cellOf(func(r *diff.Row) (string, float64) { return quantileCell(r.B.P99Ns, r.B.HasP99), float64(r.B.P99Ns) })},
		{title: "ΔP99", width: 8, right: true, cell: deltaCell(func(r *diff.Row) (float64, string) {
			if !r.A.HasP99 || !r.B.HasP99 {
				return 0, noSamples
			}
			return r.DeltaP99(), signedDuration(r.DeltaP99())
		})},
		{title: "CHANGE", width: 8, drop: 4, cell: textCell(func(r *diff.Row) string { return r.Change.String() })},
	}
}

// deltaCell is a change, shown signed and sorted by its size.
func deltaCell(f func(*diff.Row) (float64, string)) func(any) (string, float64) {
	return func(item any) (string, float64) {
		v, s := f(item.(*diff.Row))
		return s, math.Abs(v)
	}
}

func signedRate(r float64) string {
	switch {
	case r > 0:
		return "+" + rate(r)
	case r < 0:
		return "-" + rate(-r)
	}
	return "0"
}

func signedDuration(ns float64) string {
	switch {
	case ns > 0:
		return "+" + output.Duration(uint64(ns))
	case ns < 0:
		return "-" + output.Duration(uint64(-ns))
	}
	return "0"
}

// diffRows are the rows of a diff's list.
func diffRows(list []diff.Row) []row {
	rm := newRowMaker(diffColumns(""), len(list))
	rows := make([]row, len(list))
	for i := range list {
		r := rm.row(&list[i])
		r.key = rowKey{name: list[i].Name}
		r.match = list[i].Name
		r.dim = list[i].Change == diff.Vanished
		rows[i] = r
	}
	return rows
}

// newDiffView is the comparison of a with b: its commands, e for its
// syscalls, enter for a row's parts.
func newDiffView(a, b mark, res diff.Result) *tableView {
	name := "diff A " + a.label() + " · B " + b.label()
	commands := &tableView{
		table: table{cols: diffColumns("COMMAND"), sortCol: 3},
		vid:   viewDiff, name: name, empty: "no command made a call in either window",
		build: func(*data) []row { return diffRows(res.Commands) },
		drill: func(r row, _ *data) view {
			return newDiffPartsView("syscalls of "+r.key.name, "SYSCALL", diff.CommandSyscalls(a.w, b.w, r.key.name))
		},
	}
	syscalls := &tableView{
		table: table{cols: diffColumns("SYSCALL"), sortCol: 3},
		vid:   viewDiff, name: name, empty: "no syscall was made in either window",
		build: func(*data) []row { return diffRows(res.Syscalls) },
		drill: func(r row, _ *data) view {
			return newDiffPartsView("commands of "+r.key.name, "COMMAND", diff.SyscallCommands(a.w, b.w, r.key.name))
		},
	}
	commands.other, commands.otherName = func(*data) *tableView { return syscalls }, "syscalls"
	syscalls.other, syscalls.otherName = func(*data) *tableView { return commands }, "commands"
	return commands
}

// newDiffPartsView is a diff's row drilled into.
func newDiffPartsView(name, title string, rows []diff.Row) *tableView {
	return &tableView{
		table: table{cols: diffColumns(title), sortCol: 3},
		vid:   viewDiffParts, name: name, empty: "nothing in either window",
		build: func(*data) []row { return diffRows(rows) },
	}
}

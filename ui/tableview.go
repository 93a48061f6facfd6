package ui

import (
	"fmt"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"tlmon/model"
	"tlmon/themes"
)

// tableView is every view that is a table.
type tableView struct {
	table
	vid    viewID
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
	// twin is the same rows grouped otherwise, which C puts in this one's
	// place (the Processes view a row per process, and per command).
	twin *tableView
	// foot, when set, draws lines under the table in at most n lines (a third
	// of the view).
	foot      func(d *data, n int) []textLine
	footLines []textLine
	// proc is the process the view is about (its syscalls, its threads, its
	// events), or the zero ProcID.
	proc model.ProcID
	// viewHeight is the height of the view: the table's and the foot's.
	viewHeight int
	// note, when set, is said in the status line after the rows counted.
	note string
	// fedBy is the class whose detail events feed the rows (files, endpoints,
	// TCP connections), or 0: while its detail is off, the rows shown are
	// no longer updated, and the status line says so.
	fedBy model.Class
}

func (v *tableView) id() viewID          { return v.vid }
func (v *tableView) crumb() string       { return v.name }
func (v *tableView) about() model.ProcID { return v.proc }

// A user who moves the cursor takes it back from the row it followed.
func (v *tableView) wheel(delta int) {
	v.follow = false
	v.move(delta)
}

func (v *tableView) click(y int) {
	v.follow = false
	v.clickAt(y)
}

// liveOnly says the view's rows are read live, not kept in the history (in
// flight, threads): at a past moment it shows none, and says why.
func (v *tableView) liveOnly() bool {
	return v.vid == viewInFlight || v.vid == viewThreads
}

func (v *tableView) refresh(d *data) {
	if d.past && v.liveOnly() {
		v.empty = "read live only, not kept in the history: = goes back to live"
		v.footLines = nil
		v.setHeight(v.viewHeight - 1)
		v.setRows(nil)
		return
	}
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

// enable turns on the keys of a table: moves and following where there are
// rows, sort and filter, each of drill, tree, e and C where the view has it,
// and threads, signal and trace where it is about a process or its cursor is
// on one.
func (v *tableView) enable(k *KeyMap) {
	_, hasRow := v.selected()
	if len(v.shown) > 0 {
		k.enableMoves()
	}
	enable(&k.Sort, &k.SortReverse, &k.Filter, &k.Export, &k.Columns)
	k.Right.SetEnabled(v.cutRight())
	k.Left.SetEnabled(v.xoff > 0)
	k.Follow.SetEnabled(hasRow || v.follow)
	k.Drill.SetEnabled(hasRow && v.drill != nil)
	k.Tree.SetEnabled(v.isTree)
	if v.other != nil {
		k.Swap.SetEnabled(true)
		k.Swap.SetHelp("e", v.otherName)
	}
	k.Group.SetEnabled(v.twin != nil)
	_, ok := v.selectedProc()
	k.Threads.SetEnabled(ok)
	k.Kill.SetEnabled(ok)
	k.Trace.SetEnabled(ok)
	k.Back.SetEnabled(v.filter != "") // the root enables it too where there is a level to go back to
}

func (v *tableView) update(msg tea.KeyPressMsg, k *KeyMap, d *data) (request, tea.Cmd) {
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
	case key.Matches(msg, k.Right):
		v.scroll(1)
	case key.Matches(msg, k.Left):
		v.scroll(-1)
	case key.Matches(msg, k.Sort):
		v.sortBy(true, false)
	case key.Matches(msg, k.SortReverse):
		v.sortBy(false, true)
	case key.Matches(msg, k.Tree) && v.isTree:
		v.toggleTree()
	case key.Matches(msg, k.Drill) && v.drill != nil:
		if r, ok := v.selected(); ok {
			return push(v.drill(r, d)), nil
		}
	case key.Matches(msg, k.Swap) && v.other != nil:
		return replace(v.other(d)), nil
	case key.Matches(msg, k.Group) && v.twin != nil:
		return replace(v.regroup(d)), nil
	case key.Matches(msg, k.Threads):
		if id, ok := v.selectedProc(); ok {
			return push(newThreadsView(id, d)), nil
		}
	case key.Matches(msg, k.Filter):
		f := newFilter(v)
		return open(f), f.input.Focus()
	case key.Matches(msg, k.Columns):
		return open(newColumnChooser(v, d.saveView)), nil
	case key.Matches(msg, k.Back):
		if v.filter == "" {
			return pop(), nil
		}
		v.setFilter("")
	}
	return request{}, nil
}

// selectedProc is the process the view is about, or the one under its
// cursor; none in the Threads view.
func (v *tableView) selectedProc() (model.ProcID, bool) {
	if v.vid == viewThreads {
		return model.ProcID{}, false
	}
	if v.proc != (model.ProcID{}) {
		return v.proc, true
	}
	if r, ok := v.selected(); ok && r.key.proc != (model.ProcID{}) {
		return r.key.proc, true
	}
	return model.ProcID{}, false
}

// regroup readies the twin to take this view's place, with the cursor on
// the command it was on (and following it if it followed).
func (v *tableView) regroup(d *data) *tableView {
	to := v.twin
	to.setSize(v.width, v.viewHeight)
	to.refresh(d)
	if r, ok := v.selected(); ok {
		to.focusComm(r.comm)
		to.follow = false
		if v.follow {
			to.toggleFollow()
		}
	}
	return to
}

func (v *tableView) status(d *data, th *themes.Theme, width int) string {
	switch {
	case v.filter != "":
		return truncate(fmt.Sprintf("%d of %s match \\%s · esc clears", len(v.shown), rowCount(len(v.rows), "row"), model.Escape(v.filter))+v.state(d), width)
	case v.other != nil:
		return th.Dim.Render(truncate(joinStatus(rowCount(len(v.rows), "row"), "e: "+v.otherName)+v.state(d), width))
	case v.vid == viewCommands:
		return th.Dim.Render(truncate(joinStatus(rowCount(len(v.rows), "command"), "C: a row per process")+v.state(d), width))
	}
	return th.Dim.Render(truncate(strings.TrimPrefix(joinStatus(rowCount(len(v.rows), "row"), v.note)+v.state(d), " · "), width))
}

// rowCount counts rows for the status line: "1 row", "12 rows", and nothing
// for none, where the table's one line already says why it is empty (a "0
// rows" under it reads as a contradiction).
func rowCount(n int, noun string) string {
	switch n {
	case 0:
		return ""
	case 1:
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// joinStatus joins the parts of a status line that are not empty with " · ".
func joinStatus(parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		if p == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(" · ")
		}
		b.WriteString(p)
	}
	return b.String()
}

// state says what the status line of a table adds: the row the cursor
// follows, and what E and K hide from a list of processes.
func (v *tableView) state(d *data) string {
	var b strings.Builder
	if c := v.fedBy; c != 0 && len(v.rows) > 0 && d.detail&c == 0 {
		i := classIndex(c)
		fmt.Fprintf(&b, " · not updated: %s detail is off (%s, then %s)", model.ClassNames[i], classMenuKey, strings.ToUpper(classKeys[i]))
	}
	if v.follow {
		b.WriteString(" · following " + followLabel(v.followed) + " (P stops)")
	}
	if v.vid.listsProcesses() && d.hideExited {
		b.WriteString(" · exited hidden (E)")
	}
	if v.vid.listsProcesses() && d.hideKernel {
		b.WriteString(" · kernel threads hidden (K)")
	}
	return b.String()
}

// followLabel names a followed row: a process by its command and PID, a
// command by its name, anything else by its first cell.
func followLabel(r row) string {
	switch {
	case r.key.proc != (model.ProcID{}) && r.comm != "":
		return model.Escape(r.comm) + " " + strconv.FormatUint(uint64(r.key.proc.PID), 10)
	case r.comm != "":
		return model.Escape(r.comm)
	case len(r.cells) > 0:
		return r.cells[0]
	}
	return ""
}

package ui

import (
	"time"

	tea "charm.land/bubbletea/v2"

	"tlmon/model"
	"tlmon/themes"
)

// data is what the views show: the snapshot, an index of its processes and
// the last in-flight list. The root model owns it; views only read it.
type data struct {
	snap  *model.Snapshot
	procs map[model.ProcID]*model.ProcStat
	// recent are the processes' call rates in the last snapshots shown,
	// the newest last: the TREND column draws them. Rates only, not the
	// snapshots, which under churn hold megabytes each. Scrubbing back in
	// time rebuilds them from the history.
	recent   []map[model.ProcID]float64
	recentAt time.Time // of the newest
	// past says the snapshot is a moment of the history, not the live
	// one: what is read live only (in flight, threads, events) is not shown.
	past     bool
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
	// traced is the process every call of which is sent in detail (d; zero:
	// none), tracedComm its name when it was chosen, for once it is gone
	// from the lists.
	traced     model.ProcID
	tracedComm string
	// hideExited and hideKernel leave exited processes and kernel threads
	// out of the process lists (E and K).
	hideExited, hideKernel bool
	// rules are the config file's highlight rules (row.hl); saveView keeps
	// a view's columns and sort in it (nil: no config file to keep them in).
	rules    []Highlight
	saveView func(name string, p ViewPrefs) error
}

// setTraced makes id the process traced, keeping its name while it is
// listed.
func (d *data) setTraced(id model.ProcID) {
	if id != d.traced {
		d.tracedComm = ""
	}
	d.traced = id
	if p := d.procs[id]; p != nil {
		d.tracedComm = p.Comm
	}
}

func (d *data) setSnapshot(s *model.Snapshot) {
	d.snap = s
	d.procs = procIndex(s)
	if !s.At.After(d.recentAt) { // the same snapshot again, or an earlier one
		d.recent = d.recent[:0]
	}
	if len(d.recent) == trendLen {
		d.recent = append(d.recent[:0], d.recent[1:]...)
	}
	rates := make(map[model.ProcID]float64, len(s.Processes))
	for i := range s.Processes {
		if p := &s.Processes[i]; p.CallRate > 0 {
			rates[p.ID] = p.CallRate
		}
	}
	d.recent, d.recentAt = append(d.recent, rates), s.At
}

// setMoment shows a snapshot from the history, with the snapshots before
// it (oldest first) for the trends.
func (d *data) setMoment(s *model.Snapshot, before []*model.Snapshot) {
	d.recent, d.recentAt = d.recent[:0], time.Time{}
	for _, b := range before {
		d.setSnapshot(b)
	}
	d.setSnapshot(s)
}

func procIndex(s *model.Snapshot) map[model.ProcID]*model.ProcStat {
	m := make(map[model.ProcID]*model.ProcStat, len(s.Processes))
	for i := range s.Processes {
		m[s.Processes[i].ID] = &s.Processes[i]
	}
	return m
}

// trend is process id's call rates in the recent snapshots, newest last,
// right-aligned in rates (trendLen long): 0 where it made no call or was
// not there.
func (d *data) trend(id model.ProcID, rates *[trendLen]float64) {
	*rates = [trendLen]float64{}
	off := trendLen - len(d.recent)
	for i, r := range d.recent {
		rates[off+i] = r[id]
	}
}

// viewID says which view a view is: what the root polls for it and what the
// status line says of it depend on it.
type viewID int

const (
	viewProcesses    viewID = iota // tab 1: a row per process
	viewCommands                   // tab 1 grouped (C): a row per command
	viewSyscalls                   // tab 2
	viewInFlight                   // tab 3
	viewFiles                      // tab 4
	viewEndpoints                  // tab 5
	viewTCP                        // tab 5 swapped (e): the TCP connections
	viewCommand                    // the processes of one command
	viewProcSyscalls               // one process's syscalls
	viewSyscallProcs               // the processes that made one syscall
	viewThreads                    // one process's threads (T)
	viewEvents                     // one process's events pane (e)
	viewDetail                     // one syscall of one process
	viewCall                       // one call of an events pane, in full
	viewDiff                       // two windows compared (D)
	viewDiffParts                  // a row of a diff drilled into
)

// listsProcesses says the view lists processes (or commands), which E and K
// thin out.
func (id viewID) listsProcesses() bool {
	switch id {
	case viewProcesses, viewCommands, viewCommand, viewSyscallProcs:
		return true
	}
	return false
}

// tab is one of the top-level views, keys 1 to 5.
type tab int

const (
	tabProcesses tab = iota
	tabSyscalls
	tabInFlight
	tabFiles
	tabConnections
	numTabs
)

// newTabs makes the views of the tabs, each with its twin where it has one
// (the Processes view grouped by command, the TCP connections).
func newTabs() [numTabs]view {
	procs, _ := newProcessViews()
	endpoints, _ := newConnectionsViews()
	return [numTabs]view{procs, newSyscallsView(), newInFlightView(), newFilesView(), endpoints}
}

// view is one screen under the header: a top-level view or a drill-down level.
type view interface {
	id() viewID
	// crumb names the level in the breadcrumb.
	crumb() string
	// about is the process the view is about (its syscalls, threads or
	// events), or the zero ProcID.
	about() model.ProcID
	// refresh rebuilds what is shown from d; called when the view becomes
	// visible and on each new snapshot while it is.
	refresh(d *data)
	setSize(width, height int)
	// enable turns on the bindings of keys that do something in the view as
	// it is now (the global keys are on already).
	enable(k *KeyMap)
	// update handles a key the root left to the view: what it asks of the
	// root, and a command.
	update(msg tea.KeyPressMsg, k *KeyMap, d *data) (request, tea.Cmd)
	// wheel scrolls, click selects the line y of the view.
	wheel(delta int)
	click(y int)
	render(th *themes.Theme) []string
	// status is the status line when no message or overlay takes it.
	status(d *data, th *themes.Theme, width int) string
}

// request is what a view's key asks of the root; the zero request asks
// nothing.
type request struct {
	kind    requestKind
	view    view    // push, replace
	overlay overlay // open
}

type requestKind int

const (
	reqNone    requestKind = iota
	reqPush                // drill down into view
	reqReplace             // view takes the place of the one on top (e, C)
	reqPop                 // back up one level, if there is one
	reqOpen                // open overlay over the view
)

// push drills down into v; nil is nowhere to go.
func push(v view) request {
	if v == nil {
		return request{}
	}
	return request{kind: reqPush, view: v}
}

func replace(v view) request { return request{kind: reqReplace, view: v} }
func pop() request           { return request{kind: reqPop} }
func open(o overlay) request { return request{kind: reqOpen, overlay: o} }

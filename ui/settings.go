package ui

import (
	"fmt"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"tlmon/model"
)

// The global keys that change what is counted and shown: the classes counted
// and sent in detail, the slow-call threshold, the processes the lists hide.

// toggleClass switches one class on or off in the kernel. A syscall in several
// classes stays counted while any of them is on.
func (m *app) toggleClass(c model.Class) {
	want := m.b.Classes() ^ c
	if err := m.b.SetClasses(want); err != nil {
		m.setStatus(true, "classes %s: %v", want, err)
		return
	}
	m.data.classes = want
	m.top().refresh(&m.data) // what the empty views say depends on it
}

// toggleDetail switches the detail events of class i on or off: its calls
// sent one by one with their arguments, while the class is counted.
func (m *app) toggleDetail(i int) {
	c, name := model.AllClasses[i], model.ClassNames[i]
	want := m.b.Detail() ^ c
	if err := m.b.SetDetail(want); err != nil {
		m.setStatus(true, "%s detail: %v", name, err)
		return
	}
	m.data.detail, m.data.classes = want, m.b.Classes()
	switch {
	case want&c == 0:
		m.setStatus(false, "%s detail off", name)
	case m.data.classes&c == 0:
		m.setStatus(false, "%s detail on, but %s is not counted: press %s to count it", name, name, classKeys[i])
	default:
		m.setStatus(false, "%s detail on: e in a process shows its calls", name)
	}
	m.top().refresh(&m.data)
}

// slowSteps are the slow-call thresholds the l key cycles through (0: off).
var slowSteps = []time.Duration{0, 10 * time.Millisecond, 100 * time.Millisecond, time.Second}

// nextSlow sets the next slow-call threshold: any watched call slower than it
// is sent with its arguments, whatever its class, and shows among the events.
func (m *app) nextSlow() {
	cur, next := m.b.Slow(), slowSteps[0]
	for i, d := range slowSteps {
		if d == cur {
			next = slowSteps[(i+1)%len(slowSteps)]
		}
	}
	if err := m.b.SetSlow(next); err != nil {
		m.setStatus(true, "slow calls: %v", err)
		return
	}
	if next == 0 {
		m.setStatus(false, "slow calls off")
		return
	}
	m.setStatus(false, "calls slower than %s are sent with their arguments: e in a process shows them", next)
}

// toggleHideExited hides the exited processes from the process lists, or
// shows them again for exitedGrace.
func (m *app) toggleHideExited() {
	m.data.hideExited = !m.data.hideExited
	if m.data.hideExited {
		m.setStatus(false, "exited processes hidden")
	} else {
		m.setStatus(false, "exited processes shown for %s after their exit", exitedGrace)
	}
	m.top().refresh(&m.data)
}

// toggleHideKernel hides the kernel threads from the process lists, or shows
// them again.
func (m *app) toggleHideKernel() {
	m.data.hideKernel = !m.data.hideKernel
	if m.data.hideKernel {
		m.setStatus(false, "kernel threads hidden")
	} else {
		m.setStatus(false, "kernel threads shown")
	}
	m.top().refresh(&m.data)
}

// toggleTrace traces process id (d): every call of it sent in detail,
// whatever the classes in detail, and its events pane shown, as htop's s
// straces a process. One process at a time: another replaces it; d on the
// process traced stops it. Where the backend refuses (no detail on this
// rung, the process is gone), the status line says why and nothing changes.
func (m *app) toggleTrace(id model.ProcID) tea.Cmd {
	comm := ""
	if p := m.data.procs[id]; p != nil {
		comm = p.Comm
	} else if id == m.data.traced {
		comm = m.data.tracedComm
	}
	label := strings.TrimSpace(fmt.Sprintf("%d %s", id.PID, model.Escape(comm)))
	if id == m.data.traced {
		if err := m.b.Trace(model.ProcID{}); err != nil {
			m.setStatus(true, "stop tracing %s: %s", label, errText(err))
			return nil
		}
		m.data.setTraced(model.ProcID{})
		m.setStatus(false, "stopped tracing %s", label)
		m.top().refresh(&m.data)
		return nil
	}
	prev := m.data.traced
	if err := m.b.Trace(id); err != nil {
		m.setStatus(true, "trace %s: %s", label, errText(err))
		return nil
	}
	m.data.traced, m.data.tracedComm = id, comm
	switch {
	case prev != (model.ProcID{}):
		m.setStatus(false, "tracing %s instead of pid %d: every call it makes, below (d stops)", label, prev.PID)
	case m.data.classes != model.ClassAll:
		m.setStatus(false, "tracing %s: every call of the classes counted (%s), below (d stops)", label, m.data.classes)
	default:
		m.setStatus(false, "tracing %s: every call it makes, below (d stops)", label)
	}
	if m.shownEvents() == id {
		m.top().refresh(&m.data)
		return nil
	}
	// The events pane as its drill-down's e shows it: in its drill-down, in
	// its place; elsewhere above the view, where esc goes back to.
	if tv, ok := m.top().(*tableView); ok && tv.id() == viewProcSyscalls && tv.about() == id && tv.other != nil {
		return m.do(replace(tv.other(&m.data)))
	}
	return m.do(push(newProcSyscallsView(id, &m.data).other(&m.data)))
}

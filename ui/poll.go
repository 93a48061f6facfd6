package ui

import (
	tea "charm.land/bubbletea/v2"

	"tlmon/model"
)

// What the root reads from the backend, and when: the snapshot on each tick
// unless paused; the in-flight threads, a process's threads and its detail
// only while the view that shows them is on top, since each costs more than
// a snapshot. The attach picker, which walks /proc for its targets, holds
// the polls of the view it hides.

// pull takes the aggregator's latest snapshot, unless paused.
// pullMoments reads the moments the history keeps, paused or not: the
// timeline strip goes on.
func (m *app) pullMoments() {
	m.hist.moments = m.b.Moments()
}

func (m *app) pull() {
	if m.paused {
		return
	}
	m.meta, m.data.classes, m.data.detail = m.b.Meta(), m.b.Classes(), m.b.Detail()
	if traced := m.b.Traced(); traced != m.data.traced {
		if traced == (model.ProcID{}) { // the backend ended it: the process exited
			m.setStatus(false, "%s exited: its trace ended", m.tracedName())
		}
		m.data.setTraced(traced)
	}
	s := m.b.Snapshot()
	events := m.shownEvents() != model.ProcID{} && m.picker() == nil
	if s == m.data.snap && !events {
		return
	}
	if s != m.data.snap {
		m.data.setSnapshot(s)
	}
	if events { // the pane's calls change without a new snapshot
		m.pollProcDetail()
	}
	m.top().refresh(&m.data)
}

// shownEvents is the process whose events pane is on top (zero: none).
func (m *app) shownEvents() model.ProcID {
	if v := m.top(); v.id() == viewEvents {
		return v.about()
	}
	return model.ProcID{}
}

// pollProcDetail reads the detail of the process whose events pane shows: on
// each tick while it shows (pull, so never while paused), and once when it
// opens, paused or not, so that it never opens empty. It is a copy out of the
// aggregator's memory, as cheap as Snapshot, so it is read here rather than
// in a command. Once the pane is gone, what it held is let go.
func (m *app) pollProcDetail() {
	switch id := m.shownEvents(); {
	case id != (model.ProcID{}) && m.hist.at != 0:
		m.data.procDetail, m.data.procDetailOf = m.b.ProcDetailAt(id, m.hist.at), id
	case id != (model.ProcID{}):
		m.data.procDetail, m.data.procDetailOf = m.b.ProcDetail(id), id
	default:
		m.data.procDetail, m.data.procDetailOf = model.ProcDetail{}, id
	}
}

// shownThreads is the process whose Threads view is on top (0: none).
func (m *app) shownThreads() uint32 {
	if v := m.top(); v.id() == viewThreads {
		return v.about().PID
	}
	return 0
}

// pollThreads asks for the per-thread counts while the Threads view shows, and
// tells the backend to stop counting threads once it no longer does.
func (m *app) pollThreads() tea.Cmd {
	pid := m.shownThreads()
	if m.threadsPolling || m.picker() != nil || (pid == 0 && m.threadsPID == 0) || (pid != 0 && m.paused) {
		return nil
	}
	if pid != m.threadsPID {
		m.data.threads = nil
	}
	m.threadsPID, m.threadsPolling = pid, true
	b := m.b
	return func() tea.Msg {
		list, err := b.Threads(pid)
		return threadsMsg{pid, list, err}
	}
}

// pollInFlight asks for the in-flight threads, only while that view shows:
// it costs a walk of /proc.
func (m *app) pollInFlight() tea.Cmd {
	if m.paused || m.polling || m.top().id() != viewInFlight || m.picker() != nil {
		return nil
	}
	m.polling = true
	b := m.b
	return func() tea.Msg {
		list, err := b.InFlight()
		return inFlightMsg{list, err}
	}
}

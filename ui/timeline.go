package ui

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"tlmon/model"
)

// The history: the backend keeps the last minutes of snapshots (moments),
// and the monitor moves through them. A strip under the header draws their
// calls/s and errors/s with a cursor on the moment shown; [ and ] step one
// interval back and on, { and } ten, = goes back to live. Every view shows
// the moment: its rates are that interval's, its totals those up to it.
// Moving back pauses; pause (p) and = end it, on the live picture. In flight
// and threads are read live only; the events pane shows the detail events
// kept with the moment.

// timeline is the moments the backend keeps and the one shown.
type timeline struct {
	moments []model.Moment // oldest first
	// at is the Seq of the moment shown; 0: the live picture (paused or
	// not).
	at uint64
}

// on says there is a history to move through.
func (t *timeline) on() bool { return len(t.moments) > 0 }

// index is the position in moments of the moment numbered seq, or -1.
func (t *timeline) index(seq uint64) int {
	if !t.on() || seq < t.moments[0].Seq {
		return -1
	}
	if i := int(seq - t.moments[0].Seq); i < len(t.moments) && t.moments[i].Seq == seq {
		return i
	}
	for i := range t.moments { // Seqs with gaps: search
		if t.moments[i].Seq == seq {
			return i
		}
	}
	return -1
}

// shown is the position in moments of the picture shown: the moment moved
// to, or the live snapshot's (len(moments) where it is newer than all).
func (m *app) shownMoment() int {
	t := &m.hist
	if t.at != 0 {
		if i := t.index(t.at); i >= 0 {
			return i
		}
	}
	for i := len(t.moments) - 1; i >= 0; i-- {
		if at := t.moments[i].At; at.Equal(m.data.snap.At) {
			return i
		} else if at.Before(m.data.snap.At) {
			return i + 1
		}
	}
	return len(t.moments)
}

// step moves delta moments back (negative) or on; on past the newest is
// live again.
func (m *app) step(delta int) tea.Cmd {
	t := &m.hist
	if !t.on() {
		return nil
	}
	i := m.shownMoment() + delta
	if i >= len(t.moments) {
		return m.goLive()
	}
	return m.showMoment(max(i, 0))
}

// showMoment shows the moment at position i of the timeline, paused.
func (m *app) showMoment(i int) tea.Cmd {
	mo := m.hist.moments[i]
	s, err := m.b.SnapshotAt(mo.Seq)
	if err != nil {
		m.setStatus(true, "history: %s", errText(err))
		return nil
	}
	m.data.setMoment(s, m.snapshotsBefore(i))
	m.hist.at, m.paused, m.data.past = mo.Seq, true, true
	if m.player != nil {
		m.player.SetPaused(true)
	}
	m.pollProcDetail() // the events pane's, at this moment
	return m.show()
}

// snapshotsBefore are the snapshots of the moments before position i that
// the trends draw, oldest first (those the history can rebuild).
func (m *app) snapshotsBefore(i int) []*model.Snapshot {
	var out []*model.Snapshot
	for j := max(0, i-(trendLen-1)); j < i; j++ {
		if s, err := m.b.SnapshotAt(m.hist.moments[j].Seq); err == nil {
			out = append(out, s)
		}
	}
	return out
}

// goLive shows the live picture again, unpaused, its trends drawn from the
// moments before it.
//
// A recording plays on from the moment shown instead.
func (m *app) goLive() tea.Cmd {
	if m.player != nil {
		if m.hist.at != 0 {
			m.player.Seek(m.data.snap.At)
		}
		m.player.SetPaused(false)
	}
	m.hist.at, m.paused, m.data.past = 0, false, false
	s := m.b.Snapshot()
	n := len(m.hist.moments)
	for n > 0 && !m.hist.moments[n-1].At.Before(s.At) {
		n--
	}
	m.data.setMoment(s, m.snapshotsBefore(n))
	m.meta, m.data.classes, m.data.detail = m.b.Meta(), m.b.Classes(), m.b.Detail()
	m.pollProcDetail() // the events pane's calls change without a new snapshot
	return m.show()
}

// momentLabel says what the picture shows: live, or when the moment shown
// was and how long before the newest (a paused picture too).
func (m *app) momentLabel() string {
	if !m.hist.on() {
		return ""
	}
	if !m.paused {
		switch {
		case m.player == nil:
			return "live"
		case m.player.Ended():
			return "end of the recording"
		}
		return fmt.Sprintf("▶ %s ×%s", m.data.snap.At.Format("15:04:05"), speedText(m.player.Speed()))
	}
	at := m.data.snap.At
	newest := m.hist.moments[len(m.hist.moments)-1].At
	ago := newest.Sub(at)
	if ago < time.Minute {
		ago = ago.Round(100 * time.Millisecond) // intervals go down to 100ms
	} else {
		ago = ago.Round(time.Second)
	}
	if ago > 0 {
		return fmt.Sprintf("%s · %s ago", at.Format("15:04:05"), ago)
	}
	return at.Format("15:04:05")
}

// timelineStrip draws the moments' calls/s and errors/s, one cell a moment
// (or a few, the busiest drawn, where they outnumber the cells), the newest
// on the right, with the cursor on the moment shown.
func (m *app) timelineStrip() string {
	th := &m.theme
	t := &m.hist
	const callsLabel, errLabel = "calls/s ", "  err/s "
	keys := "  [ ] { } ="
	cells := (m.width - len(callsLabel) - len(errLabel) - len(keys)) / 2
	if cells < 8 {
		keys = ""
		cells = (m.width - len(callsLabel) - len(errLabel)) / 2
	}
	per := (len(t.moments) + cells - 1) / cells // moments a cell
	n := (len(t.moments) + per - 1) / per
	calls, errs := make([]float64, n), make([]float64, n)
	for i, mo := range t.moments {
		c := i / per
		calls[c], errs[c] = max(calls[c], mo.CallRate), max(errs[c], mo.ErrorRate)
	}
	cursor := -1
	if m.paused {
		if i := m.shownMoment(); i < len(t.moments) {
			cursor = i / per
		}
	}
	draw := func(rates []float64, style lipgloss.Style) string {
		pad := strings.Repeat(" ", cells-len(rates))
		bars := []rune(sparkline(rates))
		if cursor < 0 {
			return pad + style.Render(string(bars))
		}
		// The cursor is a mark of its own, seen in mono too: the header
		// says the moment's rates.
		return pad + style.Render(string(bars[:cursor])) + th.Selected.Render("┃") + style.Render(string(bars[cursor+1:]))
	}
	line := th.Dim.Render(callsLabel) + draw(calls, lipgloss.NewStyle()) + th.Dim.Render(errLabel) + draw(errs, th.Error) + th.Dim.Render(keys)
	return truncate(line, m.width)
}

// headerHeight is the lines above the body: title, class chips, tabs and
// breadcrumb, and the timeline strip where there is a history.
func (m *app) headerHeight() int {
	if m.hist.on() {
		return 4
	}
	return 3
}

// enableTime turns on the history's keys where they go somewhere: back
// where there is an earlier moment, on and live while one is shown.
func (m *app) enableTime(k *KeyMap) {
	k.Diff.SetEnabled(m.marks[0].set())
	if m.player != nil {
		enable(&k.Slower, &k.Faster)
		k.Live.SetHelp("=", "play from here")
	}
	if !m.hist.on() {
		return
	}
	back := m.shownMoment() > 0
	k.Earlier.SetEnabled(back)
	k.EarlierMore.SetEnabled(back)
	past := m.hist.at != 0
	k.Later.SetEnabled(past)
	k.LaterMore.SetEnabled(past)
	k.Live.SetEnabled(past)
}

// The slowest and fastest a recording plays.
const minSpeed, maxSpeed = 1.0 / 16, 64

// changeSpeed plays the recording by times as fast (0.5: slower, 2:
// faster), within minSpeed and maxSpeed.
func (m *app) changeSpeed(by float64) {
	x := min(max(m.player.Speed()*by, minSpeed), maxSpeed)
	m.player.SetSpeed(x)
	m.setStatus(false, "playing at ×%s (- slower, + faster)", speedText(x))
}

// speedText is a speed as a short number: 2, 0.5, 0.0625.
func speedText(x float64) string { return strconv.FormatFloat(x, 'g', 4, 64) }

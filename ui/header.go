package ui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"tlmon/model"
	"tlmon/output"
)

// classLabels are the names the chips show, shorter than model.ClassNames so
// that all ten fit in 80 columns.
var classLabels = []string{"file", "desc", "net", "proc", "mem", "sig", "ipc", "time", "creds", "other"}

func (m *app) header() []string {
	th := &m.theme
	s := m.data.snap

	// Title: the badges on the right never give way; the rest is cut.
	var badges []string
	if end := m.meta.CommandEnd; end != "" {
		// The command tlmon started has ended: tlmon goes on showing what
		// it did until q, and then exits with the command's status.
		style := th.Warning
		if end == "exit 0" {
			style = th.Dim
		}
		badges = append(badges, style.Render(" command "+model.Escape(end)+" "))
	}
	if s.Lost.Total > 0 {
		badges = append(badges, th.Warning.Render(fmt.Sprintf(" LOST %s · %s · L ", count(s.Lost.Total), lossShare(s))))
	} else {
		badges = append(badges, th.Dim.Render("lost 0"))
	}
	if id := m.data.traced; id != (model.ProcID{}) {
		badges = append(badges, th.Warning.Render(" "+m.tracedLabel()+" "))
	}
	switch label := m.momentLabel(); {
	case m.hist.at != 0:
		badges = append(badges, th.Warning.Render(" "+label+" "))
	case m.paused && label != "":
		badges = append(badges, th.Warning.Render(" PAUSED "+label+" "))
	case m.paused:
		badges = append(badges, th.Warning.Render(" PAUSED "))
	case label != "":
		badges = append(badges, th.Dim.Render(label))
	}
	right := strings.Join(badges, " ")
	// The scope last: it can be long, and what does not fit is cut.
	left := fmt.Sprintf("tlmon │ %s syscalls/s │ %s err/s │ scope %s",
		rate(s.Totals.CallRate), rate(s.Totals.ErrorRate), model.Escape(m.meta.Scope))
	line1 := th.Header.Render(fit(left, m.width-ansi.StringWidth(right)-1, false)) + " " + right

	// Class chips: ● counted, ○ not, and + instead of : when its detail is
	// on, so that mono shows the state too: ●f+file.
	chips := make([]string, len(model.AllClasses))
	for i, c := range model.AllClasses {
		sep := ":"
		if m.data.detail&c != 0 {
			sep = "+"
		}
		if m.data.classes&c != 0 {
			chips[i] = th.ChipOn.Render("●" + classKeys[i] + sep + classLabels[i])
		} else {
			chips[i] = th.ChipOff.Render("○" + classKeys[i] + sep + classLabels[i])
		}
	}
	line2 := strings.Join(chips, " ")
	if label := "classes (v) "; ansi.StringWidth(line2)+len(label) <= m.width {
		line2 = th.Dim.Render(label) + line2 // v opens the classes overlay
	}
	// The detail events received, where there is room (L has them too).
	if m.data.detail != 0 || s.DetailEvents > 0 {
		events := th.Dim.Render("detail " + count(s.DetailEvents) + " events")
		if gap := m.width - ansi.StringWidth(line2) - ansi.StringWidth(events); gap >= 2 {
			line2 += strings.Repeat(" ", gap) + events
		}
	}

	// Tabs, then where the drill-down is; how counts are read on the right.
	line3 := m.tabs(false)
	if ansi.StringWidth(line3) > m.width {
		line3 = m.tabs(true) // the breadcrumb comes before the other tabs' names
	}
	// The breadcrumb comes first: how counts are read gives way to it.
	slow := ""
	if d := m.b.Slow(); d > 0 {
		slow = fmt.Sprintf("slow>%s · ", d)
	}
	// What each number covers: rates the last interval, totals and
	// percentiles the time since start (or the last clear). The longest
	// form that fits.
	window := fmt.Sprintf("/s over %s · totals over %s", m.opts.Interval, s.Elapsed.Round(time.Second))
	for _, how := range []string{
		slow + output.RungLabel(m.meta) + " · " + window,
		slow + window,
		slow + "/s over " + m.opts.Interval.String(),
	} {
		if gap := m.width - ansi.StringWidth(line3) - ansi.StringWidth(how); gap >= 2 {
			line3 += strings.Repeat(" ", gap) + th.Dim.Render(how)
			break
		}
	}
	lines := []string{truncate(line1, m.width), truncate(line2, m.width), truncate(line3, m.width)}
	if m.hist.on() {
		lines = append(lines, m.timelineStrip())
	}
	return lines
}

// tabs draws the tabs and the breadcrumb; short names the tabs not shown by
// their number only.
func (m *app) tabs(short bool) string {
	th := &m.theme
	var b strings.Builder
	for i, v := range m.tops {
		name := fmt.Sprintf("%d %s", i+1, v.crumb())
		switch {
		case tab(i) == m.tab:
			b.WriteString(th.TabActive.Render("[" + name + "]"))
		case short:
			b.WriteString(th.Tab.Render(fmt.Sprintf("%d", i+1)))
		default:
			b.WriteString(th.Tab.Render(" " + name + " "))
		}
		b.WriteByte(' ')
	}
	for _, v := range m.stack[1:] {
		b.WriteString(th.Crumb.Render(" › " + v.crumb()))
	}
	return b.String()
}

// tracedLabel says which process is traced (d) and that d stops it.
func (m *app) tracedLabel() string { return "tracing " + m.tracedName() + " (d stops)" }

// tracedName is the process traced: its PID and, once known, its name.
func (m *app) tracedName() string {
	who := fmt.Sprintf("%d", m.data.traced.PID)
	if comm := m.data.tracedComm; comm != "" {
		who += " " + model.Escape(comm)
	}
	return who
}

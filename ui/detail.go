package ui

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"tlmon/model"
	"tlmon/output"
	"tlmon/themes"
)

// textLine is one line of a text screen (the detail, the loss breakdown),
// styled when drawn so that a theme change needs no rebuild.
type textLine struct {
	text    string
	heading bool
	bar     string // drawn after text in the bar style, then tail
	tail    string
}

func renderLines(lines []textLine, offset, width, height int, th *themes.Theme) []string {
	out := make([]string, 0, height)
	for _, l := range lines[min(offset, len(lines)):min(offset+height, len(lines))] {
		s := l.text
		switch {
		case l.heading:
			s = th.Heading.Render(s)
		case l.bar != "":
			s += th.Bar.Render(l.bar) + l.tail
		default:
			s += l.tail
		}
		out = append(out, ansi.Truncate("  "+s, width, "…"))
	}
	return out
}

// detailView is a view of text: one syscall of one process (who the
// process is, its errnos and its latency histogram), or one call in full.
type detailView struct {
	vid           viewID // viewDetail or viewCall
	proc          model.ProcID
	nr            int
	name          string // the syscall, or the call's name
	label         string // the breadcrumb's, when not name
	lines         []textLine
	offset        int
	width, height int
	last          *data // to rebuild the bars when the width changes
	// build, when set, makes the lines instead (one detail event).
	build func(d *data, width int) []textLine
}

func newDetailView(id model.ProcID, nr int, name string) *detailView {
	return &detailView{vid: viewDetail, proc: id, nr: nr, name: name}
}

func (v *detailView) id() viewID { return v.vid }
func (v *detailView) crumb() string {
	if v.label != "" {
		return v.label
	}
	return v.name
}
func (v *detailView) about() model.ProcID { return v.proc }
func (v *detailView) wheel(delta int)     { v.scroll(delta) }
func (v *detailView) click(int)           {}

func (v *detailView) setSize(w, h int) {
	v.width, v.height = w, h
	if v.last != nil {
		v.refresh(v.last)
	}
}

func (v *detailView) render(th *themes.Theme) []string {
	return renderLines(v.lines, v.offset, v.width, v.height, th)
}

// status says which lines show, when not all fit.
func (v *detailView) status(_ *data, th *themes.Theme, width int) string {
	return th.Dim.Render(truncate(v.position(), width))
}

func (v *detailView) position() string {
	if len(v.lines) <= v.height {
		return ""
	}
	return fmt.Sprintf("lines %d–%d of %d · ↑/↓ scroll", v.offset+1, min(v.offset+v.height, len(v.lines)), len(v.lines))
}

func (v *detailView) scroll(delta int) {
	v.offset = scrolled(v.offset, delta, len(v.lines), v.height)
}

// enable turns the scroll keys on when not all lines fit; esc, which leads
// back, is the root's.
func (v *detailView) enable(k *KeyMap) {
	if len(v.lines) > v.height {
		k.enableMoves()
	}
}

func (v *detailView) update(msg tea.KeyPressMsg, k *KeyMap, _ *data) (request, tea.Cmd) {
	if delta, ok := scrollDelta(msg, k, len(v.lines), v.height); ok {
		v.scroll(delta)
	} else if key.Matches(msg, k.Back) {
		return pop(), nil
	}
	return request{}, nil
}

func (v *detailView) refresh(d *data) {
	v.last = d
	if v.build != nil {
		v.lines = v.build(d, v.width)
		v.scroll(0)
		return
	}
	p := d.procs[v.proc]
	if p == nil {
		v.lines = []textLine{{text: fmt.Sprintf("pid %d is no longer tracked (the counters were cleared, or it exited long ago)", v.proc.PID)}}
		return
	}
	var s *model.SyscallStat
	for i := range p.Syscalls {
		if p.Syscalls[i].Nr == v.nr {
			s = &p.Syscalls[i]
		}
	}
	// The syscall first, what was drilled into; the process after, as context.
	if s == nil {
		v.lines = []textLine{{text: "no " + v.name + " counted since the last clear"}}
	} else {
		v.lines = syscallLines(s)
		v.lines = append(v.lines, textLine{})
		v.lines = append(v.lines, histLines(s.Hist, s.LatCount, v.width)...)
	}
	v.lines = append(v.lines, textLine{})
	v.lines = append(v.lines, processLines(p, d)...)
	v.scroll(0)
}

func processLines(p *model.ProcStat, d *data) []textLine {
	parent := fmt.Sprintf("%d", p.Parent.PID)
	if pp := d.procs[p.Parent]; pp != nil {
		parent = procLabel(pp)
	}
	state := output.Status(*p)
	if p.CoreDumped {
		state += " (core dumped)"
	}
	if !p.ExitedAt.IsZero() {
		state += " at " + p.ExitedAt.Format("15:04:05")
	}
	cgroup := model.Escape(p.CgroupPath)
	if p.V1Cgroup != "" {
		cgroup += "  (v2, which scoping uses)   v1: " + model.Escape(p.V1Cgroup)
	}
	field := func(name, value string) textLine { return textLine{text: fmt.Sprintf("%-9s %s", name, value)} }
	return []textLine{
		{text: "PROCESS", heading: true},
		field("process", procLabel(p)),
		field("parent", parent),
		field("command", model.Escape(p.Cmdline)),
		field("exe", model.Escape(p.Exe)),
		field("cgroup", cgroup),
		field("started", startedAt(p.ID.Start, d.boot, d.snap.At)),
		field("status", state),
	}
}

// startedAt says when a process started: the wall-clock time (with the date
// unless it is the day of now) and how long before now, or the time since boot
// when the boot time is unknown.
func startedAt(ticks uint64, boot, now time.Time) string {
	sinceBoot := time.Duration(ticks) * (time.Second / model.ClockTicksPerSecond)
	if boot.IsZero() {
		return sinceBoot.String() + " after boot"
	}
	at := boot.Add(sinceBoot)
	layout := "15:04:05"
	if y, m, d := at.Date(); y != now.Year() || m != now.Month() || d != now.Day() {
		layout = "2006-01-02 15:04:05"
	}
	return at.Format(layout) + " (" + now.Sub(at).Truncate(time.Second).String() + " ago)"
}

func syscallLines(s *model.SyscallStat) []textLine {
	// The errnos are read from the kernel apart from the counts and may be a
	// read ahead of them: the errors said are the larger of the two, so that
	// the header and the table agree and no share is above 100%.
	known := uint64(0)
	for _, e := range s.Errnos {
		known += e.Count
	}
	errs := max(s.Errors, known)
	lines := []textLine{
		{text: strings.ToUpper(s.Name) + " (" + s.Classes.String() + ")", heading: true},
		{text: fmt.Sprintf("calls   %s (%s/s)   errors %s (%s/s)", count(s.Calls), rate(s.CallRate), count(errs), rate(s.ErrorRate))},
		{text: fmt.Sprintf("latency avg %s   p50 %s   p95 %s   p99 %s", avgCell(s.AvgNs, s.LatCount),
			quantileCell(s.P50Ns, s.HasQuantiles()), quantileCell(s.P95Ns, s.HasQuantiles()), quantileCell(s.P99Ns, s.HasQuantiles()))},
		{},
		{text: fmt.Sprintf("%-16s %8s %7s", "ERRNO", "COUNT", "SHARE"), heading: true},
	}
	if errs == 0 {
		return append(lines, textLine{text: "no errors"})
	}
	for _, e := range s.Errnos {
		lines = append(lines, textLine{text: fmt.Sprintf("%-16s %8s %7s", e.Name, count(e.Count), share(e.Count, errs))})
	}
	if known < errs { // the errno map was full
		lines = append(lines, textLine{text: fmt.Sprintf("%-16s %8s %7s", "(unknown)", count(errs-known), share(errs-known, errs))})
	}
	return lines
}

// histLines draws the latency histogram, one half-octave bucket per line from
// the fastest to the slowest bucket with samples.
func histLines(h *model.Hist, samples uint64, width int) []textLine {
	lines := []textLine{{text: "LATENCY (half-octave buckets)", heading: true}}
	switch {
	case (h == nil || h.Count() == 0) && samples > 0:
		return append(lines, textLine{text: "no histogram kept for this process; the Syscalls view (2) has this syscall's, system-wide"})
	case h == nil || h.Count() == 0:
		return append(lines, textLine{text: "no latency samples"})
	}
	first, last, peak := -1, 0, uint64(0)
	for i, n := range h {
		if n == 0 {
			continue
		}
		if first < 0 {
			first = i
		}
		last, peak = i, max(peak, n)
	}
	total := h.Count()
	// Fixed columns, each apart from the next: the range (as wide as the
	// widest), the bar, the count, the share; none is ever cut mid-number.
	labels := make([]string, last+1)
	labelW := 0
	for i := first; i <= last; i++ {
		lo, hi := model.HistBounds(i)
		labels[i] = histDuration(lo) + "–" + histDuration(hi)
		labelW = max(labelW, ansi.StringWidth(labels[i]))
	}
	countW := 0
	for i := first; i <= last; i++ {
		countW = max(countW, len(histCount(h[i])))
	}
	const shareW = 6                                            // 100.0%
	barW := min(60, max(4, width-2-labelW-1-1-countW-2-shareW)) // longer bars say no more
	for i := first; i <= last; i++ {
		b := bar(h[i], peak, barW)
		lines = append(lines, textLine{
			text: fit(labels[i], labelW, true) + " ",
			bar:  b,
			tail: strings.Repeat(" ", barW-ansi.StringWidth(b)) + " " + fit(histCount(h[i]), countW, true) + "  " + fit(share(h[i], total), shareW, true),
		})
	}
	return lines
}

// histDuration formats a bucket bound in at most 6 cells, never in
// scientific notation: 512ns, 1.02µs, 724ms, 1.07s, 1100s.
func histDuration(ns uint64) string {
	v := float64(ns)
	for _, unit := range []string{"ns", "µs", "ms"} {
		if v < 999.5 {
			if unit == "ns" {
				return strconv.FormatUint(ns, 10) + unit
			}
			return strconv.FormatFloat(v, 'g', 3, 64) + unit
		}
		v /= 1000
	}
	if v < 999.5 {
		return strconv.FormatFloat(v, 'g', 3, 64) + "s"
	}
	return strconv.FormatFloat(v, 'f', 0, 64) + "s"
}

// histCount formats a bucket's count: in full with thousands separated up to
// 9,999,999, then with an SI prefix.
func histCount(n uint64) string {
	if n < 10_000_000 {
		return thousands(n)
	}
	return si(float64(n))
}

// share formats part of whole with one decimal: 12.3%, 100.0%, <0.1% for a
// part too small to show, never in scientific notation nor above 100%.
func share(part, whole uint64) string {
	switch {
	case whole == 0 || part == 0:
		return "0.0%"
	case part >= whole:
		return "100.0%"
	}
	p := 100 * float64(part) / float64(whole)
	if p < 0.05 {
		return "<0.1%"
	}
	return strconv.FormatFloat(min(p, 99.9), 'f', 1, 64) + "%"
}

// bar draws n out of peak in width cells, to an eighth of a cell.
func bar(n, peak uint64, width int) string {
	eighths := int(n * uint64(width) * 8 / peak)
	if n > 0 && eighths == 0 {
		eighths = 1 // a bucket with samples is never invisible
	}
	s := strings.Repeat("█", eighths/8)
	if r := eighths % 8; r > 0 {
		s += string([]rune(" ▏▎▍▌▋▊▉")[r])
	}
	return s
}

// scrolled is offset moved by delta over a text of total lines shown height
// at a time, kept within the text.
func scrolled(offset, delta, total, height int) int {
	return max(0, min(offset+delta, total-height))
}

// scrollDelta is how far a move key scrolls a text of total lines shown
// height at a time; ok is false for any other key.
func scrollDelta(msg tea.KeyPressMsg, k *KeyMap, total, height int) (delta int, ok bool) {
	switch {
	case key.Matches(msg, k.Up):
		return -1, true
	case key.Matches(msg, k.Down):
		return 1, true
	case key.Matches(msg, k.PageUp):
		return -height, true
	case key.Matches(msg, k.PageDown):
		return height, true
	case key.Matches(msg, k.Home):
		return -total, true
	case key.Matches(msg, k.End):
		return total, true
	}
	return 0, false
}

package ui

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/sahilm/fuzzy"

	"tlmon/model"
	"tlmon/themes"
)

// picker is the attach picker, an overlay: what b.Targets() offers,
// fuzzy-filtered as the user types; enter attaches to the target chosen.
type picker struct {
	overlayBase
	b       Backend
	input   textinput.Model
	targets []Target
	labels  []string // what is shown and matched, sanitized
	matches []int    // indexes into targets, best match first
	hits    [][]int  // per match, the byte offsets in its label the filter matched
	cursor  int
	offset  int
	width   int
	height  int // list rows that fit
	loading bool
	hybrid  bool // cgroup v1 hierarchies exist too: say the list is v2
}

// newPicker opens empty: the root asks b for the targets (listTargets) and
// hands them over as they come.
func newPicker(b Backend, hybrid bool) *picker {
	p := &picker{b: b, input: newInput("attach> "), loading: true, hybrid: hybrid}
	p.input.Focus()
	return p
}

// listTargets asks b for what the picker offers.
func listTargets(b Backend) tea.Cmd {
	return func() tea.Msg {
		list, err := b.Targets()
		return targetsMsg{list, err}
	}
}

func (p *picker) setTheme(th *themes.Theme) { p.input.SetStyles(inputStyles(th)) }

func (p *picker) setSize(width, height int) {
	p.width, p.height = width, height-pickerHead
	p.move(0)
}

func (p *picker) setTargets(ts []Target) {
	p.targets, p.loading = ts, false
	p.labels = make([]string, len(ts))
	for i, t := range ts {
		p.labels[i] = targetLabel(t)
	}
	p.refilter()
}

// targetName is a target's label on one line, its columns closed up: for
// the status line.
func targetName(t Target) string { return strings.Join(strings.Fields(targetLabel(t)), " ") }

func targetLabel(t Target) string {
	switch t.Kind {
	case TargetPID:
		return fmt.Sprintf("pid %-7d %-16s %s", t.PID, model.Escape(t.Comm), model.Escape(t.Cmdline))
	case TargetCgroup:
		return "cgroup " + model.Escape(t.Cgroup)
	}
	return "everything (the whole machine)"
}

// refilter lists the targets matching what is typed, best first. Without a
// filter: everything, the user processes, the cgroups, the kernel threads
// last. With one, the ranks are: the PID typed, PIDs starting so, a command
// named so exactly, a command
// starting so, a command containing it, a command line containing it, a
// cgroup containing it (case-insensitively), and last what only matches
// fuzzily; within a rank, user processes before kernel threads, then the
// backend's order.
func (p *picker) refilter() {
	p.matches, p.hits = p.matches[:0], p.hits[:0]
	q := asciiLower(p.input.Value())
	type ranked struct {
		i, rank int
		hits    []int
	}
	var list []ranked
	if q == "" {
		for i := range p.targets {
			list = append(list, ranked{i: i, rank: targetOrder(p.targets[i])})
		}
	} else {
		seen := make([]bool, len(p.targets))
		for i, t := range p.targets {
			if rank, hits, ok := substringRank(t, p.labels[i], q); ok {
				list = append(list, ranked{i, (rank+2)*4 + targetOrder(t), hits})
				seen[i] = true
			}
		}
		for _, m := range fuzzy.Find(p.input.Value(), p.labels) {
			if !seen[m.Index] {
				list = append(list, ranked{m.Index, 7*4 + targetOrder(p.targets[m.Index]), m.MatchedIndexes})
			}
		}
	}
	slices.SortStableFunc(list, func(a, b ranked) int { return a.rank - b.rank })
	for _, r := range list {
		p.matches = append(p.matches, r.i)
		p.hits = append(p.hits, r.hits)
	}
	p.cursor, p.offset = 0, 0
}

// targetOrder places a target in the list unfiltered: everything, the user
// processes, the cgroups, the kernel threads.
func targetOrder(t Target) int {
	switch {
	case t.Kind == TargetAll:
		return 0
	case t.Kind == TargetCgroup:
		return 2
	case t.Kind == TargetPID && t.Kernel:
		return 3
	}
	return 1
}

// substringRank ranks a target whose command, command line or cgroup contains
// q (lower case): -2 its PID is q, -1 its PID starts with q, 0 the command is
// q, 1 it starts with q, 2 it contains q, 3 the command line contains it, 4
// the cgroup does. hits are q's bytes in label.
func substringRank(t Target, label, q string) (int, []int, bool) {
	lower := asciiLower(label)
	find := func(from int) []int {
		if from > len(lower) {
			return nil
		}
		at := strings.Index(lower[from:], q)
		if at < 0 {
			return nil
		}
		hits := make([]int, 0, len(q))
		for off := range label[from+at : from+at+len(q)] {
			hits = append(hits, from+at+off)
		}
		return hits
	}
	switch t.Kind {
	case TargetPID:
		// A number typed is a PID first: the one named so, then those
		// starting so.
		if pid := strconv.FormatUint(uint64(t.PID), 10); isDigits(q) && strings.HasPrefix(pid, q) {
			rank := -2
			if pid != q {
				rank = -1
			}
			return rank, find(len("pid ")), true
		}
		comm := asciiLower(model.Escape(t.Comm))
		commAt := len(fmt.Sprintf("pid %-7d ", t.PID))
		switch {
		case comm == q:
			return 0, find(commAt), true
		case strings.HasPrefix(comm, q):
			return 1, find(commAt), true
		case strings.Contains(comm, q):
			return 2, find(commAt), true
		}
		cmdAt := commAt + max(16, len(model.Escape(t.Comm))) + 1
		if strings.Contains(asciiLower(model.Escape(t.Cmdline)), q) {
			return 3, find(cmdAt), true
		}
	case TargetCgroup:
		if strings.Contains(asciiLower(model.Escape(t.Cgroup)), q) {
			return 4, find(len("cgroup ")), true
		}
	}
	return 0, nil, false
}

func isDigits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// asciiLower lowers A-Z only, so byte offsets stay those of s.
func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}

func (p *picker) move(delta int) {
	p.cursor = max(0, min(p.cursor+delta, len(p.matches)-1))
	h := max(1, p.height)
	p.offset = max(min(p.offset, p.cursor), p.cursor-h+1)
}

// chosen is the target under the cursor.
func (p *picker) chosen() (Target, bool) {
	if p.cursor >= len(p.matches) {
		return Target{}, false
	}
	return p.targets[p.matches[p.cursor]], true
}

// enable turns on the picker's keys: the others are text.
func (p *picker) enable(k *KeyMap) {
	k.Choose.SetHelp("enter", "attach")
	enable(&k.Choose, &k.Cancel, &k.PickUp, &k.PickDown, &k.PageUp, &k.PageDown, &k.PickFirst, &k.PickLast)
}

// key moves in the list, attaches, or types: enter on a target closes the
// picker and attaches to it.
func (p *picker) key(msg tea.KeyPressMsg, k *KeyMap) (bool, tea.Cmd) {
	switch {
	case key.Matches(msg, k.Cancel):
		return true, nil
	case key.Matches(msg, k.Choose):
		if t, ok := p.chosen(); ok {
			b := p.b
			return true, func() tea.Msg { return attachedMsg{t, b.Attach(t)} }
		}
	case key.Matches(msg, k.PickUp):
		p.move(-1)
	case key.Matches(msg, k.PickDown):
		p.move(1)
	case key.Matches(msg, k.PageUp):
		p.move(-p.height)
	case key.Matches(msg, k.PageDown):
		p.move(p.height)
	case key.Matches(msg, k.PickFirst):
		p.move(-len(p.matches))
	case key.Matches(msg, k.PickLast):
		p.move(len(p.matches))
	default:
		before := p.input.Value()
		var cmd tea.Cmd
		p.input, cmd = p.input.Update(msg)
		if p.input.Value() != before {
			p.refilter()
		}
		return false, cmd
	}
	return false, nil
}

func (p *picker) paste(msg tea.PasteMsg) tea.Cmd {
	var cmd tea.Cmd
	p.input, cmd = p.input.Update(msg)
	p.refilter()
	return cmd
}

func (p *picker) wheel(delta int) bool {
	p.move(delta)
	return true
}

const pickerHead = 3 // title, input, count

// body draws the picker, with the cursor in its input.
func (p *picker) body(th *themes.Theme) ([]string, *tea.Cursor) {
	c := p.input.Cursor()
	if c != nil {
		c.X += 2
		c.Y = 1
	}
	return p.render(p.width, th), c
}

// render draws the picker in height lines; the input is on line 1.
func (p *picker) render(width int, th *themes.Theme) []string {
	lines := []string{
		th.Heading.Render("ATTACH TO") + th.Dim.Render("  type to filter · enter attaches · esc cancels"),
		"  " + p.input.View(),
	}
	switch {
	case p.loading:
		lines = append(lines, th.Dim.Render("  listing processes and cgroups…"))
	default:
		count := fmt.Sprintf("  %d of %d", len(p.matches), len(p.targets))
		if p.hybrid {
			count += " · cgroups are cgroup v2 (this host has v1 too: scoping is by v2)"
		}
		lines = append(lines, th.Dim.Render(count))
	}
	end := min(len(p.matches), p.offset+p.height)
	for n := p.offset; n < end; n++ {
		base, mark := lipgloss.NewStyle(), "  "
		if n == p.cursor {
			base, mark = th.Selected, "> "
		}
		var hits []int
		if n < len(p.hits) {
			hits = p.hits[n]
		}
		label := fit(p.labels[p.matches[n]], width-2, false)
		lines = append(lines, base.Render(mark)+highlight(label, hits, base, th.Match.Inherit(base)))
	}
	for i, l := range lines {
		lines[i] = truncate(l, width)
	}
	return lines
}

// highlight draws s in base with the bytes at offsets hits (ascending, each the
// start of a character) in match. Offsets past a cut are simply not reached.
func highlight(s string, hits []int, base, match lipgloss.Style) string {
	if len(hits) == 0 {
		return base.Render(s)
	}
	var b strings.Builder
	from := 0
	for _, h := range hits {
		if h < from || h >= len(s) || !utf8.RuneStart(s[h]) { // a cut may end mid-label
			continue
		}
		_, size := utf8.DecodeRuneInString(s[h:])
		if h > from {
			b.WriteString(base.Render(s[from:h]))
		}
		b.WriteString(match.Render(s[h : h+size]))
		from = h + size
	}
	if from < len(s) {
		b.WriteString(base.Render(s[from:]))
	}
	return b.String()
}

package ui

import (
	"fmt"
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

func targetLabel(t Target) string {
	switch t.Kind {
	case TargetPID:
		return fmt.Sprintf("pid %-7d %-16s %s", t.PID, model.Escape(t.Comm), model.Escape(t.Cmdline))
	case TargetCgroup:
		return "cgroup " + model.Escape(t.Cgroup)
	}
	return "everything (the whole machine)"
}

func (p *picker) refilter() {
	p.matches, p.hits = p.matches[:0], p.hits[:0]
	if q := p.input.Value(); q != "" {
		for _, m := range fuzzy.Find(q, p.labels) {
			p.matches = append(p.matches, m.Index)
			p.hits = append(p.hits, m.MatchedIndexes)
		}
	} else {
		for i := range p.labels {
			p.matches = append(p.matches, i)
		}
	}
	p.cursor, p.offset = 0, 0
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
	enable(&k.Choose, &k.Cancel, &k.PickUp, &k.PickDown, &k.PageUp, &k.PageDown)
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

package ui

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/sahilm/fuzzy"

	"tlmon/model"
	"tlmon/themes"
)

// picker is the attach picker: what b.Targets() offers, fuzzy-filtered as the
// user types.
type picker struct {
	input   textinput.Model
	targets []Target
	labels  []string // what is shown and matched, sanitized
	matches []int    // indexes into targets, best match first
	hits    [][]int  // per match, the byte offsets in its label the filter matched
	cursor  int
	offset  int
	height  int // list rows that fit
	loading bool
	hybrid  bool // cgroup v1 hierarchies exist too: say the list is v2
}

func newPicker(th *themes.Theme, hybrid bool) *picker {
	p := &picker{input: newInput("attach> ", th), loading: true, hybrid: hybrid}
	p.input.Focus()
	return p
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

// key handles a key while the picker is open: done says it closes, attach
// what to attach to (nil: nothing).
func (p *picker) key(msg tea.KeyPressMsg) (done bool, attach *Target, cmd tea.Cmd) {
	switch msg.String() {
	case "esc":
		return true, nil, nil
	case "enter":
		if t, ok := p.chosen(); ok {
			return true, &t, nil
		}
		return false, nil, nil
	case "up", "ctrl+p":
		p.move(-1)
	case "down", "ctrl+n":
		p.move(1)
	case "pgup":
		p.move(-p.height)
	case "pgdown":
		p.move(p.height)
	default:
		before := p.input.Value()
		p.input, cmd = p.input.Update(msg)
		if p.input.Value() != before {
			p.refilter()
		}
	}
	return false, nil, cmd
}

const pickerHead = 3 // title, input, count

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

// newInput is a one-line input drawing no cursor of its own: the root places
// the terminal's cursor on it, which keeps escape sequences out of the view.
func newInput(prompt string, th *themes.Theme) textinput.Model {
	in := textinput.New()
	in.Prompt = prompt
	in.SetVirtualCursor(false)
	in.SetStyles(inputStyles(th))
	return in
}

func inputStyles(th *themes.Theme) textinput.Styles {
	state := textinput.StyleState{Prompt: th.Crumb, Text: th.Header, Placeholder: th.Dim}
	return textinput.Styles{Focused: state, Blurred: state, Cursor: textinput.CursorStyle{Shape: tea.CursorBar}}
}

package ui

import (
	"fmt"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"github.com/sahilm/fuzzy"

	"tlmon/themes"
)

// picker is the attach picker: what b.Targets() offers, fuzzy-filtered as the
// user types.
type picker struct {
	input   textinput.Model
	targets []Target
	labels  []string // what is shown and matched, sanitized
	matches []int    // indexes into targets, best match first
	cursor  int
	offset  int
	height  int // list rows that fit
	loading bool
}

func newPicker(th *themes.Theme) *picker {
	p := &picker{input: newInput("attach> ", th), loading: true}
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
		return Sanitize(fmt.Sprintf("pid %-7d %-16s %s", t.PID, t.Comm, t.Cmdline))
	case TargetCgroup:
		return Sanitize("cgroup " + t.Cgroup)
	}
	return "everything (the whole machine)"
}

func (p *picker) refilter() {
	p.matches = p.matches[:0]
	if q := p.input.Value(); q != "" {
		for _, m := range fuzzy.Find(q, p.labels) {
			p.matches = append(p.matches, m.Index)
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
		lines = append(lines, th.Dim.Render(fmt.Sprintf("  %d of %d", len(p.matches), len(p.targets))))
	}
	end := min(len(p.matches), p.offset+p.height)
	for n := p.offset; n < end; n++ {
		line := fit(p.labels[p.matches[n]], width-2, false)
		if n == p.cursor {
			lines = append(lines, th.Selected.Render("> "+line))
		} else {
			lines = append(lines, "  "+line)
		}
	}
	for i, l := range lines {
		lines[i] = truncate(l, width)
	}
	return lines
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

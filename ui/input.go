package ui

import (
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"tlmon/themes"
)

// newInput is a one-line input drawing no cursor of its own: the root places
// the terminal's cursor on it, which keeps escape sequences out of the view.
// Its styles are the theme's, set by the overlay's setTheme.
func newInput(prompt string) textinput.Model {
	in := textinput.New()
	in.Prompt = prompt
	in.SetVirtualCursor(false)
	return in
}

func inputStyles(th *themes.Theme) textinput.Styles {
	state := textinput.StyleState{Prompt: th.Crumb, Text: th.Header, Placeholder: th.Dim}
	return textinput.Styles{Focused: state, Blurred: state, Cursor: textinput.CursorStyle{Shape: tea.CursorBar}}
}

// lineInput is an overlay typed in the status line (the filter, the
// search): embedded, it draws the input there over the table, which shows
// under it, in the theme's styles.
type lineInput struct {
	overlayBase
	input textinput.Model
}

func (l *lineInput) setTheme(th *themes.Theme) { l.input.SetStyles(inputStyles(th)) }

// covers is false: the table shows under the input.
func (l *lineInput) covers() bool { return false }

func (l *lineInput) statusLine(width int) (string, *tea.Cursor) {
	return truncate(l.input.View(), width), l.input.Cursor()
}

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

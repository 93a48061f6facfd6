package ui

import (
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"tlmon/themes"
)

// filter is the filter's input (\ or F4, as in htop), an overlay in the status line: the table
// under it shows the rows that match as the user types; enter keeps the
// filter, esc clears it.
type filter struct {
	overlayBase
	input textinput.Model
	on    *tableView
}

// newFilter opens the filter of tv with what it has, the cursor at its end.
func newFilter(tv *tableView) *filter {
	f := &filter{input: newInput(`\`), on: tv}
	f.input.SetValue(tv.filter)
	f.input.CursorEnd()
	return f
}

func (f *filter) setTheme(th *themes.Theme) { f.input.SetStyles(inputStyles(th)) }

// covers is false: the table shows under the filter, which is typed in the
// status line.
func (f *filter) covers() bool { return false }

// enable turns on enter and esc: the other keys are text.
func (f *filter) enable(k *KeyMap) {
	k.Choose.SetHelp("enter", "apply")
	k.Cancel.SetHelp("esc", "clear")
	enable(&k.Choose, &k.Cancel)
}

func (f *filter) key(msg tea.KeyPressMsg, k *KeyMap) (bool, tea.Cmd) {
	switch {
	case key.Matches(msg, k.Cancel):
		f.on.setFilter("")
	case key.Matches(msg, k.Choose):
	default:
		return false, f.feed(msg)
	}
	f.input.Blur()
	return true, nil
}

func (f *filter) paste(msg tea.PasteMsg) tea.Cmd { return f.feed(msg) }

// feed types into the input, and filters as the user types.
func (f *filter) feed(msg tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	f.input, cmd = f.input.Update(msg)
	f.on.setFilter(f.input.Value())
	return cmd
}

func (f *filter) statusLine(width int) (string, *tea.Cursor) {
	return truncate(f.input.View(), width), f.input.Cursor()
}

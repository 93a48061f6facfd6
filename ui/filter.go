package ui

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// filter is the filter's input (\ or F4, as in htop), an overlay in the status line: the table
// under it shows the rows that match as the user types; enter keeps the
// filter, esc clears it.
type filter struct {
	lineInput
	on *tableView
}

// newFilter opens the filter of tv with what it has, the cursor at its end.
func newFilter(tv *tableView) *filter {
	f := &filter{lineInput: lineInput{input: newInput(`\`)}, on: tv}
	f.input.SetValue(tv.filter)
	f.input.CursorEnd()
	return f
}

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

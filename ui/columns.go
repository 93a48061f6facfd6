package ui

import (
	"fmt"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"tlmon/themes"
)

// columnChooser shows or hides the columns of the table on top (o): enter or
// space switches the one under the cursor, esc or o closes. A column shown
// may still give way on a narrow terminal (drop).
type columnChooser struct {
	overlayBase
	v      *tableView
	t      *table
	cursor int
	width  int
	height int
	// save keeps the view's columns and sort in the config file (s); nil
	// where there is none to keep them in, or for a view it does not name.
	save func(ViewPrefs) error
	said string // what the last save did
}

func newColumnChooser(v *tableView, save func(name string, p ViewPrefs) error) *columnChooser {
	c := &columnChooser{v: v, t: &v.table}
	if name := viewName(v.vid); save != nil && name != "" {
		c.save = func(p ViewPrefs) error { return save(name, p) }
	}
	return c
}

func (c *columnChooser) setSize(width, height int) { c.width, c.height = width, height }

func (c *columnChooser) enable(k *KeyMap) {
	enable(&k.Choose, &k.Cancel, &k.PickUp, &k.PickDown, &k.Columns)
	k.SaveColumns.SetEnabled(c.save != nil)
}

func (c *columnChooser) key(msg tea.KeyPressMsg, k *KeyMap) (bool, tea.Cmd) {
	switch {
	case key.Matches(msg, k.PickUp):
		c.cursor = max(0, c.cursor-1)
	case key.Matches(msg, k.PickDown):
		c.cursor = min(len(c.t.cols)-1, c.cursor+1)
	case key.Matches(msg, k.Choose) || msg.String() == "space":
		c.t.toggleCol(c.cursor)
		c.t.arrange(rowKey{}, false)
	case key.Matches(msg, k.SaveColumns):
		if err := c.save(c.v.prefs()); err != nil {
			c.said = "not saved: " + errText(err)
		} else {
			c.said = "saved: tlmon starts with these columns and this sort"
		}
	case key.Matches(msg, k.Cancel, k.Columns):
		return true, nil
	}
	return false, nil
}

func (c *columnChooser) body(th *themes.Theme) ([]string, *tea.Cursor) {
	head := "COLUMNS  enter or space shows or hides one · esc or o closes"
	if c.save != nil {
		head += " · s saves them and the sort in the config file"
	}
	lines := []textLine{{text: head, heading: true}, {text: c.said}}
	ws, _ := c.t.layout()
	for i, col := range c.t.cols {
		mark, box, note := "  ", "[x]", ""
		if i == c.cursor {
			mark = "> "
		}
		switch {
		case !c.t.colShown(i):
			box = "[ ]"
		case ws[i] == 0:
			note = "  (no room at this width)"
		}
		if i == 0 {
			note = "  (always)"
		}
		lines = append(lines, textLine{text: fmt.Sprintf("%s%s %s%s", mark, box, col.title, note)})
	}
	return renderLines(lines, 0, c.width, c.height, th), nil
}

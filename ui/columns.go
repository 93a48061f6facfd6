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
	t      *table
	cursor int
	width  int
	height int
}

func newColumnChooser(t *table) *columnChooser { return &columnChooser{t: t} }

func (c *columnChooser) setSize(width, height int) { c.width, c.height = width, height }

func (c *columnChooser) enable(k *KeyMap) {
	enable(&k.Choose, &k.Cancel, &k.PickUp, &k.PickDown, &k.Columns)
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
	case key.Matches(msg, k.Cancel, k.Columns):
		return true, nil
	}
	return false, nil
}

func (c *columnChooser) body(th *themes.Theme) ([]string, *tea.Cursor) {
	lines := []textLine{{text: "COLUMNS  enter or space shows or hides one · esc or o closes", heading: true}, {}}
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

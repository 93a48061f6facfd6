package ui

import (
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"tlmon/themes"
)

// helpOverlay is the full help (? or F1), an overlay: the keys that work
// where it was opened, in as many columns as the width holds. Its move keys
// scroll it when it is taller than the body; esc, q, ? and F1 close it, as
// its first line says; other keys do nothing.
type helpOverlay struct {
	overlayBase
	keys   KeyMap // as they were under it
	th     *themes.Theme
	lines  []string // for the width and the theme
	offset int      // the first line shown
	width  int
	height int
}

// newHelp shows keys, the bindings of the state under the help.
func newHelp(keys KeyMap) *helpOverlay {
	return &helpOverlay{keys: keys}
}

func (h *helpOverlay) setTheme(th *themes.Theme) {
	h.th = th
	h.build()
}

func (h *helpOverlay) setSize(width, height int) {
	h.width, h.height = width, height
	h.build()
	h.scroll(0)
}

// enable turns on the scroll keys and the keys that close the help: esc,
// q, backspace, and the help's own keys.
func (h *helpOverlay) enable(k *KeyMap) {
	k.enableMoves()
	k.Close.SetKeys(append(k.Close.Keys(), k.Help.Keys()...)...)
	k.Close.SetHelp("esc/q/?", "close")
	enable(&k.Close)
}

func (h *helpOverlay) key(msg tea.KeyPressMsg, k *KeyMap) (bool, tea.Cmd) {
	if delta, ok := scrollDelta(msg, k, len(h.lines), h.height); ok {
		h.scroll(delta)
		return false, nil
	}
	return key.Matches(msg, k.Close), nil
}

func (h *helpOverlay) wheel(delta int) bool {
	h.scroll(delta)
	return true
}

func (h *helpOverlay) scroll(delta int) {
	h.offset = scrolled(h.offset, delta, len(h.lines), h.height)
}

// body is the help from its first line shown, with a hint to scroll when it
// goes on below.
func (h *helpOverlay) body(th *themes.Theme) ([]string, *tea.Cursor) {
	body := h.lines[min(h.offset, len(h.lines)):]
	if len(body) > h.height && h.height > 0 {
		body = slices.Clone(body[:h.height])
		body[h.height-1] = truncate(th.Dim.Render("  ↓ more: ↓/j, pgdn, G"), h.width)
	}
	return body, nil
}

// helpGap is the room between two columns of the help.
const helpGap = 3

// build lays out the keys that are on, in the order of FullHelp's groups,
// in as many columns of equal length as the width holds (column after
// column, as a newspaper), under a line that says what closes the help.
func (h *helpOverlay) build() {
	th := h.th
	if th == nil {
		return
	}
	var entries []key.Binding
	for _, g := range h.keys.FullHelp() {
		for _, b := range g {
			if b.Enabled() {
				entries = append(entries, b)
			}
		}
	}
	cols := helpColumns(entries, h.width-2)
	rows := 0
	if len(cols) > 0 {
		rows = len(cols[0])
	}
	title := th.Heading.Render("KEYS") + th.Dim.Render("  esc, q or ? closes the help")
	if rows+1 > h.height {
		title += th.Dim.Render(" · ↑/↓ scroll")
	}
	out := []string{truncate(title, h.width)}
	for r := range rows {
		var b strings.Builder
		b.WriteString("  ")
		for c, col := range cols {
			if r >= len(col) {
				break
			}
			if c > 0 {
				b.WriteString(strings.Repeat(" ", helpGap))
			}
			b.WriteString(col[r].render(th))
		}
		out = append(out, truncate(strings.TrimRight(b.String(), " "), h.width))
	}
	h.lines = out
}

// helpEntry is a key and what it does, padded to its column's widths.
type helpEntry struct {
	key, desc   string
	keyW, descW int
}

func (e helpEntry) render(th *themes.Theme) string {
	return th.Help.FullKey.Render(padRight(e.key, e.keyW)) + "  " + th.Help.FullDesc.Render(padRight(e.desc, e.descW))
}

func padRight(s string, w int) string {
	return s + strings.Repeat(" ", max(0, w-ansi.StringWidth(s)))
}

// helpColumns flows entries into the most columns of equal length that fit
// in width (one at least, cut if it does not fit).
func helpColumns(bs []key.Binding, width int) [][]helpEntry {
	for n := len(bs); n >= 1; n-- {
		rows := (len(bs) + n - 1) / n
		var cols [][]helpEntry
		total := -helpGap
		for start := 0; start < len(bs); start += rows {
			col := bs[start:min(start+rows, len(bs))]
			keyW, descW := 0, 0
			for _, b := range col {
				keyW = max(keyW, ansi.StringWidth(b.Help().Key))
				descW = max(descW, ansi.StringWidth(b.Help().Desc))
			}
			entries := make([]helpEntry, len(col))
			for i, b := range col {
				entries[i] = helpEntry{b.Help().Key, b.Help().Desc, keyW, descW}
			}
			cols = append(cols, entries)
			total += helpGap + keyW + 2 + descW
		}
		if total <= width || n == 1 {
			return cols
		}
	}
	return nil
}

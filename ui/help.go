package ui

import (
	"slices"
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"tlmon/themes"
)

// helpOverlay is the full help (?), an overlay: the keys that work where it
// was opened, in columns, and what the class keys mean. Its move keys scroll
// it when it is taller than the body; any other key closes it, q quitting
// too.
type helpOverlay struct {
	overlayBase
	keys   KeyMap // as they were under it
	model  help.Model
	th     *themes.Theme
	lines  []string // for the width and the theme
	offset int      // the first line shown
	width  int
	height int
}

// newHelp shows keys, the bindings of the state under the help.
func newHelp(keys KeyMap) *helpOverlay {
	return &helpOverlay{keys: keys, model: help.New()}
}

func (h *helpOverlay) setTheme(th *themes.Theme) {
	h.th, h.model.Styles = th, th.Help
	h.build()
}

func (h *helpOverlay) setSize(width, height int) {
	h.width, h.height = width, height
	h.model.SetWidth(width)
	h.build()
	h.scroll(0)
}

// enable turns on the scroll keys and esc; any other key closes the help
// all the same.
func (h *helpOverlay) enable(k *KeyMap) {
	k.enableMoves()
	enable(&k.Close, &k.Quit)
}

func (h *helpOverlay) key(msg tea.KeyPressMsg, k *KeyMap) (bool, tea.Cmd) {
	if delta, ok := scrollDelta(msg, k, len(h.lines), h.height); ok {
		h.scroll(delta)
		return false, nil
	}
	if key.Matches(msg, k.Quit) {
		return true, tea.Quit
	}
	return true, nil
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
		body[h.height-1] = th.Dim.Render("  ↓ more: ↓/j, pgdn")
	}
	return body, nil
}

// build lays out every key, in columns, and what the class keys mean: the
// class keys below the others, so that 80 columns hold them all.
func (h *helpOverlay) build() {
	th := h.th
	if th == nil {
		return
	}
	groups := h.keys.FullHelp()
	classes := len(groups) - 2
	out := []string{th.Heading.Render("KEYS") + th.Dim.Render("  ↑/↓ scroll · any other key closes")}
	for _, l := range strings.Split(h.model.FullHelpView(groups[:classes]), "\n") {
		out = append(out, truncate("  "+l, h.width))
	}
	out = append(out, "", th.Heading.Render("CLASSES")+th.Dim.Render("  lowercase: count the class in the kernel (a syscall in"),
		th.Dim.Render("         several classes is counted while any of them is on);"),
		th.Dim.Render("         Shift: also send its calls in detail, strace-like events"),
		th.Dim.Render("         (e in a process, 4 Files, 5 Connections); detail needs"),
		th.Dim.Render("         the class counted. Chips: ● counted ○ not, + detail on"))
	for _, l := range strings.Split(h.model.FullHelpView(groups[classes:]), "\n") {
		out = append(out, truncate("  "+l, h.width))
	}
	h.lines = out
}

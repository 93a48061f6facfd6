package ui

import (
	"slices"

	tea "charm.land/bubbletea/v2"

	"tlmon/themes"
)

// overlay is what opens over the view on top and has the keys while it is
// open: the help, the attach picker, the filter's and the search's inputs,
// the losses, the classes. The
// root keeps them in a stack, in the order they opened; the one on top gets
// every key (ctrl+c aside), and the bindings it enables are the only ones
// on. It draws in the body's place (the help, the picker, the losses, the
// classes) or in the status line's (the filter, the search).
type overlay interface {
	// key handles a key press; done closes the overlay.
	key(msg tea.KeyPressMsg, k *KeyMap) (done bool, cmd tea.Cmd)
	// paste takes pasted text.
	paste(msg tea.PasteMsg) tea.Cmd
	// wheel scrolls it; false leaves the wheel to the view under it.
	wheel(delta int) bool
	// enable turns on the bindings that work while it is on top: all are
	// off before.
	enable(k *KeyMap)
	// covers says it draws in the body's place: clicks do not reach the
	// view, whose status line gives way.
	covers() bool
	setTheme(th *themes.Theme)
	// setSize gives it the terminal's width and the body's height.
	setSize(width, height int)
	// body draws it in the body's place, and where the terminal's cursor
	// goes (Y counted from the body's first line), if anywhere.
	body(th *themes.Theme) ([]string, *tea.Cursor)
	// statusLine draws it in the status line's place ("": it does not),
	// with the terminal's cursor, if anywhere (Y unset).
	statusLine(width int) (string, *tea.Cursor)
}

// overlayBase is what an overlay does not do: embedded, it answers the
// methods an overlay has no use for.
type overlayBase struct{}

func (overlayBase) paste(tea.PasteMsg) tea.Cmd                 { return nil }
func (overlayBase) wheel(int) bool                             { return false }
func (overlayBase) covers() bool                               { return true }
func (overlayBase) setTheme(*themes.Theme)                     {}
func (overlayBase) setSize(int, int)                           {}
func (overlayBase) body(*themes.Theme) ([]string, *tea.Cursor) { return nil, nil }
func (overlayBase) statusLine(int) (string, *tea.Cursor)       { return "", nil }

// open puts o on top of the overlays.
func (m *app) open(o overlay) {
	o.setTheme(&m.theme)
	o.setSize(m.width, m.bodyHeight())
	m.overlays = append(m.overlays, o)
}

// close takes o out of the overlays, wherever it is.
func (m *app) close(o overlay) {
	m.overlays = slices.DeleteFunc(m.overlays, func(x overlay) bool { return x == o })
}

// overlay is the overlay on top, or nil.
func (m *app) overlay() overlay {
	if len(m.overlays) == 0 {
		return nil
	}
	return m.overlays[len(m.overlays)-1]
}

// covered says an overlay draws in the body's place.
func (m *app) covered() bool {
	return slices.ContainsFunc(m.overlays, overlay.covers)
}

// overlayOf is the open overlay of type T nearest the top, or T's zero.
func overlayOf[T overlay](m *app) T {
	for i := len(m.overlays) - 1; i >= 0; i-- {
		if o, ok := m.overlays[i].(T); ok {
			return o
		}
	}
	var zero T
	return zero
}

// picker is the attach picker, if open.
func (m *app) picker() *picker { return overlayOf[*picker](m) }

package ui

import (
	"fmt"
	"time"

	tea "charm.land/bubbletea/v2"

	"tlmon/model"
)

// statusFor is how long a message stays in the status line.
const statusFor = 5 * time.Second

// errText is an error as the status line shows it: escaped, since an error
// may quote a process's name or a path.
func errText(err error) string { return model.Escape(err.Error()) }

func (m *app) setStatus(isErr bool, format string, args ...any) {
	m.status = fmt.Sprintf(format, args...)
	m.statusErr, m.statusAt = isErr, m.now
}

// statusLine is the line above the help: an overlay's that draws there (the
// filter's input, with the cursor), else a message, else nothing under an
// overlay that covers the body, else what the view on top says.
func (m *app) statusLine() (string, *tea.Cursor) {
	for i := len(m.overlays) - 1; i >= 0; i-- {
		if s, c := m.overlays[i].statusLine(m.width); s != "" {
			return s, c
		}
	}
	th := &m.theme
	switch {
	case m.status != "" && m.statusErr:
		return truncate(th.Error.Render(m.status), m.width), nil
	case m.status != "":
		return truncate(m.status, m.width), nil
	case m.covered():
		return "", nil
	}
	return m.top().status(&m.data, th, m.width), nil
}

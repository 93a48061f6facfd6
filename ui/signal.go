package ui

import (
	"fmt"
	"syscall"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"tlmon/model"
	"tlmon/themes"
)

// signals are what the signal overlay offers, the default first.
var signals = []struct {
	sig  syscall.Signal
	name string
	what string
}{
	{syscall.SIGTERM, "SIGTERM", "ask it to end (the default)"},
	{syscall.SIGINT, "SIGINT", "as Ctrl-C in its terminal"},
	{syscall.SIGHUP, "SIGHUP", "its terminal hung up (daemons reload)"},
	{syscall.SIGKILL, "SIGKILL", "end it at once: it cannot refuse"},
	{syscall.SIGSTOP, "SIGSTOP", "freeze it"},
	{syscall.SIGCONT, "SIGCONT", "let a frozen one go on"},
	{syscall.SIGQUIT, "SIGQUIT", "end it with a core dump"},
	{syscall.SIGUSR1, "SIGUSR1", "the program's own meaning"},
	{syscall.SIGUSR2, "SIGUSR2", "the program's own meaning"},
}

// signalOverlay asks which signal to send to one process (htop's F9): it
// names the process, so that a signal goes only where the user means it to.
type signalOverlay struct {
	overlayBase
	b      Backend
	id     model.ProcID
	comm   string
	cursor int
	width  int
	height int
}

// signaledMsg says how sending a signal went.
type signaledMsg struct {
	id   model.ProcID
	comm string
	name string
	err  error
}

func newSignalOverlay(b Backend, id model.ProcID, comm string) *signalOverlay {
	return &signalOverlay{b: b, id: id, comm: comm}
}

func (s *signalOverlay) setSize(width, height int) { s.width, s.height = width, height }

func (s *signalOverlay) enable(k *KeyMap) {
	enable(&k.Choose, &k.Cancel, &k.PickUp, &k.PickDown)
}

func (s *signalOverlay) key(msg tea.KeyPressMsg, k *KeyMap) (bool, tea.Cmd) {
	switch {
	case key.Matches(msg, k.PickUp):
		s.cursor = max(0, s.cursor-1)
	case key.Matches(msg, k.PickDown):
		s.cursor = min(len(signals)-1, s.cursor+1)
	case key.Matches(msg, k.Cancel):
		return true, nil
	case key.Matches(msg, k.Choose):
		b, id, comm, sig := s.b, s.id, s.comm, signals[s.cursor]
		return true, func() tea.Msg {
			return signaledMsg{id: id, comm: comm, name: sig.name, err: b.Signal(id, sig.sig)}
		}
	}
	return false, nil
}

func (s *signalOverlay) body(th *themes.Theme) ([]string, *tea.Cursor) {
	lines := []textLine{{text: fmt.Sprintf("SEND A SIGNAL TO %d %s  (enter sends, esc cancels)", s.id.PID, model.Escape(s.comm)), heading: true}, {}}
	for i, sig := range signals {
		mark := "  "
		if i == s.cursor {
			mark = "> "
		}
		lines = append(lines, textLine{text: fmt.Sprintf("%s%-8s %s", mark, sig.name, sig.what)})
	}
	return renderLines(lines, 0, s.width, s.height, th), nil
}

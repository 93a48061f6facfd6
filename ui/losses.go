package ui

import (
	"fmt"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"tlmon/model"
	"tlmon/themes"
)

// losses is the breakdown of the lost-events badge by cause (L), an
// overlay: L, esc or q closes it.
type losses struct {
	overlayBase
	d             *data
	width, height int
}

func newLosses(d *data) *losses { return &losses{d: d} }

func (l *losses) setSize(width, height int) { l.width, l.height = width, height }

func (l *losses) enable(k *KeyMap) { enable(&k.Close, &k.Losses) }

func (l *losses) key(msg tea.KeyPressMsg, k *KeyMap) (bool, tea.Cmd) {
	switch {
	case key.Matches(msg, k.Close, k.Losses):
		return true, nil
	}
	return false, nil
}

// body is drawn from the snapshot shown, as it changes.
func (l *losses) body(th *themes.Theme) ([]string, *tea.Cursor) {
	return renderLines(lossLines(l.d.snap), 0, l.width, l.height, th), nil
}

// lossLines breaks the lost-events badge down by cause.
func lossLines(s *model.Snapshot) []textLine {
	l := s.Lost
	row := func(name string, n uint64, why string) textLine {
		return textLine{text: fmt.Sprintf("%-18s %8s  %s", name, count(n), why)}
	}
	lines := []textLine{
		{text: "LOST EVENTS (L or esc closes)", heading: true},
		row("total", l.Total, lossShare(s)+" of events"),
		{},
	}
	why := [model.NumLossCauses]string{
		model.LossBuffer:       "detail events their buffer had no room for",
		model.LossProcMapFull:  "calls in no process: process map full",
		model.LossErrnoMapFull: "errors of unknown errno: errno map full",
		model.LossHistMapFull:  "latencies in no process histogram: map full",
		model.LossEnterMapFull: "calls whose latency was lost: entry map full",
		model.LossScopeMapFull: "followed children left out of the scope",
		model.LossLifecycle:    "exec/fork/exit events its buffer had no room for",
		model.LossReturnMissed: "returns a full kretprobe missed (of any process)",
	}
	for c := model.LossCause(0); c < model.NumLossCauses; c++ {
		lines = append(lines, row(c.String(), l.ByCause[c], why[c]))
	}
	return append(lines,
		row("proc_overflow", l.ProcOverflow, "processes refused past the process limit"),
		textLine{},
		row("events sent", l.EventsAttempted, "events the kernel tried to send (all kinds)"),
		row("events received", l.EventsReceived, ""),
		row("detail events", s.DetailEvents, "strace-like calls and TCP connections received"),
		row("unnamed processes", l.AttributionMisses, "processes no event or /proc read named"),
		row("unattributed calls", l.Unattributed.Calls, "calls counted in no process"),
		row("latency per syscall", s.LatencyPerSyscallOnly, "short-lived processes timed without a histogram"),
		row("pending calls", uint64(max(s.PendingCalls, 0)), "young processes' counts on their way (≤ 2 reads)"),
		row("files refused", s.FilesRefused, "opens of paths not listed: Files full (4,096)"),
		row("endpoints refused", s.EndpointsRefused, "calls on endpoints not listed: table full (4,096)"),
	)
}

// lossShare is the lost items as a share of everything counted: the syscalls
// and the lifecycle events.
func lossShare(s *model.Snapshot) string {
	return percent(s.Lost.Total, s.Totals.Calls+s.Lost.EventsAttempted)
}

package ui

import (
	"errors"
	"strings"
	"testing"
	"time"

	"tlmon/model"
)

// firstLine is the header's first line.
func (h *harness) firstLine() string { return strings.SplitN(h.view(), "\n", 2)[0] }

// TestDTracesTheSelectedProcess: d on a process row traces that process (the
// backend's Trace), opens its events pane, and the header says so; d on
// another replaces it; d on the one traced stops it, and the header no longer
// says it.
func TestDTracesTheSelectedProcess(t *testing.T) {
	b := newFake()
	b.detail = 0 // no class in detail: only the trace sends calls
	h := newHarness(t, b, 120, 40)
	nginx := model.ProcID{PID: 1234, Start: 123400}
	h.selectRow("1234 nginx")
	h.press("d")
	if len(b.traces) != 1 || b.traces[0] != nginx {
		t.Fatalf("d on nginx 1234: Trace calls %v, want [%v]", b.traces, nginx)
	}
	if v := h.m.top(); v.id() != viewEvents || v.about() != nginx {
		t.Fatalf("d on nginx 1234 shows %q, not its events (%s)", v.crumb(), h.crumbs())
	}
	if first := h.firstLine(); !strings.Contains(first, "tracing 1234 nginx (d stops)") {
		t.Errorf("the header does not say what is traced: %q", first)
	}
	if v := h.view(); !strings.Contains(v, `openat(AT_FDCWD, "/etc/ld.so.cache"`) || !strings.Contains(v, "tracing 1234 nginx: every call") {
		t.Errorf("the events pane of the process traced, or the status, is not shown:\n%s", v)
	}
	// The header stays on over the other views, and a tick keeps it (the
	// backend says it is still traced).
	h.press("esc")
	h.send(tickMsg(time.Now()))
	if first := h.firstLine(); !strings.Contains(first, "tracing 1234 nginx (d stops)") {
		t.Errorf("back in the list, the header lost the trace: %q", first)
	}

	// Another process replaces it.
	redis := model.ProcID{PID: 2000, Start: 200000}
	h.selectRow("2000 redis-server")
	h.press("d")
	if b.traced != redis || !strings.Contains(h.firstLine(), "tracing 2000 redis-server (d stops)") {
		t.Errorf("d on redis-server: traced %v, header %q", b.traced, h.firstLine())
	}
	// d in its events pane, on the process traced, stops it and stays.
	h.press("d")
	if b.traced != (model.ProcID{}) || len(b.traces) != 3 {
		t.Errorf("d on the process traced: traced %v after %v", b.traced, b.traces)
	}
	if v := h.m.top(); v.id() != viewEvents || v.about() != redis {
		t.Errorf("stopping left the events pane for %q", v.crumb())
	}
	if first := h.firstLine(); strings.Contains(first, "tracing") {
		t.Errorf("the header still says tracing once stopped: %q", first)
	}
	if v := h.view(); !strings.Contains(v, "stopped tracing 2000 redis-server") {
		t.Errorf("the status does not say the trace stopped:\n%s", v)
	}
}

// TestDInTheDrillDownSwapsToTheEvents: d in a process's drill-down traces it
// and puts its events in place of its syscalls, as e does; d in the
// processes of a syscall traces one and shows its events above them.
func TestDInTheDrillDownSwapsToTheEvents(t *testing.T) {
	b := newFake()
	h := newHarness(t, b, 120, 40)
	h.selectRow("1234 nginx")
	h.press("enter", "d")
	if got := h.crumbs(); got != "Processes › events of nginx 1234" {
		t.Errorf("d in nginx's drill-down: %q", got)
	}
	h.press("e")
	if v := h.m.top(); v.id() != viewProcSyscalls {
		t.Errorf("e in the events pane opened by d shows %q, not the syscalls", v.crumb())
	}

	h.press("2")
	h.selectRow("read desc")
	h.press("enter")
	h.selectRow("2000 redis-server")
	h.press("d")
	if b.traced.PID != 2000 || h.m.top().id() != viewEvents {
		t.Errorf("d in the processes of read: traced %v, showing %q", b.traced, h.m.top().crumb())
	}
}

// TestDIsRefusedWhereTheRungHasNoDetail: the status says why, and nothing
// changes: no events pane, no header.
func TestDIsRefusedWhereTheRungHasNoDetail(t *testing.T) {
	b := newFake()
	b.traceErr = errors.New("tracing needs detail events, which rung 3 lacks: they need rung 1 or 2")
	h := newHarness(t, b, 120, 40)
	h.selectRow("1234 nginx")
	h.press("d")
	if v := h.m.top(); v.id() != viewProcesses {
		t.Errorf("a refused trace opened %q", v.crumb())
	}
	if v := h.view(); !strings.Contains(v, "trace 1234 nginx: tracing needs detail events, which rung 3 lacks") || strings.Contains(h.firstLine(), "tracing") {
		t.Errorf("a refused trace: status or header wrong:\n%s", v)
	}
}

// TestDOutsideAProcessSaysWhereItWorks: in the Syscalls view and the
// Processes view grouped by command, d traces nothing and the status says
// where it does, not the class keys' hint.
func TestDOutsideAProcessSaysWhereItWorks(t *testing.T) {
	for _, keys := range [][]string{{"2"}, {"C"}} {
		b := newFake()
		h := newHarness(t, b, 120, 40)
		h.press(keys...)
		if h.m.keys.Trace.Enabled() {
			t.Errorf("after %v, d is on", keys)
		}
		h.press("d")
		if len(b.traces) != 0 || !strings.Contains(h.view(), "d traces a process: on its row") {
			t.Errorf("d after %v: Trace calls %v\n%s", keys, b.traces, h.view())
		}
	}
}

// TestATraceEndedByTheBackendIsSaid: when the process traced exits, the
// backend ends the trace; the next refresh says so and the header drops it.
func TestATraceEndedByTheBackendIsSaid(t *testing.T) {
	b := newFake()
	h := newHarness(t, b, 120, 40)
	h.selectRow("1234 nginx")
	h.press("d")
	b.traced = model.ProcID{}
	h.send(tickMsg(time.Now()))
	if first := h.firstLine(); strings.Contains(first, "tracing") {
		t.Errorf("the header still says tracing: %q", first)
	}
	if v := h.view(); !strings.Contains(v, "1234 nginx exited: its trace ended") {
		t.Errorf("the status does not say the trace ended:\n%s", v)
	}
}

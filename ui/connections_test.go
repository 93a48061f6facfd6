package ui

import (
	"strings"
	"testing"

	"tlmon/model"
)

// TestAGoneClientLeadsToItsCommandOrSaysWhatHappened: enter on an endpoint
// whose last process (a short-lived client) is no longer listed shows the
// processes of its command, or says it exited, never an empty "no longer
// tracked" list.
func TestAGoneClientLeadsToItsCommandOrSaysWhatHappened(t *testing.T) {
	b := newFake()
	gone := model.ProcID{PID: 9999, Start: 1}
	b.snap.Endpoints = []model.EndpointStat{
		{Endpoint: "10.0.0.9:443", Connects: 50, LastProc: gone, LastComm: "curl"},
		{Endpoint: "10.0.0.8:80", Connects: 40, LastProc: gone, LastComm: "nginx"},
	}
	h := newHarness(t, b, 120, 40)
	h.press("5", "enter")
	v := h.view()
	if strings.Contains(v, "no longer tracked") || !strings.Contains(v, "curl 9999 has exited") {
		t.Errorf("enter on a gone curl:\n%s", v)
	}
	h.press("esc", "j", "enter")
	if got := h.crumbs(); got != "Connections › nginx" {
		t.Errorf("enter on a gone nginx leads to %q, want its command's processes", got)
	}
	if _, ok := h.m.top().(*tableView); !ok || len(h.m.top().(*tableView).shown) == 0 {
		t.Errorf("the command's processes are not listed:\n%s", h.view())
	}
}

package ui

import (
	"strings"
	"testing"
	"time"
	"tlmon/model"
)

// TestFilterNamesItsColumn: "column:text" matches in that column only (a
// column by the start of its title), so that a word in a cgroup or a path
// does not bring in rows whose command is something else.
func TestFilterNamesItsColumn(t *testing.T) {
	h := newHarness(t, newFake(), 120, 40)
	tv := h.m.top().(*tableView)
	h.press(`\`, "service")
	if got := len(tv.shown); got != 2 {
		t.Fatalf(`\service shows %d rows, want the 2 in nginx.service`, got)
	}
	h.press("esc", `\`, "comm:service")
	if got := len(tv.shown); got != 0 {
		t.Errorf(`\comm:service shows %d rows, want none (no command is named so)`, got)
	}
	h.press("esc", `\`, "comm:redis")
	if got := h.selected(); got != "2000 redis-server" || len(tv.shown) != 1 {
		t.Errorf(`\comm:redis shows %d rows, on %q`, len(tv.shown), got)
	}
	h.press("esc", `\`, "cg:nginx")
	if got := len(tv.shown); got != 2 {
		t.Errorf(`\cg:nginx shows %d rows, want the 2 in nginx.service`, got)
	}
	h.press("esc", `\`, "nosuchcolumn:nginx")
	if got := len(tv.shown); got != 0 {
		t.Errorf(`\nosuchcolumn:nginx shows %d rows: an unknown column is plain text`, got)
	}
}

// TestDetailListsSayWhenTheyStopBeingUpdated: Files keeps its rows once file
// detail is switched off, and the status line says they are no longer
// updated and how to switch it on again.
func TestDetailListsSayWhenTheyStopBeingUpdated(t *testing.T) {
	b := newFake()
	h := newHarness(t, b, 120, 40)
	h.press("4")
	if v := h.view(); strings.Contains(v, "not updated") {
		t.Fatalf("Files says it is not updated while file detail is on:\n%s", v)
	}
	b.detail &^= model.ClassFile
	h.send(tickMsg(time.Now()))
	if v := h.view(); !strings.Contains(v, "not updated: file detail is off (v, then F)") {
		t.Errorf("Files does not say its rows are stale:\n%s", v)
	}
}

// TestAttachSaysWhetherTheCountsStartAfresh: attaching to a process or a
// cgroup starts the counts afresh, and the status line says so; back to
// everything, they go on.
func TestAttachSaysWhetherTheCountsStartAfresh(t *testing.T) {
	h := newHarness(t, newFake(), 120, 40)
	h.press("a", "1234ngx", "enter")
	if v := h.view(); !strings.Contains(v, "watching pid 1234 nginx") || !strings.Contains(v, "; counts and losses start now") {
		t.Errorf("attaching to a process does not say the counts start afresh:\n%s", v)
	}
	h.press("a", "enter") // everything is first
	if v := h.view(); !strings.Contains(v, "the counts go on") {
		t.Errorf("attaching to everything does not say the counts go on:\n%s", v)
	}
}

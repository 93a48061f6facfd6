package ui

import (
	"testing"
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

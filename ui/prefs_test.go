package ui

import (
	"strings"
	"testing"

	"tlmon/themes"
)

// TestConfigViewsChooseColumnsAndSort: a config file's view shows its
// columns (the first always) sorted by its column; a column or view it
// names wrongly is an error naming what there is.
func TestConfigViewsChooseColumnsAndSort(t *testing.T) {
	views := map[string]ViewPrefs{"processes": {Columns: []string{"comm", "P99"}, Sort: "P99", Reverse: true}, "syscalls": {Sort: "ERRORS"}}
	if err := CheckViews(views); err != nil {
		t.Fatal(err)
	}
	h := newHarnessWith(t, newFake(), 120, 40, Options{Views: views}, "mono")
	head := strings.Split(h.view(), "\n")[3]
	if !strings.Contains(head, "PID COMM") || !strings.Contains(head, "↑P99") || strings.Contains(head, "SYSCALLS/s") {
		t.Errorf("the processes' header is %q, want PID, COMM and P99 sorted up", head)
	}
	h.press("2")
	if head := strings.Split(h.view(), "\n")[3]; !strings.Contains(head, "↓ERRORS") {
		t.Errorf("the syscalls' header is %q, want sorted by ERRORS", head)
	}
	for _, bad := range []map[string]ViewPrefs{{"processes": {Columns: []string{"NOPE"}}}, {"nope": {}}, {"files": {Sort: "X"}}} {
		if err := CheckViews(bad); err == nil || !strings.Contains(err.Error(), "have") {
			t.Errorf("%v: %v, want an error saying what there is", bad, err)
		}
	}
}

// TestColumnChooserSavesTheViewsChoices: s in the column chooser saves the
// view's columns and sort by its name, and says so.
func TestColumnChooserSavesTheViewsChoices(t *testing.T) {
	var saved string
	var got ViewPrefs
	save := func(name string, p ViewPrefs) error { saved, got = name, p; return nil }
	h := newHarnessWith(t, newFake(), 120, 40, Options{SaveView: save}, "mono")
	h.press("o", "down", "down", "enter", "s")
	if saved != "processes" || len(got.Columns) == 0 || got.Columns[0] != "PID" || got.Sort != "SYSCALLS/s" {
		t.Errorf("saved %q %+v", saved, got)
	}
	for _, c := range got.Columns {
		if c == "CGROUP" {
			t.Errorf("CGROUP, hidden with enter, was saved: %v", got.Columns)
		}
	}
	if !strings.Contains(h.view(), "saved:") {
		t.Errorf("the chooser does not say it saved:\n%s", h.view())
	}
	none := newHarness(t, newFake(), 120, 40)
	none.press("o")
	if strings.Contains(none.view(), "s saves") || none.m.keys.SaveColumns.Enabled() {
		t.Error("s saves without a config file to save to")
	}
}

// TestHighlightRulesColourTheRowsTheyMatch: a rule colours the rows it
// matches in a colour theme, and only them; mono draws no colour.
func TestHighlightRulesColourTheRowsTheyMatch(t *testing.T) {
	rules := []Highlight{{Syscall: "openat", Errno: "ENOENT", Color: "3"}, {Comm: "redis-server", Color: "#ff0000"}}
	h := newHarnessWith(t, newFake(), 120, 40, Options{Highlight: rules}, "dark")
	h.press("2")
	tv := h.m.top().(*tableView)
	for _, i := range tv.shown {
		r := tv.rows[i]
		if want := r.cells[0] == "openat"; (r.hl == 1) != want {
			t.Errorf("syscall %s: rule %d", r.cells[0], r.hl)
		}
	}
	h.press("1")
	tv = h.m.top().(*tableView)
	for _, i := range tv.shown {
		if r := tv.rows[i]; (r.hl == 2) != (r.comm == "redis-server") {
			t.Errorf("process %s: rule %d", r.comm, r.hl)
		}
	}
	if th := themes.Pick("mono", true).WithHighlights([]string{"3"}); len(th.Highlights) != 0 {
		t.Error("mono draws a highlight colour")
	}
}

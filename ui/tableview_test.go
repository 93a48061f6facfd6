package ui

import (
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"tlmon/model"
	"tlmon/themes"
)

func TestStatusCountsNoRowsWhereTheTableSaysWhy(t *testing.T) {
	b := newFake()
	b.detail, b.snap.Files = 0, nil
	h := newHarness(t, b, 120, 40)
	h.press("4")
	v := h.view()
	if strings.Contains(v, "0 rows") || !strings.Contains(v, "file detail is off") {
		t.Errorf("an empty table's status says 0 rows under its one line:\n%s", v)
	}
	for n, want := range map[int]string{0: "", 1: "1 row", 2: "2 rows"} {
		if got := rowCount(n, "row"); got != want {
			t.Errorf("rowCount(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestInFlightMarksBounds(t *testing.T) {
	for f, want := range map[InFlight]string{
		{Since: 2 * time.Second}:                     "2s",
		{Since: 2 * time.Second, AtLeast: true}:      "≥2s",
		{Since: 12 * time.Millisecond, AtMost: true}: "≤12ms",
	} {
		if got := inFlightFor(f); got != want {
			t.Errorf("inFlightFor(%+v) = %q, want %q", f, got, want)
		}
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

// TestErrorsDrawTheEye: in a colour theme, a cell of errors above zero is in
// the theme's Error style, one of no errors is not, and the row under the
// cursor keeps its own style whole.
func TestErrorsDrawTheEye(t *testing.T) {
	th := themes.Pick("dark", true)
	tab := table{cols: []column{
		{title: "NAME", width: 8, cell: textCell(func(s *string) string { return *s })},
		{title: "ERR/s", width: 7, right: true, alert: nonZero, cell: rateCell(func(s *string) float64 {
			if *s == "failing" {
				return 4.2
			}
			return 0
		})},
	}, width: 20, height: 10}
	rm := newRowMaker(tab.cols, 3)
	var rows []row
	for _, name := range []string{"cursor", "failing", "fine"} {
		rows = append(rows, rm.row(&name))
	}
	tab.setRows(rows)
	lines := tab.render(10, &th, "")
	if !strings.Contains(lines[2], th.Error.Render(fit(rate(4.2), 7, true))) {
		t.Errorf("the failing row's ERR/s is not in the Error style: %q", lines[2])
	}
	if strings.Contains(lines[3], th.Error.Render(fit(rate(0), 7, true))) {
		t.Errorf("a row with no errors is drawn as failing: %q", lines[3])
	}
}

// TestColumnChooserShowsTheCommandLine: o lists the columns; the command
// line, hidden at first, shows once chosen, and a column hidden goes.
func TestColumnChooserShowsTheCommandLine(t *testing.T) {
	h := newHarness(t, newFake(), 160, 40)
	if strings.Contains(h.view(), "COMMAND LINE") {
		t.Fatalf("the command line shows before it is chosen:\n%s", h.view())
	}
	h.press("o")
	if v := h.view(); !strings.Contains(v, "COLUMNS") || !strings.Contains(v, "[ ] COMMAND LINE") || !strings.Contains(v, "[x] COMM") {
		t.Fatalf("o does not list the columns:\n%s", v)
	}
	tv := h.m.top().(*tableView)
	line := slices.IndexFunc(tv.cols, func(c column) bool { return c.title == "COMMAND LINE" })
	cg := slices.IndexFunc(tv.cols, func(c column) bool { return c.title == "CGROUP" })
	for range line {
		h.press("down")
	}
	h.press("enter")
	for range line - cg {
		h.press("up")
	}
	h.press("space", "esc")
	v := h.view()
	if !strings.Contains(v, "COMMAND LINE") || !strings.Contains(v, "/usr/bin/nginx") {
		t.Errorf("the command line chosen does not show:\n%s", v)
	}
	if strings.Contains(v, "CGROUP") {
		t.Errorf("the cgroup hidden still shows:\n%s", v)
	}
}

// TestSlowP99DrawsTheEyeUnlessTheCallWaits: a p99 of 10 ms or more draws
// the eye in a syscall that should be quick (openat), not in one that waits
// by design (poll), nor under 10 ms; a process's P99 does when one of its
// quick syscalls is slow, whatever its waits make its p99.
func TestSlowP99DrawsTheEyeUnlessTheCallWaits(t *testing.T) {
	p99 := slices.IndexFunc(syscallColumns, func(c column) bool { return c.title == "P99" })
	rm := newRowMaker(syscallColumns, 3)
	for _, tc := range []struct {
		name string
		p99  time.Duration
		want bool
	}{
		{"openat", 50 * time.Millisecond, true},
		{"openat", 9 * time.Millisecond, false},
		{"poll", 2 * time.Second, false},
	} {
		s := model.SyscallStat{Name: tc.name, P99Ns: uint64(tc.p99)}
		if got := rm.row(&s).alerts&(1<<p99) != 0; got != tc.want {
			t.Errorf("%s with p99 %v draws the eye: %v, want %v", tc.name, tc.p99, got, tc.want)
		}
	}

	lc := newLatCache()
	lc.begin()
	p := model.ProcStat{Syscalls: []model.SyscallStat{
		{Name: "poll", P99Ns: uint64(time.Second)},
		{Name: "fsync", P99Ns: uint64(30 * time.Millisecond)},
	}}
	p.Calls = 2
	procP99 := slices.IndexFunc(processColumns, func(c column) bool { return c.title == "P99" })
	prm := newRowMaker(processColumns, 1)
	if r := prm.row(&procItem{p: &p, lat: lc.get(&p)}); r.alerts&(1<<procP99) == 0 {
		t.Error("a process with a 30 ms fsync p99 does not draw the eye")
	}
	p.Syscalls, p.Calls = p.Syscalls[:1], 1
	if r := prm.row(&procItem{p: &p, lat: lc.get(&p)}); r.alerts&(1<<procP99) != 0 {
		t.Error("a process slow only in poll draws the eye")
	}
}

// TestRightAndLeftScrollTheColumns: at 80 columns the Processes view leaves
// READ and WRITE out and says so (›); → lays every column out in order and
// scrolls, PID and COMM staying, until the last is in sight; ← goes back to
// the columns laid out to fit.
func TestRightAndLeftScrollTheColumns(t *testing.T) {
	h := newHarness(t, newFake(), 80, 24)
	head := func() string { return strings.Split(h.view(), "\n")[3] }
	if v := head(); strings.Contains(v, "READ") || !strings.HasSuffix(strings.TrimRight(v, " "), "›") || !h.m.keys.Right.Enabled() || h.m.keys.Left.Enabled() {
		t.Fatalf("at 80 columns the header does not say columns are left out, or → is off, or ← on:\n%s", v)
	}
	for range 20 {
		h.press("right")
	}
	v := head()
	if !strings.Contains(v, "‹") || !strings.Contains(v, "PID COMM") || !strings.Contains(v, "WRITE") || strings.Contains(v, "SYSCALLS/s") {
		t.Errorf("after → the header is %q, want PID and COMM kept, the first columns scrolled off (‹) and WRITE in sight", v)
	}
	if h.m.keys.Right.Enabled() || strings.HasSuffix(strings.TrimRight(v, " "), "›") {
		t.Errorf("→ is still on with the last column in sight: %q", v)
	}
	tv := h.m.top().(*tableView)
	for tv.xoff > 0 {
		h.press("left")
	}
	if v := head(); strings.Contains(v, "‹") || !strings.Contains(v, "SYSCALLS/s") || h.m.keys.Left.Enabled() {
		t.Errorf("after ← back to the start the header is %q", v)
	}
	wide := newHarness(t, newFake(), 160, 40)
	if wide.m.keys.Right.Enabled() {
		t.Errorf("→ is on at 160 columns, where every column fits:\n%s", wide.view())
	}
}

// TestSidewaysWheelScrollsTheColumns: a touchpad's sideways wheel scrolls
// the columns as → and ← do, and moves no row.
func TestSidewaysWheelScrollsTheColumns(t *testing.T) {
	h := newHarness(t, newFake(), 80, 24)
	tv := h.m.top().(*tableView)
	cursor := tv.cursor
	h.send(tea.MouseWheelMsg{Button: tea.MouseWheelRight})
	if tv.xoff != 1 || tv.cursor != cursor {
		t.Errorf("wheel right: xoff %d cursor %d, want 1 and %d", tv.xoff, tv.cursor, cursor)
	}
	h.send(tea.MouseWheelMsg{Button: tea.MouseWheelLeft})
	if tv.xoff != 0 {
		t.Errorf("wheel left: xoff %d, want 0", tv.xoff)
	}
}

// TestWheelUnderTheHelpLeavesTheViewStill: the wheel over the help scrolls
// the help, never the rows hidden under it.
func TestWheelUnderTheHelpLeavesTheViewStill(t *testing.T) {
	h := newHarness(t, newFake(), 80, 24)
	tv := h.m.top().(*tableView)
	h.press("?")
	for range 3 {
		h.send(tea.MouseWheelMsg{Button: tea.MouseWheelDown})
	}
	if tv.cursor != 0 {
		t.Errorf("the wheel over the help moved the cursor under it to row %d", tv.cursor)
	}
}

package ui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"tlmon/model"
)

// TestStepsThroughTheHistory: [ shows the moment before the live picture,
// paused, with its rates and its time in the header; { goes ten back, ] one
// on, } past the newest and = go back to live, unpaused.
func TestStepsThroughTheHistory(t *testing.T) {
	b := newFake()
	withHistory(b, 30)
	h := newHarness(t, b, 120, 40)
	h.send(tickMsg(time.Now()))
	title := func() string { return strings.Split(h.view(), "\n")[0] }
	if v := title(); !strings.Contains(v, "live") || h.m.paused {
		t.Fatalf("the live picture does not say live: %q", v)
	}
	if h.m.keys.Later.Enabled() || h.m.keys.Live.Enabled() || !h.m.keys.Earlier.Enabled() {
		t.Error("live: ] and = should be off, [ on")
	}
	h.press("[")
	want := func(i int) {
		t.Helper()
		s := b.past[i]
		if h.m.data.snap != s || !h.m.paused {
			t.Fatalf("shows %v, want moment %d (%v), paused", h.m.data.snap.At, i+1, s.At)
		}
		ago := b.past[len(b.past)-1].At.Sub(s.At)
		label := s.At.Format("15:04:05")
		if ago > 0 {
			label += fmt.Sprintf(" · %s ago", ago)
		}
		if v := title(); !strings.Contains(v, label) || !strings.Contains(v, rate(s.Totals.CallRate)+" syscalls/s") {
			t.Errorf("the header of moment %d says %q, want %q and its rate %s", i+1, v, label, rate(s.Totals.CallRate))
		}
	}
	want(29)
	h.press("[", "{")
	want(18)
	h.press("]")
	want(19)
	for range 20 {
		if h.m.keys.Earlier.Enabled() {
			h.press("{")
		}
	}
	want(0)
	if h.m.keys.Earlier.Enabled() {
		t.Error("[ is on at the oldest moment")
	}
	h.press("}", "}", "}", "}")
	if h.m.paused || h.m.data.snap != b.snap || !strings.Contains(title(), "live") {
		t.Errorf("} past the newest moment is not live: %q", title())
	}
	h.press("[", "[", "=")
	if h.m.paused || h.m.data.snap != b.snap {
		t.Error("= did not go back to live")
	}
	h.press("[", "p")
	if h.m.paused || h.m.data.snap != b.snap {
		t.Error("p at a past moment did not go back to live")
	}
}

// TestPastMomentsShowTheirOwnTrendsAndNoLiveOnlyRows: at a past moment the
// TREND column draws the moments up to it, and In flight, read live only,
// says so instead of showing the live list.
func TestPastMomentsShowTheirOwnTrendsAndNoLiveOnlyRows(t *testing.T) {
	b := newFake()
	withHistory(b, 8)
	h := newHarness(t, b, 160, 40)
	h.send(tickMsg(time.Now()))
	h.press("{") // the oldest
	tv := h.m.top().(*tableView)
	col := -1
	for i, c := range tv.cols {
		if c.title == "TREND" {
			col = i
		}
	}
	r, _ := tv.selected()
	if got := strings.TrimSpace(r.cells[col]); got != "█" {
		t.Errorf("TREND at the oldest moment is %q, want its one rate", got)
	}
	h.press("]", "]", "]")
	r, _ = tv.selected()
	if got := r.cells[col]; got != "    ▂▄▆█" {
		t.Errorf("TREND at moment 4 is %q, want the four rates up to it", got)
	}
	h.press("3")
	if v := h.view(); !strings.Contains(v, "read live only") || strings.Contains(v, "epoll_wait") {
		t.Errorf("In flight at a past moment shows the live list:\n%s", v)
	}
	h.press("=")
	if v := h.view(); !strings.Contains(v, "epoll_wait") {
		t.Errorf("In flight back at live does not show the list:\n%s", v)
	}
}

// TestTimelineStripHasACursorOnTheMomentShown: the strip draws a cell a
// moment, the newest on the right, and marks the moment shown; live, no
// mark. Without a history there is no strip.
func TestTimelineStripHasACursorOnTheMomentShown(t *testing.T) {
	b := newFake()
	h := newHarness(t, b, 120, 40)
	strip := func() string { return strings.Split(h.view(), "\n")[3] }
	if strings.HasPrefix(strip(), "calls/s ") {
		t.Fatal("a strip without a history")
	}
	withHistory(b, 5)
	h.send(tickMsg(time.Now()))
	if s := strip(); !strings.HasPrefix(s, "calls/s ") || strings.Contains(s, "┃") {
		t.Fatalf("live strip: %q", s)
	}
	h.press("[", "[")
	s := strip()
	calls, _, _ := strings.Cut(strings.TrimPrefix(s, "calls/s "), "  err/s")
	if !strings.HasSuffix(calls, " ▂▄▅┃█") { // rates 1/5 to 5/5 of the peak, the fourth under the cursor
		t.Errorf("the strip's calls at moment 4 of 5: %q", calls)
	}
}

// TestDiffComparesTwoMarkedWindows: A at a past moment, B live, D lists the
// commands by their change; e swaps to the syscalls; enter drills into a
// row; esc goes back.
func TestDiffComparesTwoMarkedWindows(t *testing.T) {
	b := newFake()
	withHistory(b, 10)
	h := newHarness(t, b, 120, 40)
	h.send(tickMsg(time.Now()))
	if h.m.keys.Diff.Enabled() {
		t.Error("D is on before A is marked")
	}
	h.press("{", "A")
	if v := h.view(); !strings.Contains(v, "A is ") {
		t.Errorf("A does not say what it marked:\n%s", v)
	}
	h.press("=", "B", "D")
	if h.m.top().id() != viewDiff {
		t.Fatalf("D did not open the diff:\n%s", h.view())
	}
	v := h.view()
	for _, want := range []string{"COMMAND", "ΔCALLS/s", "nginx", "redis-server"} {
		if !strings.Contains(v, want) {
			t.Errorf("the diff lacks %q:\n%s", want, v)
		}
	}
	h.press("e")
	if v := h.view(); !strings.Contains(v, "SYSCALL") || !strings.Contains(v, "epoll_wait") {
		t.Errorf("e does not swap to the syscalls:\n%s", v)
	}
	h.press("enter")
	if h.m.top().id() != viewDiffParts || !strings.Contains(h.view(), "COMMAND") {
		t.Errorf("enter on a syscall does not list its commands:\n%s", h.view())
	}
	h.press("esc", "esc")
	if h.m.top().id() != viewProcesses {
		t.Errorf("esc esc does not go back to the processes")
	}
}

// TestEventsPaneShowsTheCallsKeptWithTheMoment: at a past moment the events
// pane shows the calls the history kept up to it, not the live ones.
func TestEventsPaneShowsTheCallsKeptWithTheMoment(t *testing.T) {
	b := newFake()
	withHistory(b, 5)
	b.pastDetail = model.ProcDetail{Calls: []model.CallRecord{{Proc: b.snap.Processes[0].ID, TID: 1234, Time: b.past[2].At, Nr: 39, Name: "getpid", Ret: 1234}}}
	h := newHarness(t, b, 120, 40)
	h.press("enter", "e")
	if strings.Contains(h.view(), "getpid(") {
		t.Fatal("the live pane shows the past call")
	}
	h.press("[", "[")
	if v := h.view(); !strings.Contains(v, "getpid(") || len(b.detailAt) == 0 || b.detailAt[len(b.detailAt)-1] != 4 {
		t.Errorf("at moment 4 the events pane shows (asked for moments %v):\n%s", b.detailAt, v)
	}
}

package ui

import (
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"tlmon/model"
)

// churnSnapshot is a shell loop at work: bash starting ls after ls, most of
// them gone already, beside a live nginx and a kernel thread. The ls that
// exited were busier in their short lives than the live processes are.
func churnSnapshot() *model.Snapshot {
	s := testSnapshot()
	at := s.At
	ls := func(pid uint32, calls uint64, exitedAgo time.Duration) model.ProcStat {
		alive := exitedAgo < 0
		p := proc(pid, 5000, "ls", "/user.slice", alive, sc(257, "openat", model.ClassFile, calls, calls/10))
		if !alive {
			p.ExitedAt = at.Add(-exitedAgo)
		}
		return p
	}
	kworker := proc(40, 2, "kworker/0:1", "/", true, sc(0, "read", model.ClassDesc, 20, 0))
	kworker.Kernel = true
	s.Processes = append(s.Processes,
		proc(5000, 1, "bash", "/user.slice", true, sc(56, "clone", model.ClassProcess, 300, 0)),
		ls(5001, 9000, time.Second),    // exited a second ago: shown, after the live
		ls(5002, 8000, 4*time.Second),  // within the grace
		ls(5003, 7000, 6*time.Second),  // past it: folded away
		ls(5004, 100, -1),              // alive
		ls(5005, 6000, 30*time.Second), // long gone, still kept by the aggregator
		kworker,
	)
	return s
}

func churnHarness(t *testing.T) (*harness, *fakeBackend) {
	b := newFake()
	b.snap = churnSnapshot()
	return newHarness(t, b, 120, 40), b
}

// selectRow moves the cursor down from the top to the row whose first two
// cells read want.
func (h *harness) selectRow(want string) {
	h.t.Helper()
	h.press("home")
	for range len(h.m.top().(*tableView).shown) {
		if h.selected() == want {
			return
		}
		h.press("j")
	}
	h.t.Fatalf("no row %q", want)
}

// pids lists the PID column of the view on top, in order.
func (h *harness) pids() []string {
	h.t.Helper()
	return h.column(0)
}

func TestExitedProcessesComeAfterLiveOnesWhateverTheSort(t *testing.T) {
	h, _ := churnHarness(t)
	tv := h.m.top().(*tableView)
	for range len(tv.cols) {
		for _, reverse := range []bool{false, true} {
			if reverse {
				h.press("S")
			}
			seenExited := false
			for _, i := range tv.shown {
				r := &tv.rows[i]
				if !r.dim && seenExited {
					t.Errorf("sorted by %s (reverse %v): live %s after an exited process: %v",
						tv.cols[tv.sortCol].title, reverse, r.cells[0], h.pids())
				}
				seenExited = seenExited || r.dim
			}
			if reverse {
				h.press("S")
			}
		}
		h.press("s")
	}
}

func TestAnExitedProcessFoldsAwayAfterItsGrace(t *testing.T) {
	h, b := churnHarness(t)
	got := h.pids()
	want := []string{"1234", "2000", "1300", "5000", "5004", "1", "40", "5001", "5002", "4321"}
	if !slices.Equal(got, want) {
		t.Errorf("rows %v, want %v: live by rate, then those that exited less than %s ago", got, want, exitedGrace)
	}
	for _, line := range strings.Split(h.view(), "\n") {
		if strings.Contains(line, " 5002 ") && !strings.HasPrefix(line, " x") {
			t.Errorf("an exited process is not marked: %q", line)
		}
	}
	// Two seconds later 5002 is past its grace too.
	s := churnSnapshot()
	s.At = s.At.Add(2 * time.Second)
	b.snap = s
	h.send(tickMsg(time.Now()))
	if got := h.pids(); slices.Contains(got, "5002") || !slices.Contains(got, "5001") {
		t.Errorf("two seconds later: %v, want 5001 still, 5002 folded away", got)
	}
}

func TestCommandsGroupProcessesWithCountsAndSums(t *testing.T) {
	h, _ := churnHarness(t)
	h.press("C")
	if got := h.crumbs(); got != "Processes" {
		t.Errorf("grouped, the tab is %q", got)
	}
	tv := h.m.top().(*tableView)
	rows := map[string][]string{}
	for _, i := range tv.shown {
		rows[tv.rows[i].comm] = tv.rows[i].cells
	}
	// 5001, 5002 exited within the grace, 5004 alive: 9000+8000+100 calls,
	// at a tenth of that per second.
	if got, want := rows["ls"], []string{"ls ×3, 1 live", "1710", "17.1k", "171", "openat"}; !slices.Equal(got[:5], want) {
		t.Errorf("ls row %q, want %q", got[:5], want)
	}
	if got := rows["nginx"][0]; got != "nginx ×2, 2 live" {
		t.Errorf("nginx row %q", got)
	}
	if got := rows["make"][0]; got != "make ×1, 0 live" {
		t.Errorf("make row %q", got)
	}
	if col := h.column(0); col[len(col)-1] != "make ×1, 0 live" {
		t.Errorf("the quietest command is not last: %q", col)
	}
	if v := h.view(); !strings.Contains(v, "COMMAND") || !strings.Contains(v, "commands · C: a row per process") {
		t.Errorf("the grouped view:\n%s", v)
	}

	h.selectRow("ls ×3, 1 live 1710")
	h.press("enter")
	if got := h.crumbs(); got != "Processes › ls" {
		t.Fatalf("enter on ls: %q", got)
	}
	if got := h.pids(); !slices.Equal(got, []string{"5004", "5001", "5002"}) {
		t.Errorf("the processes of ls: %v, the live first", got)
	}
	h.press("enter")
	if got := h.crumbs(); got != "Processes › ls › ls 5004" {
		t.Errorf("enter on a process of ls: %q", got)
	}
	h.press("esc", "esc")
	if got := h.crumbs(); got != "Processes" || h.m.top().id() != viewCommands {
		t.Errorf("esc twice: %q", got)
	}
	h.press("C")
	if got := h.selected(); got != "5004 ls" {
		t.Errorf("ungrouped, the cursor is on %q, want the live ls it was grouped with", got)
	}
	h.press("2", "C")
	if h.m.top() != h.m.tops[tabSyscalls] || !strings.Contains(h.view(), "C groups the Processes view") {
		t.Error("C outside the Processes view did not say where it works")
	}
}

// TestACommandWithNoLiveProcessIsGoneOnlyWhenQuiet: a shell loop's ls has
// no process alive at most instants, yet it is busy; a command whose
// processes all exited and made no call in the last interval is gone, and
// comes after the others.
func TestACommandWithNoLiveProcessIsGoneOnlyWhenQuiet(t *testing.T) {
	b := newFake()
	s := churnSnapshot()
	for i := range s.Processes {
		switch p := &s.Processes[i]; p.Comm {
		case "ls":
			p.Alive = false
			if p.ExitedAt.IsZero() {
				p.ExitedAt = s.At
			}
		case "make":
			p.CallRate, p.ErrorRate = 0, 0
		}
	}
	b.snap = s
	h := newHarness(t, b, 120, 40)
	h.press("C")
	tv := h.m.top().(*tableView)
	first, last := tv.rows[tv.shown[0]], tv.rows[tv.shown[len(tv.shown)-1]]
	if first.cells[0] != "ls ×3, 0 live" || first.dim {
		t.Errorf("the busiest command is %q (gone: %v), want ls", first.cells[0], first.dim)
	}
	if last.cells[0] != "make ×1, 0 live" || !last.dim {
		t.Errorf("the last command is %q (gone: %v), want make, gone", last.cells[0], last.dim)
	}
}

func TestTogglesHideExitedProcessesAndKernelThreads(t *testing.T) {
	h, _ := churnHarness(t)
	h.press("E")
	if got := h.pids(); !slices.Equal(got, []string{"1234", "2000", "1300", "5000", "5004", "1", "40"}) {
		t.Errorf("E: %v, want the live only", got)
	}
	if v := h.view(); !strings.Contains(v, "exited processes hidden") {
		t.Errorf("the status line does not say exited processes are hidden:\n%s", v)
	}
	if got := h.m.top().(*tableView).state(&h.m.data); got != " · exited hidden (E)" {
		t.Errorf("once the message is gone, the status line adds %q", got)
	}
	h.press("K")
	if got := h.pids(); slices.Contains(got, "40") || len(got) != 6 {
		t.Errorf("K: %v, want no kernel thread", got)
	}
	h.press("C")
	for _, c := range h.column(0) {
		if strings.HasPrefix(c, "kworker") || strings.HasPrefix(c, "make") {
			t.Errorf("grouped, %q shows though hidden", c)
		}
	}
	h.press("C", "E", "K")
	if got := h.pids(); len(got) != 10 {
		t.Errorf("E and K again: %v, want all 10 back", got)
	}
	// Nothing to show says why.
	h.press("E", `\`, "make", "enter")
	if v := h.view(); !strings.Contains(v, "nothing matches the filter") {
		t.Errorf("a filter with nothing left:\n%s", v)
	}
}

// TestTheCursorHoldsItsScreenLineWhenRowsAreInsertedAbove: a burst of new
// busy processes lands above the cursor; the cursor and the screen stay put,
// as the busiest rows do.
func TestTheCursorHoldsItsScreenLineWhenRowsAreInsertedAbove(t *testing.T) {
	b := newFake()
	h := newHarness(t, b, 120, 16)
	h.press("j", "j")
	tv := h.m.top().(*tableView)
	s := testSnapshot()
	for i := range 20 {
		s.Processes = append(s.Processes, proc(uint32(7000+i), 1, "cc1", "/user.slice", true, sc(0, "read", model.ClassDesc, 100000, 0)))
	}
	b.snap = s
	for range 3 {
		h.send(tickMsg(time.Now()))
	}
	if tv.cursor != 2 || tv.offset != 0 {
		t.Errorf("cursor on line %d, screen from row %d; want line 2 and the top of the list", tv.cursor, tv.offset)
	}
	if got := h.column(1)[0]; got != "cc1" {
		t.Errorf("the first row is %q, want a busy cc1", got)
	}
}

// TestAFollowedProcessThatExitsHandsOverToItsCommand: the cursor follows a
// process while it lives, then goes to a live process of the same command,
// never to another command; with none left it stays on the exited row.
func TestAFollowedProcessThatExitsHandsOverToItsCommand(t *testing.T) {
	h, b := churnHarness(t)
	h.selectRow("5004 ls")
	h.press("P")
	s := churnSnapshot()
	s.Processes = append(s.Processes, proc(5010, 5000, "ls", "/user.slice", true, sc(257, "openat", model.ClassFile, 50, 0)))
	for i := range s.Processes {
		if p := &s.Processes[i]; p.ID.PID == 5004 {
			p.Alive, p.ExitedAt = false, s.At
		}
	}
	b.snap = s
	h.send(tickMsg(time.Now()))
	if got := h.selected(); got != "5010 ls" {
		t.Errorf("5004 exited: the cursor is on %q, want the live ls 5010", got)
	}

	// The last live ls exits: the cursor stays on it while it shows.
	for i := range s.Processes {
		if p := &s.Processes[i]; p.ID.PID == 5010 {
			p.Alive, p.ExitedAt = false, s.At
		}
	}
	h.send(tickMsg(time.Now()))
	if got := h.selected(); got != "5010 ls" {
		t.Errorf("no ls alive: the cursor is on %q, want 5010 still", got)
	}
	// Grouped, the followed ls goes to the ls row.
	h.press("C")
	if got := h.selected(); !strings.HasPrefix(got, "ls ×") {
		t.Errorf("grouped: the cursor is on %q, want the ls row", got)
	}
	if !h.m.top().(*tableView).follow {
		t.Error("grouped, the cursor no longer follows")
	}
	h.press("C")

	// All ls gone: following ends where the cursor was.
	s = churnSnapshot()
	s.Processes = slices.DeleteFunc(s.Processes, func(p model.ProcStat) bool { return p.Comm == "ls" })
	b.snap = s
	tv := h.m.top().(*tableView)
	at := tv.cursor
	h.send(tickMsg(time.Now()))
	if tv.follow || tv.cursor != min(at, len(tv.shown)-1) {
		t.Errorf("with no ls left: follow %v, cursor %d, want no follow, cursor at %d", tv.follow, tv.cursor, at)
	}
	if strings.HasSuffix(h.selected(), " ls") {
		t.Errorf("the cursor is on %q, a folded ls", h.selected())
	}
}

func TestAMoveTakesTheCursorBackFromTheFollowedRow(t *testing.T) {
	h, _ := churnHarness(t)
	h.press("P", "j")
	if h.m.top().(*tableView).follow {
		t.Error("j did not end following")
	}
}

// TestLatencyWithoutSamplesIsADash: a process whose histograms the kernel
// had no room for has latencies summed but no quantile; a syscall with no
// samples at all has no average either. Neither reads 0ns.
func TestLatencyWithoutSamplesIsADash(t *testing.T) {
	b := newFake()
	s := testSnapshot()
	noHist := sc(39, "getpid", model.ClassOther, 500, 0)
	noHist.Hist, noHist.P50Ns, noHist.P95Ns, noHist.P99Ns = nil, 0, 0, 0
	exitOnly := sc(231, "exit_group", model.ClassProcess, 1, 0)
	exitOnly.LatSumNs, exitOnly.LatCount, exitOnly.AvgNs = 0, 0, 0
	exitOnly.Hist, exitOnly.P50Ns, exitOnly.P95Ns, exitOnly.P99Ns = nil, 0, 0, 0
	s.Processes = append(s.Processes, proc(6000, 1, "short", "/user.slice", true, noHist, exitOnly))
	s.Syscalls = append(s.Syscalls, exitOnly)
	b.snap = s
	h := newHarness(t, b, 120, 40)
	h.selectRow("6000 short")
	row := func(name string) string {
		for _, l := range strings.Split(h.view(), "\n") {
			if strings.Contains(l, name) {
				return l
			}
		}
		return ""
	}
	if r, _ := h.m.top().(*tableView).selected(); r.cells[7] != "–" {
		t.Errorf("the process's P99 without a histogram: %q", r.cells[7])
	}
	h.press("enter")
	if r := row("getpid"); !strings.Contains(r, "2µs       –       –") {
		t.Errorf("getpid without a histogram: %q, want its average and – for P50, P99", r)
	}
	if r := row("exit_group"); !strings.Contains(r, "–       –       –") {
		t.Errorf("exit_group without samples: %q", r)
	}
	h.selectRow("getpid other")
	h.press("enter")
	if v := h.view(); !strings.Contains(v, "latency avg 2µs   p50 –   p95 –   p99 –") || !strings.Contains(v, "no histogram kept") {
		t.Errorf("the detail of getpid:\n%s", v)
	}
	h.press("2")
	if r := row("exit_group"); !strings.Contains(r, "–       –       –") || strings.Contains(r, "0ns") {
		t.Errorf("the Syscalls view's exit_group: %q", r)
	}
}

func TestThousandsAreSeparated(t *testing.T) {
	got := []string{thousands(0), thousands(999), thousands(3214), thousands(1234567)}
	if want := []string{"0", "999", "3,214", "1,234,567"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestTopSyscallStaysWhileTheOtherLeadsByACall(t *testing.T) {
	lat := newLatCache()
	tops := func(counts ...uint64) string {
		p := proc(700, 1, "dd", "/user.slice", true,
			sc(0, "read", model.ClassDesc, counts[0], 0), sc(1, "write", model.ClassDesc, counts[1], 0))
		slices.SortStableFunc(p.Syscalls, func(x, y model.SyscallStat) int { return int(y.Calls) - int(x.Calls) })
		p.Counts.Calls = counts[0] + counts[1]
		lat.begin()
		defer lat.end()
		return lat.get(&p).top
	}
	for i, step := range []struct {
		read, write uint64
		want        string
	}{
		{1000, 999, "read"},
		{1000, 1001, "read"}, // write leads by one: read stays
		{1001, 1001, "read"},
		{1001, 1002, "read"},
		{1001, 2000, "write"}, // write beats it clearly
		{1500, 2000, "write"},
	} {
		if got := tops(step.read, step.write); got != step.want {
			t.Errorf("step %d (read %d, write %d): top %q, want %q", i, step.read, step.write, got, step.want)
		}
	}
}

func TestP95ShowsInTheTablesAndGivesWayBeforeP99(t *testing.T) {
	for _, keys := range [][]string{nil, {"2"}, {"2", "enter"}, {"C"}} {
		h := newHarness(t, newFake(), 120, 40)
		h.press(keys...)
		if v := h.view(); !strings.Contains(v, "P95") || !strings.Contains(v, "177µs") {
			t.Errorf("after %q no P95 at 120 columns:\n%s", keys, v)
		}
		h.send(tea.WindowSizeMsg{Width: 80, Height: 24})
		if v := h.view(); strings.Contains(v, "P95") || !strings.Contains(v, "P99") {
			t.Errorf("after %q at 80 columns P95 should give way, P99 stay:\n%s", keys, v)
		}
	}
}

func TestThreadsViewSaysSinceWhenItCounts(t *testing.T) {
	h := newHarness(t, newFake(), 120, 40)
	h.press("T")
	lines := strings.Split(h.view(), "\n")
	status := lines[len(lines)-2]
	if !strings.Contains(status, "counted since T was pressed") {
		t.Errorf("the status line does not say since when threads count: %q", status)
	}
}

// TestTrendDrawsTheLastRates: where there is room, TREND draws a process's
// call rates of the last snapshots, once a snapshot, the newest on the right.
func TestTrendDrawsTheLastRates(t *testing.T) {
	b := newFake()
	h := newHarness(t, b, 160, 40)
	if v := h.view(); !strings.Contains(v, "TREND") {
		t.Fatalf("no TREND at 160 columns:\n%s", v)
	}
	tv := h.m.top().(*tableView)
	col := slices.IndexFunc(tv.cols, func(c column) bool { return c.title == "TREND" })
	trend := func() string {
		r, _ := tv.selected()
		return r.cells[col]
	}
	first := b.snap.Processes[0].CallRate
	for i, rate := range []float64{first / 2, first} {
		s := *b.snap
		s.At = s.At.Add(time.Duration(i+1) * time.Second)
		s.Processes = slices.Clone(s.Processes)
		s.Processes[0].CallRate = rate
		b.snap = &s
		h.send(tickMsg(time.Now()))
		h.send(tea.WindowSizeMsg{Width: 160, Height: 40}) // a second refresh of the same snapshot adds nothing
	}
	if got := trend(); got != "     █▄█" {
		t.Errorf("TREND after rates %v, %v, %v: %q", first, first/2, first, got)
	}
}

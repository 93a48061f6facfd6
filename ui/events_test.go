package ui

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"tlmon/model"
)

// column is the cells of column i of the rows shown, in order.
func (h *harness) column(i int) []string {
	h.t.Helper()
	tv, ok := h.m.top().(*tableView)
	if !ok {
		h.t.Fatalf("the view on top is %T, not a table", h.m.top())
	}
	var out []string
	for _, r := range tv.shown {
		out = append(out, tv.rows[r].cells[i])
	}
	return out
}

func TestFourAndFiveShowFilesAndConnections(t *testing.T) {
	h := newHarness(t, newFake(), 120, 40)
	h.press("4")
	if got := h.crumbs(); got != "Files" {
		t.Fatalf("4 shows %q", got)
	}
	want := []string{"/etc/ld.so.cache", "/etc/nginx/conf.d/missing.conf", "/usr/lib/x86_64-linux-gnu/security/pam_systemd_home.so", "/var/lib/redis/dump.rdb"}
	if got := h.column(0); !slices.Equal(got, want) {
		t.Errorf("files by opens: %q", got)
	}
	h.press("5")
	if got := h.crumbs(); got != "Connections" {
		t.Fatalf("5 shows %q", got)
	}
	if got := h.column(0); len(got) != 5 || got[0] != "127.0.0.1:6379" {
		t.Errorf("endpoints by connects: %q", got)
	}
	v := h.view()
	for _, want := range []string{"ENDPOINT", "CONNECTS", "ACCEPTS", "BINDS", "ECONNREFUSED", "nginx 1300", "e: tcp connections"} {
		if !strings.Contains(v, want) {
			t.Errorf("the connections view does not show %q:\n%s", want, v)
		}
	}
}

func TestEKeySwapsTheConnectionsListsAndTheChoiceStays(t *testing.T) {
	h := newHarness(t, newFake(), 120, 40)
	h.press("5", "e")
	if got := h.crumbs(); got != "TCP connections" {
		t.Fatalf("5 e shows %q", got)
	}
	// Most recent first; the two of one instant in the snapshot's order.
	if got := h.column(2); !slices.Equal(got, []string{"nginx", "redis-server", "nginx"}) {
		t.Errorf("connections: %q", got)
	}
	if v := h.view(); !strings.Contains(v, "[2001:db8::1]:52000") || !strings.Contains(v, "established") || !strings.Contains(v, "[5 TCP connections]") {
		t.Errorf("the TCP list:\n%s", v)
	}
	h.press("j", "tab")
	if got := h.crumbs(); got != "Processes" {
		t.Fatalf("tab from the TCP list: %q", got)
	}
	h.press("5")
	if got := h.crumbs(); got != "TCP connections" || h.selected() != "03:04:04 2000" {
		t.Errorf("back to 5: %q on %q, want the TCP list with its cursor", got, h.selected())
	}
	h.press("e")
	if got := h.crumbs(); got != "Connections" {
		t.Errorf("e again: %q", got)
	}
	h.press("1", "e")
	if got := h.crumbs(); got != "Processes" {
		t.Errorf("e in the processes view: %q", got)
	}
}

func TestFilterAndSortWorkOnTheDetailViews(t *testing.T) {
	h := newHarness(t, newFake(), 120, 40)
	h.press("4", `\`, "nginx", "enter")
	if got := h.column(0); !slices.Equal(got, []string{"/etc/ld.so.cache", "/etc/nginx/conf.d/missing.conf"}) {
		t.Errorf("/nginx in files (path or last process): %q", got)
	}
	h.press("esc", "s") // by errors
	if got := h.column(0)[0]; got != "/etc/nginx/conf.d/missing.conf" {
		t.Errorf("files by errors: first %q", got)
	}
	h.press("S")
	if got := h.column(0); got[len(got)-1] != "/etc/nginx/conf.d/missing.conf" {
		t.Errorf("files by errors reversed: %q", got)
	}
	h.press("s", "s", "s") // TOP ERRNO, LAST PROCESS, PATH
	if got := h.column(0)[0]; got != "/etc/ld.so.cache" {
		t.Errorf("files by path: first %q", got)
	}

	h.press("5", `\`, "unix", "enter")
	if got := h.column(0); !slices.Equal(got, []string{"unix:/run/systemd/journal/socket"}) {
		t.Errorf("/unix in endpoints: %q", got)
	}
	h.press("esc", "s", "s") // CONNECTS → ACCEPTS → BINDS
	if got := h.column(0)[0]; got != "0.0.0.0:80" {
		t.Errorf("endpoints by binds: first %q", got)
	}

	h.press("e", `\`, "closed", "enter")
	if got := h.column(4); !slices.Equal(got, []string{"[2001:db8::1]:52000"}) {
		t.Errorf("/closed in the TCP list: %q", got)
	}
	h.press("esc", "S")
	if got := h.column(2)[0]; got != "nginx" || h.column(1)[0] != "1234" {
		t.Errorf("the TCP list oldest first: %q", h.column(1))
	}
}

func TestEnterOnAFileOrAnEndpointLeadsToItsLastProcess(t *testing.T) {
	h := newHarness(t, newFake(), 120, 40)
	h.press("4", "enter")
	if got := h.crumbs(); got != "Files › nginx 1234" {
		t.Errorf("enter on a file: %q", got)
	}
	h.press("5", "enter")
	if got := h.crumbs(); got != "Connections › nginx 1300" {
		t.Errorf("enter on an endpoint: %q", got)
	}
	h.press("esc", "e", "down", "enter")
	if got := h.crumbs(); got != "TCP connections › redis-server 2000" {
		t.Errorf("enter on a connection: %q", got)
	}
}

func TestDetailViewsSayWhatSwitchesThemOn(t *testing.T) {
	tests := []struct {
		name             string
		classes, detail  model.Class
		files, endpoints string
	}{
		{"detail off", allClasses, 0, "no file opens seen: file detail is off — press v, then F", "no connect, bind or accept seen: network detail is off — press v, then N"},
		{"class off", allClasses &^ (model.ClassFile | model.ClassNetwork), allClasses, "file detail is on but file is not counted — press v, then f", "network detail is on but network is not counted — press v, then n"},
		{"both on", allClasses, allClasses, "no file opens yet (file detail is on)", "no connect, bind or accept yet (network detail is on)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newFake()
			b.classes, b.detail = tt.classes, tt.detail
			b.snap.Files, b.snap.Endpoints, b.snap.Conns = nil, nil, nil
			h := newHarness(t, b, 120, 40)
			h.press("4")
			if v := h.view(); !strings.Contains(v, tt.files) {
				t.Errorf("files: no %q in\n%s", tt.files, v)
			}
			h.press("5")
			if v := h.view(); !strings.Contains(v, tt.endpoints) {
				t.Errorf("endpoints: no %q in\n%s", tt.endpoints, v)
			}
		})
	}
	// The message follows the key at once.
	b := newFake()
	b.detail, b.snap.Files = 0, nil
	h := newHarness(t, b, 120, 40)
	h.press("4", "v", "F", "esc")
	if v := h.view(); !strings.Contains(v, "no file opens yet") {
		t.Errorf("after F:\n%s", v)
	}
}

func TestShiftedClassKeysToggleDetail(t *testing.T) {
	b := newFake()
	b.detail = 0
	h := newHarness(t, b, 120, 40)
	h.press("v") // the classes overlay, where the class keys are
	for i, k := range classKeys {
		b.setDetail = nil
		upper := strings.ToUpper(k)
		h.press(upper)
		if !slices.Equal(b.setDetail, []model.Class{model.AllClasses[i]}) {
			t.Errorf("%s: SetDetail calls %v, want [%v]", upper, b.setDetail, model.AllClasses[i])
		}
		if want := "●" + k + "+" + classLabels[i]; !strings.Contains(h.view(), want) {
			t.Errorf("%s: the chip does not read %s", upper, want)
		}
		h.press(upper)
		if !slices.Equal(b.setDetail, []model.Class{model.AllClasses[i], 0}) {
			t.Errorf("%s twice: SetDetail calls %v", upper, b.setDetail)
		}
		if len(b.setClasses) != 0 {
			t.Fatalf("%s changed the classes counted: %v", upper, b.setClasses)
		}
	}
	h.press("F", "N")
	if want := model.ClassFile | model.ClassNetwork; b.detail != want {
		t.Errorf("F N: detail %v, want %v", b.detail, want)
	}
	// Detail of a class not counted is allowed, and the status line says it
	// needs the class.
	b.classes &^= model.ClassMemory
	h.press("M")
	if v := h.view(); !strings.Contains(v, "memory detail on, but memory is not counted: press m") || !strings.Contains(v, "○m+mem") {
		t.Errorf("M with memory off:\n%s", v)
	}
}

func TestDetailTheKernelRefusesSaysWhy(t *testing.T) {
	b := newFake()
	b.detail = 0
	b.detailErr = errors.New("no ring buffer room")
	h := newHarness(t, b, 120, 40)
	h.press("v", "F")
	v := h.view()
	if !strings.Contains(v, "file detail: no ring buffer room") || !strings.Contains(v, "●f:file") {
		t.Errorf("after a refused F:\n%s", v)
	}
}

func TestDetailEventsAreCountedInTheHeaderAndTheLosses(t *testing.T) {
	h := newHarness(t, newFake(), 120, 40)
	if v := h.view(); !strings.Contains(v, "detail 1234 events") {
		t.Errorf("no detail count in the header:\n%s", v)
	}
	h.press("L")
	if v := h.view(); !strings.Contains(v, "detail events") || !strings.Contains(v, "1234") {
		t.Errorf("no detail count in the breakdown:\n%s", v)
	}
}

func TestEventsPaneShowsTheProcessCallsMostRecentFirst(t *testing.T) {
	h := newHarness(t, newFake(), 120, 40)
	h.press("enter", "e")
	if got := h.crumbs(); got != "Processes › events of nginx 1234" {
		t.Fatalf("enter e: %q", got)
	}
	calls := h.column(2)
	if len(calls) != 3 || !strings.Contains(calls[0], "missing.conf") || !strings.Contains(calls[2], "ld.so.cache") {
		t.Errorf("calls, most recent first: %q", calls)
	}
	v := h.view()
	for _, want := range []string{"DURATION", "45µs", "03:04:04.990", "OPENS", "ENDPOINT", "127.0.0.1:6379"} {
		if !strings.Contains(v, want) {
			t.Errorf("the events pane does not show %q:\n%s", want, v)
		}
	}
	h.press(`\`, "ld.so", "enter")
	if got := h.column(2); len(got) != 1 || !strings.Contains(got[0], "ld.so.cache") {
		t.Errorf("/ld.so: %q", got)
	}
	h.press("esc")
	h.sortBy("DURATION")
	if got := h.column(2)[0]; !strings.HasPrefix(got, "connect(") {
		t.Errorf("by duration the first is %q", got)
	}
	h.press("home", "enter")
	if got := h.crumbs(); got != "Processes › events of nginx 1234 › connect" {
		t.Fatalf("enter on a call: %q", got)
	}
	if v := h.view(); !strings.Contains(v, "connect(7, {AF_INET, 127.0.0.1:6379}, 16) = 0 <45µs>") || !strings.Contains(v, "thread    1240") {
		t.Errorf("the call in full:\n%s", v)
	}
	h.press("esc")
	h.press("e")
	if got := h.crumbs(); got != "Processes › nginx 1234" {
		t.Errorf("e back: %q", got)
	}
	h.press("e")
	if tv := h.m.top().(*tableView); tv.cols[tv.sortCol].title != "DURATION" {
		t.Error("the events pane forgot its sort when swapped out and back")
	}
	h.press("esc")
	if got := h.crumbs(); got != "Processes" {
		t.Errorf("esc from the events pane: %q", got)
	}
}

func TestEventsPaneIsPolledOnlyWhileVisible(t *testing.T) {
	b := newFake()
	h := newHarness(t, b, 120, 40)
	h.send(tickMsg(time.Now()))
	h.press("enter")
	h.send(tickMsg(time.Now()))
	if len(b.detailFor) != 0 {
		t.Fatalf("ProcDetail called %d times before the pane opened", len(b.detailFor))
	}
	h.press("e")
	nginx := model.ProcID{PID: 1234, Start: 123400}
	if !slices.Equal(b.detailFor, []model.ProcID{nginx}) {
		t.Fatalf("opening the pane: ProcDetail calls %v, want nginx once", b.detailFor)
	}
	h.send(tickMsg(time.Now()))
	if len(b.detailFor) != 2 {
		t.Errorf("a tick with the pane open: %d calls, want 2", len(b.detailFor))
	}
	h.press("e")
	h.send(tickMsg(time.Now()))
	h.press("4")
	h.send(tickMsg(time.Now()))
	if len(b.detailFor) != 2 {
		t.Errorf("ProcDetail still called after the pane closed: %v", b.detailFor)
	}
	if h.m.data.procDetail.Calls != nil {
		t.Error("the closed pane's calls are still held")
	}
	h.press("1", "enter", "e", "a")
	n := len(b.detailFor)
	h.send(tickMsg(time.Now()))
	if len(b.detailFor) != n {
		t.Error("ProcDetail called while the picker covers the pane")
	}
}

func TestPausedEventsPaneIsFrozen(t *testing.T) {
	b := newFake()
	h := newHarness(t, b, 120, 40)
	h.press("enter", "e", "p")
	before := h.column(2)
	b.procDetail = model.ProcDetail{Calls: []model.CallRecord{{TID: 1234, Time: time.Now(), Nr: 39, Name: "getpid", Ret: 1234}}}
	n := len(b.detailFor)
	h.send(tickMsg(time.Now()))
	if len(b.detailFor) != n || !slices.Equal(h.column(2), before) {
		t.Errorf("a tick changed the paused pane: %q, %d calls", h.column(2), len(b.detailFor)-n)
	}
	h.press("space")
	if got := h.column(2); len(got) != 1 || !strings.HasPrefix(got[0], "getpid(") {
		t.Errorf("resume did not show the present: %q", got)
	}
}

func TestProcessesShowBytesReadAndWrittenWhereThereIsRoom(t *testing.T) {
	h := newHarness(t, newFake(), 120, 40)
	v := h.view()
	if !strings.Contains(v, "READ ") || !strings.Contains(v, " WRITE") {
		t.Fatalf("no IO columns at 120:\n%s", v)
	}
	tv := h.m.top().(*tableView)
	r, _ := tv.selected()
	// nginx: read 1.2 MB/s, sent 3.4 MB/s; redis: received 2.5 GB/s. Units say
	// they are bytes.
	if got := strings.Join(r.cells[9:11], " "); got != "1.1MiB/s 3.2MiB/s" {
		t.Errorf("nginx reads and writes %s", got)
	}
	h.sortBy("READ")
	h.press("home")
	if got := h.selected(); got != "2000 redis-server" {
		t.Errorf("by READ the first is %q, want redis (receives count as reads)", got)
	}
	h.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	if v := h.view(); strings.Contains(v, "READ ") || !strings.Contains(v, "ERR/s") {
		t.Errorf("at 80 columns the IO pair should give way, the counts stay:\n%s", v)
	}
	h.send(tea.WindowSizeMsg{Width: 100, Height: 30})
	if v := h.view(); !strings.Contains(v, "READ ") || !strings.Contains(v, " WRITE") || strings.Contains(v, "CGROUP") {
		t.Errorf("at 100 columns the IO pair shows, the cgroup gives way:\n%s", v)
	}
}

func TestTheBreadcrumbStaysOnANarrowTerminal(t *testing.T) {
	h := newHarness(t, newFake(), 80, 24)
	h.press("enter", "enter")
	if v := h.view(); !strings.Contains(v, "› nginx 1234 › read") || !strings.Contains(v, "[1 Processes] 2 3 4 5") {
		t.Errorf("the breadcrumb at 80 columns:\n%s", v)
	}
}

// hostile is a path that clears the screen, writes the clipboard (OSC 52) and
// starts a new line.
const hostile = "/tmp/\x1b[2J\x1b]52;c;aGk=\x07\nx"

func TestHostilePathsAndNamesAreInert(t *testing.T) {
	b := newFake()
	id := b.snap.Processes[0].ID
	b.snap.Files[0].Path, b.snap.Files[0].LastComm = hostile, "evil\x1b[2J"
	b.snap.Endpoints[0].Endpoint = "unix:" + hostile
	b.snap.Conns[0].Comm, b.snap.Conns[0].State = "evil\x1b]52;c;aGk=\x07", "closed\n"
	b.procDetail.Calls[0].Strs[0] = hostile
	b.procDetail.Calls[1].Argv = []string{hostile}
	b.procDetail.Files = []model.FileStat{{Path: hostile, Opens: 1, LastProc: id}}
	b.procDetail.Endpoints = []model.EndpointStat{{Endpoint: "unix:" + hostile, Connects: 1}}
	for _, size := range [][2]int{{120, 40}, {80, 24}} {
		h := newHarness(t, b, size[0], size[1])
		check := func(what string) {
			t.Helper()
			v := h.view()
			lines := strings.Split(v, "\n")
			if len(lines) != size[1] {
				t.Errorf("%v %s: %d lines, want %d (a newline got through)", size, what, len(lines), size[1])
			}
			for _, l := range lines {
				for _, r := range l {
					if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
						t.Fatalf("%v %s: control character %q on screen:\n%q", size, what, r, v)
					}
				}
				if w := ansi.StringWidth(l); w > size[0] {
					t.Errorf("%v %s: a line of %d cells", size, what, w)
				}
			}
		}
		h.press("4")
		check("files")
		if !strings.Contains(h.view(), "52;c;aGk=") {
			t.Errorf("%v: the hostile path is not shown as text:\n%s", size, h.view())
		}
		h.press(`\`, "tmp", "enter")
		check("files filtered")
		h.press("5")
		check("endpoints")
		h.press("e")
		check("tcp")
		h.press("1", "enter", "e")
		check("events")
		if !strings.Contains(h.view(), "52;c;aGk=") {
			t.Errorf("%v: the hostile path is not in the events pane:\n%s", size, h.view())
		}
		h.press("enter")
		check("one call")
	}
}

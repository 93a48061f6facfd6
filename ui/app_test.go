package ui

import (
	"errors"
	"fmt"
	"image/color"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"tlmon/model"
)

// fakeBackend records what the UI asks of it.
type fakeBackend struct {
	snap       *model.Snapshot
	meta       Meta
	classes    model.Class
	setClasses []model.Class
	setErr     error
	targets    []Target
	targetsErr error
	attached   []Target
	attachErr  error
	signaled   []string // "PID signal" of each Signal
	signalErr  error
	cleared    int
	inflight   []InFlight
	polls      int
	threadsFor []uint32 // the pid of each Threads call
	slow       time.Duration
	detail     model.Class
	setDetail  []model.Class // each SetDetail call
	detailErr  error
	procDetail model.ProcDetail
	detailFor  []model.ProcID // the process of each ProcDetail call
	// past are the history's snapshots, oldest first, numbered from 1;
	// pastDetail is what ProcDetailAt returns, detailAt the moment of each
	// call.
	past       []*model.Snapshot
	pastDetail model.ProcDetail
	detailAt   []uint64
	traced     model.ProcID
	traces     []model.ProcID // each Trace call
	traceErr   error
}

func (f *fakeBackend) Snapshot() *model.Snapshot { return f.snap }
func (f *fakeBackend) ProcDetailAt(id model.ProcID, seq uint64) model.ProcDetail {
	f.detailAt = append(f.detailAt, seq)
	return f.pastDetail
}
func (f *fakeBackend) Moments() []model.Moment {
	var ms []model.Moment
	for i, s := range f.past {
		ms = append(ms, model.Moment{Seq: uint64(i + 1), At: s.At, CallRate: s.Totals.CallRate, ErrorRate: s.Totals.ErrorRate})
	}
	return ms
}
func (f *fakeBackend) SnapshotAt(seq uint64) (*model.Snapshot, error) {
	if seq < 1 || seq > uint64(len(f.past)) {
		return nil, fmt.Errorf("moment %d is not kept", seq)
	}
	return f.past[seq-1], nil
}
func (f *fakeBackend) Meta() Meta           { return f.meta }
func (f *fakeBackend) Classes() model.Class { return f.classes }
func (f *fakeBackend) SetClasses(c model.Class) error {
	f.setClasses = append(f.setClasses, c)
	if f.setErr != nil {
		return f.setErr
	}
	f.classes = c
	return nil
}
func (f *fakeBackend) Detail() model.Class { return f.detail }
func (f *fakeBackend) Slow() time.Duration { return f.slow }
func (f *fakeBackend) SetSlow(d time.Duration) error {
	f.slow = d
	return nil
}
func (f *fakeBackend) SetDetail(c model.Class) error {
	f.setDetail = append(f.setDetail, c)
	if f.detailErr != nil {
		return f.detailErr
	}
	f.detail = c
	return nil
}
func (f *fakeBackend) ProcDetail(id model.ProcID) model.ProcDetail {
	f.detailFor = append(f.detailFor, id)
	return f.procDetail
}
func (f *fakeBackend) Traced() model.ProcID { return f.traced }
func (f *fakeBackend) Trace(id model.ProcID) error {
	f.traces = append(f.traces, id)
	if f.traceErr != nil {
		return f.traceErr
	}
	f.traced = id
	return nil
}
func (f *fakeBackend) Targets() ([]Target, error) { return f.targets, f.targetsErr }
func (f *fakeBackend) Attach(t Target) error {
	f.attached = append(f.attached, t)
	return f.attachErr
}
func (f *fakeBackend) Clear() { f.cleared++ }
func (f *fakeBackend) Signal(id model.ProcID, sig syscall.Signal) error {
	f.signaled = append(f.signaled, fmt.Sprintf("%d %s", id.PID, sig))
	return f.signalErr
}
func (f *fakeBackend) InFlight() ([]InFlight, error) {
	f.polls++
	return f.inflight, nil
}

func (f *fakeBackend) Threads(pid uint32) ([]ThreadStat, error) {
	f.threadsFor = append(f.threadsFor, pid)
	if pid == 0 {
		return nil, nil
	}
	return []ThreadStat{
		{TID: pid, Comm: "main", Counts: model.Counts{Calls: 10}, CallRate: 1},
		{TID: pid + 1, Comm: "worker-\x1b[2J", Counts: model.Counts{Calls: 900, LatSumNs: 9000, LatCount: 900}, CallRate: 90},
	}, nil
}

var allClasses = model.ClassAll

func hist(samples map[uint64]uint64) *model.Hist {
	var h model.Hist
	for ns, n := range samples {
		h[model.HistBucket(ns)] += n
	}
	return &h
}

func sc(nr int, name string, cl model.Class, calls, errs uint64, errnos ...model.ErrnoCount) model.SyscallStat {
	h := hist(map[uint64]uint64{800: calls / 2, 3000: calls / 3, 150000: calls - calls/2 - calls/3})
	return model.SyscallStat{
		Nr: nr, Name: name, Classes: cl,
		Counts:   model.Counts{Calls: calls, Errors: errs, LatSumNs: calls * 2000, LatCount: calls},
		CallRate: float64(calls) / 10, ErrorRate: float64(errs) / 10, Errnos: errnos,
		AvgNs: 2000, P50Ns: h.Quantile(0.5), P95Ns: h.Quantile(0.95), P99Ns: h.Quantile(0.99), Hist: h,
	}
}

func proc(pid uint32, parent uint32, comm, cgroup string, alive bool, syscalls ...model.SyscallStat) model.ProcStat {
	p := model.ProcStat{
		ID: model.ProcID{PID: pid, Start: uint64(pid) * 100}, Parent: model.ProcID{PID: parent, Start: uint64(parent) * 100},
		Comm: comm, Exe: "/usr/bin/" + comm, Cmdline: "/usr/bin/" + comm + " --flag", CgroupPath: cgroup, Alive: alive,
		Syscalls: syscalls,
	}
	for _, s := range syscalls {
		p.Counts.Add(s.Counts)
		p.CallRate += s.CallRate
		p.ErrorRate += s.ErrorRate
	}
	if !alive {
		p.ExitCode = 2
		p.ExitedAt = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	}
	return p
}

const containerCgroup = "/system.slice/docker-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope"

// testSnapshot is a small machine: systemd, nginx and a worker of it, a
// container, a make that exited.
func testSnapshot() *model.Snapshot {
	enoent := model.ErrnoCount{Errno: 2, Name: "ENOENT", Count: 30}
	eagain := model.ErrnoCount{Errno: 11, Name: "EAGAIN", Count: 12}
	procs := []model.ProcStat{
		proc(1234, 1, "nginx", "/system.slice/nginx.service", true,
			sc(0, "read", model.ClassDesc, 5000, 12, eagain), sc(232, "epoll_wait", model.ClassDesc, 900, 0), sc(257, "openat", model.ClassFile|model.ClassDesc, 300, 30, enoent)),
		proc(1300, 1234, "nginx", "/system.slice/nginx.service", true, sc(1, "write", model.ClassDesc, 2500, 0)),
		proc(2000, 1, "redis-server", containerCgroup, true, sc(0, "read", model.ClassDesc, 1500, 0), sc(1, "write", model.ClassDesc, 1400, 0)),
		proc(1, 0, "systemd", "/init.scope", true, sc(232, "epoll_wait", model.ClassDesc, 40, 0)),
		proc(4321, 1, "make", "/user.slice/user-1000.slice/session-2.scope", false, sc(59, "execve", model.ClassFile|model.ClassProcess, 8, 2, model.ErrnoCount{Errno: 2, Name: "ENOENT", Count: 2})),
	}
	procs[0].IO = model.IOStat{ReadRate: 1.2e6, SendRate: 3.4e6, IOCounts: model.IOCounts{Read: 12e6, Sent: 34e6}}
	procs[1].IO = model.IOStat{WriteRate: 512, RecvRate: 40}
	procs[2].IO = model.IOStat{RecvRate: 2.5e9, WriteRate: 15000}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s := &model.Snapshot{
		At:       at,
		Interval: time.Second, Elapsed: 10 * time.Second,
		Processes: procs,
		Files: []model.FileStat{
			{Path: "/etc/ld.so.cache", Opens: 120, LastProc: procs[0].ID, LastComm: "nginx"},
			{Path: "/etc/nginx/conf.d/missing.conf", Opens: 30, Errors: 30, Errnos: []model.ErrnoCount{enoent}, LastProc: procs[0].ID, LastComm: "nginx"},
			{Path: "/usr/lib/x86_64-linux-gnu/security/pam_systemd_home.so", Opens: 12, LastProc: procs[3].ID, LastComm: "systemd"},
			{Path: "/var/lib/redis/dump.rdb", Opens: 3, Errors: 1, Errnos: []model.ErrnoCount{{Errno: 13, Name: "EACCES", Count: 1}}, LastProc: procs[2].ID, LastComm: "redis-server"},
		},
		Endpoints: []model.EndpointStat{
			{Endpoint: "127.0.0.1:6379", Connects: 40, LastProc: procs[1].ID, LastComm: "nginx"},
			{Endpoint: "10.0.0.7:51234", Accepts: 12, LastProc: procs[0].ID, LastComm: "nginx"},
			{Endpoint: "[::1]:8080", Connects: 5, Errors: 5, Errnos: []model.ErrnoCount{{Errno: 111, Name: "ECONNREFUSED", Count: 5}}, LastProc: procs[1].ID, LastComm: "nginx"},
			{Endpoint: "unix:/run/systemd/journal/socket", Connects: 3, LastProc: procs[3].ID, LastComm: "systemd"},
			{Endpoint: "0.0.0.0:80", Binds: 1, LastProc: procs[0].ID, LastComm: "nginx"},
		},
		Conns: []model.TCPConn{
			{Proc: procs[1].ID, Comm: "nginx", Local: netip.MustParseAddrPort("127.0.0.1:41234"), Remote: netip.MustParseAddrPort("127.0.0.1:6379"), State: "established", Time: at.Add(-time.Second)},
			{Proc: procs[2].ID, Comm: "redis-server", Local: netip.MustParseAddrPort("127.0.0.1:6379"), Remote: netip.MustParseAddrPort("127.0.0.1:41234"), State: "established", Time: at.Add(-time.Second)},
			{Proc: procs[0].ID, Comm: "nginx", Local: netip.MustParseAddrPort("[2001:db8::2]:80"), Remote: netip.MustParseAddrPort("[2001:db8::1]:52000"), State: "closed", Time: at.Add(-3 * time.Second)},
		},
		DetailEvents: 1234,
	}
	bySyscall := map[int]*model.SyscallStat{}
	for _, p := range procs {
		s.Totals.Add(p.Counts)
		s.Totals.CallRate += p.CallRate
		s.Totals.ErrorRate += p.ErrorRate
		for _, st := range p.Syscalls {
			if sum := bySyscall[st.Nr]; sum != nil {
				sum.Counts.Add(st.Counts)
				sum.CallRate += st.CallRate
				sum.Hist.Add(st.Hist)
			} else {
				st := st
				h := *st.Hist
				st.Hist = &h
				bySyscall[st.Nr] = &st
			}
		}
	}
	for _, st := range bySyscall {
		s.Syscalls = append(s.Syscalls, *st)
	}
	slices.SortFunc(s.Syscalls, func(a, b model.SyscallStat) int { return int(b.Calls) - int(a.Calls) })
	return s
}

// testProcDetail is what the detail events said about nginx 1234: an open
// that failed, one that worked, a connect, most recent first.
func testProcDetail() model.ProcDetail {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	id := model.ProcID{PID: 1234, Start: 123400}
	openat := func(path string, ret int64, dt time.Duration) model.CallRecord {
		return model.CallRecord{Proc: id, TID: 1234, Time: at.Add(-dt), Nr: 257, Name: "openat", Ret: ret,
			Duration: 3 * time.Microsecond, Args: [6]uint64{uint64(0xffffff9c), 0, 0x80000}, Strs: [2]string{path}}
	}
	connect := model.CallRecord{Proc: id, TID: 1240, Time: at.Add(-20 * time.Millisecond), Nr: 42, Name: "connect", Ret: 0,
		Duration: 45 * time.Microsecond, Args: [6]uint64{7, 0, 16}, Blob: []byte{2, 0, 0x18, 0xeb, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}}
	s := testSnapshot()
	return model.ProcDetail{
		Calls: []model.CallRecord{
			openat("/etc/nginx/conf.d/missing.conf", -2, 10*time.Millisecond),
			connect,
			openat("/etc/ld.so.cache", 3, 30*time.Millisecond),
		},
		Files:     s.Files[:2],
		Endpoints: s.Endpoints[:2],
	}
}

func newFake() *fakeBackend {
	return &fakeBackend{
		snap: testSnapshot(), classes: allClasses, detail: model.ClassFile | model.ClassNetwork,
		procDetail: testProcDetail(),
		meta:       Meta{Version: "v0.test", Buffer: "ringbuf", Hook: "raw_tp", Rung: 1, Scope: "all"},
		targets: []Target{
			{Kind: TargetAll},
			{Kind: TargetPID, PID: 1, Comm: "systemd", Cmdline: "/sbin/init"},
			{Kind: TargetPID, PID: 1234, Comm: "nginx", Cmdline: "nginx: master process"},
			{Kind: TargetCgroup, Cgroup: "/system.slice/nginx.service"},
		},
		inflight: []InFlight{
			{PID: 1234, TID: 1234, Comm: "nginx", Nr: 232, Syscall: "epoll_wait", Since: 2 * time.Second},
			{PID: 1, TID: 1, Comm: "systemd", Nr: 232, Syscall: "epoll_wait", Since: 40 * time.Millisecond},
		},
	}
}

// harness drives the root model as Bubble Tea would: each message's commands
// run and their messages are fed back. Ticks are the test's to send: a command
// still running after a moment (tea.Tick sleeping) is dropped.
type harness struct {
	t    *testing.T
	m    *app
	b    *fakeBackend
	quit bool
}

func newHarness(t *testing.T, b *fakeBackend, w, h int) *harness {
	t.Helper()
	return newHarnessWith(t, b, w, h, Options{}, "mono")
}

// newHarnessWith is newHarness with options and a theme.
func newHarnessWith(t *testing.T, b *fakeBackend, w, h int, o Options, theme string) *harness {
	t.Helper()
	o.Interval = time.Second
	hs := &harness{t: t, m: newApp(b, o, theme), b: b}
	hs.send(tea.WindowSizeMsg{Width: w, Height: h})
	return hs
}

func (h *harness) send(msg tea.Msg) {
	_, cmd := h.m.Update(msg)
	h.run(cmd)
}

func (h *harness) run(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	done := make(chan tea.Msg, 1)
	go func() { done <- cmd() }()
	var msg tea.Msg
	select {
	case msg = <-done:
	case <-time.After(50 * time.Millisecond):
		return
	}
	switch msg := msg.(type) {
	case nil, tickMsg:
	case tea.BatchMsg:
		for _, c := range msg {
			h.run(c)
		}
	case tea.QuitMsg:
		h.quit = true
	default:
		h.send(msg)
	}
}

// press sends keys by their names: "enter", "esc", "tab", "up", "ctrl+c",
// "space", or the text typed.
func (h *harness) press(keys ...string) {
	special := map[string]tea.Key{
		"enter": {Code: tea.KeyEnter}, "esc": {Code: tea.KeyEscape}, "tab": {Code: tea.KeyTab},
		"backspace": {Code: tea.KeyBackspace}, "up": {Code: tea.KeyUp}, "down": {Code: tea.KeyDown},
		"pgdown": {Code: tea.KeyPgDown}, "pgup": {Code: tea.KeyPgUp}, "home": {Code: tea.KeyHome}, "end": {Code: tea.KeyEnd},
		"left": {Code: tea.KeyLeft}, "right": {Code: tea.KeyRight},
		"space": {Code: tea.KeySpace, Text: " "}, "ctrl+c": {Code: 'c', Mod: tea.ModCtrl},
	}
	for _, k := range keys {
		if sk, ok := special[k]; ok {
			h.send(tea.KeyPressMsg(sk))
			continue
		}
		for _, r := range k {
			h.send(tea.KeyPressMsg{Code: r, Text: string(r)})
		}
	}
}

func (h *harness) view() string { return h.m.View().Content }

// sortBy presses s until the table on top sorts by the column titled title:
// at most once a column, so that a key that stopped sorting fails the test
// instead of hanging it.
func (h *harness) sortBy(title string) {
	h.t.Helper()
	tv := h.m.top().(*tableView)
	for range len(tv.cols) + 1 {
		if tv.cols[tv.sortCol].title == title {
			return
		}
		h.press("s")
	}
	h.t.Fatalf("s never sorts by %s (it sorts by %s)", title, tv.cols[tv.sortCol].title)
}

// selected is the first cell of the row under the cursor of the view on top.
func (h *harness) selected() string {
	h.t.Helper()
	tv, ok := h.m.top().(*tableView)
	if !ok {
		h.t.Fatalf("the view on top is %T, not a table", h.m.top())
	}
	r, ok := tv.selected()
	if !ok {
		return ""
	}
	return r.cells[0] + " " + r.cells[1]
}

// filtering, showsHelp and showsLosses say the filter's input, the full
// help and the losses are open.
func (m *app) filtering() bool   { return overlayOf[*filter](m) != nil }
func (m *app) showsHelp() bool   { return overlayOf[*helpOverlay](m) != nil }
func (m *app) showsLosses() bool { return overlayOf[*losses](m) != nil }

func (h *harness) crumbs() string {
	var names []string
	for _, v := range h.m.stack {
		names = append(names, v.crumb())
	}
	return strings.Join(names, " › ")
}

func TestProcessesAreSortedByRateAndTheCursorMoves(t *testing.T) {
	h := newHarness(t, newFake(), 120, 40)
	if got := h.selected(); got != "1234 nginx" {
		t.Fatalf("first row = %q, want the busiest process, 1234 nginx", got)
	}
	h.press("j")
	if got := h.selected(); got != "2000 redis-server" {
		t.Errorf("after j: %q", got)
	}
	h.press("end")
	if got := h.selected(); got != "4321 make" {
		t.Errorf("after end: %q", got)
	}
	h.press("down", "home")
	if got := h.selected(); got != "1234 nginx" {
		t.Errorf("after home: %q", got)
	}
}

// TestTheCursorHoldsItsPlaceUnlessItFollows: as in htop, a new snapshot that
// reorders the rows leaves the cursor on the second line; P makes it follow
// its process instead.
func TestTheCursorHoldsItsPlaceUnlessItFollows(t *testing.T) {
	b := newFake()
	h := newHarness(t, b, 120, 40)
	h.press("j") // redis-server, second
	s := testSnapshot()
	s.Processes[2].CallRate = 1e6 // redis-server becomes the busiest
	b.snap = s
	h.send(tickMsg(time.Now()))
	if got := h.selected(); got != "1234 nginx" {
		t.Errorf("cursor on %q, want it to stay on the second line, now nginx", got)
	}
	h.press("P")
	s = testSnapshot()
	s.Processes[1].CallRate = 1e7 // nginx 1300 becomes the busiest
	b.snap = s
	h.send(tickMsg(time.Now()))
	if got := h.selected(); got != "1234 nginx" {
		t.Errorf("cursor on %q, want it to follow nginx 1234", got)
	}
	if v := h.view(); !strings.Contains(v, "following nginx 1234 (P stops)") {
		t.Errorf("the status line does not say what the cursor follows:\n%s", v)
	}
	h.press("P")
	if v := h.view(); strings.Contains(v, "following") {
		t.Errorf("P again did not stop following:\n%s", v)
	}
}

func TestDrillDownAndBack(t *testing.T) {
	h := newHarness(t, newFake(), 120, 40)
	h.press("enter")
	if got := h.crumbs(); got != "Processes › nginx 1234" {
		t.Fatalf("after enter: %q", got)
	}
	if got := h.selected(); got != "read desc" {
		t.Errorf("nginx's first syscall = %q, want read", got)
	}
	h.press("enter")
	if got := h.crumbs(); got != "Processes › nginx 1234 › read" {
		t.Fatalf("after enter twice: %q", got)
	}
	v := h.view()
	for _, want := range []string{"EAGAIN", "LATENCY", "█", "parent    systemd 1", "/system.slice/nginx.service", "› nginx 1234 › read"} {
		if !strings.Contains(v, want) {
			t.Errorf("the detail does not show %q:\n%s", want, v)
		}
	}
	h.press("esc")
	if got := h.crumbs(); got != "Processes › nginx 1234" {
		t.Errorf("after esc: %q", got)
	}
	h.press("backspace")
	if got := h.crumbs(); got != "Processes" {
		t.Errorf("after backspace: %q", got)
	}
	h.press("esc") // nothing above the top: stays
	if got := h.crumbs(); got != "Processes" {
		t.Errorf("esc at the top: %q", got)
	}
}

func TestASyscallLeadsToTheProcessesCallingIt(t *testing.T) {
	h := newHarness(t, newFake(), 120, 40)
	h.press("2")
	if got := h.selected(); got != "read desc" {
		t.Fatalf("busiest syscall = %q, want read", got)
	}
	h.press("enter")
	if got := h.crumbs(); got != "Syscalls › read" {
		t.Fatalf("after enter: %q", got)
	}
	tv := h.m.top().(*tableView)
	if len(tv.shown) != 2 {
		t.Errorf("%d processes call read, want nginx and redis-server", len(tv.shown))
	}
	h.press("enter")
	if got := h.crumbs(); got != "Syscalls › read › nginx 1234" { // the syscall once, then the process
		t.Errorf("after enter twice: %q", got)
	}
	if _, ok := h.m.top().(*detailView); !ok {
		t.Errorf("the process of a syscall leads to %T, want the detail", h.m.top())
	}
}

func TestTabCyclesTheViews(t *testing.T) {
	h := newHarness(t, newFake(), 120, 40)
	for _, want := range []string{"Syscalls", "In flight", "Files", "Connections", "Processes"} {
		h.press("tab")
		if got := h.crumbs(); got != want {
			t.Errorf("tab: %q, want %q", got, want)
		}
	}
	h.press("enter", "3")
	if got := h.crumbs(); got != "In flight" {
		t.Errorf("3 while drilled: %q", got)
	}
}

func TestInFlightIsPolledOnlyWhileVisible(t *testing.T) {
	b := newFake()
	h := newHarness(t, b, 120, 40)
	h.send(tickMsg(time.Now()))
	if b.polls != 0 {
		t.Fatalf("polled %d times while the processes view shows", b.polls)
	}
	h.press("3")
	if b.polls != 1 {
		t.Fatalf("polled %d times on showing the view, want 1", b.polls)
	}
	if got := h.selected(); got != "1234 1234" {
		t.Errorf("longest in flight = %q, want nginx", got)
	}
	h.send(tickMsg(time.Now()))
	if b.polls != 2 {
		t.Errorf("polled %d times after a tick, want 2", b.polls)
	}
	h.press("1")
	h.send(tickMsg(time.Now()))
	if b.polls != 2 {
		t.Errorf("polled after leaving the view")
	}
}

// TestThreadsAreCountedOnlyWhileTheirViewShows opens the Threads view of the
// selected process with T: the backend is asked for that pid's threads, the
// busiest first, names made inert; leaving the view stops the counting.
func TestThreadsAreCountedOnlyWhileTheirViewShows(t *testing.T) {
	b := newFake()
	h := newHarness(t, b, 120, 40)
	pid, _ := strconv.ParseUint(strings.Fields(h.selected())[0], 10, 32)
	h.press("T")
	if len(b.threadsFor) != 1 || b.threadsFor[0] != uint32(pid) {
		t.Fatalf("Threads called with %v, want [%d]", b.threadsFor, pid)
	}
	if got, want := h.selected(), fmt.Sprintf(`%d worker-\x1b[2J`, pid+1); got != want {
		t.Errorf("first thread = %q, want %q (busiest first, inert name)", got, want)
	}
	if !strings.Contains(h.crumbs(), "threads of") {
		t.Errorf("breadcrumb %q does not say threads", h.crumbs())
	}
	h.send(tickMsg(time.Now()))
	if len(b.threadsFor) != 2 {
		t.Errorf("Threads called %d times after a tick, want 2", len(b.threadsFor))
	}
	h.press("esc")
	if last := b.threadsFor[len(b.threadsFor)-1]; last != 0 {
		t.Errorf("leaving the view called Threads(%d), want Threads(0) to stop counting", last)
	}
	n := len(b.threadsFor)
	h.send(tickMsg(time.Now()))
	if len(b.threadsFor) != n {
		t.Errorf("Threads still polled after leaving the view")
	}
}

func TestFilterIsLiveAndEscClearsIt(t *testing.T) {
	h := newHarness(t, newFake(), 120, 40)
	tv := h.m.top().(*tableView)
	h.press(`\`, "ngi")
	if got := len(tv.shown); got != 2 {
		t.Errorf("/ngi shows %d rows, want the 2 nginx", got)
	}
	h.press("backspace", "backspace", "backspace", "2000")
	if got := h.selected(); got != "2000 redis-server" || len(tv.shown) != 1 {
		t.Errorf("/2000 shows %d rows, on %q", len(tv.shown), got)
	}
	h.press("enter") // keeps the filter, leaves the input
	if tv.filter != "2000" || h.m.filtering() {
		t.Errorf("after enter: filter %q, typing %v", tv.filter, h.m.filtering())
	}
	h.press("q") // a key again, not text
	if !h.quit {
		t.Error("q after the filter did not quit")
	}
	h.quit = false
	h.press("esc")
	if tv.filter != "" || len(tv.shown) != 5 {
		t.Errorf("esc left filter %q and %d rows", tv.filter, len(tv.shown))
	}
	h.press(`\`, "docker", "esc")
	if tv.filter != "" || h.m.filtering() {
		t.Errorf("esc while typing left filter %q", tv.filter)
	}
}

func TestFilterMatchesSyscallNamesAndClasses(t *testing.T) {
	h := newHarness(t, newFake(), 120, 40)
	h.press("2", `\`, "file")
	tv := h.m.top().(*tableView)
	var names []string
	for _, i := range tv.shown {
		names = append(names, tv.rows[i].cells[0])
	}
	if got := strings.Join(names, ","); got != "openat,execve" {
		t.Errorf("/file shows %s", got)
	}
}

func TestSortCyclesColumnsAndReverses(t *testing.T) {
	h := newHarness(t, newFake(), 120, 40)
	tv := h.m.top().(*tableView)
	h.press("s")
	if tv.cols[tv.sortCol].title != "TOTAL" {
		t.Fatalf("s sorts by %s, want TOTAL", tv.cols[tv.sortCol].title)
	}
	h.sortBy("PID")
	h.press("home")
	if got := h.selected(); got != "2000 redis-server" {
		t.Errorf("by PID the first is %q, want the largest alive", got)
	}
	h.press("S", "home")
	if got := h.selected(); got != "1 systemd" {
		t.Errorf("by PID reversed the first is %q", got)
	}
	h.press("end")
	if got := h.selected(); got != "4321 make" {
		t.Errorf("by PID reversed the last is %q, want make, which exited", got)
	}
	if !strings.Contains(h.view(), "↑PID") {
		t.Error("the header does not mark the sort column")
	}
}

func TestPauseFreezesAndResumeShowsThePresent(t *testing.T) {
	b := newFake()
	h := newHarness(t, b, 120, 40)
	old := b.snap
	b.snap = testSnapshot()
	h.press("p")
	h.send(tickMsg(time.Now()))
	if h.m.data.snap != old {
		t.Error("a tick replaced the snapshot while paused")
	}
	if !strings.Contains(h.view(), "PAUSED") {
		t.Error("no PAUSED badge")
	}
	h.press("space")
	if h.m.data.snap != b.snap {
		t.Error("resume did not show the latest snapshot at once")
	}
	if strings.Contains(h.view(), "PAUSED") {
		t.Error("PAUSED after resume")
	}
}

func TestClassKeysToggleClassesInTheKernel(t *testing.T) {
	b := newFake()
	h := newHarness(t, b, 120, 40)
	h.press("v") // the classes overlay, where the class keys are
	h.press("n")
	h.press("f")
	h.press("n")
	want := []model.Class{allClasses &^ model.ClassNetwork, allClasses &^ (model.ClassNetwork | model.ClassFile), allClasses &^ model.ClassFile}
	if !slices.Equal(b.setClasses, want) {
		t.Errorf("SetClasses calls %v, want %v", b.setClasses, want)
	}
	if !strings.Contains(h.view(), "○f+file") || !strings.Contains(h.view(), "●n+net") {
		t.Error("the chips do not show file off and network on, both with detail")
	}
	b.classes = allClasses
	for i, k := range classKeys {
		b.setClasses = nil
		h.press(k, k)
		want := []model.Class{allClasses &^ model.AllClasses[i], allClasses}
		if !slices.Equal(b.setClasses, want) {
			t.Errorf("%s twice: SetClasses calls %v, want %v", k, b.setClasses, want)
		}
	}
}

func TestAClassTheKernelRefusesStaysOnAndSaysWhy(t *testing.T) {
	b := newFake()
	b.setErr = errors.New("map update: operation not permitted")
	h := newHarness(t, b, 120, 40)
	h.press("v", "f")
	if v := h.view(); !strings.Contains(v, "●f+file") || !strings.Contains(v, "operation not permitted") {
		t.Errorf("after a refused toggle:\n%s", v)
	}
}

func TestInFlightLeadsToTheProcess(t *testing.T) {
	h := newHarness(t, newFake(), 120, 40)
	h.press("3", "enter")
	if got := h.crumbs(); got != "In flight › nginx 1234" {
		t.Errorf("enter on an in-flight thread: %q", got)
	}
}

func TestThemeFollowsTheTerminalOnlyWhenAuto(t *testing.T) {
	for _, tt := range []struct{ asked, want string }{{"auto", "light"}, {"", "light"}, {"dark", "dark"}, {"mono", "mono"}} {
		m := newApp(newFake(), Options{}, tt.asked)
		if tt.asked == "auto" && m.theme.Name != "dark" {
			t.Errorf("auto starts %s, want dark until the terminal answers", m.theme.Name)
		}
		m.Update(tea.BackgroundColorMsg{Color: color.White})
		if m.theme.Name != tt.want {
			t.Errorf("%q on a white background: %s, want %s", tt.asked, m.theme.Name, tt.want)
		}
	}
}

func TestMouseIsOffUnlessAsked(t *testing.T) {
	for _, on := range []bool{false, true} {
		m := newApp(newFake(), Options{Mouse: on}, "mono")
		m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
		v := m.View()
		if (v.MouseMode != tea.MouseModeNone) != on || !v.AltScreen {
			t.Errorf("Mouse %v: mouse mode %v, alt screen %v", on, v.MouseMode, v.AltScreen)
		}
	}
	m := newApp(newFake(), Options{Mouse: true}, "mono")
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	m.Update(tea.MouseWheelMsg{Button: tea.MouseWheelDown})
	m.Update(tea.MouseClickMsg{Y: m.headerHeight() + 2, Button: tea.MouseLeft})
	if r, _ := m.top().(*tableView).selected(); r.cells[1] != "redis-server" {
		t.Errorf("a click on the second row selected %s", r.cells[1])
	}
}

func TestAttachPickerAttachesTheChosenTarget(t *testing.T) {
	b := newFake()
	h := newHarness(t, b, 120, 40)
	h.press("a")
	if h.m.picker() == nil || len(h.m.picker().matches) != 4 {
		t.Fatal("the picker did not list the targets")
	}
	if !strings.HasPrefix(h.m.picker().labels[h.m.picker().matches[0]], "everything") {
		t.Error("everything is not first")
	}
	h.press("1234ngx") // fuzzy: 1234…n…g…x matches pid 1234 nginx only
	h.press("enter")
	if len(b.attached) != 1 || b.attached[0].Kind != TargetPID || b.attached[0].PID != 1234 {
		t.Fatalf("attached %+v, want pid 1234", b.attached)
	}
	if h.m.picker() != nil {
		t.Error("the picker is still open")
	}
	if !strings.Contains(h.view(), "watching pid 1234") {
		t.Errorf("no confirmation in the status line:\n%s", h.view())
	}
}

func TestAttachErrorsGoToTheStatusLine(t *testing.T) {
	b := newFake()
	b.attachErr = errors.New("pid 1234: no such process")
	h := newHarness(t, b, 120, 40)
	h.press("a", "down", "down", "enter")
	if len(b.attached) != 1 || b.attached[0].PID != 1234 {
		t.Fatalf("attached %+v", b.attached)
	}
	if v := h.view(); !strings.Contains(v, "attach to pid 1234") || !strings.Contains(v, "no such process") {
		t.Errorf("the error is not in the status line:\n%s", v)
	}

	b.targetsErr = errors.New("no cgroup v2")
	h.press("a")
	if h.m.picker() != nil || !strings.Contains(h.view(), "attach: no cgroup v2") {
		t.Error("a failed listing left the picker open or said nothing")
	}
	h.press("a")
	h.press("esc")
	if h.m.picker() != nil {
		t.Error("esc did not close the picker")
	}
}

func TestClearAndLossBreakdown(t *testing.T) {
	b := newFake()
	b.snap.Lost.Total, b.snap.Lost.ByCause[model.LossBuffer] = 7, 7
	h := newHarness(t, b, 120, 40)
	if !strings.Contains(h.view(), "LOST 7") {
		t.Errorf("no lost badge:\n%s", h.view())
	}
	h.press("L")
	if !strings.Contains(h.view(), "LOST EVENTS") || !strings.Contains(h.view(), "buffer") {
		t.Error("L shows no breakdown")
	}
	h.press("esc")
	if h.m.showsLosses() {
		t.Error("esc did not close the breakdown")
	}
	h.press("c")
	if b.cleared != 1 {
		t.Errorf("Clear called %d times", b.cleared)
	}
}

func TestTooSmallTerminal(t *testing.T) {
	h := newHarness(t, newFake(), 50, 10)
	if v := h.view(); !strings.Contains(v, "at least 60×12") || strings.Count(v, "\n") != 9 {
		t.Errorf("too small:\n%s", v)
	}
	h.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	if v := h.view(); strings.Contains(v, "at least") || strings.Count(v, "\n") != 23 {
		t.Errorf("not relaid out at 80×24:\n%s", v)
	}
}

// TestTooSmallSaysSoInAnySize: the message that the terminal is too small
// fits whole in any size down to 20×5 and gives the least size.
func TestTooSmallSaysSoInAnySize(t *testing.T) {
	for _, size := range [][2]int{{59, 30}, {50, 10}, {30, 10}, {20, 5}, {12, 3}} {
		v := newHarness(t, newFake(), size[0], size[1]).view()
		lines := strings.Split(v, "\n")
		if len(lines) != size[1] {
			t.Errorf("%v: %d lines", size, len(lines))
		}
		for _, l := range lines {
			if ansi.StringWidth(l) > size[0] {
				t.Errorf("%v: a line of %d cells: %q", size, ansi.StringWidth(l), l)
			}
		}
		if flat := strings.Join(strings.Fields(v), " "); !strings.Contains(flat, "60×12") {
			t.Errorf("%v: the least size is not said:\n%s", size, v)
		} else if size[0] >= 20 && !strings.Contains(flat, fmt.Sprintf("%d×%d", size[0], size[1])) && size[1] >= 5 {
			t.Errorf("%v: the size now is not said:\n%s", size, v)
		}
	}
}

func TestEveryLineFitsTheTerminal(t *testing.T) {
	for _, size := range [][2]int{{60, 12}, {80, 24}, {100, 30}, {120, 40}, {200, 60}} {
		h := newHarness(t, newFake(), size[0], size[1])
		for _, keys := range [][]string{nil, {"2"}, {"3"}, {"4"}, {"5"}, {"5", "e"}, {"enter"}, {"enter", "e"}, {"enter", "enter"}, {"a"}, {"?"}, {"L"}, {"t"}, {"C", "enter"}, {"v"}, {"/", "ngi"}, {"/", "ngi", "enter", "n"}, {`\`, "x"}} {
			h.press("1", "esc", "esc", "esc")
			h.press(keys...)
			lines := strings.Split(h.view(), "\n")
			if len(lines) != size[1] {
				t.Errorf("%v after %v: %d lines", size, keys, len(lines))
			}
			for _, l := range lines {
				if w := ansi.StringWidth(l); w > size[0] {
					t.Errorf("%v after %v: a line of %d cells: %q", size, keys, w, l)
				}
			}
			h.press("esc")
		}
	}
}

func TestProcessTreeNestsChildrenUnderParents(t *testing.T) {
	h := newHarness(t, newFake(), 120, 40)
	h.press("t")
	tv := h.m.top().(*tableView)
	var got []string
	for n, i := range tv.shown {
		got = append(got, tv.prefix[n]+tv.rows[i].cells[1])
	}
	want := []string{"systemd", "├─nginx", "│ └─nginx", "├─redis-server", "└─make"}
	if !slices.Equal(got, want) {
		t.Errorf("tree:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestShortCgroup(t *testing.T) {
	tests := []struct{ path, want string }{
		{"/system.slice/nginx.service", "nginx.service"},
		{containerCgroup, "docker:0123456789ab"},
		{"/kubepods.slice/kubepods-pod1.slice/cri-containerd-" + strings.Repeat("ab", 32) + ".scope", "containerd:abababababab"},
		{"/user.slice/user-1000.slice/user@1000.service/app.slice/app-firefox-12.scope", "app-firefox-12.scope"},
		{"/user.slice/user-1000.slice", "user-1000.slice"},
		{"/", "/"},
		{"", "/"},
	}
	for _, tt := range tests {
		if got := shortCgroup(tt.path); got != tt.want {
			t.Errorf("shortCgroup(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}

func TestHybridHostsNameProcessesAtTheV2RootByV1(t *testing.T) {
	tests := []struct{ v2, v1, want string }{
		{"/", "/system.slice/nginx.service", "v1:nginx.service"},
		{"/", "memory:/process_api/ab12", "v1:memory:ab12"},
		{"/system.slice/x.service", "/system.slice/nginx.service", "x.service"}, // v2 says something
		{"/", "", "/"},
	}
	for _, tt := range tests {
		if got := cgroupLabel(&model.ProcStat{CgroupPath: tt.v2, V1Cgroup: tt.v1}); got != tt.want {
			t.Errorf("cgroupLabel(%q, %q) = %q, want %q", tt.v2, tt.v1, got, tt.want)
		}
	}
}

func TestPickerHighlightsWhatTheFilterMatched(t *testing.T) {
	match := lipgloss.NewStyle().Bold(true)
	plain := lipgloss.NewStyle()
	got := highlight("pid 1234 nginx", []int{4, 9}, plain, match)
	want := "pid " + match.Render("1") + "234 " + match.Render("n") + "ginx"
	if got != want {
		t.Errorf("highlight = %q, want %q", got, want)
	}
	// An offset inside a character (a cut label ends in "…") is skipped, never split.
	cut := "ab…"
	if got := highlight(cut, []int{3}, plain, match); got != cut {
		t.Errorf("highlight of a cut label = %q, want %q", got, cut)
	}
}

func TestStartTimesAreWallClock(t *testing.T) {
	boot := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	now := boot.Add(3 * time.Hour)
	if got, want := startedAt(100*60, boot, now), "08:01:00 (2h59m0s ago)"; got != want {
		t.Errorf("startedAt = %q, want %q", got, want)
	}
	if got, want := startedAt(100, boot, boot.Add(48*time.Hour)), "2026-11-23 08:00:01 (47h59m59s ago)"; got != want {
		t.Errorf("startedAt a day later = %q, want %q", got, want)
	}
	if got, want := startedAt(100, time.Time{}, now), "1s after boot"; got != want {
		t.Errorf("startedAt without a boot time = %q, want %q", got, want)
	}
}

func TestFullHelpScrollsOnAShortTerminal(t *testing.T) {
	h := newHarness(t, newFake(), 60, 12)
	h.press("?")
	if v := h.view(); !strings.Contains(v, "↓ more") || listed(v, h.m.base.Quit) {
		t.Fatalf("the help is not cut with a hint to scroll:\n%s", v)
	}
	h.press("end")
	if v := h.view(); strings.Contains(v, "↓ more") || !listed(v, h.m.base.Quit) {
		t.Fatalf("end did not scroll to the last line:\n%s", v)
	}
	h.press("j") // past the end: stays, the help stays open
	h.press("k", "x", "f", "a")
	if !h.m.showsHelp() || len(h.m.overlays) != 1 {
		t.Fatal("a move key or a key the help does not name closed it or went through")
	}
}

// TestHelpClosesAsItSays: the help says esc, q or ? closes it, and each
// does, q without quitting; F1 opens it as ? does.
func TestHelpClosesAsItSays(t *testing.T) {
	for _, k := range []string{"esc", "q", "?"} {
		h := newHarness(t, newFake(), 80, 24)
		h.press("?")
		if v := h.view(); !strings.Contains(v, "esc, q or ? closes the help") {
			t.Fatalf("the help does not say what closes it:\n%s", v)
		}
		h.press(k)
		if h.m.showsHelp() || h.quit {
			t.Errorf("%s in the help: open %v, quit %v", k, h.m.showsHelp(), h.quit)
		}
	}
	h := newHarness(t, newFake(), 80, 24)
	h.send(tea.KeyPressMsg{Code: tea.KeyF1})
	if !h.m.showsHelp() {
		t.Error("F1 did not open the help")
	}
}

// TestHelpFitsEightyByTwentyFour: at 80×24 the help shows every key that
// works in the Processes view, with no need to scroll.
func TestHelpFitsEightyByTwentyFour(t *testing.T) {
	h := newHarness(t, newFake(), 80, 24)
	under := h.m.keys.clone()
	h.press("?")
	v := h.view()
	if strings.Contains(v, "↓ more") {
		t.Errorf("the help needs scrolling at 80×24:\n%s", v)
	}
	for _, g := range under.FullHelp() {
		for _, b := range g {
			if b.Enabled() && !listed(v, b) {
				t.Errorf("%s %s is not shown at 80×24:\n%s", b.Help().Key, b.Help().Desc, v)
			}
		}
	}
}

func TestQuitKeys(t *testing.T) {
	for _, k := range []string{"q", "ctrl+c"} {
		h := newHarness(t, newFake(), 80, 24)
		h.press(k)
		if !h.quit {
			t.Errorf("%s did not quit", k)
		}
	}
	h := newHarness(t, newFake(), 80, 24)
	h.press("a", "q")
	if h.quit {
		t.Error("q typed in the picker quit")
	}
	h.press("ctrl+c")
	if !h.quit {
		t.Error("ctrl+c in the picker did not quit")
	}
}

func TestNumbersFitTheirColumns(t *testing.T) {
	got := strings.Join([]string{rate(0), rate(0.5), rate(12), rate(12345), rate(2.5e9), count(9999), count(123456), percent(1, 3), percent(1, 1e6)}, " ")
	if want := "0 0.5 12 12.3k 2.5G 9999 123k 33.3% 0.0001%"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestSlowKeyCyclesTheThreshold(t *testing.T) {
	b := newFake()
	h := newHarness(t, b, 120, 40)
	for _, want := range []time.Duration{10 * time.Millisecond, 100 * time.Millisecond, time.Second, 0} {
		h.press("l")
		if b.slow != want {
			t.Fatalf("slow threshold %v, want %v", b.slow, want)
		}
		if shown := strings.Contains(h.view(), "slow>"+want.String()); shown != (want > 0) {
			t.Errorf("threshold %v shown in the header: %v\n%s", want, shown, h.view())
		}
	}
}

// withHistory gives the fake backend a history of n moments, a second
// apart, ending a second before its live snapshot: moment i has the live
// snapshot's rates times (i+1)/n and its calls times (i+1)/(n+1), errors
// in the oldest only.
func withHistory(b *fakeBackend, n int) {
	b.past = nil
	for i := range n {
		s := *b.snap
		s.At = b.snap.At.Add(-time.Duration(n-i) * time.Second)
		f := float64(i+1) / float64(n)
		s.Totals.CallRate, s.Totals.ErrorRate = b.snap.Totals.CallRate*f, 0
		if i == 0 {
			s.Totals.ErrorRate = 7
		}
		s.Processes = slices.Clone(s.Processes)
		for j := range s.Processes {
			p := &s.Processes[j]
			p.CallRate *= f
			// The counts grow to the live ones.
			p.Syscalls = slices.Clone(p.Syscalls)
			for k := range p.Syscalls {
				p.Syscalls[k].Calls = p.Syscalls[k].Calls * uint64(i+1) / uint64(n+1)
			}
		}
		b.past = append(b.past, &s)
	}
}

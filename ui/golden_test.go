package ui

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tlmon/model"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// TestGolden draws each screen at 120×40 and 80×24 with the mono theme and
// compares it with testdata/NAME_WxH.golden; go test ./ui -update rewrites them.
func TestGolden(t *testing.T) {
	screens := []struct {
		name  string
		keys  []string
		setup func(b *fakeBackend)
	}{
		{"processes", nil, nil},
		{"syscalls", []string{"2"}, nil},
		{"inflight", []string{"3"}, nil},
		{"proc_syscalls", []string{"enter"}, nil},
		{"detail", []string{"enter", "enter"}, nil},
		{"syscall_procs", []string{"2", "enter"}, nil},
		{"filter", []string{`\`, "nginx"}, nil},
		{"tree", []string{"t"}, nil},
		{"scrolled", []string{"right", "right", "right"}, nil},
		{"picker", []string{"a"}, nil},
		{"help", []string{"?"}, nil},
		{"losses", []string{"L"}, nil},
		{"paused_classes_off", []string{"p", "v", "n", "w", "esc"}, nil},
		{"classes", []string{"v"}, nil},
		{"search", []string{"/", "ngi", "enter", "n"}, nil},
		{"files", []string{"4"}, nil},
		{"files_detail_off", []string{"4"}, func(b *fakeBackend) { b.detail, b.snap.Files = 0, nil }},
		{"connections", []string{"5"}, nil},
		{"tcp", []string{"5", "e"}, nil},
		{"events", []string{"enter", "e"}, nil},
		{"event_call", []string{"enter", "e", "enter"}, nil},
		{"events_detail_off", []string{"enter", "e"}, func(b *fakeBackend) { b.detail, b.procDetail = 0, model.ProcDetail{} }},
		{"detail_toggled", []string{"v", "F", "D", "esc"}, nil},
		{"history_live", nil, func(b *fakeBackend) { withHistory(b, 30) }},
		{"history_past", []string{"[", "[", "{"}, func(b *fakeBackend) { withHistory(b, 30) }},
		{"diff", []string{"{", "A", "=", "B", "D"}, func(b *fakeBackend) { withHistory(b, 10) }},
		{"churn", nil, churn},
		{"churn_commands", []string{"C"}, churn},
		{"churn_command", []string{"C", "j", "j", "enter"}, churn},
		{"churn_hidden", []string{"E", "K", "P"}, churn},
	}
	for _, size := range [][2]int{{120, 40}, {80, 24}} {
		for _, s := range screens {
			b := newFake()
			b.snap.Lost.Total, b.snap.Lost.ByCause[model.LossBuffer], b.snap.Lost.EventsAttempted = 3, 3, 40
			if s.setup != nil {
				s.setup(b)
			}
			h := newHarness(t, b, size[0], size[1])
			h.press(s.keys...)
			golden(t, filepath.Join("testdata", fmt.Sprintf("%s_%dx%d.golden", s.name, size[0], size[1])), h.view())
		}
	}
	for _, size := range [][2]int{{50, 10}, {30, 10}, {20, 5}} {
		golden(t, fmt.Sprintf("testdata/too_small_%dx%d.golden", size[0], size[1]), newHarness(t, newFake(), size[0], size[1]).view())
	}
}

// churn puts a shell loop's short processes on the screen (churnSnapshot).
func churn(b *fakeBackend) { b.snap = churnSnapshot() }

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./ui -update to write it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test ./ui -update rewrites it); got:\n%s", path, got)
	}
}

// TestKernelStringsAreInert: a comm that clears the screen and one that writes
// the clipboard (OSC 52) reach the screen as text. The mono theme emits no
// escape sequence at all, so any ESC in the output came from them.
func TestKernelStringsAreInert(t *testing.T) {
	const clear, osc52 = "\x1b[2J", "\x1b]52;c;aGk=\x07"
	b := newFake()
	p := &b.snap.Processes[0]
	p.Comm, p.Cmdline, p.Exe, p.CgroupPath = "evil"+clear, "run "+osc52, "/bin/"+osc52, "/x"+clear+"/y.service"
	b.inflight[0].Comm = osc52 + "evil"
	b.targets[2].Comm, b.targets[2].Cmdline, b.targets[3].Cgroup = clear, osc52, "/"+clear
	b.meta.Scope = "cgroup /" + osc52
	b.attachErr = errorString("bad " + osc52)

	h := newHarness(t, b, 120, 40)
	check := func(what string) {
		t.Helper()
		if v := h.view(); strings.ContainsRune(v, '\x1b') {
			t.Errorf("%s: an escape sequence reached the screen:\n%q", what, v)
		}
	}
	check("processes")
	if !strings.Contains(h.view(), `evil\x1b[2J`) {
		t.Error("the hostile comm is not shown as text")
	}
	h.press("enter")
	check("process syscalls")
	h.press("enter")
	check("detail")
	h.press("3")
	check("in flight")
	h.press("a")
	check("picker")
	h.press("down", "down", "enter")
	check("attach error")
	h.send(tickMsg(time.Now()))
	check("after a tick")
}

type errorString string

func (e errorString) Error() string { return string(e) }

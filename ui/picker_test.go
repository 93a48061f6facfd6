package ui

import (
	"fmt"
	"strings"
	"testing"
)

// pickerTargets is a machine's list as the session gives it: PID order with
// kernel threads among the user processes, and cgroups.
func pickerTargets() []Target {
	return []Target{
		{Kind: TargetAll},
		{Kind: TargetPID, PID: 1, Comm: "systemd", Cmdline: "/sbin/init"},
		{Kind: TargetPID, PID: 2, Comm: "kthreadd", Kernel: true},
		{Kind: TargetPID, PID: 40, Comm: "kworker/0:1-dd", Kernel: true},
		{Kind: TargetPID, PID: 41, Comm: "kdevtmpfs", Kernel: true},
		{Kind: TargetPID, PID: 500, Comm: "bash", Cmdline: "bash -c dd if=/dev/zero of=/dev/null"},
		{Kind: TargetPID, PID: 600, Comm: "sudo", Cmdline: "sudo ddrescue"},
		{Kind: TargetPID, PID: 700, Comm: "ddrescue", Cmdline: "ddrescue /dev/sda out"},
		{Kind: TargetPID, PID: 800, Comm: "dd", Cmdline: "dd if=/dev/zero of=/dev/null"},
		{Kind: TargetPID, PID: 900, Comm: "oddjobd", Cmdline: "/usr/sbin/oddjobd"},
		{Kind: TargetCgroup, Cgroup: "/system.slice/dd.service"},
	}
}

func pickerOrder(p *picker) []string {
	var out []string
	for _, i := range p.matches {
		t := p.targets[i]
		switch t.Kind {
		case TargetPID:
			out = append(out, fmt.Sprint(t.PID))
		case TargetCgroup:
			out = append(out, "cg")
		default:
			out = append(out, "all")
		}
	}
	return out
}

func TestPickerRanksCommandNamesFirst(t *testing.T) {
	b := newFake()
	b.targets = pickerTargets()
	h := newHarness(t, b, 120, 40)
	h.press("a", "dd")
	// dd itself, the command starting with dd, the commands containing it
	// (user before kernel), the command lines, the cgroup.
	want := "[800 700 900 2 40 500 600 cg 1 41]" // kthreadd contains dd; 1 and 41 match only fuzzily
	if got := fmt.Sprint(pickerOrder(h.m.picker())); got != want {
		t.Errorf("typing dd lists %s, want %s", got, want)
	}
	h.press("enter")
	if len(b.attached) != 1 || b.attached[0].PID != 800 {
		t.Errorf("enter attached %+v, want pid 800", b.attached)
	}
}

func TestPickerListsUserProcessesBeforeKernelThreads(t *testing.T) {
	b := newFake()
	b.targets = pickerTargets()
	h := newHarness(t, b, 120, 40)
	h.press("a")
	want := "[all 1 500 600 700 800 900 cg 2 40 41]"
	if got := fmt.Sprint(pickerOrder(h.m.picker())); got != want {
		t.Errorf("the unfiltered list is %s, want %s", got, want)
	}
}

func TestPickerHomeAndEndMoveToTheEnds(t *testing.T) {
	b := newFake()
	for pid := uint32(100); pid < 200; pid++ {
		b.targets = append(b.targets, Target{Kind: TargetPID, PID: pid, Comm: "worker", Cmdline: "worker"})
	}
	h := newHarness(t, b, 80, 24)
	h.press("a", "end")
	p := h.m.picker()
	if p.cursor != len(p.matches)-1 || p.offset == 0 {
		t.Fatalf("end: cursor %d offset %d of %d", p.cursor, p.offset, len(p.matches))
	}
	if p.input.Value() != "" {
		t.Errorf("end typed into the filter: %q", p.input.Value())
	}
	h.press("home")
	if p.cursor != 0 || p.offset != 0 {
		t.Errorf("home: cursor %d offset %d", p.cursor, p.offset)
	}
}

func TestPickerRanksThePIDTypedFirst(t *testing.T) {
	b := newFake()
	b.targets = append(pickerTargets(), Target{Kind: TargetPID, PID: 3669, Comm: "workload", Cmdline: "workload steady"},
		Target{Kind: TargetPID, PID: 31615, Comm: "qemu-system-x86", Cmdline: "qemu -m 3669"},
		Target{Kind: TargetPID, PID: 36690, Comm: "sleep", Cmdline: "sleep 9"})
	h := newHarness(t, b, 120, 40)
	h.press("a", "3669")
	if got := fmt.Sprint(pickerOrder(h.m.picker())[:3]); got != "[3669 36690 31615]" {
		t.Errorf("typing 3669 lists %s first, want the pid, the pids starting so, then the command line", got)
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

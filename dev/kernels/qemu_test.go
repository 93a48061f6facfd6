package main

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// A console as a VM prints it: CRLF line ends, kernel messages among the
// test output, one of them glued in front of a mark.
const sampleConsole = "SeaBIOS (version 1.16.2-debian-1.16.2-1)\r\n" +
	"[    0.000000] Linux version 6.1.0-50-amd64\r\n" +
	markBooted + " 6.1.0-50-amd64 uptime 2.91\r\n" +
	markMount + " debugfs\r\n" +
	markRun + " bpf\r\n" +
	"=== RUN   TestEventLayout\r\n" +
	"--- PASS: TestEventLayout (0.00s)\r\n" +
	"=== RUN   TestLoad\r\n" +
	"=== RUN   TestLoad/sub\r\n" +
	"    loader_test.go:20: load: field Tlmon: program sys_enter: load program: invalid argument:\r\n" +
	"    \tunknown func bpf_get_current_task_btf#158\r\n" +
	"    --- FAIL: TestLoad/sub (0.01s)\r\n" +
	"--- FAIL: TestLoad (0.02s)\r\n" +
	"=== RUN   TestSkipped\r\n" +
	"    x_test.go:9: needs root\r\n" +
	"--- SKIP: TestSkipped (0.00s)\r\n" +
	"FAIL\r\n" +
	"[   12.5] random: crng init done" + markPkg + " bpf 1\r\n" +
	markResult + " fail\r\n" +
	"[   13.0] reboot: Restarting system\r\n"

func feed(text string) *vmRun {
	r := &vmRun{}
	for i, line := range strings.SplitAfter(text, "\n") {
		if line != "" {
			r.line(line, time.Duration(i)*time.Second)
		}
	}
	return r
}

func TestConsoleParserReadsMarksTestsAndFailures(t *testing.T) {
	r := feed(sampleConsole)
	if r.uname != "6.1.0-50-amd64" || r.booted != 2*time.Second {
		t.Errorf("booted: uname %q at %v, want 6.1.0-50-amd64 at 2s", r.uname, r.booted)
	}
	if !slices.Equal(r.noMount, []string{"debugfs"}) {
		t.Errorf("noMount = %q", r.noMount)
	}
	want := []testResult{{"bpf", "TestEventLayout", "PASS"}, {"bpf", "TestLoad", "FAIL"}, {"bpf", "TestSkipped", "SKIP"}}
	if !slices.Equal(r.tests, want) {
		t.Errorf("tests = %+v, want %+v", r.tests, want)
	}
	if r.count("PASS") != 1 || r.count("FAIL") != 1 || r.count("SKIP") != 1 {
		t.Errorf("counts %d/%d/%d, want 1/1/1", r.count("PASS"), r.count("FAIL"), r.count("SKIP"))
	}
	out := strings.Join(r.output["bpf.TestLoad"], "\n")
	if !strings.Contains(out, "unknown func bpf_get_current_task_btf#158") || !strings.Contains(out, "--- FAIL: TestLoad/sub") {
		t.Errorf("TestLoad's output lacks the verifier's message or its subtest:\n%s", out)
	}
	if strings.Contains(out, "needs root") {
		t.Error("TestSkipped's output went to TestLoad")
	}
	if r.pkgExit["bpf"] != 1 || r.result != "fail" || r.ok() {
		t.Errorf("exit %d, result %q, ok %v; want 1, fail, false", r.pkgExit["bpf"], r.result, r.ok())
	}
	if r.tail[len(r.tail)-1] != "[   13.0] reboot: Restarting system" {
		t.Errorf("the tail ends with %q, without its CR stripped or not at all", r.tail[len(r.tail)-1])
	}
}

func TestConsoleParserVerdicts(t *testing.T) {
	for _, tc := range []struct {
		name, console string
		ok            bool
	}{
		{"all passed", markRun + " bpf\n--- PASS: TestA (0.00s)\n" + markPkg + " bpf 0\n" + markResult + " pass\n", true},
		{"no result line: the VM died", markRun + " bpf\n--- PASS: TestA (0.00s)\n", false},
		{"a package failed though the line says pass", markPkg + " bpf 2\n" + markResult + " pass\n", false},
		{"the line says fail", markPkg + " bpf 0\n" + markResult + " fail\n", false},
	} {
		if got := feed(tc.console).ok(); got != tc.ok {
			t.Errorf("%s: ok = %v, want %v", tc.name, got, tc.ok)
		}
	}
	r := feed(markResult + " pass\n")
	r.timedOut = true
	if r.ok() {
		t.Error("a VM killed for its timeout passed")
	}
}

func TestConsoleTailKeepsTheLastLines(t *testing.T) {
	var b strings.Builder
	for i := range tailLines + 10 {
		b.WriteString(strings.Repeat("x", i) + "\n")
	}
	r := feed(b.String())
	if len(r.tail) != tailLines || r.tail[0] != strings.Repeat("x", 10) {
		t.Errorf("tail has %d lines from %q", len(r.tail), r.tail[0])
	}
}

func TestQemuBootsTheKernelUnderTCGAndEndsOnReboot(t *testing.T) {
	q := qemu{binary: "/q/bin/qemu-system-x86_64", dataDir: []string{"/q/share/qemu", "/q/share/seabios"}, arch: amd64}
	args := strings.Join(q.args("/k/vmlinux", "/w/i.cpio"), " ")
	// What x86 had before arm64 came, in full.
	want := "-L /q/share/qemu -L /q/share/seabios -accel tcg,thread=single -M pc -cpu max -smp 2 -m 1G " +
		"-nodefaults -no-user-config -display none -serial stdio -no-reboot -kernel /k/vmlinux -initrd /w/i.cpio " +
		"-append console=ttyS0 reboot=t panic=-1 quiet"
	if args != want {
		t.Errorf("qemu's arguments:\n%s\nwant\n%s", args, want)
	}
}

func TestQemuBootsArm64ImagesOnTheVirtMachine(t *testing.T) {
	q := qemu{binary: "/q/bin/qemu-system-aarch64", dataDir: []string{"/q/share/qemu"}, arch: arm64}
	args := strings.Join(q.args("/k/vmlinuz-6.12.95+deb12-arm64", "/w/i.cpio"), " ")
	for _, want := range []string{"-accel tcg,thread=single", "-M virt", "-cpu max", "-smp 2", "-m 1G", "-no-reboot",
		"-kernel /k/vmlinuz-6.12.95+deb12-arm64", "-initrd /w/i.cpio", "-append console=ttyAMA0 panic=-1"} {
		if !strings.Contains(args, want) {
			t.Errorf("qemu's arguments lack %q: %s", want, args)
		}
	}
	for _, not := range []string{"ttyS0", "reboot=t", "-M pc", "seabios"} {
		if strings.Contains(args, not) {
			t.Errorf("qemu's arguments have x86's %q: %s", not, args)
		}
	}
	if !strings.HasSuffix(arm64.qemuBinary, "qemu-system-aarch64") || arm64.qemuPackages[0] != "qemu-system-arm" || arm64.goarch != "arm64" {
		t.Errorf("arm64: %+v", arm64)
	}
}

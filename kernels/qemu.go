package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// qemuArgs boots kernel (a PVH vmlinux, or a bzImage) with initrd under TCG.
// This machine's /dev/kvm only runs kernels built for it, so stock kernels
// are emulated: -cpu max offers every instruction the kernels may use, and two
// CPUs because some tests pin threads to CPU 0 and CPU 1.
//
// The two vCPUs share one host thread (thread=single). With a thread each
// (MTTCG, qemu's default), Debian's 6.12 died in every run here, at a
// different place each time (an int3 left by text patching in
// syscall_trace_enter, double faults in the slab allocator and in signal
// delivery), and ran no faster: the tests are bound by the verifier, which
// runs on one CPU. One thread per VM also leaves the host's other core to a
// second VM (-jobs 2).
//
// -nodefaults drops the
// network card and VGA the kernel would otherwise probe; the only device is
// the serial port the kernel and the tests print to. reboot=t makes the
// kernel's reboot (and its panic, at once with panic=-1) a triple fault, which
// -no-reboot turns into qemu's exit.
func qemuArgs(kernel, initrd string) []string {
	return []string{
		"-accel", "tcg,thread=single", "-M", "pc", "-cpu", "max", "-smp", "2", "-m", "1G",
		"-nodefaults", "-no-user-config", "-display", "none", "-serial", "stdio", "-no-reboot",
		"-kernel", kernel, "-initrd", initrd,
		"-append", "console=ttyS0 reboot=t panic=-1 quiet",
	}
}

// vmRun is what one VM did, read from its serial output.
type vmRun struct {
	booted     time.Duration // from qemu's start to the init's first line; 0 if it never came
	finished   time.Duration // to the result line
	wall       time.Duration // to qemu's exit
	uname      string
	result     string         // "pass" or "fail"; "" when the line never came
	pkgExit    map[string]int // package name → its test binary's exit status
	noMount    []string       // file systems the init could not mount
	tests      []testResult   // top-level tests in the order they ended
	output     map[string][]string
	current    string // the test the output now belongs to: package.Test
	pkg        string // the package now running
	tail       []string
	timedOut   bool
	qemuErr    error
	qemuStderr string
}

// testResult is one top-level test's verdict.
type testResult struct {
	pkg, name, status string // status: PASS, FAIL or SKIP
}

// tailLines is how much of a failed VM's log the summary shows.
const tailLines = 40

// line takes one line of the serial console, at host time t since qemu
// started.
func (r *vmRun) line(s string, t time.Duration) {
	s = strings.TrimRight(s, "\r\n")
	r.tail = append(r.tail, s)
	if len(r.tail) > tailLines {
		r.tail = r.tail[len(r.tail)-tailLines:]
	}
	if r.output == nil {
		r.output = map[string][]string{}
		r.pkgExit = map[string]int{}
	}
	if rest, ok := after(s, markBooted); ok {
		r.booted = t
		r.uname, _, _ = strings.Cut(rest, " ")
		return
	}
	if rest, ok := after(s, markMount); ok {
		r.noMount = append(r.noMount, rest)
		return
	}
	if rest, ok := after(s, markRun); ok {
		r.pkg, r.current = rest, ""
		return
	}
	if rest, ok := after(s, markPkg); ok {
		name, code, _ := strings.Cut(rest, " ")
		n, err := strconv.Atoi(code)
		if err != nil {
			n = -1
		}
		r.pkgExit[name] = n
		return
	}
	if rest, ok := after(s, markResult); ok {
		r.result, r.finished = rest, t
		return
	}
	// go test -v: "=== RUN   TestX", "=== CONT  TestX", "=== NAME  TestX"
	// say whose output follows; "--- PASS: TestX (0.01s)" ends a test, and
	// is indented for a subtest, which counts as part of its parent.
	for _, p := range []string{"=== RUN", "=== CONT", "=== NAME", "=== PAUSE"} {
		if rest, ok := strings.CutPrefix(s, p); ok {
			r.current = r.pkg + "." + topLevel(strings.TrimSpace(rest))
			return
		}
	}
	for _, status := range []string{"PASS", "FAIL", "SKIP"} {
		if rest, ok := strings.CutPrefix(s, "--- "+status+": "); ok {
			name, _, _ := strings.Cut(rest, " ")
			r.tests = append(r.tests, testResult{pkg: r.pkg, name: name, status: status})
			if status == "FAIL" {
				r.current = r.pkg + "." + name // go test without -v prints the log after
			}
			return
		}
	}
	if r.current != "" {
		r.output[r.current] = append(r.output[r.current], s)
	}
}

// after returns what follows mark in s. The mark may come after other text:
// a kernel message can start on the same line.
func after(s, mark string) (string, bool) {
	i := strings.Index(s, mark)
	if i < 0 {
		return "", false
	}
	return strings.TrimSpace(s[i+len(mark):]), true
}

func topLevel(name string) string {
	name, _, _ = strings.Cut(name, "/")
	return name
}

// count returns how many top-level tests had status.
func (r *vmRun) count(status string) int {
	n := 0
	for _, t := range r.tests {
		if t.status == status {
			n++
		}
	}
	return n
}

// ok says whether the VM passed: it printed "pass", and so did every
// package.
func (r *vmRun) ok() bool {
	if r.result != "pass" || r.timedOut {
		return false
	}
	for _, c := range r.pkgExit {
		if c != 0 {
			return false
		}
	}
	return true
}

// boot runs qemu until it exits or timeout passes, writing the serial
// console to logPath, and, when echo is set, to stdout with the kernel's
// name before each line.
func boot(ctx context.Context, name string, args []string, logPath string, timeout time.Duration, echo bool) *vmRun {
	r := &vmRun{output: map[string][]string{}, pkgExit: map[string]int{}}
	log, err := os.Create(logPath)
	if err != nil {
		r.qemuErr = err
		return r
	}
	defer log.Close()
	fmt.Fprintf(log, "# qemu-system-x86_64 %s\n", strings.Join(args, " "))

	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "qemu-system-x86_64", args...)
	cmd.WaitDelay = 5 * time.Second // a killed qemu's pipe must not hold us
	out, err := cmd.StdoutPipe()
	if err != nil {
		r.qemuErr = err
		return r
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		r.qemuErr = err
		return r
	}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		s := sc.Text()
		fmt.Fprintln(log, s)
		if echo {
			fmt.Printf("%s| %s\n", name, strings.TrimRight(s, "\r"))
		}
		r.line(s, time.Since(start))
	}
	if err := sc.Err(); err != nil && !errors.Is(err, os.ErrClosed) && !errors.Is(err, io.ErrClosedPipe) {
		fmt.Fprintf(log, "# reading the console: %v\n", err)
	}
	err = cmd.Wait()
	r.wall = time.Since(start)
	r.timedOut = errors.Is(ctx.Err(), context.DeadlineExceeded)
	if err != nil && !r.timedOut {
		r.qemuErr = err
	}
	r.qemuStderr = strings.TrimSpace(stderr.String())
	if r.qemuStderr != "" {
		fmt.Fprintf(log, "# qemu's stderr:\n%s\n", r.qemuStderr)
	}
	if r.timedOut {
		fmt.Fprintf(log, "# killed after %s\n", timeout)
	}
	return r
}

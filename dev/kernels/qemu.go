package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"tlmon/dev/internal/devtool"
)

// qemuSuite has the qemu the VMs run on (archSpec.qemuPackages): the build
// of bookworm-backports (10.0), taken out of its packages into the cache, not
// installed, so that every machine runs the same one. bookworm's own qemu
// (7.2) corrupts Debian's 6.12 under TCG: the guest died in most runs here,
// at a different place each time, always with garbage in EFLAGS (double
// faults in the slab allocator, an int3 left by text patching, GP faults in
// sync_core), with any CPU model, one TCG thread or several, and
// mitigations=off; 10.0 ran the same initramfs cleanly every time. 5.10 and
// 6.1 ran on either. On arm64, 7.2 was flaky too, and 10.0 fine.
const qemuSuite = "bookworm-backports"

// qemu is a qemu-system-x86_64 or -aarch64 and the folders of its firmware
// (-L).
type qemu struct {
	binary  string
	dataDir []string
	version string
	arch    *archSpec // the guests'
}

// fetchQemu returns the qemu of arch.qemuPackages (amd64 builds) from the
// cache, downloading and extracting the packages that are not there. Its
// shared libraries are bookworm's: missing ones are installed with apt-get,
// as root.
func fetchQemu(ctx context.Context, a *apt, cache string, arch *archSpec) (qemu, error) {
	var pkgs []debPackage
	var pats []*regexp.Regexp
	for _, name := range arch.qemuPackages {
		re := regexp.MustCompile("^" + regexp.QuoteMeta(name) + "$")
		p, err := a.resolve(ctx, re, qemuSuite, nativeArch)
		if err != nil {
			return qemu{}, fmt.Errorf("qemu: %w", err)
		}
		pkgs, pats = append(pkgs, p), append(pats, re)
	}
	// One folder per set of versions: a new version of any is a new folder.
	var key []string
	for _, p := range pkgs {
		key = append(key, p.stem())
	}
	root := filepath.Join(cache, "qemu", strings.ReplaceAll(strings.Join(key, "+"), "%3a", "_"))
	q := qemu{
		binary:  filepath.Join(root, arch.qemuBinary),
		dataDir: []string{filepath.Join(root, "usr/share/qemu")},
		version: pkgs[0].version,
		arch:    arch,
	}
	if slices.Contains(arch.qemuPackages, "seabios") {
		q.dataDir = append(q.dataDir, filepath.Join(root, "usr/share/seabios"))
	}
	if _, err := os.Stat(q.binary); err != nil {
		fmt.Printf("kernels: fetching qemu %s from %s\n", pkgs[0].version, qemuSuite)
		tmp := root + ".part"
		os.RemoveAll(tmp)
		if err := os.MkdirAll(tmp, 0o755); err != nil {
			return q, err
		}
		for _, p := range pkgs {
			deb, err := a.download(ctx, p, filepath.Join(cache, "debs"))
			if err != nil {
				return q, err
			}
			if out, err := exec.CommandContext(ctx, "dpkg-deb", "-x", deb, tmp).CombinedOutput(); err != nil {
				return q, fmt.Errorf("dpkg-deb -x %s: %w: %s", filepath.Base(deb), err, devtool.Tail(out, 3))
			}
		}
		if err := os.Rename(tmp, root); err != nil {
			return q, err
		}
	}
	// Only this set of versions of this qemu stays in the cache (the other
	// architecture's has another first package).
	old, _ := filepath.Glob(filepath.Join(cache, "qemu", arch.qemuPackages[0]+"_*"))
	for _, d := range old {
		if d != root {
			os.RemoveAll(d)
		}
	}
	for i, p := range pkgs {
		pruneCache(cache, pats[i], p)
	}

	if runErr := exec.CommandContext(ctx, q.binary, "--version").Run(); runErr != nil {
		deb, err := a.download(ctx, pkgs[0], filepath.Join(cache, "debs"))
		if err != nil {
			return q, err
		}
		if err := installLibraries(ctx, deb); err != nil {
			return q, fmt.Errorf("%s does not run (%v), and its libraries could not be installed: %w", q.binary, runErr, err)
		}
		if out, err := exec.CommandContext(ctx, q.binary, "--version").CombinedOutput(); err != nil {
			return q, fmt.Errorf("%s --version: %w: %s", q.binary, err, devtool.Tail(out, 3))
		}
	}
	return q, nil
}

// installLibraries installs, from the machine's own apt sources, the
// packages deb depends on apart from qemu's own and its firmware: the shared
// libraries, which bookworm has in the versions the backport needs.
func installLibraries(ctx context.Context, deb string) error {
	out, err := exec.CommandContext(ctx, "dpkg-deb", "-f", deb, "Depends").Output()
	if err != nil {
		return fmt.Errorf("dpkg-deb -f %s Depends: %w", deb, err)
	}
	var libs []string
	for dep := range strings.SplitSeq(string(out), ",") {
		name := strings.Fields(strings.TrimSpace(strings.Split(dep, "|")[0]))
		if len(name) == 0 || strings.HasPrefix(name[0], "qemu-") || name[0] == "seabios" || name[0] == "ipxe-qemu" {
			continue
		}
		libs = append(libs, name[0])
	}
	return devtool.AptInstall(ctx, "kernels", libs...)
}

// args boots kernel (a PVH vmlinux, or a bzImage; an Image on arm64) with
// initrd under TCG, with the machine and command line of q.arch.
// This machine's /dev/kvm only runs kernels built for it, so stock kernels
// are emulated: -cpu max offers every instruction the kernels may use, and two
// CPUs because some tests pin threads to CPU 0 and CPU 1. The two vCPUs share
// one host thread (thread=single): the tests are bound by the verifier,
// which runs on one CPU, so a thread each (MTTCG) is no faster, and the
// host's other core is left to a second VM (-jobs 2). -nodefaults drops the
// network card and VGA the kernel would otherwise probe; the only device is
// the serial port the kernel and the tests print to. On x86, reboot=t makes
// the kernel's reboot (and its panic, at once with panic=-1) a triple fault,
// which -no-reboot turns into qemu's exit (arm64: see archSpec).
func (q qemu) args(kernel, initrd string) []string {
	var args []string
	for _, d := range q.dataDir {
		args = append(args, "-L", d)
	}
	args = append(args, q.arch.machine...)
	return append(args, "-smp", "2", "-m", "1G",
		"-nodefaults", "-no-user-config", "-display", "none", "-serial", "stdio", "-no-reboot",
		"-kernel", kernel, "-initrd", initrd,
		"-append", q.arch.cmdline,
	)
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
	// A zero vmRun is ready to read lines into: the maps are made here.
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
func boot(ctx context.Context, q qemu, name string, args []string, logPath string, timeout time.Duration, echo bool) *vmRun {
	r := &vmRun{}
	log, err := os.Create(logPath)
	if err != nil {
		r.qemuErr = err
		return r
	}
	defer log.Close()
	fmt.Fprintf(log, "# %s %s\n", q.binary, strings.Join(args, " "))

	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, q.binary, args...)
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

package e2e

// End-to-end tests: the real tlmon binary, as root, against the project's
// workload generator, whose own report says exactly which calls it made.

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"tlmon/dev/internal/strace"
	"tlmon/internal/bpftest"
)

var tlmonBin, workloadBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tlmon-test")
	if err != nil {
		panic(err)
	}
	tlmonBin, workloadBin = filepath.Join(dir, "tlmon"), filepath.Join(dir, "workload")
	// No config file of the user's may change what the tests run.
	os.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
	for bin, pkg := range map[string]string{tlmonBin: "tlmon", workloadBin: "tlmon/dev/workload"} {
		if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n%s", pkg, err, out)
			os.Exit(1)
		}
	}
	// The test binary and the workload need to be reachable by nobody for the
	// non-root test.
	os.Chmod(dir, 0o755)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// report is the part of tlmon's JSON the tests read.
type report struct {
	Buffer          string     `json:"buffer"`
	Hook            string     `json:"hook"`
	Rung            int        `json:"rung"`
	DetailAttempted uint64     `json:"detail_attempted"`
	Syscalls        []scStat   `json:"syscalls"`
	Procs           []procStat `json:"processes"`
	Retired         struct {
		Processes uint64 `json:"processes"`
		Calls     uint64 `json:"calls"`
	} `json:"retired"`
	Lost struct {
		Total             uint64 `json:"total"`
		Buffer            uint64 `json:"buffer"`
		LifecycleBuffer   uint64 `json:"lifecycle_buffer"`
		AttributionMisses uint64 `json:"attribution_misses"`
		ProcMapFull       uint64 `json:"proc_map_full"`
		HistMapFull       uint64 `json:"hist_map_full"`
		EventsAttempted   uint64 `json:"events_attempted"`
		EventsReceived    uint64 `json:"events_received"`
		Unattributed      struct {
			Calls  uint64 `json:"calls"`
			Errors uint64 `json:"errors"`
		} `json:"unattributed"`
	} `json:"lost"`
}

type scStat struct {
	Name   string            `json:"name"`
	Calls  uint64            `json:"calls"`
	Errors uint64            `json:"errors"`
	Errno  map[string]uint64 `json:"errno"`
}

type procStat struct {
	PID         uint32   `json:"pid"`
	Comm        string   `json:"comm"`
	Alive       bool     `json:"alive"`
	ExitCode    int      `json:"exit_code"`
	ExitSignal  int      `json:"exit_signal"`
	Placeholder bool     `json:"placeholder"`
	Calls       uint64   `json:"calls"`
	Errors      uint64   `json:"errors"`
	Syscalls    []scStat `json:"syscalls"`
}

func (r *report) syscall(name string) scStat {
	for _, s := range r.Syscalls {
		if s.Name == name {
			return s
		}
	}
	return scStat{Name: name}
}

func (r *report) proc(pid uint32) (procStat, bool) {
	for _, p := range r.Procs {
		if p.PID == pid {
			return p, true
		}
	}
	return procStat{}, false
}

func (p procStat) syscall(name string) scStat {
	for _, s := range p.Syscalls {
		if s.Name == name {
			return s
		}
	}
	return scStat{Name: name}
}

// workloadReport is the workload generator's own account of what it did.
type workloadReport struct {
	PID      uint32                       `json:"pid"`
	Calls    map[string]uint64            `json:"calls"`
	Errors   map[string]map[string]uint64 `json:"errors"`
	Children []struct {
		PID      uint32 `json:"pid"`
		ExitCode int    `json:"exit_code"`
	} `json:"children"`
}

// tlmonRun is a tlmon process started by a test.
type tlmonRun struct {
	cmd    *exec.Cmd
	stdout bytes.Buffer
	stderr *bufio.Reader
	errAll bytes.Buffer
}

// startTlmon starts tlmon with args and waits until it says it is watching.
func startTlmon(t *testing.T, args ...string) *tlmonRun {
	t.Helper()
	return startTlmonCmd(t, exec.Command(tlmonBin, args...))
}

// startTlmonCmd is startTlmon for a command made ready to start.
func startTlmonCmd(t *testing.T, cmd *exec.Cmd) *tlmonRun {
	t.Helper()
	r := &tlmonRun{cmd: cmd}
	r.cmd.Stdout = &r.stdout
	pipe, err := r.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.cmd.Process.Kill(); r.cmd.Wait() })
	r.stderr = bufio.NewReader(io.TeeReader(pipe, &r.errAll))
	line, err := r.stderr.ReadString('\n')
	if err != nil || !strings.Contains(line, "watching") {
		rest, _ := io.ReadAll(r.stderr)
		t.Fatalf("tlmon did not start watching: %q %s (%v)", line, rest, err)
	}
	return r
}

// finish stops tlmon with SIGINT (unless it stops by itself) and parses its JSON.
func (r *tlmonRun) finish(t *testing.T, interrupt bool) report {
	t.Helper()
	if interrupt {
		r.cmd.Process.Signal(os.Interrupt)
	}
	io.Copy(io.Discard, r.stderr)
	if err := r.cmd.Wait(); err != nil {
		t.Fatalf("tlmon: %v\n%s", err, r.errAll.String())
	}
	// With -- command, the command's own output comes first: tlmon's report is
	// the last line.
	out := strings.TrimSpace(r.stdout.String())
	last := out[strings.LastIndexByte(out, '\n')+1:]
	var rep report
	if err := json.Unmarshal([]byte(last), &rep); err != nil {
		t.Fatalf("tlmon output is not JSON: %v\n%s", err, r.stdout.String())
	}
	return rep
}

// waitingWorkload is a workload set up and waiting for the go-ahead.
type waitingWorkload struct {
	cmd   *exec.Cmd
	pid   uint32
	stdin io.WriteCloser
	out   *bufio.Reader
}

func startWorkload(t *testing.T, args ...string) *waitingWorkload {
	t.Helper()
	w := &waitingWorkload{cmd: exec.Command(workloadBin, append([]string{"--wait"}, args...)...)}
	w.cmd.Stderr = os.Stderr
	var err error
	if w.stdin, err = w.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	pipe, err := w.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.cmd.Process.Kill(); w.cmd.Wait() })
	w.out = bufio.NewReader(pipe)
	line, err := w.out.ReadString('\n')
	if err != nil {
		t.Fatalf("workload %v did not get ready: %v", args, err)
	}
	pid, err := strconv.ParseUint(strings.TrimSpace(strings.TrimPrefix(line, "ready ")), 10, 32)
	if err != nil {
		t.Fatalf("workload said %q", line)
	}
	w.pid = uint32(pid)
	return w
}

// run lets the workload make its calls and returns its report.
func (w *waitingWorkload) run(t *testing.T) workloadReport {
	t.Helper()
	var rep workloadReport
	w.runInto(t, &rep)
	return rep
}

// runInto lets the workload make its calls and decodes its report into rep.
func (w *waitingWorkload) runInto(t *testing.T, rep any) {
	t.Helper()
	w.goAhead(t, rep)
	w.cmd.Wait()
}

// goAhead lets the workload make its calls and decodes its report into rep,
// leaving it to exit, or to live on with --hold.
func (w *waitingWorkload) goAhead(t *testing.T, rep any) {
	t.Helper()
	io.WriteString(w.stdin, "go\n")
	w.stdin.Close()
	line, err := w.out.ReadString('\n')
	if err == nil {
		err = json.Unmarshal([]byte(line), rep)
	}
	if err != nil {
		t.Fatalf("workload report: %v (%q)", err, line)
	}
}

func pidArg(pids ...uint32) string {
	s := make([]string, len(pids))
	for i, p := range pids {
		s[i] = strconv.Itoa(int(p))
	}
	return strings.Join(s, ",")
}

// TestCountsAreExactForEveryWorkload attaches with -p to a waiting workload, so
// only the measured calls happen under watch, and compares every count, with
// latency on (calls counted at entry) and off (counted at exit).
func TestCountsAreExactForEveryWorkload(t *testing.T) {
	bpftest.Require(t)
	for _, c := range []struct {
		mode string
		n    int
	}{
		{"getppid", 1_000_000},
		{"openat-missing", 20_000},
		{"openat-close", 20_000},
		{"connect", 2_000},
		{"threads", 200_000},
		{"seccomp-getppid", 10_000},
		{"mix", 5_000},
		{"fork", 200},
	} {
		for _, latency := range []string{"--no-latency=false", "--no-latency"} {
			t.Run(c.mode+latency, func(t *testing.T) {
				exactCounts(t, c.mode, c.n, latency)
			})
		}
	}
}

func exactCounts(t *testing.T, mode string, n int, flags ...string) {
	t.Helper()
	w := startWorkload(t, mode, strconv.Itoa(n))
	// Counting alone: detail events (tested on their own) would only crowd the buffer.
	tl := startTlmon(t, append([]string{"--headless", "-o", "json", "--classes", "none", "-p", pidArg(w.pid)}, flags...)...)
	want := w.run(t)
	got := tl.finish(t, false) // stops when the watched process is gone
	p, ok := got.proc(w.pid)
	if !ok {
		t.Fatalf("workload pid %d missing from the report", w.pid)
	}
	for name, calls := range want.Calls {
		sys, own := got.syscall(name), p.syscall(name)
		if sys.Calls != calls || own.Calls != calls {
			t.Errorf("%s: tlmon counted %d calls system-wide and %d in the process, workload made %d", name, sys.Calls, own.Calls, calls)
		}
		var wantErrs uint64
		for errno, n := range want.Errors[name] {
			wantErrs += n
			if sys.Errno[errno] != n {
				t.Errorf("%s: tlmon counted %d %s, workload saw %d", name, sys.Errno[errno], errno, n)
			}
		}
		if sys.Errors != wantErrs {
			t.Errorf("%s: tlmon counted %d errors, workload saw %d", name, sys.Errors, wantErrs)
		}
	}
	if got.Lost.Total != 0 {
		t.Errorf("lost %d", got.Lost.Total)
	}
}

// TestForkedChildrenAreNamedOnEveryHostRung runs a command that forks 500
// children, on each rung this machine runs, and checks every lifecycle event
// arrived: one exec, 500 forks and 501 exits, each child named with its comm
// and exit code.
func TestForkedChildrenAreNamedOnEveryHostRung(t *testing.T) {
	bpftest.Require(t)
	// Fewer children than aggregator.DefaultMaxExited: past it the oldest
	// exited ones retire early, once a read has seen them final, and leave
	// the report (500 children lost the first dozens, now and then).
	const n = 200
	for _, r := range []struct {
		rung         int
		buffer, hook string
	}{{1, "ringbuf", "raw_tp"}, {2, "perf", "raw_tp"}, {3, "perf", "tracepoint"}} {
		t.Run(fmt.Sprintf("rung%d", r.rung), func(t *testing.T) {
			tl := startTlmon(t, "--headless", "-o", "json", "--classes", "none", "--buffer", r.buffer, "--hook", r.hook, "--", workloadBin, "fork", strconv.Itoa(n))
			got := tl.finish(t, false)
			var want workloadReport
			if err := json.Unmarshal([]byte(firstLine(tl.stdout.String())), &want); err != nil {
				t.Fatalf("workload report: %v", err)
			}
			if got.Buffer != r.buffer || got.Hook != r.hook || got.Rung != r.rung {
				t.Errorf("rung %d (%s, %s), want %d (%s, %s)", got.Rung, got.Buffer, got.Hook, r.rung, r.buffer, r.hook)
			}
			if len(want.Children) != n {
				t.Fatalf("workload made %d children", len(want.Children))
			}
			for _, c := range want.Children {
				p, ok := got.proc(c.PID)
				if !ok {
					t.Errorf("child %d missing", c.PID)
					continue
				}
				if p.Comm != "wlchild" || p.Alive || p.ExitCode != c.ExitCode {
					t.Errorf("child %d: comm %q alive %v exit %d, want wlchild exited with %d", c.PID, p.Comm, p.Alive, p.ExitCode, c.ExitCode)
				}
			}
			parent, ok := got.proc(want.PID)
			if !ok || parent.Comm != "workload" || parent.Alive || parent.ExitCode != 0 {
				t.Errorf("workload process: %+v (found %v)", parent, ok)
			}
			// exec, forks, exits of the children and the workload; on rungs 1
			// and 2 also the counts of each young thread (every child's, the
			// workload's threads'), sent when it exits.
			events, most := uint64(1+n+n+1), uint64(1+n+n+1)
			if r.rung < 3 {
				events, most = events+n+1, events+n+64
			}
			if a := got.Lost.EventsAttempted; a < events || a > most || got.Lost.EventsReceived != a || got.Lost.Total != 0 {
				t.Errorf("events attempted %d received %d lost %d, want %d to %d, all received, none lost", a, got.Lost.EventsReceived, got.Lost.Total, events, most)
			}
			if execs := got.syscall("execve").Calls; execs != 1 {
				t.Errorf("execve counted %d times, want exactly once", execs)
			}
			if forks := parent.syscall("clone").Calls; forks < n {
				t.Errorf("clone counted %d times in the workload, want at least %d", forks, n)
			}
			if exits := got.syscall("exit_group").Calls; exits != n+1 {
				t.Errorf("exit_group counted %d times, want %d", exits, n+1)
			}
		})
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// heldIDs lists the ids of the BPF objects of one kind ("prog_id" or "map_id")
// that a running process holds, from its file descriptors' fdinfo: exact even
// while other tests load programs of their own.
func heldIDs(t *testing.T, pid int, kind string) []uint32 {
	t.Helper()
	dir := fmt.Sprintf("/proc/%d/fdinfo", pid)
	fds, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[uint32]bool{}
	var ids []uint32
	for _, fd := range fds {
		b, _ := os.ReadFile(filepath.Join(dir, fd.Name()))
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, kind+":"); ok {
				id, _ := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
				if !seen[uint32(id)] {
					seen[uint32(id)] = true
					ids = append(ids, uint32(id))
				}
			}
		}
	}
	return ids
}

// TestPIDScopeExcludesOtherProcesses watches one of two workloads.
func TestPIDScopeExcludesOtherProcesses(t *testing.T) {
	bpftest.Require(t)
	watched := startWorkload(t, "getppid", "1000")
	other := startWorkload(t, "getppid", "777")
	tl := startTlmon(t, "--headless", "-o", "json", "-p", pidArg(watched.pid))
	other.run(t)
	watched.run(t)
	got := tl.finish(t, false)
	if n := got.syscall("getppid").Calls; n != 1000 {
		t.Errorf("getppid counted %d, want the watched workload's 1000 only", n)
	}
	if _, ok := got.proc(other.pid); ok {
		t.Errorf("the other workload (pid %d) is in the report", other.pid)
	}
}

// TestCgroupScopeIncludesDescendantCgroups puts a workload in a child of a
// test-made cgroup and watches the parent cgroup.
func TestCgroupScopeIncludesDescendantCgroups(t *testing.T) {
	bpftest.Require(t)
	mount := cgroup2Mount(t)
	name := fmt.Sprintf("tlmon-test-%d", os.Getpid())
	outer := filepath.Join(mount, name)
	inner := filepath.Join(outer, "inner")
	if err := os.MkdirAll(inner, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(inner); os.Remove(outer) })

	inside := startWorkload(t, "getppid", "4321")
	outside := startWorkload(t, "getppid", "1234")
	if err := os.WriteFile(filepath.Join(inner, "cgroup.procs"), []byte(pidArg(inside.pid)), 0); err != nil {
		t.Fatal(err)
	}
	tl := startTlmon(t, "--headless", "-o", "json", "--cgroup", name)
	inside.run(t)
	outside.run(t)
	got := tl.finish(t, true)
	if n := got.syscall("getppid").Calls; n != 4321 {
		t.Errorf("getppid counted %d, want the inner workload's 4321 only", n)
	}
	if _, ok := got.proc(inside.pid); !ok {
		t.Errorf("the workload in %s is not in the report", inner)
	}
}

func cgroup2Mount(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 9 && strings.Contains(line, " - cgroup2 ") {
			return f[4]
		}
	}
	t.Fatal("no cgroup2 mount")
	return ""
}

// TestFollowChildrenCountsForkedChildren watches a process that forks: its
// children join the scope at fork unless --no-follow.
func TestFollowChildrenCountsForkedChildren(t *testing.T) {
	bpftest.Require(t)
	const n = 20
	for _, c := range []struct {
		name      string
		flags     []string
		wantExits uint64
	}{
		{"children followed by default", nil, n + 1},
		{"children left out with --no-follow", []string{"--no-follow"}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := startWorkload(t, "fork", strconv.Itoa(n))
			tl := startTlmon(t, append([]string{"--headless", "-o", "json", "-p", pidArg(w.pid)}, c.flags...)...)
			want := w.run(t)
			got := tl.finish(t, false)
			if exits := got.syscall("exit_group").Calls; exits != c.wantExits {
				t.Errorf("exit_group counted %d, want %d", exits, c.wantExits)
			}
			_, childSeen := got.proc(want.Children[0].PID)
			if childSeen != (c.wantExits > 1) {
				t.Errorf("first child in the report: %v", childSeen)
			}
		})
	}
}

// TestSumOfProcessesEqualsSystemTotal checks, over a system-wide run with a
// mixed workload, that every call counted system-wide is in some process,
// retired or not, or counted as unattributed. The fork workload's children are
// fewer than aggregator.DefaultMaxExited, so none retires early and each
// syscall's count can be checked too.
func TestSumOfProcessesEqualsSystemTotal(t *testing.T) {
	bpftest.Require(t)
	tl := startTlmon(t, "--headless", "-o", "json", "-d", "1500ms")
	for _, mode := range []string{"mix", "fork", "connect", "threads"} {
		if out, err := exec.Command(workloadBin, mode, "200").CombinedOutput(); err != nil {
			t.Fatalf("workload %s: %v %s", mode, err, out)
		}
	}
	got := tl.finish(t, false)
	perSyscall := map[string]uint64{}
	for _, p := range got.Procs {
		for _, s := range p.Syscalls {
			perSyscall[s.Name] += s.Calls
		}
	}
	var total, sum uint64
	for _, s := range got.Syscalls {
		total += s.Calls
		if got.Lost.Unattributed.Calls == 0 && got.Retired.Calls == 0 && perSyscall[s.Name] != s.Calls {
			t.Errorf("%s: processes add up to %d calls, system-wide %d", s.Name, perSyscall[s.Name], s.Calls)
		}
	}
	for _, n := range perSyscall {
		sum += n
	}
	if sum+got.Retired.Calls+got.Lost.Unattributed.Calls != total {
		t.Errorf("processes %d + retired %d + unattributed %d != system-wide %d", sum, got.Retired.Calls, got.Lost.Unattributed.Calls, total)
	}
	if total == 0 {
		t.Error("nothing counted")
	}
}

// runFail runs tlmon expecting failure and returns its exit code and stderr.
func runFail(t *testing.T, cmd *exec.Cmd) (int, string) {
	t.Helper()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	ee, ok := err.(*exec.ExitError)
	if !ok {
		t.Fatalf("%v: want a failure, got %v", cmd.Args, err)
	}
	return ee.ExitCode(), stderr.String()
}

// TestBadInputGetsOneLineAndAnExitCode checks every mistake a user can make
// ends in one clear line, the right exit code and nothing left attached.
func TestBadInputGetsOneLineAndAnExitCode(t *testing.T) {
	bpftest.Require(t)
	for _, c := range []struct {
		name string
		args []string
		code int
		says string
	}{
		{"unknown flag", []string{"--bogus"}, 2, "unknown flag"},
		{"bad output", []string{"--headless", "-o", "xml"}, 2, "--output"},
		{"bad buffer", []string{"--headless", "--buffer", "big"}, 2, "--buffer"},
		{"bad hook", []string{"--headless", "--hook", "fentry"}, 2, "--hook"},
		{"ring buffer with kprobes", []string{"--headless", "--buffer", "ringbuf", "--hook", "kprobe"}, 2, "cannot go with"},
		{"too short interval", []string{"--headless", "-i", "10ms"}, 2, "--interval"},
		{"pid not a number", []string{"--headless", "-p", "abc"}, 2, "not a process id"},
		{"two scopes", []string{"--headless", "-p", "1", "--cgroup", "/"}, 2, "only one"},
		{"unknown syscall", []string{"--headless", "-e", "nosuchcall"}, 2, "unknown syscall"},
		{"unknown pid", []string{"--headless", "-p", "4000000"}, 1, "no such process"},
		{"missing cgroup", []string{"--headless", "--cgroup", "/no/such/cgroup"}, 1, "no such cgroup"},
		{"cgroup v1 directory", []string{"--headless", "--cgroup", "/sys/fs/cgroup/cpu"}, 1, "a cgroup v1 directory"},
		{"command not found", []string{"--headless", "--", "/no/such/program"}, 1, "cannot start"},
		{"monitor without a terminal", nil, 2, "needs a terminal"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, stderr := runFail(t, exec.Command(tlmonBin, c.args...))
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			if code != c.code || len(lines) != 1 || !strings.Contains(stderr, c.says) || !strings.HasPrefix(stderr, "tlmon: ") {
				t.Errorf("exit %d, stderr %q; want exit %d and one line saying %q", code, stderr, c.code, c.says)
			}
		})
	}
}

// TestNonRootGetsAClearError runs tlmon as nobody.
func TestNonRootGetsAClearError(t *testing.T) {
	bpftest.Require(t)
	cmd := exec.Command(tlmonBin, "--headless")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	code, stderr := runFail(t, cmd)
	if code != 1 || !strings.Contains(stderr, "needs root") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("exit %d, stderr %q; want exit 1 and one line saying it needs root", code, stderr)
	}
}

// TestCapabilitiesInsteadOfRoot runs tlmon as nobody with CAP_BPF and
// CAP_PERFMON (as `setcap cap_bpf,cap_perfmon+ep` on the binary would give):
// the whole machine and a PID are watched, exactly; a command, which needs a
// cgroup made in root's tree, is refused in one line.
func TestCapabilitiesInsteadOfRoot(t *testing.T) {
	bpftest.Require(t)
	asNobody := func(args ...string) *exec.Cmd {
		cmd := exec.Command(tlmonBin, args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{
			Credential:  &syscall.Credential{Uid: 65534, Gid: 65534},
			AmbientCaps: []uintptr{unix.CAP_BPF, unix.CAP_PERFMON},
		}
		return cmd
	}
	t.Run("a PID, exactly", func(t *testing.T) {
		w := startWorkload(t, "getppid", "5000")
		tl := startTlmonCmd(t, asNobody("--headless", "-o", "json", "-p", pidArg(w.pid)))
		want := w.run(t)
		rep := tl.finish(t, false)
		p, ok := rep.proc(w.pid)
		if !ok || p.syscall("getppid").Calls != want.Calls["getppid"] || rep.Lost.Total != 0 {
			t.Errorf("getppid counted %d, want %d; lost %d", p.syscall("getppid").Calls, want.Calls["getppid"], rep.Lost.Total)
		}
	})
	t.Run("the whole machine", func(t *testing.T) {
		out, err := asNobody("--headless", "-d", "500ms", "-o", "json").Output()
		var rep report
		if err != nil || json.Unmarshal(out, &rep) != nil || len(rep.Syscalls) == 0 {
			t.Errorf("%v: %s", err, out)
		}
	})
	t.Run("a command is refused", func(t *testing.T) {
		code, stderr := runFail(t, asNobody("--headless", "--", "/bin/true"))
		if code != 1 || !strings.Contains(stderr, "cgroup") || strings.Count(stderr, "\n") != 1 {
			t.Errorf("exit %d, stderr %q; want exit 1 and one line about the cgroup", code, stderr)
		}
	})
}

// TestNothingIsLeftAttachedAfterExit checks the kernel holds none of tlmon's
// programs once tlmon is gone, whichever signal ended it.
func TestNothingIsLeftAttachedAfterExit(t *testing.T) {
	bpftest.Require(t)
	for _, sig := range []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP} {
		tl := startTlmon(t, "--headless", "-o", "json")
		progs := heldIDs(t, tl.cmd.Process.Pid, "prog_id")
		if len(progs) != 8 {
			t.Errorf("tlmon holds %d programs, want 8 (6 hooks, the cache flush and the young threads' sweep)", len(progs))
		}
		tl.cmd.Process.Signal(sig)
		io.Copy(io.Discard, tl.stderr)
		if err := tl.cmd.Wait(); err != nil {
			t.Errorf("after %v tlmon exited with %v", sig, err)
		}
		if !strings.Contains(tl.stdout.String(), `"syscalls"`) {
			t.Errorf("after %v no summary was printed", sig)
		}
		waitFreed(t, progs)
	}
}

// TestTlmonNeverCountsItself looks into the running tlmon's per-process map in
// the kernel: no key may carry tlmon's own PID, although tlmon makes syscalls all
// the time (reading that very map, for one).
func TestTlmonNeverCountsItself(t *testing.T) {
	bpftest.Require(t)
	tl := startTlmon(t, "--headless", "-o", "json", "-i", "100ms")
	time.Sleep(500 * time.Millisecond) // a few reads of the maps by tlmon
	self := uint32(tl.cmd.Process.Pid)
	m := findMap(t, "proc_stats", tl)
	defer m.Close()
	var key any // nil: start at the first key
	keys, mine := 0, 0
	for {
		next := make([]byte, m.KeySize())
		if err := m.NextKey(key, &next); err != nil {
			if !errors.Is(err, ebpf.ErrKeyNotExist) {
				t.Fatal(err)
			}
			break
		}
		keys++
		if binary.LittleEndian.Uint32(next[:4]) == self { // struct proc_key starts with the tgid
			mine++
		}
		key = next
	}
	if keys == 0 {
		t.Fatal("tlmon's process map is empty: nothing to check")
	}
	if mine != 0 {
		t.Errorf("%d of %d entries carry tlmon's own pid %d", mine, keys, self)
	}
	tl.finish(t, true)
}

// findMap opens the map called name that the running tlmon holds.
func findMap(t *testing.T, name string, tl *tlmonRun) *ebpf.Map {
	t.Helper()
	for _, id := range heldIDs(t, tl.cmd.Process.Pid, "map_id") {
		m, err := ebpf.NewMapFromID(ebpf.MapID(id))
		if err != nil {
			continue
		}
		if info, err := m.Info(); err == nil && info.Name == name {
			return m
		}
		m.Close()
	}
	t.Fatalf("tlmon holds no map %s", name)
	return nil
}

// TestFiltersCountOnlyWhatWasAskedFor checks -e and --failed, both applied in
// the kernel.
func TestFiltersCountOnlyWhatWasAskedFor(t *testing.T) {
	bpftest.Require(t)
	const n = 3000
	for _, c := range []struct {
		name  string
		flags []string
		check func(t *testing.T, got report)
	}{
		{"-e counts only the named syscalls", []string{"-e", "openat,close"}, func(t *testing.T, got report) {
			for _, s := range got.Syscalls {
				if s.Name != "openat" && s.Name != "close" {
					t.Errorf("%s counted although only openat and close were asked for", s.Name)
				}
			}
			if o := got.syscall("openat"); o.Calls != 2*n || o.Errors != n {
				t.Errorf("openat: %d calls %d errors, want %d and %d", o.Calls, o.Errors, 2*n, n)
			}
		}},
		{"--failed counts only failing calls", []string{"--failed"}, func(t *testing.T, got report) {
			for _, s := range got.Syscalls {
				if s.Calls != s.Errors {
					t.Errorf("%s: %d calls but %d errors: a call that succeeded was counted", s.Name, s.Calls, s.Errors)
				}
			}
			if o := got.syscall("openat"); o.Calls != n || o.Errno["ENOENT"] != n {
				t.Errorf("openat: %d calls %v, want %d ENOENT", o.Calls, o.Errno, n)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := startWorkload(t, "mix", strconv.Itoa(n))
			tl := startTlmon(t, append([]string{"--headless", "-o", "json", "-p", pidArg(w.pid)}, c.flags...)...)
			w.run(t)
			c.check(t, tl.finish(t, false))
		})
	}
}

// TestOutputsCarryTheCounts checks the table, the CSV and the JSON lines of -i.
func TestOutputsCarryTheCounts(t *testing.T) {
	bpftest.Require(t)
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(tlmonBin, append([]string{"--headless"}, append(args, "--", workloadBin, "getppid", "4242")...)...).Output()
		if err != nil {
			t.Fatalf("tlmon %v: %v", args, err)
		}
		return string(out)
	}
	t.Run("table", func(t *testing.T) {
		out := run("-o", "table")
		if !regexpMatch(`(?m)^getppid\s+4242\s+0\s`, out) || !strings.Contains(out, "lost: 0") {
			t.Errorf("table lacks the getppid row or the lost line:\n%s", out)
		}
	})
	t.Run("csv", func(t *testing.T) {
		out := run("-o", "csv")
		if !strings.Contains(out, "pid,start_time,comm,syscall,nr,calls,errors") || !regexpMatch(`(?m)^\d+,\d+,workload,getppid,\d+,4242,0,`, out) {
			t.Errorf("csv lacks the header or the getppid row:\n%s", out)
		}
	})
	t.Run("json lines per interval", func(t *testing.T) {
		out, err := exec.Command(tlmonBin, "--headless", "-o", "json", "-i", "200ms", "-d", "1100ms").Output()
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) < 4 {
			t.Errorf("%d lines in 1.1 s at 200 ms, want at least 4 intervals and the summary", len(lines))
		}
		for _, l := range lines {
			var r report
			if err := json.Unmarshal([]byte(l), &r); err != nil || r.Buffer == "" {
				t.Errorf("not a report line: %q (%v)", l, err)
			}
		}
	})
}

func regexpMatch(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }

// TestCommandRunsAsTheSudoUser checks that under sudo the watched command runs
// as the user who typed sudo, not as root, with the user's HOME and without
// the loader's variables.
func TestCommandRunsAsTheSudoUser(t *testing.T) {
	bpftest.Require(t)
	cmd := exec.Command(tlmonBin, "--headless", "-o", "json", "--", "/bin/sh", "-c", `id -u; echo "ld=[$LD_LIBRARY_PATH] home=$HOME"`)
	cmd.Env = append(os.Environ(), "SUDO_UID=65534", "SUDO_GID=65534", "LD_LIBRARY_PATH=/nonexistent-lib")
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitN(string(out), "\n", 3)
	if len(lines) < 2 || lines[0] != "65534" || lines[1] != "ld=[] home=/nonexistent" {
		t.Errorf("the command said %q, want uid 65534, no LD_LIBRARY_PATH and nobody's home", lines[:min(2, len(lines))])
	}
}

func TestVersionIsPrinted(t *testing.T) {
	out, err := exec.Command(tlmonBin, "-V").Output()
	if err != nil || !regexp.MustCompile(`^tlmon \S+ \(.*go1\.\d+.*\)\n$`).Match(out) {
		t.Errorf("-V printed %q (%v), want tlmon, the version, and the build's commit, date and Go in brackets", out, err)
	}
}

// TestAbruptEndsLeaveNothingAttached: a panic in the collector stops tlmon with
// one line and exit 1; kill -9 gives no chance to clean up, but the programs
// hang on tlmon's file descriptors and go with them.
func TestAbruptEndsLeaveNothingAttached(t *testing.T) {
	bpftest.Require(t)
	t.Run("collector panic", func(t *testing.T) {
		tl := startTlmon(t, "--headless", "-i", "100ms", "--test-panic-collector")
		progs := heldIDs(t, tl.cmd.Process.Pid, "prog_id")
		rest, _ := io.ReadAll(tl.stderr)
		err := tl.cmd.Wait()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 1 || !strings.Contains(string(rest), "internal error") || strings.Count(string(rest), "\n") != 1 {
			t.Errorf("exit %v, stderr %q: want exit 1 and one line naming the internal error", err, rest)
		}
		waitFreed(t, progs)
	})
	t.Run("kill -9", func(t *testing.T) {
		tl := startTlmon(t, "--headless")
		progs := heldIDs(t, tl.cmd.Process.Pid, "prog_id")
		tl.cmd.Process.Kill()
		tl.cmd.Wait()
		waitFreed(t, progs)
	})
}

// waitFreed polls until none of the programs exists: the kernel frees them
// asynchronously.
func waitFreed(t *testing.T, progs []uint32) {
	t.Helper()
	if len(progs) == 0 {
		t.Fatal("no programs to watch")
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, id := range progs {
		for {
			p, err := ebpf.NewProgramFromID(ebpf.ProgramID(id))
			if err != nil {
				break
			}
			p.Close()
			if time.Now().After(deadline) {
				t.Fatalf("program %d is still loaded", id)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// TestCommandCountsMatchStrace runs a real program of the base system under
// tlmon and under strace -f -c: every syscall's calls and errors must be
// equal. Counting starts at the command's execve, so the work of tlmon's own
// launcher between fork and exec (Go resetting signal handlers) is not the
// command's. The one difference is exit_group: strace counts a call at its
// return, and exit_group never returns.
func TestCommandCountsMatchStrace(t *testing.T) {
	bpftest.Require(t)
	tar, err := exec.LookPath("tar")
	if err != nil {
		t.Skip("no tar here")
	}
	dir := t.TempDir()
	for i := range 20 {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%d", i)), bytes.Repeat([]byte("x"), 1000*i), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{tar, "cf", "/dev/null", "-C", dir, "."}
	out, err := exec.Command(tlmonBin, append([]string{"--headless", "-o", "json", "--top", "0", "--"}, args...)...).Output()
	if err != nil {
		t.Fatalf("tlmon: %v", err)
	}
	var got report
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	summary := filepath.Join(t.TempDir(), "strace")
	if out, err := exec.Command("strace", append([]string{"-f", "-c", "-U", "name,calls,errors", "-o", summary}, args...)...).CombinedOutput(); err != nil {
		t.Fatalf("strace: %v %s", err, out)
	}
	b, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	calls, errs, err := strace.ParseSummary(string(b))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for name := range calls {
		names[name] = true
	}
	for _, s := range got.Syscalls {
		names[s.Name] = true
	}
	for name := range names {
		s := got.syscall(name)
		if name == "exit_group" {
			if s.Calls != 1 {
				t.Errorf("exit_group: tlmon counted %d calls, want 1", s.Calls)
			}
			continue
		}
		if s.Calls != calls[name] || s.Errors != errs[name] {
			t.Errorf("%s: tlmon counted %d calls, %d errors; strace %d, %d", name, s.Calls, s.Errors, calls[name], errs[name])
		}
	}
	if len(calls) < 10 {
		t.Errorf("strace saw only %d syscalls: %v", len(calls), calls)
	}
}

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
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
	"sync"
	"syscall"
	"time"

	"tlmon/dev/bench/floor"
	"tlmon/dev/internal/devtool"
	"tlmon/dev/internal/strace"
	"tlmon/internal/tracefs"
	"tlmon/syscalls"
)

// The bpftrace one-liners, as a user would type them. The latency one-liner's
// END clears @start so that bpftrace does not print one line per thread that
// was inside a syscall when it stopped.
const (
	bpftraceCount = `tracepoint:raw_syscalls:sys_enter { @[pid, args->id] = count(); }`
	bpftraceLat   = `tracepoint:raw_syscalls:sys_enter { @start[tid] = nsecs; }
tracepoint:raw_syscalls:sys_exit /@start[tid]/ { @lat = hist(nsecs - @start[tid]); delete(@start[tid]); @n[pid, args->id] = count(); }
END { clear(@start); }`
)

// traced is what a tracer counted of one run of a workload.
type traced struct {
	// calls maps a syscall name to the calls the tracer counted for the
	// workload's process; nil for a tracer that counts nothing.
	calls map[string]uint64
	// lost is how many events the tracer says it lost; nil if it does not say.
	lost *uint64
}

// stopFunc stops a tracer once the workload has exited and returns what the
// tracer counted of it. With r nil the run failed: it only stops the tracer.
type stopFunc func(r *workloadReport) (traced, error)

// tracer is one way of watching the workloads.
type tracer struct {
	name    string
	command string // how it is run, for the record
	// slow tracers run each workload's slowN rounds rather than n.
	slow bool
	// only lists the workloads the tracer runs on; nil: all of them.
	only []string
	// tool is the program the tracer needs and pkg the Debian package that
	// has it; the bench installs it when it is missing.
	tool, pkg string
	// attach starts tracing before the workload with this pid starts its
	// measured calls, and returns once every one of them will be seen.
	attach func(ctx context.Context, pid int) (stopFunc, error)
	skip   string // why it is not measured at all, if it is not
}

func (t *tracer) runsOn(mode string) bool {
	return t.only == nil || slices.Contains(t.only, mode)
}

// newTracers lists every tracer, in table order. tlmonBin is the tlmon to
// measure, baseBin (if set) another build of it to measure beside it (-base),
// tmp a directory for the tracers' output files.
func newTracers(tlmonBin, baseBin, tmp string) []*tracer {
	all := []*tracer{
		{name: "none", command: "the workload alone",
			attach: func(context.Context, int) (stopFunc, error) {
				return func(*workloadReport) (traced, error) { return traced{}, nil }, nil
			}},
		{name: "floor", command: "empty raw_tracepoint programs on sys_enter and sys_exit (bench/floor)",
			attach: func(context.Context, int) (stopFunc, error) {
				f, err := floor.Attach()
				if err != nil {
					return nil, err
				}
				return func(*workloadReport) (traced, error) { return traced{}, f.Close() }, nil
			}},
		tlmonTracer("tlmon", tlmonBin),
		tlmonTracer("tlmon-all", tlmonBin, "--classes", "all"),
		// Latency timing matters most where calls are cheapest; elsewhere
		// the row would add minutes and tell little.
		withOnly(tlmonTracer("tlmon-nolat", tlmonBin, "--no-latency"), "getppid"),
		// Latency sampled (issue 22): the clock reads are most of a cheap
		// call's cost.
		withOnly(tlmonTracer("tlmon-sample", tlmonBin, "--sample-latency"), "getppid", "openat-close"),
		// Without detail events a process's life costs tlmon its lifecycle
		// events and counters only: what churn costs apart from detail.
		withOnly(tlmonTracer("tlmon-nodetail", tlmonBin, "--classes", "none"), "spawn"),
		bpftraceTracer("bpftrace-count", bpftraceCount, ""),
		bpftraceTracer("bpftrace-lat", bpftraceLat, "n"),
		perfTracer(tmp),
		straceTracer(tmp),
	}
	if baseBin == "" {
		return all
	}
	// Right after tlmon, so the two read side by side.
	base := []*tracer{tlmonTracer("tlmon-base", baseBin), withOnly(tlmonTracer("tlmon-base-nolat", baseBin, "--no-latency"), "getppid")}
	return slices.Insert(all, 3, base...)
}

func withOnly(t *tracer, modes ...string) *tracer {
	t.only = modes
	return t
}

// tlmonTracer runs tlmon on the whole machine, as a user would: headless,
// with flags, started once the workload is set up and stopped with SIGINT once
// it has exited. Its JSON summary holds the counts of every process.
func tlmonTracer(name, bin string, flags ...string) *tracer {
	return &tracer{name: name, command: "tlmon --headless -o json " + strings.Join(flags, " "),
		attach: func(ctx context.Context, pid int) (stopFunc, error) {
			// One report, the summary at SIGINT; stop reads it once the
			// reader ended.
			var last []byte
			p, err := startHeadless(ctx, bin, func(line []byte) {
				if bytes.HasPrefix(line, []byte("{")) {
					last = bytes.Clone(line)
				}
			}, flags...)
			if err != nil {
				return nil, err
			}
			return func(r *workloadReport) (traced, error) {
				if err := p.stop(0); err != nil {
					return traced{}, err
				}
				if r == nil {
					return traced{}, nil
				}
				if len(last) == 0 {
					return traced{}, fmt.Errorf("no summary in tlmon's output: %s", p.tail())
				}
				return parseTlmonSummary(last, r.PID)
			}, nil
		}}
}

// startHeadless starts `tlmon --headless -o json ARGS` and returns once it
// watches (it says so once its programs are attached). Each report, a line,
// goes to onReport.
func startHeadless(ctx context.Context, bin string, onReport func(line []byte), args ...string) (*tracerProc, error) {
	p, err := startProcWith(ctx, "tlmon", func(l []byte) bool { return bytes.HasPrefix(l, []byte("tlmon: watching")) },
		onReport, nil, bin, append([]string{"--headless", "-o", "json"}, args...)...)
	if err != nil {
		return nil, err
	}
	if err := p.awaitReady(ctx, time.Minute); err != nil {
		return nil, err
	}
	return p, nil
}

// tlmonSummary is the part of tlmon's JSON report the bench reads.
type tlmonSummary struct {
	Processes []struct {
		PID      int    `json:"pid"`
		Comm     string `json:"comm"`
		Alive    bool   `json:"alive"`
		Syscalls []struct {
			Name  string `json:"name"`
			Calls uint64 `json:"calls"`
		} `json:"syscalls"`
	} `json:"processes"`
	Lost struct {
		Total uint64 `json:"total"`
	} `json:"lost"`
}

// parseTlmonSummary reads the counts of process pid and the losses from
// tlmon's last report.
func parseTlmonSummary(report []byte, pid int) (traced, error) {
	var s tlmonSummary
	if err := json.Unmarshal(report, &s); err != nil {
		return traced{}, fmt.Errorf("tlmon's summary: %w", err)
	}
	got := traced{calls: map[string]uint64{}, lost: &s.Lost.Total}
	found := false
	for _, p := range s.Processes {
		if p.PID != pid {
			continue
		}
		found = true
		for _, sc := range p.Syscalls {
			got.calls[sc.Name] += sc.Calls
		}
	}
	if !found {
		return got, fmt.Errorf("tlmon's summary has no process %d", pid)
	}
	return got, nil
}

// bpftraceMapKeys raises bpftrace's limit on the entries of a map (4096 by
// default). Its maps keyed by (pid, syscall) get an entry for every syscall
// every process on the machine makes: a few busy minutes fill 4096, and from
// then on the workload's calls are not counted at all.
const bpftraceMapKeys = "BPFTRACE_MAP_KEYS_MAX=262144"

// bpftraceTracer runs a bpftrace program on the whole machine. Its map
// @mapName, keyed by (pid, syscall number), is the count.
func bpftraceTracer(name, prog, mapName string) *tracer {
	return &tracer{name: name, command: bpftraceMapKeys + " bpftrace -e '" + strings.ReplaceAll(prog, "\n", " ") + "'",
		tool: "bpftrace", pkg: "bpftrace",
		attach: func(ctx context.Context, pid int) (stopFunc, error) {
			p, err := startProcWith(ctx, "bpftrace", func(l []byte) bool { return bytes.HasPrefix(l, []byte("Attaching")) }, nil,
				[]string{bpftraceMapKeys}, "bpftrace", "-e", prog)
			if err != nil {
				return nil, err
			}
			if err := p.awaitReady(ctx, time.Minute); err != nil {
				return nil, err
			}
			// bpftrace says "Attaching" before it attaches; give it time to finish.
			time.Sleep(time.Second)
			return func(r *workloadReport) (traced, error) {
				// An exit status after SIGINT is not a failure in itself; the
				// map in the output decides.
				var ee *exec.ExitError
				if err := p.stop(0); err != nil && !(errors.As(err, &ee) && !ee.Sys().(syscall.WaitStatus).Signaled()) {
					return traced{}, err
				}
				if r == nil {
					return traced{}, nil
				}
				return parseBpftraceMap(p.output(), mapName, r.PID)
			}, nil
		}}
}

// bpftraceLine matches a map entry keyed by (pid, syscall id): "@[123, 110]: 5".
var bpftraceLine = regexp.MustCompile(`^@(\w*)\[(\d+), (\d+)\]: (\d+)$`)

func parseBpftraceMap(lines []string, mapName string, pid int) (traced, error) {
	got := traced{calls: map[string]uint64{}}
	table := syscalls.HostTable()
	found := false
	for _, l := range lines {
		m := bpftraceLine.FindStringSubmatch(l)
		if m == nil || m[1] != mapName || m[2] != strconv.Itoa(pid) {
			continue
		}
		nr, _ := strconv.Atoi(m[3])
		n, _ := strconv.ParseUint(m[4], 10, 64)
		got.calls[table.Name(nr)] += n
		found = true
	}
	if !found {
		entries := 0
		for _, l := range lines {
			if m := bpftraceLine.FindStringSubmatch(l); m != nil && m[1] == mapName {
				entries++
			}
		}
		return got, fmt.Errorf("no @%s[%d, ...] in bpftrace's output (the map has %d entries; full?): %s", mapName, pid, entries, tailLines(lines))
	}
	return got, nil
}

// perfTracer runs `perf trace -s` on the workload's process: a summary table
// per thread, and a "LOST n events!" line for each loss.
func perfTracer(tmp string) *tracer {
	return &tracer{name: "perf-trace", command: "perf trace -s -o FILE -p PID", slow: true,
		tool: "perf", pkg: "linux-perf",
		attach: func(ctx context.Context, pid int) (stopFunc, error) {
			out, err := tempName(tmp, "perf-trace-*.txt")
			if err != nil {
				return nil, err
			}
			p, err := startProc(ctx, "perf trace", nil, "perf", "trace", "-s", "-o", out, "-p", strconv.Itoa(pid))
			if err != nil {
				return nil, err
			}
			if err := awaitPerfEvents(ctx, p, pid); err != nil {
				return nil, err
			}
			return func(r *workloadReport) (traced, error) {
				defer os.Remove(out)
				// perf trace ends by itself once the process has gone, after
				// it has read every event.
				if err := p.stop(2 * time.Minute); err != nil {
					return traced{}, err
				}
				if r == nil {
					return traced{}, nil
				}
				data, err := os.ReadFile(out)
				if err != nil {
					return traced{}, err
				}
				return parsePerfSummary(string(data), r.Threads)
			}, nil
		}}
}

// awaitPerfEvents waits until perf trace has opened its events on every
// thread of pid (an enter and an exit tracepoint for each), then a second
// more for it to enable them: perf says nothing when it is ready.
func awaitPerfEvents(ctx context.Context, p *tracerProc, pid int) error {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		p.kill()
		return err
	}
	fdDir := fmt.Sprintf("/proc/%d/fd", p.cmd.Process.Pid)
	deadline := time.Now().Add(time.Minute)
	for {
		opened := 0
		fds, _ := os.ReadDir(fdDir)
		for _, fd := range fds {
			if target, _ := os.Readlink(filepath.Join(fdDir, fd.Name())); target == "anon_inode:[perf_event]" {
				opened++
			}
		}
		if opened >= 2*len(tasks) {
			time.Sleep(time.Second)
			return nil
		}
		select {
		case <-p.ended:
			p.kill()
			return fmt.Errorf("perf trace ended before it attached: %s", p.tail())
		case <-ctx.Done():
			p.kill()
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.kill()
			return fmt.Errorf("perf trace opened %d of %d events in a minute: %s", opened, 2*len(tasks), p.tail())
		}
	}
}

var (
	perfThread = regexp.MustCompile(`^\s*(.*) \((\d+)\), \d+ events`)
	perfLost   = regexp.MustCompile(`LOST (\d+) events!`)
)

// parsePerfSummary adds up the tables of the threads tids in perf trace -s's
// output:
//
//	wl (12855), 8043 events, 97.3%
//
//	  syscall            calls  errors  total       min  ...
//	  --------------- --------  ------ -------- ---------
//	  openat              2000      0    27.656     0.012 ...
func parsePerfSummary(out string, tids []int) (traced, error) {
	got := traced{calls: map[string]uint64{}, lost: new(uint64)}
	mine := map[string]bool{}
	for _, tid := range tids {
		mine[strconv.Itoa(tid)] = true
	}
	inMine, tables := false, 0
	for line := range strings.Lines(out) {
		if m := perfLost.FindStringSubmatch(line); m != nil {
			n, _ := strconv.ParseUint(m[1], 10, 64)
			*got.lost += n
			continue
		}
		if m := perfThread.FindStringSubmatch(line); m != nil {
			inMine = mine[m[2]]
			if inMine {
				tables++
			}
			continue
		}
		f := strings.Fields(line)
		if !inMine || len(f) < 2 {
			continue
		}
		if n, err := strconv.ParseUint(f[1], 10, 64); err == nil {
			got.calls[f[0]] += n
		}
	}
	if tables == 0 {
		return got, fmt.Errorf("no table of threads %v in perf trace's summary: %q", tids, tail([]byte(out)))
	}
	return got, nil
}

// straceTracer runs `strace -c -f` on the workload's process.
func straceTracer(tmp string) *tracer {
	return &tracer{name: "strace", command: "strace -f -c -U name,calls,errors -S name -o FILE -p PID", slow: true,
		tool: "strace", pkg: "strace",
		attach: func(ctx context.Context, pid int) (stopFunc, error) {
			out, err := tempName(tmp, "strace-*.txt")
			if err != nil {
				return nil, err
			}
			// strace says "Process N attached with M threads" once it has
			// seized every thread.
			p, err := startProc(ctx, "strace", func(l []byte) bool { return bytes.Contains(l, []byte("attached")) },
				"strace", "-f", "-c", "-U", "name,calls,errors", "-S", "name", "-o", out, "-p", strconv.Itoa(pid))
			if err != nil {
				return nil, err
			}
			if err := p.awaitReady(ctx, time.Minute); err != nil {
				return nil, err
			}
			return func(r *workloadReport) (traced, error) {
				defer os.Remove(out)
				if err := p.stop(time.Minute); err != nil { // strace ends with its process
					return traced{}, err
				}
				if r == nil {
					return traced{}, nil
				}
				data, err := os.ReadFile(out)
				if err != nil {
					return traced{}, err
				}
				return parseStraceSummary(string(data))
			}, nil
		}}
}

// parseStraceSummary reads the table of "strace -c -U name,calls,errors".
func parseStraceSummary(data string) (traced, error) {
	calls, _, err := strace.ParseSummary(data)
	return traced{calls: calls}, err
}

func tempName(dir, pattern string) (string, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return "", err
	}
	f.Close()
	return f.Name(), nil
}

// tracerProc is a tracer's process. The lines it writes on stdout and stderr
// are collected as they come, and the first line that isReady accepts marks
// it ready.
type tracerProc struct {
	name  string
	cmd   *exec.Cmd
	ready chan struct{}
	ended chan struct{} // closed when both outputs are closed: the process is gone

	mu    sync.Mutex
	lines []string
}

func startProc(ctx context.Context, name string, isReady func(line []byte) bool, prog string, args ...string) (*tracerProc, error) {
	return startProcWith(ctx, name, isReady, nil, nil, prog, args...)
}

// startProcWith is startProc that hands each stdout line to onStdout rather
// than keeping it, when onStdout is not nil, and adds env to the environment.
func startProcWith(ctx context.Context, name string, isReady func(line []byte) bool, onStdout func(line []byte), env []string, prog string, args ...string) (*tracerProc, error) {
	p := &tracerProc{name: name, cmd: exec.CommandContext(ctx, prog, args...), ready: make(chan struct{}), ended: make(chan struct{})}
	if env != nil {
		p.cmd.Env = append(os.Environ(), env...)
	}
	// Pipes of our own rather than StdoutPipe, which Wait closes before the
	// last lines may have been read.
	var readers, writers []*os.File
	for range 2 {
		r, w, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		readers, writers = append(readers, r), append(writers, w)
	}
	p.cmd.Stdout, p.cmd.Stderr = writers[0], writers[1]
	err := p.cmd.Start()
	for _, w := range writers {
		w.Close()
	}
	if err != nil {
		for _, r := range readers {
			r.Close()
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var once sync.Once
	var wg sync.WaitGroup
	for i, r := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer r.Close()
			sc := bufio.NewScanner(r)
			sc.Buffer(nil, 512<<20) // tlmon's JSON report is one line, megabytes on a busy machine
			for sc.Scan() {
				// On the bytes: a report of tlmon's can be megabytes, and
				// this runs beside the workload being measured.
				if isReady != nil && isReady(sc.Bytes()) {
					once.Do(func() { close(p.ready) })
				}
				if i == 0 && onStdout != nil {
					onStdout(sc.Bytes())
					continue
				}
				p.mu.Lock()
				p.lines = append(p.lines, sc.Text())
				p.mu.Unlock()
			}
			io.Copy(io.Discard, r)
		}()
	}
	go func() {
		wg.Wait()
		close(p.ended)
	}()
	return p, nil
}

// awaitReady waits for the ready line; on failure it kills the process.
func (p *tracerProc) awaitReady(ctx context.Context, timeout time.Duration) error {
	select {
	case <-p.ready:
		return nil
	case <-p.ended:
		err := p.cmd.Wait()
		return fmt.Errorf("%s ended before it was ready (%v): %s", p.name, err, p.tail())
	case <-time.After(timeout):
		p.kill()
		return fmt.Errorf("%s not ready after %v: %s", p.name, timeout, p.tail())
	case <-ctx.Done():
		p.kill()
		return ctx.Err()
	}
}

// stop ends the tracer. It waits up to grace for it to end by itself (perf
// trace and strace do when their process has exited), then sends SIGINT, a
// user's Ctrl-C, on which every one of them prints its summary and exits. One
// that still runs a minute later is killed.
func (p *tracerProc) stop(grace time.Duration) error {
	exited := make(chan error, 1)
	go func() {
		<-p.ended
		exited <- p.cmd.Wait()
	}()
	result := func(err error) error {
		if err != nil {
			return fmt.Errorf("%s: %w: %s", p.name, err, p.tail())
		}
		return nil
	}
	select {
	case err := <-exited:
		return result(err)
	case <-time.After(grace):
	}
	p.cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-exited:
		return result(err)
	case <-time.After(time.Minute):
		p.cmd.Process.Kill()
		<-exited
		return fmt.Errorf("%s did not stop within a minute of SIGINT: %s", p.name, p.tail())
	}
}

func (p *tracerProc) kill() {
	p.cmd.Process.Kill()
	<-p.ended
	p.cmd.Wait()
}

func (p *tracerProc) output() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lines
}

func (p *tracerProc) tail() string { return tailLines(p.output()) }

// tailLines is the end of some output, for error messages.
func tailLines(lines []string) string {
	var b strings.Builder
	for i := max(0, len(lines)-8); i < len(lines); i++ {
		l := lines[i]
		if len(l) > 200 {
			l = l[:200] + "…"
		}
		b.WriteString(l + "\n")
	}
	return tail([]byte(b.String()))
}

// tail is the end of a command's output, for error messages.
func tail(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 500 {
		s = "…" + s[len(s)-500:]
	}
	return s
}

// toolProblem says why a tracer's tool cannot run, or "" if it can. A missing
// tool is installed with apt-get, as root may (and the bench runs as root).
// Its tracepoints need tracefs; where nothing mounted it (a bare VM), it is
// mounted, as perf and bpftrace users would.
func toolProblem(t *tracer, installed map[string]string) string {
	if t.tool == "" {
		return ""
	}
	why, done := installed[t.tool]
	if !done {
		why = ensureTool(t.tool, t.pkg)
		installed[t.tool] = why
	}
	if why != "" {
		return why
	}
	dir, err := tracefs.Dir()
	if err != nil {
		return fmt.Sprintf("tracefs, which %s's tracepoints need: %v", t.tool, err)
	}
	if t.tool == "perf" {
		// perf trace uses the syscalls:* tracepoints, one per syscall.
		if _, err := os.Stat(filepath.Join(dir, "events/syscalls")); err != nil {
			return "the kernel has no syscalls:* tracepoints (CONFIG_FTRACE_SYSCALLS), which perf trace needs"
		}
	}
	return ""
}

// ensureTool installs pkg with apt-get when tool is not in PATH.
func ensureTool(tool, pkg string) string {
	if _, err := exec.LookPath(tool); err == nil {
		return ""
	}
	if err := devtool.AptInstall(context.Background(), "bench", pkg); err != nil {
		return fmt.Sprintf("%s is not installed: %v", tool, err)
	}
	if _, err := exec.LookPath(tool); err != nil {
		return fmt.Sprintf("apt-get install -y %s did not install %s", pkg, tool)
	}
	return ""
}

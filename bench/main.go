// Command bench measures what tracing every system call costs: it runs the
// workload's `getppid N` (N calls of the cheapest syscall there is, in one
// thread) alone and under each tracer, and reports the time each tracer adds
// per call, next to the floor, the least any raw-tracepoint tracer costs.
//
//	sudo go run ./bench [-n 10000000] [-reps 5] [-out bench/results] [-quick]
//
// The tracers run in turn within each repetition, in an order that rotates
// from one repetition to the next, so that slow phases of a noisy machine fall
// on all of them alike; the median over repetitions is what counts. The wall
// time of a run is the workload's own elapsed_ns, the measured loop alone,
// without process start-up or the tracer's.
//
// See README.md next to this file for how to read the results.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"tlmon/bench/floor"
)

// getppidNr is getppid's number on x86_64, the key bpftrace counts under. The
// floor object is built for amd64 only, so the bench is too.
const getppidNr = 110

// runTimeout bounds one run; 10 M calls under bpftrace's latency one-liner take
// about 20 s here.
const runTimeout = 10 * time.Minute

// The bpftrace one-liners, as a user would type them. The latency one-liner's
// END clears @start so that bpftrace does not print one line per thread that
// was inside a syscall when it stopped.
const (
	bpftraceCount = `tracepoint:raw_syscalls:sys_enter { @[pid, args->id] = count(); }`
	bpftraceLat   = `tracepoint:raw_syscalls:sys_enter { @start[tid] = nsecs; }
tracepoint:raw_syscalls:sys_exit /@start[tid]/ { @lat = hist(nsecs - @start[tid]); delete(@start[tid]); @n[pid, args->id] = count(); }
END { clear(@start); }`
)

// outcome is what one run of the workload under one tracer gave.
type outcome struct {
	elapsed time.Duration // the workload's elapsed_ns
	exact   *bool         // whether the tracer counted every call; nil if it does not count
}

// tracer is one way of running the workload.
type tracer struct {
	name    string
	command string // how it is run, for the record
	run     func(ctx context.Context, n int) (outcome, error)
	skip    string // why it is not measured, if it is not
}

// Result is one row of the table, and of the JSON file.
type Result struct {
	Name    string `json:"name"`
	Command string `json:"command"`
	Skipped string `json:"skipped,omitempty"`
	// ElapsedNS holds the wall time of each successful repetition, in order.
	ElapsedNS []int64 `json:"elapsed_ns"`
	MedianNS  int64   `json:"median_ns,omitempty"`
	MinNS     int64   `json:"min_ns,omitempty"`
	MaxNS     int64   `json:"max_ns,omitempty"`
	// AddedNSPerCall is (median − none's median) / N; XFloor is that over the
	// floor's. Both are absent for none itself (and XFloor for the floor
	// when its added cost is not positive).
	AddedNSPerCall *float64 `json:"added_ns_per_call,omitempty"`
	XFloor         *float64 `json:"x_floor,omitempty"`
	// Exact is true when the tracer counted exactly N getppid calls of the
	// workload's pid (and tlmon reported no loss) in every repetition; absent
	// for none and the floor, which count nothing.
	Exact       *bool    `json:"exact,omitempty"`
	ExactReps   int      `json:"exact_reps,omitempty"`
	CheckedReps int      `json:"checked_reps,omitempty"`
	Errors      []string `json:"errors,omitempty"`
}

// Verdict compares tlmon with the targets of the issue. The targets are
// reported, not asserted: the machine is noisy.
type Verdict struct {
	TlmonXFloor        *float64 `json:"tlmon_x_floor"`        // target ≤ 3
	TlmonBelowBpftrace *bool    `json:"tlmon_below_bpftrace"` // target true
	NoLatXFloor        *float64 `json:"tlmon_nolat_x_floor"`  // target ≤ 2
	Met                *bool    `json:"met"`                  // all three, when all are known
	Line               string   `json:"line"`
}

// Report is the JSON file.
type Report struct {
	Date     string   `json:"date"`
	Kernel   string   `json:"kernel"`
	CPUs     int      `json:"cpus"`
	CPUModel string   `json:"cpu_model"`
	N        int      `json:"n"`
	Reps     int      `json:"reps"`
	Order    []string `json:"order"` // the order of the first repetition; later ones rotate it
	Warnings []string `json:"warnings,omitempty"`
	Tracers  []Result `json:"tracers"`
	Verdict  Verdict  `json:"verdict"`
}

func main() {
	n := flag.Int("n", 10_000_000, "getppid calls per run")
	reps := flag.Int("reps", 5, "repetitions of every tracer")
	out := flag.String("out", "", "results directory (default: bench/results in the module)")
	quick := flag.Bool("quick", false, "a quick look: -n 1000000 -reps 2")
	flag.Parse()
	if *quick {
		*n, *reps = 1_000_000, 2
	}
	if *n <= 0 || *reps <= 0 || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*n, *reps, *out); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}

func run(n, reps int, out string) error {
	if runtime.GOARCH != "amd64" {
		return fmt.Errorf("written for amd64 (getppid is syscall %d there), not %s", getppidNr, runtime.GOARCH)
	}
	if os.Geteuid() != 0 {
		return errors.New("must run as root: it loads BPF programs (sudo go run ./bench)")
	}
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	if out == "" {
		out = filepath.Join(root, "bench", "results")
	}

	// Build into a temp dir, so the bench measures the code as it is now and
	// leaves no binaries behind.
	bin, err := os.MkdirTemp("", "tlmon-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(bin)
	tlmon, workload := filepath.Join(bin, "tlmon"), filepath.Join(bin, "workload")
	for _, b := range [][2]string{{tlmon, "."}, {workload, "./workload"}} {
		cmd := exec.Command("go", "build", "-o", b[0], b[1])
		cmd.Dir, cmd.Stdout, cmd.Stderr = root, os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("go build %s: %w", b[1], err)
		}
	}

	rep := Report{Date: time.Now().UTC().Format(time.RFC3339), Kernel: kernel(), CPUs: runtime.NumCPU(), CPUModel: cpuModel(), N: n, Reps: reps}
	warn := func(format string, a ...any) {
		w := fmt.Sprintf(format, a...)
		rep.Warnings = append(rep.Warnings, w)
		fmt.Fprintln(os.Stderr, "bench: warning:", w)
	}
	// Another tracer on sys_enter/sys_exit slows every run, the baseline too,
	// and makes the differences meaningless.
	if others, err := floor.Others(); err != nil {
		warn("could not list attached BPF links: %v", err)
	} else if len(others) > 0 {
		warn("other programs are attached to the syscall tracepoints and slow every run: %s", strings.Join(others, ", "))
	}

	tracers := []*tracer{
		{name: "none", command: "workload getppid N",
			run: func(ctx context.Context, n int) (outcome, error) {
				r, err := runWorkload(ctx, exec.CommandContext(ctx, workload, "getppid", strconv.Itoa(n)), n)
				return outcome{elapsed: r.elapsed()}, err
			}},
		{name: "floor", command: "empty raw_tracepoint programs on sys_enter and sys_exit (bench/floor)",
			run: func(ctx context.Context, n int) (outcome, error) {
				f, err := floor.Attach()
				if err != nil {
					return outcome{}, err
				}
				defer f.Close()
				r, err := runWorkload(ctx, exec.CommandContext(ctx, workload, "getppid", strconv.Itoa(n)), n)
				return outcome{elapsed: r.elapsed()}, err
			}},
		{name: "tlmon", command: "tlmon --headless -o json -- workload getppid N",
			run: func(ctx context.Context, n int) (outcome, error) {
				return runTlmon(ctx, tlmon, workload, n)
			}},
		{name: "tlmon-nolat", command: "tlmon --headless -o json --no-latency -- workload getppid N",
			run: func(ctx context.Context, n int) (outcome, error) {
				return runTlmon(ctx, tlmon, workload, n, "--no-latency")
			}},
		{name: "bpftrace-count", command: "bpftrace -e '" + bpftraceCount + "'",
			run: func(ctx context.Context, n int) (outcome, error) {
				return runBpftrace(ctx, bpftraceCount, "", workload, n)
			}},
		{name: "bpftrace-lat", command: "bpftrace -e '" + strings.ReplaceAll(bpftraceLat, "\n", " ") + "'",
			run: func(ctx context.Context, n int) (outcome, error) {
				return runBpftrace(ctx, bpftraceLat, "n", workload, n)
			}},
	}
	if why := bpftraceUsable(); why != "" {
		for _, t := range tracers[4:] {
			t.skip = why
		}
	}

	// A small run of each first: it checks that everything works before the
	// long runs, skips what does not, and warms the page cache and the
	// kernel's BTF parsing alike for all.
	for _, t := range tracers {
		if t.skip != "" {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
		o, err := t.run(ctx, 10_000)
		cancel()
		switch {
		case err != nil && t.name == "none":
			return fmt.Errorf("the workload alone fails: %w", err)
		case err != nil:
			t.skip = fmt.Sprintf("trial run failed: %v", err)
		case o.exact != nil && !*o.exact:
			warn("%s miscounted in the trial run", t.name)
		}
		if t.skip != "" {
			fmt.Fprintf(os.Stderr, "bench: skipping %s: %s\n", t.name, t.skip)
		}
	}

	results := make([]Result, len(tracers))
	for i, t := range tracers {
		results[i] = Result{Name: t.name, Command: t.command, Skipped: t.skip, ElapsedNS: []int64{}}
		rep.Order = append(rep.Order, t.name)
	}
	fmt.Fprintf(os.Stderr, "bench: %d × getppid, %d repetitions, kernel %s, %d CPUs\n", n, reps, rep.Kernel, rep.CPUs)
	// Others on the machine (tests, another tlmon) may attach to the syscall
	// tracepoints at any time; note which runs began while they were.
	disturbed, runs := 0, 0
	seen := map[string]bool{}
	for r := 0; r < reps; r++ {
		for k := range tracers {
			i := (k + r) % len(tracers) // rotate: each tracer takes each place in turn
			t, res := tracers[i], &results[i]
			if t.skip != "" {
				continue
			}
			runs++
			if others, _ := floor.Others(); len(others) > 0 {
				disturbed++
				for _, o := range others {
					seen[o] = true
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
			o, err := t.run(ctx, n)
			cancel()
			if err != nil {
				res.Errors = append(res.Errors, fmt.Sprintf("rep %d: %v", r+1, err))
				fmt.Fprintf(os.Stderr, "bench: rep %d/%d %-15s failed: %v\n", r+1, reps, t.name, err)
				continue
			}
			res.ElapsedNS = append(res.ElapsedNS, o.elapsed.Nanoseconds())
			note := ""
			if o.exact != nil {
				res.CheckedReps++
				note = " exact"
				if *o.exact {
					res.ExactReps++
				} else {
					note = " MISCOUNTED"
				}
			}
			fmt.Fprintf(os.Stderr, "bench: rep %d/%d %-15s %6.2fs%s\n", r+1, reps, t.name, o.elapsed.Seconds(), note)
		}
	}
	if disturbed > 0 {
		warn("%d of %d runs began with other programs on the syscall tracepoints: %s",
			disturbed, runs, strings.Join(slices.Sorted(maps.Keys(seen)), ", "))
	}

	summarize(results, n)
	rep.Tracers = results
	rep.Verdict = verdict(results)
	printTable(os.Stdout, rep)
	return writeReport(out, rep)
}

// moduleRoot is the directory of the go.mod the bench belongs to, so that it
// can be run from anywhere inside the module.
func moduleRoot() (string, error) {
	b, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(b))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside the tlmon module: run from the repository")
	}
	return filepath.Dir(mod), nil
}

// workloadReport is the part of the workload's JSON line the bench reads.
type workloadReport struct {
	Mode      string            `json:"mode"`
	PID       int               `json:"pid"`
	Calls     map[string]uint64 `json:"calls"`
	ElapsedNS int64             `json:"elapsed_ns"`
}

func (w workloadReport) elapsed() time.Duration { return time.Duration(w.ElapsedNS) }

// parseWorkload finds the workload's report among the lines of out (tlmon
// writes its own summary to the same stdout) and checks that the workload
// made exactly n getppid calls; every exactness check below rests on that.
func parseWorkload(out []byte, n int) (workloadReport, error) {
	for _, line := range bytes.Split(out, []byte("\n")) {
		var w workloadReport
		if json.Unmarshal(line, &w) != nil || w.Mode == "" {
			continue
		}
		if w.Calls["getppid"] != uint64(n) || w.ElapsedNS <= 0 {
			return w, fmt.Errorf("workload reported %d getppid calls in %dns, want %d calls", w.Calls["getppid"], w.ElapsedNS, n)
		}
		return w, nil
	}
	return workloadReport{}, fmt.Errorf("no workload report in the output: %q", tail(out))
}

// runWorkload runs cmd (the workload, or a tracer that runs it) to its end
// and returns the workload's report.
func runWorkload(ctx context.Context, cmd *exec.Cmd, n int) (workloadReport, error) {
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return workloadReport{}, fmt.Errorf("%s: %v: %s", filepath.Base(cmd.Path), err, tail(stderr.Bytes()))
	}
	w, err := parseWorkload(stdout.Bytes(), n)
	if err != nil {
		return w, fmt.Errorf("%w (stderr: %s)", err, tail(stderr.Bytes()))
	}
	return w, nil
}

// runTlmon runs the workload under tlmon and checks tlmon's count of getppid
// against the workload's, and that tlmon reported no loss.
func runTlmon(ctx context.Context, tlmon, workload string, n int, flags ...string) (outcome, error) {
	args := append([]string{"--headless", "-o", "json"}, flags...)
	args = append(args, "--", workload, "getppid", strconv.Itoa(n))
	cmd := exec.CommandContext(ctx, tlmon, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return outcome{}, fmt.Errorf("tlmon: %v: %s", err, tail(stderr.Bytes()))
	}
	w, err := parseWorkload(stdout.Bytes(), n)
	if err != nil {
		return outcome{}, err
	}
	// tlmon's summary is the line with a syscalls table.
	var summary struct {
		Syscalls []struct {
			Name  string `json:"name"`
			Calls uint64 `json:"calls"`
		} `json:"syscalls"`
		Lost struct {
			Total uint64 `json:"total"`
		} `json:"lost"`
	}
	found := false
	for _, line := range bytes.Split(stdout.Bytes(), []byte("\n")) {
		if bytes.Contains(line, []byte(`"syscalls"`)) && json.Unmarshal(line, &summary) == nil {
			found = true
		}
	}
	if !found {
		return outcome{}, fmt.Errorf("no tlmon summary in the output: %q", tail(stdout.Bytes()))
	}
	var counted uint64
	for _, s := range summary.Syscalls {
		if s.Name == "getppid" {
			counted += s.Calls
		}
	}
	exact := counted == w.Calls["getppid"] && summary.Lost.Total == 0
	if !exact {
		fmt.Fprintf(os.Stderr, "bench: tlmon %v counted %d getppid (workload: %d), lost %d\n", flags, counted, w.Calls["getppid"], summary.Lost.Total)
	}
	return outcome{elapsed: w.elapsed(), exact: &exact}, nil
}

// bpftraceUsable says why the bpftrace rows cannot run, or "" if they can. Its
// tracepoints need tracefs; where nothing mounted it (a bare VM), mount it, as
// perf and bpftrace users would.
func bpftraceUsable() string {
	if _, err := exec.LookPath("bpftrace"); err != nil {
		return "bpftrace is not installed (apt-get install bpftrace)"
	}
	for _, dir := range []string{"/sys/kernel/tracing", "/sys/kernel/debug/tracing"} {
		if _, err := os.Stat(filepath.Join(dir, "events/raw_syscalls")); err == nil {
			return ""
		}
	}
	if err := unix.Mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, ""); err != nil {
		return fmt.Sprintf("tracefs is not mounted and mounting it failed: %v", err)
	}
	fmt.Fprintln(os.Stderr, "bench: mounted tracefs on /sys/kernel/tracing for bpftrace's tracepoints")
	return ""
}

// bpftraceLine matches a map entry keyed by (pid, syscall id): "@[123, 110]: 5".
var bpftraceLine = regexp.MustCompile(`^@(\w*)\[(\d+), (\d+)\]: (\d+)$`)

// runBpftrace starts bpftrace with prog, waits until it has attached, runs the
// workload, stops bpftrace with SIGINT (as a user's Ctrl-C) and checks that the
// map entry @mapName[workload pid, getppid] holds exactly the workload's count.
func runBpftrace(ctx context.Context, prog, mapName, workload string, n int) (outcome, error) {
	bt := exec.CommandContext(ctx, "bpftrace", "-e", prog)
	// One pipe for stdout and stderr: "Attaching N probes..." goes to stdout,
	// errors to stderr, and either may be the last thing it says.
	pr, pw, err := os.Pipe()
	if err != nil {
		return outcome{}, err
	}
	bt.Stdout, bt.Stderr = pw, pw
	if err := bt.Start(); err != nil {
		pr.Close()
		pw.Close()
		return outcome{}, err
	}
	pw.Close()
	stopped := false
	defer func() {
		if !stopped {
			bt.Process.Kill()
			bt.Wait()
		}
	}()

	var mu sync.Mutex
	var lines []string
	attached := make(chan struct{})
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		defer pr.Close()
		sc := bufio.NewScanner(pr)
		sc.Buffer(nil, 1<<20)
		once := sync.OnceFunc(func() { close(attached) })
		for sc.Scan() {
			mu.Lock()
			lines = append(lines, sc.Text())
			mu.Unlock()
			if strings.HasPrefix(sc.Text(), "Attaching") {
				once()
			}
		}
		io.Copy(io.Discard, pr)
	}()
	output := func() string {
		mu.Lock()
		defer mu.Unlock()
		return tail([]byte(strings.Join(lines, "\n")))
	}
	select {
	case <-attached:
	case <-readDone:
		return outcome{}, fmt.Errorf("bpftrace ended before attaching: %s", output())
	case <-ctx.Done():
		return outcome{}, fmt.Errorf("bpftrace did not attach: %s", output())
	}
	// bpftrace says "Attaching" before it attaches; give it time to finish.
	time.Sleep(time.Second)

	w, err := runWorkload(ctx, exec.CommandContext(ctx, workload, "getppid", strconv.Itoa(n)), n)
	if err != nil {
		return outcome{}, err
	}
	stopped = true
	if err := bt.Process.Signal(os.Interrupt); err != nil {
		return outcome{}, err
	}
	<-readDone
	if err := bt.Wait(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signaled() {
			return outcome{}, fmt.Errorf("bpftrace: %v: %s", err, output())
		}
		// An exit status after SIGINT is not a failure in itself; the map
		// output below decides.
	}

	var counted uint64
	found := false
	for _, l := range lines {
		m := bpftraceLine.FindStringSubmatch(l)
		if m == nil || m[1] != mapName || m[2] != strconv.Itoa(w.PID) || m[3] != strconv.Itoa(getppidNr) {
			continue
		}
		counted, _ = strconv.ParseUint(m[4], 10, 64)
		found = true
	}
	if !found {
		return outcome{}, fmt.Errorf("no @%s[%d, %d] in bpftrace's output: %s", mapName, w.PID, getppidNr, output())
	}
	exact := counted == w.Calls["getppid"]
	if !exact {
		fmt.Fprintf(os.Stderr, "bench: bpftrace counted %d getppid (workload: %d)\n", counted, w.Calls["getppid"])
	}
	return outcome{elapsed: w.elapsed(), exact: &exact}, nil
}

// summarize fills in the statistics of every row.
func summarize(results []Result, n int) {
	for i := range results {
		r := &results[i]
		if len(r.ElapsedNS) == 0 {
			continue
		}
		s := slices.Sorted(slices.Values(r.ElapsedNS))
		r.MinNS, r.MaxNS = s[0], s[len(s)-1]
		if m := len(s) / 2; len(s)%2 == 1 {
			r.MedianNS = s[m]
		} else {
			r.MedianNS = (s[m-1] + s[m]) / 2
		}
		if r.CheckedReps > 0 {
			exact := r.ExactReps == r.CheckedReps
			r.Exact = &exact
		}
	}
	none, fl := find(results, "none"), find(results, "floor")
	if none == nil || none.MedianNS == 0 {
		return
	}
	for i := range results {
		r := &results[i]
		if r.Name == "none" || r.MedianNS == 0 {
			continue
		}
		added := float64(r.MedianNS-none.MedianNS) / float64(n)
		r.AddedNSPerCall = &added
	}
	if fl == nil || fl.AddedNSPerCall == nil || *fl.AddedNSPerCall <= 0 {
		return // no floor to compare with (or noise swallowed it)
	}
	for i := range results {
		r := &results[i]
		if r.AddedNSPerCall != nil {
			x := *r.AddedNSPerCall / *fl.AddedNSPerCall
			r.XFloor = &x
		}
	}
}

func find(results []Result, name string) *Result {
	for i := range results {
		if results[i].Name == name {
			return &results[i]
		}
	}
	return nil
}

// verdict checks tlmon against the targets: its default added cost at most 3×
// the floor's and below bpftrace-count's; with --no-latency at most 2×.
func verdict(results []Result) Verdict {
	var v Verdict
	tl, nolat, bt := find(results, "tlmon"), find(results, "tlmon-nolat"), find(results, "bpftrace-count")
	if tl != nil {
		v.TlmonXFloor = tl.XFloor
		if tl.AddedNSPerCall != nil && bt != nil && bt.AddedNSPerCall != nil {
			below := *tl.AddedNSPerCall < *bt.AddedNSPerCall
			v.TlmonBelowBpftrace = &below
		}
	}
	if nolat != nil {
		v.NoLatXFloor = nolat.XFloor
	}
	met := func(ok bool) string {
		if ok {
			return "met"
		}
		return "NOT met"
	}
	var parts []string
	all, known := true, true
	if x := v.TlmonXFloor; x != nil {
		parts = append(parts, fmt.Sprintf("tlmon %.2f× floor (≤ 3×: %s)", *x, met(*x <= 3)))
		all = all && *x <= 3
	} else {
		parts, known = append(parts, "tlmon ×floor unknown"), false
	}
	if b := v.TlmonBelowBpftrace; b != nil {
		parts = append(parts, fmt.Sprintf("%s vs bpftrace-count %s per call (below: %s)",
			ns(*tl.AddedNSPerCall), ns(*bt.AddedNSPerCall), met(*b)))
		all = all && *b
	} else {
		parts, known = append(parts, "bpftrace-count comparison unknown"), false
	}
	if x := v.NoLatXFloor; x != nil {
		parts = append(parts, fmt.Sprintf("tlmon --no-latency %.2f× floor (≤ 2×: %s)", *x, met(*x <= 2)))
		all = all && *x <= 2
	} else {
		parts, known = append(parts, "tlmon --no-latency ×floor unknown"), false
	}
	if known {
		v.Met = &all
	}
	v.Line = "verdict: " + strings.Join(parts, "; ")
	return v
}

// printTable writes the table and the verdict.
func printTable(w io.Writer, rep Report) {
	fmt.Fprintf(w, "%d × getppid, median of %d reps; kernel %s, %d × %s\n", rep.N, rep.Reps, rep.Kernel, rep.CPUs, rep.CPUModel)
	fmt.Fprintf(w, "%-15s %-8s %-13s %-11s %-7s %s\n", "tracer", "median", "spread", "added/call", "×floor", "exact")
	for _, r := range rep.Tracers {
		if r.Skipped != "" || len(r.ElapsedNS) == 0 {
			why := r.Skipped
			if why == "" {
				why = "every repetition failed"
			}
			fmt.Fprintf(w, "%-15s skipped: %s\n", r.Name, why)
			continue
		}
		added, x, exact := "—", "—", "—"
		if r.AddedNSPerCall != nil {
			added = ns(*r.AddedNSPerCall)
		}
		if r.XFloor != nil {
			x = fmt.Sprintf("%.2f", *r.XFloor)
		}
		if r.Exact != nil {
			exact = "yes"
			if !*r.Exact {
				exact = fmt.Sprintf("NO (%d/%d)", r.ExactReps, r.CheckedReps)
			}
		}
		spread := fmt.Sprintf("%.2f–%.2f", secs(r.MinNS), secs(r.MaxNS))
		if len(r.Errors) > 0 {
			exact += fmt.Sprintf(" (%d failed runs)", len(r.Errors))
		}
		fmt.Fprintf(w, "%-15s %-8s %-13s %-11s %-7s %s\n", r.Name, fmt.Sprintf("%.2fs", secs(r.MedianNS)), spread, added, x, exact)
	}
	fmt.Fprintln(w, rep.Verdict.Line)
	for _, warning := range rep.Warnings {
		fmt.Fprintln(w, "warning:", warning)
	}
}

func secs(nsec int64) float64 { return float64(nsec) / 1e9 }

// ns formats a per-call cost: "105ns", "1.7µs".
func ns(v float64) string {
	if v >= 1000 || v <= -1000 {
		return fmt.Sprintf("%.1fµs", v/1000)
	}
	return fmt.Sprintf("%.0fns", v)
}

// writeReport writes the report to bench-<date>.json and latest.json in dir,
// each through a temp file and a rename, so neither is ever half written.
func writeReport(dir string, rep Report) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	t, _ := time.Parse(time.RFC3339, rep.Date)
	dated := filepath.Join(dir, "bench-"+t.Format("2006-01-02-150405")+".json")
	for _, name := range []string{dated, filepath.Join(dir, "latest.json")} {
		if err := os.WriteFile(name+".tmp", data, 0o644); err != nil {
			return err
		}
		if err := os.Rename(name+".tmp", name); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "bench: wrote %s and latest.json\n", dated)
	return nil
}

func kernel() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "unknown"
	}
	return unix.ByteSliceToString(u.Release[:])
}

func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	for line := range strings.Lines(string(data)) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// tail is the end of a command's output, for error messages.
func tail(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 500 {
		s = "…" + s[len(s)-500:]
	}
	return s
}

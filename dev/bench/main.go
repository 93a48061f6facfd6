// Command bench measures what tracing every system call costs, and what tlmon
// itself costs:
//
//	sudo go run ./dev/bench [-quick] [-reps 3] [-scale 1] [-workloads LIST] [-tracers LIST] [-extras LIST] [-churn-time 10m]
//
// In one run it runs each workload (the project's ../workload: getppid,
// openat-close, connect, fork, mix2, spawn) alone and under each tracer (the
// floor, tlmon in four configurations, bpftrace, perf trace, strace), and
// reports the time each tracer adds per syscall (and per process started),
// next to the floor, the least any raw-tracepoint tracer costs, and whether it
// counted every call. It then measures tlmon's own CPU use with 2,000 idle
// processes, its memory around a storm of forks, its start-up time, the
// collector's event rate, the machine's rate of starting processes under
// tlmon, tlmon's CPU and memory under a steady churn of processes, and the
// kernel's run time of each BPF program; checks the results against the
// targets of issues 6 and 16 (reported, never asserted), and writes them as
// tables, JSON and docs/performance.md.
//
// Within a workload, each repetition runs every tracer once, in an order that
// rotates from one repetition to the next, so that slow phases of a noisy
// machine fall on all of them alike; the median over repetitions is what
// counts. The wall time of a run is the workload's own elapsed_ns, the
// measured loop alone, without process start-up or the tracer's: the workload
// sets up, the tracer attaches, and only then do the measured calls start.
//
// See README.md next to this file for how to read the results.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"tlmon/dev/bench/floor"
	"tlmon/dev/internal/devtool"
)

// runTimeout bounds one run; 10 M calls under bpftrace's latency one-liner take
// about 20 s here.
const runTimeout = 10 * time.Minute

// options are the command line.
type options struct {
	base      string // -base: an earlier tlmon to measure beside this one
	reps      int
	scale     float64
	quick     bool
	workloads []string // modes to run; all when nil
	tracers   []string // tracers to run besides none and floor; all when empty
	extras    []string // extra measurements: cpu, rss, startup, collector
	cpuTime   time.Duration
	churnTime time.Duration // of churn-monitor
	out, doc  string
	args      []string // as given, for the record
}

// allExtras are the measurements besides the workloads, in the order they run.
var allExtras = []string{"cpu", "rss", "startup", "collector", "spawn-rate", "churn-monitor", "churn-headless", "bpf-stats", "history"}

func main() {
	var o options
	var workloadList, tracerList, extraList string
	flag.IntVar(&o.reps, "reps", 3, "repetitions of every cell")
	flag.Float64Var(&o.scale, "scale", 1, "multiply every workload's N (and the fork storm) by this")
	flag.BoolVar(&o.quick, "quick", false, "a quick look, a few minutes: -scale 0.1 -reps 2, CPU measured for 5s, startup 3 times, churn-monitor for 60s")
	flag.StringVar(&workloadList, "workloads", "", "comma list of workloads to run (default all: getppid,openat-close,connect,fork,mix2,spawn; \"none\" for none)")
	flag.StringVar(&tracerList, "tracers", "", "comma list of tracers to run besides none and floor (default all: tlmon,tlmon-all,tlmon-nolat,tlmon-sample,tlmon-nodetail,bpftrace-count,bpftrace-lat,perf-trace,strace)")
	flag.StringVar(&extraList, "extras", "", "comma list of extra measurements (default all: "+strings.Join(allExtras, ",")+"; \"none\" for none)")
	flag.DurationVar(&o.cpuTime, "cpu-time", 30*time.Second, "how long tlmon's CPU use is measured, per configuration")
	flag.DurationVar(&o.churnTime, "churn-time", 10*time.Minute, "how long churn-monitor starts 500 processes a second under the interactive tlmon (60s with -quick)")
	flag.StringVar(&o.base, "base", "", "another tlmon binary (an earlier build) measured beside this one as tracers tlmon-base and tlmon-base-nolat, for before/after comparisons in one run")
	flag.StringVar(&o.out, "out", "", "results directory (default: dev/bench/results in the module)")
	flag.StringVar(&o.doc, "doc", "", "markdown report to write (default: docs/performance.md on a full run, none on -quick or a partial run)")
	flag.Parse()
	o.args = os.Args[1:]
	if o.quick {
		o.scale, o.reps = 0.1, 2
		if !flagSet("cpu-time") {
			o.cpuTime = 5 * time.Second
		}
		if !flagSet("churn-time") {
			o.churnTime = time.Minute
		}
	}
	o.workloads, o.tracers, o.extras = devtool.SplitList(workloadList), devtool.SplitList(tracerList), devtool.SplitList(extraList)
	if workloadList == "none" {
		o.workloads = []string{} // not nil: none at all, rather than all
	}
	if extraList == "" {
		o.extras = allExtras
	} else if extraList == "none" {
		o.extras = nil
	}
	if o.reps <= 0 || o.scale <= 0 || o.cpuTime <= 0 || o.churnTime <= 0 || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}

func flagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func run(ctx context.Context, o options) error {
	began := time.Now()
	if runtime.GOARCH != "amd64" {
		return fmt.Errorf("written for amd64 (the floor object is built for it), not %s", runtime.GOARCH)
	}
	if os.Geteuid() != 0 {
		return errors.New("must run as root: it loads BPF programs (sudo go run ./dev/bench)")
	}
	goTool := devtool.GoCommand()
	root, err := devtool.ModuleRoot(goTool)
	if err != nil {
		return err
	}
	if o.out == "" {
		o.out = filepath.Join(root, "dev", "bench", "results")
	}

	// Select before building, so that a typo fails at once.
	wls, err := selectWorkloads(o.workloads)
	if err != nil {
		return err
	}
	for _, e := range o.extras {
		if !slices.Contains(allExtras, e) {
			return fmt.Errorf("unknown extra measurement %q (have %s)", e, strings.Join(allExtras, ", "))
		}
	}
	full := o.workloads == nil && len(o.tracers) == 0 && slices.Equal(o.extras, allExtras) && !o.quick && o.scale == 1
	if o.doc == "" && full {
		o.doc = filepath.Join(root, "docs", "performance.md")
	}

	// The tree as it is built is what is measured; its commit is recorded
	// ("-dirty" when it has changes).
	commit := "unknown"
	if out, err := exec.Command("git", "-C", root, "describe", "--always", "--dirty").Output(); err == nil {
		commit = strings.TrimSpace(string(out))
	}
	// Build into a temp dir, so the bench measures the code as it is now and
	// leaves no binaries behind.
	tmp, err := os.MkdirTemp("", "tlmon-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bins := binaries{tlmon: filepath.Join(tmp, "tlmon"), workload: filepath.Join(tmp, "workload"), root: root}
	for _, b := range [][2]string{{bins.tlmon, "."}, {bins.workload, "./dev/workload"}} {
		cmd := exec.Command(goTool, "build", "-o", b[0], b[1])
		cmd.Dir, cmd.Stdout, cmd.Stderr = root, os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("go build %s: %w", b[1], err)
		}
	}
	// The collector's test binary too, now, so that its benchmarks measure
	// the same tree as the rest even if it changes during the run.
	if slices.Contains(o.extras, "collector") {
		bins.collectorTest = filepath.Join(tmp, "collector.test")
		cmd := exec.Command(goTool, "test", "-c", "-o", bins.collectorTest, "./collector")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			bins.collectorTest, bins.collectorErr = "", fmt.Errorf("go test -c ./collector: %v: %s", err, tail(out))
		}
	}

	// And history's, for its BenchmarkTenMinutes.
	if slices.Contains(o.extras, "history") {
		bins.historyTest = filepath.Join(tmp, "history.test")
		cmd := exec.Command(goTool, "test", "-c", "-o", bins.historyTest, "./history")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			bins.historyTest, bins.historyErr = "", fmt.Errorf("go test -c ./history: %v: %s", err, tail(out))
		}
	}

	tracers, err := selectTracers(newTracers(bins.tlmon, o.base, tmp), o.tracers)
	if err != nil {
		return err
	}
	installed := map[string]string{}
	for _, t := range tracers {
		if t.skip = toolProblem(t, installed); t.skip != "" {
			fmt.Fprintf(os.Stderr, "bench: skipping %s: %s\n", t.name, t.skip)
		}
	}

	rep := &Report{Date: time.Now().UTC().Format(time.RFC3339), Kernel: kernel(), CPUs: runtime.NumCPU(), CPUModel: cpuModel(),
		Commit: commit, Args: o.args, Scale: o.scale, Reps: o.reps, Quick: o.quick}
	// Another tracer on sys_enter/sys_exit slows every run, the baseline too,
	// and makes the differences meaningless.
	if others, err := floor.Others(); err != nil {
		rep.warn("could not list attached BPF links: %v", err)
	} else if len(others) > 0 {
		rep.warn("other programs are attached to the syscall tracepoints and slow every run: %s", strings.Join(others, ", "))
	}

	m := newMatrix(ctx, bins.workload, o.reps, o.scale, rep)
	for _, wl := range wls {
		res, err := m.measure(wl, tracers)
		if err != nil {
			return err
		}
		rep.Workloads = append(rep.Workloads, res)
	}
	m.warnDisturbed()

	x := &extras{ctx: ctx, bins: bins, tmp: tmp, rep: rep, scale: o.scale, reps: o.reps, cpuTime: o.cpuTime, churnTime: o.churnTime,
		quick: o.quick, tracers: tracers, tmux: &tmuxServer{socket: fmt.Sprintf("tlmon-bench-%d", os.Getpid())}}
	defer x.tmux.close()
	for _, e := range o.extras {
		if err := ctx.Err(); err != nil {
			return err
		}
		x.run(e)
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	rep.verdicts()
	rep.WallSeconds = time.Since(began).Seconds()
	printReport(os.Stdout, rep)
	if err := writeJSON(o.out, rep); err != nil {
		return err
	}
	if o.doc != "" {
		if err := writeDoc(o.doc, rep); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "bench: wrote %s\n", o.doc)
	} else {
		fmt.Fprintln(os.Stderr, "bench: docs/performance.md left as it is (a quick or partial run; -doc FILE writes one anyway)")
	}
	fmt.Fprintf(os.Stderr, "bench: the whole run took %s\n", time.Since(began).Round(time.Second))
	return nil
}

// binaries are the programs the bench builds and runs.
type binaries struct {
	tlmon, workload string
	root            string // the module
	// collectorTest is the collector's test binary, or "" if it could not
	// be built, and then collectorErr says why.
	collectorTest string
	collectorErr  error
	// historyTest is history's test binary, as collectorTest.
	historyTest string
	historyErr  error
}

func selectWorkloads(names []string) ([]workload, error) {
	if names == nil {
		return workloads, nil
	}
	var out []workload
	for _, n := range names {
		i := slices.IndexFunc(workloads, func(w workload) bool { return w.mode == n })
		if i < 0 {
			return nil, fmt.Errorf("unknown workload %q", n)
		}
		out = append(out, workloads[i])
	}
	return out, nil
}

// selectTracers keeps none, the floor and the named tracers: every number is
// relative to none and the floor.
func selectTracers(all []*tracer, names []string) ([]*tracer, error) {
	if len(names) == 0 {
		return all, nil
	}
	for _, n := range names {
		if !slices.ContainsFunc(all, func(t *tracer) bool { return t.name == n }) {
			return nil, fmt.Errorf("unknown tracer %q", n)
		}
	}
	var out []*tracer
	for _, t := range all {
		if t.name == "none" || t.name == "floor" || slices.Contains(names, t.name) {
			out = append(out, t)
		}
	}
	return out, nil
}

// matrix runs the workloads under the tracers.
type matrix struct {
	ctx   context.Context
	bin   string
	reps  int
	scale float64
	rep   *Report
	// Others on the machine (tests, another tlmon) may attach to the syscall
	// tracepoints at any time; the runs that began while they were are noted.
	disturbed, runs int
	seen            map[string]bool
}

func newMatrix(ctx context.Context, bin string, reps int, scale float64, rep *Report) *matrix {
	return &matrix{ctx: ctx, bin: bin, reps: reps, scale: scale, rep: rep, seen: map[string]bool{}}
}

// warnDisturbed says which runs began with others on the tracepoints.
func (m *matrix) warnDisturbed() {
	if m.disturbed > 0 {
		m.rep.warn("%d of %d runs began with other programs on the syscall tracepoints: %s",
			m.disturbed, m.runs, strings.Join(slices.Sorted(maps.Keys(m.seen)), ", "))
	}
}

func scaled(n int, scale float64) int { return max(1, int(float64(n)*scale)) }

// measure runs one workload under every tracer, reps times.
func (m *matrix) measure(wl workload, tracers []*tracer) (WorkloadResult, error) {
	n, slowN := scaled(wl.n, m.scale), scaled(wl.slowN, m.scale)
	res := WorkloadResult{Mode: wl.mode, About: wl.about, Round: wl.round, N: n, SlowN: slowN, Calls: wl.calls(n)}
	var cells []*tracer
	for _, t := range tracers {
		if !t.runsOn(wl.mode) {
			continue
		}
		cellN := n
		if t.slow {
			cellN = slowN
		}
		cells = append(cells, t)
		res.Cells = append(res.Cells, Cell{Tracer: t.name, Command: t.command, Skipped: t.skip, N: cellN, ElapsedNS: []int64{}})
		res.Order = append(res.Order, t.name)
	}

	// A small run of each first: it checks that everything works before the
	// long runs, skips what does not, and warms the page cache and the
	// kernel's BTF parsing alike for all.
	for i, t := range cells {
		c := &res.Cells[i]
		if c.Skipped != "" {
			continue
		}
		trialN := max(min(c.N, 10), c.N/1000)
		r, got, err := runCell(m.ctx, m.bin, wl, t, trialN, nil)
		switch {
		case m.ctx.Err() != nil:
			return res, m.ctx.Err()
		case err != nil && t.name == "none":
			return res, fmt.Errorf("the workload %s alone fails: %w", wl.mode, err)
		case err != nil:
			c.Skipped = fmt.Sprintf("trial run failed: %v", err)
			fmt.Fprintf(os.Stderr, "bench: %s: skipping %s: %s\n", wl.mode, t.name, c.Skipped)
		default:
			if miss := miscount(r, got); miss != "" {
				m.rep.warn("%s miscounted %s in the trial run: %s", t.name, wl.mode, miss)
			}
		}
	}

	fmt.Fprintf(os.Stderr, "bench: %s: N %d (perf trace, strace: %d), %d repetitions\n", wl.mode, n, slowN, m.reps)
	for r := 0; r < m.reps; r++ {
		for k := range cells {
			i := (k + r) % len(cells) // rotate: each tracer takes each place in turn
			t, c := cells[i], &res.Cells[i]
			if c.Skipped != "" {
				continue
			}
			m.runs++
			if others, _ := floor.Others(); len(others) > 0 {
				m.disturbed++
				for _, o := range others {
					m.seen[o] = true
				}
			}
			w, got, err := runCell(m.ctx, m.bin, wl, t, c.N, nil)
			if m.ctx.Err() != nil {
				return res, m.ctx.Err()
			}
			if err != nil {
				c.Errors = append(c.Errors, fmt.Sprintf("rep %d: %v", r+1, err))
				fmt.Fprintf(os.Stderr, "bench: %s rep %d/%d %-14s failed: %v\n", wl.mode, r+1, m.reps, t.name, err)
				continue
			}
			note := c.record(r+1, w, got)
			fmt.Fprintf(os.Stderr, "bench: %s rep %d/%d %-14s %7.2fs%s\n", wl.mode, r+1, m.reps, t.name, float64(w.ElapsedNS)/1e9, note)
		}
	}
	res.summarize()
	return res, nil
}

// miscount says how a tracer's count differs from the workload's report, or
// "" if it does not (or the tracer counts nothing).
func miscount(r workloadReport, got traced) string {
	if got.calls == nil {
		return ""
	}
	var diffs []string
	for _, name := range slices.Sorted(maps.Keys(r.Calls)) {
		if got.calls[name] != r.Calls[name] {
			diffs = append(diffs, fmt.Sprintf("%s %d of %d", name, got.calls[name], r.Calls[name]))
		}
	}
	return strings.Join(diffs, ", ")
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

// Command soak runs tlmon for a long time under a workstation's kind of load
// and checks that it stays exact, loses nothing and stays light (issue 16,
// point 8). It is a developer tool, run as root from the repository with
// `sudo make soak` (20 minutes) or `make soak SOAKFLAGS=-duration=60s` (CI);
// see dev/soak/README.md. Nothing in the product imports it.
//
// The load, all from the project's workload generator, each run of which
// reports exactly the calls it made:
//   - spawn churn: `workload --procs 2 --rate R spawn N` back to back, fork +
//     exec of /bin/true + wait4, R starts a second over two loops;
//   - a getppid storm: `workload getppid N` every few seconds;
//   - file detail on distinct paths: `workload open-unique N` every second,
//     each run opening two paths no run opened before.
//
// Two tlmons watch the whole machine meanwhile: a headless one printing a
// JSON report every interval, which the checks read, and the interactive
// monitor in a tmux pane, which is sent keys. Both are sampled for memory.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"tlmon/dev/internal/devtool"
)

type options struct {
	duration   time.Duration
	interval   time.Duration
	warmup     time.Duration
	sample     time.Duration
	keysEvery  time.Duration
	spawnRate  int
	spawnProcs int
	stormN     int
	stormEvery time.Duration
	openN      int
	openEvery  time.Duration
	maxRSS     float64 // MB
	historyRSS float64 // MB the monitor's history may add
	maxSlope   float64 // MB/min
	tlmon      string
}

func main() {
	var o options
	flag.DurationVar(&o.duration, "duration", 20*time.Minute, "how long the load runs")
	flag.DurationVar(&o.interval, "interval", time.Second, "both tlmons' refresh interval (-i)")
	flag.DurationVar(&o.warmup, "warmup", 0, "RSS slope measured after this (default: a minute, or a third of -duration if shorter)")
	flag.DurationVar(&o.sample, "sample", 2*time.Second, "how often tlmon's RSS is sampled")
	flag.DurationVar(&o.keysEvery, "keys-every", 15*time.Second, "how often keys are sent to the monitor")
	flag.IntVar(&o.spawnRate, "spawn-rate", 1000, "process starts a second, over all spawn loops")
	flag.IntVar(&o.spawnProcs, "spawn-procs", 2, "spawn loops running at once")
	flag.IntVar(&o.stormN, "storm", 1_000_000, "getppid calls in each storm")
	flag.DurationVar(&o.stormEvery, "storm-every", 5*time.Second, "a storm starts this often")
	flag.IntVar(&o.openN, "open", 1000, "rounds of each open-unique run (2 openat and 1 close each)")
	flag.DurationVar(&o.openEvery, "open-every", time.Second, "an open-unique run starts this often")
	flag.Float64Var(&o.maxRSS, "max-rss", 100, "largest RSS allowed to either tlmon, in MB")
	flag.Float64Var(&o.historyRSS, "history-rss", 150, "what the monitor's history may add to -max-rss, in MB: its 50 MB of snapshot frames and 16 MB of detail events, at Go's heap overhead (GOGC=50) and a fork storm's garbage")
	flag.Float64Var(&o.maxSlope, "max-slope", 1, "largest RSS growth allowed after warm-up, in MB a minute")
	flag.StringVar(&o.tlmon, "tlmon", "./tlmon", "the tlmon binary (make build), relative to the repository")
	flag.Parse()
	if flag.NArg() != 0 || o.duration <= 0 || o.interval < 100*time.Millisecond || o.spawnProcs < 1 || o.spawnRate < 0 {
		flag.Usage()
		os.Exit(2)
	}
	if o.warmup == 0 {
		o.warmup = min(time.Minute, o.duration/3)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	ok, err := run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(2)
	}
	if !ok {
		os.Exit(1)
	}
}

// run sets up, runs the load for o.duration and checks; ok is false when a
// check failed, err non-nil when the soak could not run at all. Whatever it
// started is ended before it returns.
func run(ctx context.Context, o options) (ok bool, err error) {
	if os.Geteuid() != 0 {
		return false, errors.New("tlmon needs root: sudo make soak")
	}
	goTool := devtool.GoCommand()
	root, err := devtool.ModuleRoot(goTool)
	if err != nil {
		return false, err
	}
	if err := os.Chdir(root); err != nil {
		return false, err
	}
	if err := devtool.AptInstall(ctx, "soak", "tmux"); err != nil {
		return false, err
	}
	tlmon, err := filepath.Abs(o.tlmon)
	if err != nil {
		return false, err
	}
	if _, err := os.Stat(tlmon); err != nil {
		return false, fmt.Errorf("%v (make build first)", err)
	}
	tmp, err := os.MkdirTemp("", "tlmon-soak-")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(tmp)
	workload := filepath.Join(tmp, "workload")
	if out, err := exec.CommandContext(ctx, goTool, "build", "-o", workload, "./dev/workload").CombinedOutput(); err != nil {
		return false, fmt.Errorf("building workload: %v: %s", err, devtool.Tail(out, 10))
	}

	began := time.Now()
	fmt.Printf("soak: %v of load, tlmon at -i %v, RSS slope after %v; started %s\n",
		o.duration, o.interval, o.warmup, began.Format("15:04:05"))

	// Everything started from here is ended by these deferred calls, in
	// reverse order, whether the soak ends, fails or is interrupted.
	kids := &children{}
	defer kids.killAll()

	headless, err := startHeadless(ctx, kids, tlmon, o.interval, filepath.Join(tmp, "headless.stderr"))
	if err != nil {
		return false, err
	}
	defer headless.stop()
	mon, err := startMonitor(ctx, tlmon, o.interval, tmp)
	if err != nil {
		return false, err
	}
	defer mon.stop()
	fmt.Printf("soak: headless tlmon %d, monitor tlmon %d in tmux -L %s\n", headless.pid(), mon.pid, mon.socket)

	sampler := newSampler(map[string]int{"headless": headless.pid(), "monitor": mon.pid})
	load := &load{hard: ctx, o: o, workload: workload, kids: kids, watch: headless.watch, hold: 6 * o.interval}

	loadCtx, endLoad := context.WithTimeout(ctx, o.duration)
	defer endLoad()
	done := make(chan struct{})
	go func() { sampler.run(loadCtx, o.sample); close(done) }()
	keys := make(chan keyResult, 1)
	go func() { keys <- mon.probeKeys(loadCtx, o.keysEvery, o.interval) }()
	load.run(loadCtx) // returns once every run has ended and been checked
	<-done
	keyRes := <-keys
	if ctx.Err() != nil {
		return false, errors.New("interrupted")
	}

	monLost, monAlive := mon.lostBadge(), alive(mon.pid)
	mon.stop()
	final, headlessErr := headless.stop()
	s := summarize(o, load, headless.watch, final, sampler, keyRes, monLost)
	ended := "both ran to the end; the headless one ended cleanly on SIGINT"
	if !monAlive {
		ended = "the monitor ended early (stderr: " + strings.TrimSpace(readTail(filepath.Join(tmp, "monitor.stderr"))) + ")"
	}
	if headlessErr != nil {
		ended = fmt.Sprintf("the headless tlmon: %v", headlessErr)
	}
	s.check("tlmons ran", monAlive && headlessErr == nil, ended)
	if self, _, ok := readSample(os.Getpid()); ok {
		// Reading several MB of JSON a second is work on a small machine too.
		s.info("soak itself", fmt.Sprintf("%.1f%% of a core", 100*self.cpu.Seconds()/time.Since(began).Seconds()))
	}
	s.print(os.Stdout, time.Since(began))
	return s.ok(), nil
}

// readTail is the last lines of a file, "" if it cannot be read.
func readTail(name string) string {
	b, _ := os.ReadFile(name)
	return devtool.Tail(b, 3)
}

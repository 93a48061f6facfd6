package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

	"tlmon/aggregator"
	"tlmon/dev/internal/devtool"
)

// The measurements besides the workloads: what tlmon itself costs.

// idleProcesses is how many idle processes the CPU measurement keeps alive:
// tlmon's periodic work grows with the processes it knows.
const idleProcesses = 2000

// stormForks is the size of the fork storm the memory is measured around.
const stormForks = 10_000

// busyForksPerSec is the rate of process starts by other work above which the
// CPU numbers get a warning.
const busyForksPerSec = 20

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat: 100
// on every Linux architecture the bench runs on.
const clockTicks = 100

// CPUUse is tlmon's CPU use over a stretch of time.
type CPUUse struct {
	Monitor   string  `json:"monitor"` // interactive (in tmux) or headless (-o json)
	Interval  string  `json:"interval"`
	Processes int     `json:"processes"` // idle processes alive meanwhile
	Seconds   float64 `json:"seconds"`   // how long it was measured
	Percent   float64 `json:"percent"`   // utime + stime over that time, in % of one core
	// ForksPerSec is the processes started on the machine meanwhile, per
	// second: the bench starts none, so these are other work's, and each is
	// work for tlmon (a quiet machine starts a few a second at most).
	ForksPerSec float64 `json:"forks_per_s"`
	Error       string  `json:"error,omitempty"`
}

// RSSUse is tlmon's memory around a fork storm.
type RSSUse struct {
	Forks         int          `json:"forks"`
	RetireAfterMS int64        `json:"retire_after_ms"` // how long tlmon shows an exited process
	Monitors      []RSSMonitor `json:"monitors"`
	// From the headless monitor's JSON reports: StormSeen is how many of
	// the storm's processes appeared in any of them, StormLeft how many were
	// still listed in the first report taken CheckedAfterMS after the
	// storm's end (at least RetireAfterMS), and ExitedLeft how many exited
	// processes, storm or not, that report listed.
	StormSeen      int    `json:"storm_seen"`
	StormLeft      *int   `json:"storm_left,omitempty"`
	ExitedLeft     int    `json:"exited_left"`
	CheckedAfterMS int64  `json:"checked_after_ms,omitempty"`
	Error          string `json:"error,omitempty"`
}

// RSSMonitor is one tlmon's VmRSS before the storm, right after it, and
// once the retirement delay has passed, and its peak (VmHWM), in kB.
type RSSMonitor struct {
	Monitor       string `json:"monitor"`
	BeforeKB      uint64 `json:"before_kb"`
	AfterStormKB  uint64 `json:"after_storm_kb"`
	AfterRetireKB uint64 `json:"after_retire_kb"`
	PeakKB        uint64 `json:"peak_kb"`
	Error         string `json:"error,omitempty"`
}

// Startup is how long tlmon takes to show something.
type Startup struct {
	// Interactive: from starting `tmux new-session ... tlmon` to the first
	// screen with the header and the table's column titles.
	Interactive StartupTimes `json:"interactive"`
	// Headless: from starting `tlmon --headless -o json -i 100ms` to its
	// first report line, the first interval's counts.
	Headless StartupTimes `json:"headless"`
}

type StartupTimes struct {
	MS       []float64 `json:"ms"`
	MedianMS float64   `json:"median_ms,omitempty"`
	Error    string    `json:"error,omitempty"`
}

// CollectorBench is one of the collector's Go benchmarks.
type CollectorBench struct {
	Name           string  `json:"name"`
	Available      bool    `json:"available"`
	EventsPerSec   float64 `json:"events_per_s,omitempty"`
	AllocsPerEvent float64 `json:"allocs_per_event"`
	NSPerEvent     float64 `json:"ns_per_event,omitempty"`
	Error          string  `json:"error,omitempty"`
}

// extras runs the measurements besides the workloads.
type extras struct {
	ctx       context.Context
	bins      binaries
	tmp       string
	rep       *Report
	scale     float64
	reps      int
	cpuTime   time.Duration
	churnTime time.Duration
	quick     bool
	tracers   []*tracer // the selected ones, none and the floor included
	tmux      *tmuxServer
	seq       int // numbers the tmux sessions
}

func (x *extras) run(name string) {
	fmt.Fprintf(os.Stderr, "bench: measuring %s\n", name)
	switch name {
	case "cpu":
		x.cpu()
	case "rss":
		x.rss()
	case "startup":
		x.startup()
	case "collector":
		x.collector()
	case "history":
		x.history()
	case "spawn-rate":
		x.spawnRate()
	case "churn-monitor":
		x.churn(churnRuns[0], x.churnTime)
	case "churn-headless":
		x.churn(churnRuns[1], churnHeadlessTime)
	case "bpf-stats":
		x.bpfStats()
	}
}

// pick returns the selected tracers of these names, in table order.
func (x *extras) pick(names []string) []*tracer {
	var out []*tracer
	for _, t := range x.tracers {
		if slices.Contains(names, t.name) {
			out = append(out, t)
		}
	}
	return out
}

// sleep waits d or until the bench is interrupted.
func (x *extras) sleep(d time.Duration) error {
	select {
	case <-time.After(d):
		return nil
	case <-x.ctx.Done():
		return x.ctx.Err()
	}
}

// cpu measures tlmon's CPU use, interactive and headless, at -i 1s and
// 100ms, with idleProcesses idle processes alive.
func (x *extras) cpu() {
	configs := []CPUUse{
		{Monitor: "interactive", Interval: "1s"}, {Monitor: "interactive", Interval: "100ms"},
		{Monitor: "headless", Interval: "1s"}, {Monitor: "headless", Interval: "100ms"},
	}
	idle, err := startWorkload(x.ctx, x.bins.workload, "idle", idleProcesses)
	if err != nil {
		for _, c := range configs {
			c.Error = fmt.Sprintf("could not start %d idle processes: %v", idleProcesses, err)
			x.rep.CPU = append(x.rep.CPU, c)
		}
		return
	}
	defer func() {
		if r, err := idle.finish(); err != nil || r.Calls["kill"] != idleProcesses {
			x.rep.warn("the idle processes did not end cleanly: %v (calls %v)", err, r.Calls)
		}
	}()
	for _, c := range configs {
		c.Processes = idleProcesses
		if err := x.measureCPU(&c); err != nil {
			c.Error = err.Error()
		}
		fmt.Fprintf(os.Stderr, "bench: cpu %s -i %s: %.2f%% %s\n", c.Monitor, c.Interval, c.Percent, c.Error)
		if c.ForksPerSec > busyForksPerSec {
			x.rep.warn("other work started %.0f processes a second while tlmon's CPU use (%s -i %s) was measured: tlmon's work for them is in the number", c.ForksPerSec, c.Monitor, c.Interval)
		}
		x.rep.CPU = append(x.rep.CPU, c)
		if x.ctx.Err() != nil {
			return
		}
	}
}

func (x *extras) measureCPU(c *CPUUse) error {
	var t *monitor
	var err error
	if c.Monitor == "interactive" {
		t, _, err = x.startInteractive("-i", c.Interval)
	} else {
		t, err = x.startHeadless(nil, "-i", c.Interval)
	}
	if err != nil {
		return err
	}
	defer t.stop()
	// Start-up (loading the programs, reading /proc for every process) is
	// not the steady cost being measured.
	if err := x.sleep(2 * time.Second); err != nil {
		return err
	}
	t0, err := cpuTicks(t.pid)
	if err != nil {
		return err
	}
	f0, err := forks()
	if err != nil {
		return err
	}
	began := time.Now()
	if err := x.sleep(x.cpuTime); err != nil {
		return err
	}
	t1, err := cpuTicks(t.pid)
	if err != nil {
		return fmt.Errorf("tlmon ended while measured: %w", err)
	}
	f1, err := forks()
	if err != nil {
		return err
	}
	c.Seconds = time.Since(began).Seconds()
	c.Percent = float64(t1-t0) / clockTicks / c.Seconds * 100
	c.ForksPerSec = float64(f1-f0) / c.Seconds
	return nil
}

// forks is the number of processes (and threads) started since boot, the
// "processes" line of /proc/stat.
func forks() (uint64, error) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, "processes "); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		}
	}
	return 0, errors.New("no processes line in /proc/stat")
}

// cpuTicks is utime + stime of every thread of pid, in clock ticks.
func cpuTicks(pid int) (uint64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The fields after the command name, which is in parentheses and may
	// hold spaces: state is the first, utime the 12th, stime the 13th.
	i := bytes.LastIndexByte(data, ')')
	f := strings.Fields(string(data[i+1:]))
	if i < 0 || len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected %q", pid, data)
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64)
	stime, err2 := strconv.ParseUint(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return utime + stime, nil
}

// memory reads VmRSS and VmHWM (kB) of pid.
func memory(pid int) (rss, hwm uint64, err error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for line := range strings.Lines(string(data)) {
		k, v, _ := strings.Cut(line, ":")
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		switch k {
		case "VmRSS":
			rss, _ = strconv.ParseUint(f[0], 10, 64)
		case "VmHWM":
			hwm, _ = strconv.ParseUint(f[0], 10, 64)
		}
	}
	if rss == 0 {
		return 0, 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
	}
	return rss, hwm, nil
}

// stormReport is what the bench reads of each of tlmon's JSON reports during
// the storm.
type stormReport struct {
	At        time.Time `json:"at"`
	Processes []struct {
		PID   int  `json:"pid"`
		Alive bool `json:"alive"`
	} `json:"processes"`
}

// rss measures tlmon's memory, interactive and headless, both watching the
// whole machine, around a storm of short-lived processes, and checks in the
// headless monitor's reports that the storm's processes were retired.
func (x *extras) rss() {
	res := &RSSUse{Forks: scaled(stormForks, x.scale), RetireAfterMS: aggregator.DefaultRetireAfter.Milliseconds()}
	x.rep.RSS = res
	if err := x.storm(res); err != nil {
		res.Error = err.Error()
	}
	for _, m := range res.Monitors {
		fmt.Fprintf(os.Stderr, "bench: rss %s: before %s, after the storm %s, after retirement %s %s\n",
			m.Monitor, mb(m.BeforeKB), mb(m.AfterStormKB), mb(m.AfterRetireKB), m.Error)
	}
	if res.StormLeft != nil {
		fmt.Fprintf(os.Stderr, "bench: rss: %d of %d storm processes seen, %d left after retirement\n", res.StormSeen, res.Forks, *res.StormLeft)
	}
	if res.Error != "" {
		fmt.Fprintf(os.Stderr, "bench: rss: %s\n", res.Error)
	}
}

func (x *extras) storm(res *RSSUse) error {
	// The headless monitor's reports are read as they come; only the latest
	// is kept, and which processes were ever listed.
	var mu sync.Mutex
	var latest stormReport
	var reportErr error
	listed := map[int]bool{}
	onReport := func(line []byte) {
		var r stormReport
		if err := json.Unmarshal(line, &r); err != nil {
			mu.Lock()
			reportErr = fmt.Errorf("a report of the headless tlmon: %w", err)
			mu.Unlock()
			return
		}
		mu.Lock()
		defer mu.Unlock()
		latest = r
		for _, p := range r.Processes {
			listed[p.PID] = true
		}
	}

	headless, err := x.startHeadless(onReport, "-i", "1s")
	if err != nil {
		return err
	}
	defer headless.stop()
	interactive, _, err := x.startInteractive()
	if err != nil {
		return err
	}
	defer interactive.stop()
	monitors := []*monitor{interactive, headless}
	res.Monitors = make([]RSSMonitor, len(monitors))
	for i, m := range monitors {
		res.Monitors[i].Monitor = m.kind
	}
	readAll := func(set func(r *RSSMonitor, rss, hwm uint64)) {
		for i, m := range monitors {
			rss, hwm, err := memory(m.pid)
			if err != nil && res.Monitors[i].Error == "" {
				res.Monitors[i].Error = err.Error()
			}
			set(&res.Monitors[i], rss, hwm)
		}
	}
	if err := x.sleep(2 * time.Second); err != nil { // past start-up
		return err
	}
	readAll(func(r *RSSMonitor, rss, _ uint64) { r.BeforeKB = rss })

	w, err := startWorkload(x.ctx, x.bins.workload, "fork", res.Forks)
	if err != nil {
		return err
	}
	r, err := w.finish()
	if err != nil {
		return fmt.Errorf("the storm: %w", err)
	}
	ended := time.Now()
	readAll(func(r *RSSMonitor, rss, _ uint64) { r.AfterStormKB = rss })

	// Wait for a report taken after the retirement delay and two intervals.
	due := ended.Add(aggregator.DefaultRetireAfter + 2*time.Second)
	var last stormReport
	for deadline := due.Add(15 * time.Second); ; {
		mu.Lock()
		last = latest
		mu.Unlock()
		if last.At.After(due) {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no report from the headless tlmon after %v (last at %v)", due, last.At)
		}
		if err := x.sleep(100 * time.Millisecond); err != nil {
			return err
		}
	}
	readAll(func(r *RSSMonitor, rss, hwm uint64) { r.AfterRetireKB, r.PeakKB = rss, hwm })

	mu.Lock()
	defer mu.Unlock()
	if reportErr != nil {
		return reportErr
	}
	left := 0
	for _, c := range r.Children {
		if listed[c.PID] {
			res.StormSeen++
		}
	}
	storm := map[int]bool{}
	for _, c := range r.Children {
		storm[c.PID] = true
	}
	for _, p := range last.Processes {
		if storm[p.PID] {
			left++
		}
		if !p.Alive {
			res.ExitedLeft++
		}
	}
	res.StormLeft = &left
	res.CheckedAfterMS = last.At.Sub(ended).Milliseconds()
	return nil
}

// startup times tlmon's start to its first frame (interactive) and to its
// first sample (headless), a few times each.
func (x *extras) startup() {
	repeats := 5
	if x.quick {
		repeats = 3
	}
	s := &Startup{}
	x.rep.Startup = s
	for range repeats {
		t, d, err := x.startInteractive()
		if err != nil {
			s.Interactive.Error = err.Error()
			break
		}
		t.stop()
		s.Interactive.MS = append(s.Interactive.MS, float64(d.Microseconds())/1000)
	}
	for range repeats {
		began := time.Now()
		p, err := startProc(x.ctx, "tlmon", func(l []byte) bool { return bytes.HasPrefix(l, []byte("{")) },
			x.bins.tlmon, "--headless", "-o", "json", "-i", "100ms")
		if err == nil {
			err = p.awaitReady(x.ctx, 30*time.Second)
		}
		if err != nil {
			s.Headless.Error = err.Error()
			break
		}
		d := time.Since(began)
		p.stop(0)
		s.Headless.MS = append(s.Headless.MS, float64(d.Microseconds())/1000)
	}
	for _, t := range []*StartupTimes{&s.Interactive, &s.Headless} {
		if len(t.MS) > 0 {
			t.MedianMS, _, _ = median(t.MS)
		}
	}
	fmt.Fprintf(os.Stderr, "bench: startup: interactive %v ms %s, headless %v ms %s\n", s.Interactive.MS, s.Interactive.Error, s.Headless.MS, s.Headless.Error)
}

// collectorBenchmarks are the collector's Go benchmarks of the event path:
// lifecycle and detail events into a sink that only counts (the collector
// alone), and detail events into the aggregator.
var collectorBenchmarks = []string{"BenchmarkEventPath", "BenchmarkDetailEventPath", "BenchmarkDetailEventPathAggregated"}

// collector runs the collector's event-path benchmarks (its test binary,
// built with the rest) and reads their metrics.
func (x *extras) collector() {
	benchtime := "2s"
	if x.quick {
		benchtime = "0.5s"
	}
	var out []byte
	err := x.bins.collectorErr
	if x.bins.collectorTest != "" {
		cmd := exec.CommandContext(x.ctx, x.bins.collectorTest, "-test.run", "^$",
			"-test.bench", "^("+strings.Join(collectorBenchmarks, "|")+")$", "-test.benchtime", benchtime)
		cmd.Dir = filepath.Join(x.bins.root, "collector") // where go test runs it
		out, err = cmd.CombinedOutput()
		if err != nil {
			err = fmt.Errorf("%v: %s", err, tail(out))
		}
	}
	found := parseBenchOutput(string(out))
	for _, name := range collectorBenchmarks {
		b, ok := found[name]
		switch {
		case ok:
		case err != nil:
			b = CollectorBench{Name: name, Error: err.Error()}
		default:
			b = CollectorBench{Name: name, Error: "no such benchmark in ./collector"}
		}
		x.rep.Collector = append(x.rep.Collector, b)
	}
}

// benchLine matches a result line: "BenchmarkEventPath-2  1000  123 ns/op  1.5e+06 events/s ...".
var benchLine = regexp.MustCompile(`^(Benchmark\w+?)(?:-\d+)?\s+\d+\s+(.*)$`)

func parseBenchOutput(out string) map[string]CollectorBench {
	found := map[string]CollectorBench{}
	for line := range strings.Lines(out) {
		m := benchLine.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			continue
		}
		b := CollectorBench{Name: m[1], Available: true}
		f := strings.Fields(m[2])
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			switch f[i+1] {
			case "events/s":
				b.EventsPerSec = v
			case "allocs/event":
				b.AllocsPerEvent = v
			case "ns/event":
				b.NSPerEvent = v
			}
		}
		if b.EventsPerSec == 0 {
			b.Available, b.Error = false, "no events/s metric in: "+strings.TrimSpace(line)
		}
		found[b.Name] = b
	}
	return found
}

// monitor is a tlmon the extras started: interactive in a tmux session, or
// headless.
type monitor struct {
	kind    string // "interactive" or "headless"
	pid     int
	tmux    *tmuxServer // interactive: the server and the session it runs in
	session string
	errFile string      // interactive: where its stderr goes
	proc    *tracerProc // headless
}

// startHeadless starts `tlmon --headless -o json ARGS` on the whole machine
// and returns once it watches. Its reports go to onReport (nil: discarded).
func (x *extras) startHeadless(onReport func(line []byte), args ...string) (*monitor, error) {
	if onReport == nil {
		onReport = func([]byte) {}
	}
	p, err := startHeadless(x.ctx, x.bins.tlmon, onReport, args...)
	if err != nil {
		return nil, err
	}
	return &monitor{kind: "headless", pid: p.cmd.Process.Pid, proc: p}, nil
}

// tmuxServer is a tmux server of the bench's own (its own socket), so that
// the bench neither meets nor disturbs anyone else's sessions. A session that
// only sleeps keeps it up between the monitor's sessions, so that the server's
// start is not in the first-frame times.
type tmuxServer struct {
	socket  string
	path    string // of the socket, which tmux leaves behind
	started bool
}

func (t *tmuxServer) command(args ...string) *exec.Cmd {
	return exec.Command("tmux", append([]string{"-L", t.socket}, args...)...)
}

func (t *tmuxServer) start() error {
	if t.started {
		return nil
	}
	if why := ensureTool("tmux", "tmux"); why != "" {
		return errors.New(why)
	}
	if out, err := t.command("new-session", "-d", "-s", "keep", "exec sleep 86400").CombinedOutput(); err != nil {
		return fmt.Errorf("tmux new-session: %v: %s", err, tail(out))
	}
	t.started = true
	if out, err := t.command("display-message", "-p", "#{socket_path}").Output(); err == nil {
		t.path = strings.TrimSpace(string(out))
	}
	return nil
}

// close ends the server and whatever still runs in it.
func (t *tmuxServer) close() {
	if t.started {
		t.command("kill-server").Run()
		if t.path != "" {
			os.Remove(t.path)
		}
		t.started = false
	}
}

// startInteractive starts the interactive tlmon ARGS in a new detached tmux
// session of 160×45 and returns once its first full frame is on the screen
// (the header and the table's column titles), with the time that took from
// the start of the session. The screen is polled every 5 ms.
func (x *extras) startInteractive(args ...string) (*monitor, time.Duration, error) {
	if err := x.tmux.start(); err != nil {
		return nil, 0, err
	}
	x.seq++
	m := &monitor{kind: "interactive", tmux: x.tmux, session: fmt.Sprintf("tlmon-%d", x.seq)}
	m.errFile = filepath.Join(x.tmp, m.session+".stderr")
	shell := "exec " + devtool.ShellQuote(x.bins.tlmon)
	for _, a := range args {
		shell += " " + devtool.ShellQuote(a)
	}
	shell += " 2>" + devtool.ShellQuote(m.errFile)
	began := time.Now()
	if out, err := x.tmux.command("new-session", "-d", "-s", m.session, "-x", "160", "-y", "45", shell).CombinedOutput(); err != nil {
		return nil, 0, fmt.Errorf("tmux new-session: %v: %s", err, tail(out))
	}
	var took time.Duration
	for deadline := began.Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		screen, err := x.tmux.command("capture-pane", "-p", "-t", m.session).Output()
		if err != nil {
			errOut, _ := os.ReadFile(m.errFile)
			m.stop()
			return nil, 0, fmt.Errorf("tlmon ended before its first frame: %s", tail(errOut))
		}
		if fullFrame(string(screen)) {
			took = time.Since(began)
			break
		}
		if time.Now().After(deadline) || x.ctx.Err() != nil {
			m.stop()
			return nil, 0, fmt.Errorf("no full frame of tlmon in 30s; the screen: %s", tail(screen))
		}
	}
	out, err := x.tmux.command("display-message", "-p", "-t", m.session, "#{pane_pid}").Output()
	if err == nil {
		m.pid, err = strconv.Atoi(strings.TrimSpace(string(out)))
	}
	if err != nil {
		m.stop()
		return nil, 0, fmt.Errorf("tmux: the pane's pid: %v", err)
	}
	return m, took, nil
}

// fullFrame tells whether the interactive monitor has drawn its first frame:
// the header line and the table's column titles.
func fullFrame(screen string) bool {
	header, titles := false, false
	for line := range strings.Lines(screen) {
		header = header || strings.HasPrefix(line, "tlmon")
		titles = titles || (strings.Contains(line, "PID") && strings.Contains(line, "COMM"))
	}
	return header && titles
}

// stop ends the monitor and waits until it is gone, so that the next
// measurement starts without it.
func (m *monitor) stop() {
	if m.proc != nil {
		m.proc.stop(0)
		return
	}
	m.tmux.command("kill-session", "-t", m.session).Run() // SIGHUP ends tlmon
	if m.pid == 0 {
		return
	}
	// tlmon is tmux's child, not ours: wait for it to be gone from /proc.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", m.pid)); err != nil {
			return
		}
	}
	syscall.Kill(m.pid, syscall.SIGKILL)
}

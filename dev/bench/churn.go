package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

// The measurements of issue 16: what tlmon does to a machine that starts
// processes all the time, and what that churn costs tlmon itself.

// spawnRateN is the processes one run of spawn-rate starts, shared by its
// spawnRateProcs loops: about 7 s alone here.
const (
	spawnRateN     = 10_000
	spawnRateProcs = 2
)

// spawnRateTracers are the rows of spawn-rate.
var spawnRateTracers = []string{"none", "tlmon", "tlmon-nodetail", "bpftrace-count"}

// spawnRate measures the machine's rate of starting processes, with
// spawnRateProcs loops of fork + exec + wait at once, alone and under tlmon
// (and, to compare, tlmon without detail and bpftrace's count): the spawn
// workload in a matrix of its own, so with the same trial runs, rotation and
// exactness checks as the others.
func (x *extras) spawnRate() {
	wl := workload{mode: "spawn", flags: []string{"--procs", strconv.Itoa(spawnRateProcs)},
		about: fmt.Sprintf("fork, the child execs /bin/true, wait4, in %d loops at once sharing N", spawnRateProcs),
		n:     spawnRateN, slowN: spawnRateN, calls: spawnCalls}
	m := newMatrix(x.ctx, x.bins.workload, x.reps, x.scale, x.rep)
	res, err := m.measure(wl, x.pick(spawnRateTracers))
	m.warnDisturbed()
	if err != nil {
		return // interrupted: run returns the error
	}
	x.rep.SpawnRate = &res
	for _, t := range spawnRateTracers[1:] {
		if ratio, alone, under, ok := res.rateRatio(t); ok {
			fmt.Fprintf(os.Stderr, "bench: spawn-rate: %s %.0f/s, alone %.0f/s: %.0f%%\n", t, under, alone, ratio*100)
		}
	}
}

// rate is the processes started per second in the median run.
func (c *Cell) rate() float64 { return float64(c.N) / (float64(c.MedianNS) / 1e9) }

// rateRatio is the rate of starting processes under tracer over the rate
// alone; ok is false when either was not measured.
func (w *WorkloadResult) rateRatio(tracer string) (ratio, alone, under float64, ok bool) {
	none, c := w.cell("none"), w.cell(tracer)
	if none == nil || c == nil || none.MedianNS == 0 || c.MedianNS == 0 {
		return 0, 0, 0, false
	}
	alone, under = none.rate(), c.rate()
	return under / alone, alone, under, true
}

// churnRun is one churn measurement and its targets.
type churnRun struct {
	name     string // the extra
	monitor  string // "interactive" (-i 1s, in tmux) or "headless"
	rate     float64
	cpuLimit float64 // % of a core
	flat     bool    // whether the RSS must be flat after the warm-up
}

var churnRuns = []churnRun{
	{name: "churn-monitor", monitor: "interactive", rate: 500, cpuLimit: 5, flat: true},
	{name: "churn-headless", monitor: "headless", rate: 2000, cpuLimit: 10},
}

const (
	// churnProcs is the spawn loops of the churn, sharing its rate: one
	// loop starts about 1,200 processes a second here, fewer under tlmon.
	churnProcs = 2
	// churnHeadlessTime is how long churn-headless lasts (-churn-time sets
	// churn-monitor's).
	churnHeadlessTime = 20 * time.Second
	// churnWarmup is when the RSS must have stopped growing, at the latest:
	// after the first minute, or half of a shorter run.
	churnWarmup = time.Minute
	// churnRSSLimitMB and churnFlatMBPerMin are the targets: RSS at most
	// 100 MB, and "flat" read as growing by at most 1 MB a minute after
	// the warm-up (10 minutes at that slope would be 9 MB).
	churnRSSLimitMB   = 100
	churnFlatMBPerMin = 1.0
)

// Churn is tlmon's own cost while the spawn workload starts processes at a
// steady rate on the machine it watches.
type Churn struct {
	Name      string  `json:"name"`
	Monitor   string  `json:"monitor"` // how tlmon ran
	Rate      float64 `json:"rate"`    // starts a second asked of the workload
	Procs     int     `json:"procs"`   // its loops
	PlannedMS int64   `json:"planned_ms"`
	// Started and ElapsedMS are the workload's: the processes it started
	// and reaped, and how long it took; AchievedRate the one over the other.
	Started      int     `json:"started"`
	ElapsedMS    int64   `json:"elapsed_ms"`
	AchievedRate float64 `json:"achieved_rate"`
	// MachineRate is the processes (and threads) started on the whole
	// machine meanwhile, per second, the "processes" line of /proc/stat:
	// above AchievedRate when other work starts processes too.
	MachineRate float64 `json:"machine_rate"`
	// CPUPercent is tlmon's utime + stime over the churn in % of one core;
	// CPUAfterWarmup the same from WarmupMS on.
	CPUPercent     float64 `json:"cpu_percent"`
	WarmupMS       int64   `json:"warmup_ms"`
	CPUAfterWarmup float64 `json:"cpu_after_warmup_percent"`
	// VmRSS at the warm-up's end and at the churn's, VmHWM at the end, in
	// kB, and the slope of VmRSS from the warm-up on (least squares over the
	// samples), nil with fewer than 3 samples.
	RSSWarmupKB   uint64        `json:"rss_warmup_kb"`
	RSSEndKB      uint64        `json:"rss_end_kb"`
	PeakKB        uint64        `json:"peak_kb"`
	SlopeMBPerMin *float64      `json:"rss_slope_mb_per_min,omitempty"`
	Samples       []ChurnSample `json:"samples,omitempty"` // one a second
	Error         string        `json:"error,omitempty"`
}

// ChurnSample is tlmon's CPU time and RSS MS after the churn began.
type ChurnSample struct {
	MS       int64  `json:"ms"`
	CPUTicks uint64 `json:"cpu_ticks"` // utime + stime, in clock ticks
	RSSKB    uint64 `json:"rss_kb"`
}

func (r *Report) churn(name string) *Churn {
	for i := range r.Churn {
		if r.Churn[i].Name == name {
			return &r.Churn[i]
		}
	}
	return nil
}

// churn starts processes at run.rate a second for d, watched by tlmon, and
// samples tlmon's CPU time and memory every second.
func (x *extras) churn(run churnRun, d time.Duration) {
	c := Churn{Name: run.name, Rate: run.rate, Procs: churnProcs, PlannedMS: d.Milliseconds(),
		WarmupMS: min(churnWarmup, d/2).Milliseconds()}
	if err := x.measureChurn(&c, run); err != nil {
		c.Error = err.Error()
	}
	fmt.Fprintf(os.Stderr, "bench: %s: %d started at %.0f/s; tlmon CPU %.2f%% (%.2f%% after warm-up), RSS %s at warm-up, %s at the end, peak %s %s\n",
		c.Name, c.Started, c.AchievedRate, c.CPUPercent, c.CPUAfterWarmup, mb(c.RSSWarmupKB), mb(c.RSSEndKB), mb(c.PeakKB), c.Error)
	x.rep.Churn = append(x.rep.Churn, c)
}

func (x *extras) measureChurn(c *Churn, run churnRun) error {
	var m *monitor
	var err error
	if run.monitor == "interactive" {
		c.Monitor = "interactive -i 1s (tmux, 160×45)"
		m, _, err = x.startInteractive("-i", "1s")
	} else {
		// As the runs: one summary at the end, none meanwhile.
		c.Monitor = "--headless -o json"
		m, err = x.startHeadless(nil)
	}
	if err != nil {
		return err
	}
	defer m.stop()
	if err := x.sleep(2 * time.Second); err != nil { // past start-up
		return err
	}
	n := max(1, int(run.rate*float64(c.PlannedMS)/1000))
	w, err := startWorkload(x.ctx, x.bins.workload, "spawn", n,
		"--procs", strconv.Itoa(churnProcs), "--rate", strconv.FormatFloat(run.rate, 'f', -1, 64))
	if err != nil {
		return err
	}
	type finished struct {
		r   workloadReport
		err error
	}
	done := make(chan finished, 1)
	f0, err := forks()
	if err != nil {
		w.kill()
		return err
	}
	began := time.Now()
	var hwm uint64
	sample := func() error {
		ticks, err := cpuTicks(m.pid)
		if err != nil {
			return fmt.Errorf("tlmon ended during the churn: %w", err)
		}
		rss, peak, err := memory(m.pid)
		if err != nil {
			return fmt.Errorf("tlmon ended during the churn: %w", err)
		}
		hwm = peak
		c.Samples = append(c.Samples, ChurnSample{MS: time.Since(began).Milliseconds(), CPUTicks: ticks, RSSKB: rss})
		return nil
	}
	if err := sample(); err != nil {
		w.kill()
		return err
	}
	go func() {
		r, err := w.finish()
		done <- finished{r, err}
	}()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var fin finished
	var sampleErr error
	for waiting := true; waiting; {
		select {
		case fin = <-done:
			waiting = false
		case <-tick.C:
			if sampleErr = sample(); sampleErr != nil {
				w.cmd.Process.Kill() // finish returns
				<-done
				return sampleErr
			}
		}
	}
	if fin.err != nil {
		return fin.err
	}
	if err := sample(); err != nil {
		return err
	}
	f1, err := forks()
	if err != nil {
		return err
	}
	r := fin.r
	if r.Calls["clone"] != uint64(n) || r.Calls["wait4"] != uint64(n) || r.Spawned != n {
		return fmt.Errorf("the workload started %d of %d processes (calls %v)", r.Spawned, n, r.Calls)
	}
	if err := r.childrenFailed(); err != nil {
		return err
	}
	c.Started, c.ElapsedMS = r.Spawned, r.ElapsedNS/1e6
	c.AchievedRate = float64(r.Spawned) / (float64(r.ElapsedNS) / 1e9)
	c.summarize(hwm)
	c.MachineRate = float64(f1-f0) / (float64(c.Samples[len(c.Samples)-1].MS) / 1000)
	return nil
}

// summarize works out the CPU use and the RSS figures from the samples.
func (c *Churn) summarize(hwm uint64) {
	first, last := c.Samples[0], c.Samples[len(c.Samples)-1]
	cpu := func(a, b ChurnSample) float64 {
		if b.MS <= a.MS {
			return 0
		}
		return float64(b.CPUTicks-a.CPUTicks) / clockTicks / (float64(b.MS-a.MS) / 1000) * 100
	}
	c.CPUPercent = cpu(first, last)
	c.RSSEndKB, c.PeakKB = last.RSSKB, hwm
	w := len(c.Samples) - 1
	for i, s := range c.Samples {
		if s.MS >= c.WarmupMS {
			w = i
			break
		}
	}
	c.RSSWarmupKB, c.CPUAfterWarmup = c.Samples[w].RSSKB, cpu(c.Samples[w], last)
	if after := c.Samples[w:]; len(after) >= 3 {
		// Least squares of RSS (MB) on time (minutes).
		var sx, sy, sxx, sxy float64
		for _, s := range after {
			x, y := float64(s.MS)/60e3, float64(s.RSSKB)/1024
			sx, sy, sxx, sxy = sx+x, sy+y, sxx+x*x, sxy+x*y
		}
		k := float64(len(after))
		if den := k*sxx - sx*sx; den > 0 {
			slope := (k*sxy - sx*sy) / den
			c.SlopeMBPerMin = &slope
		}
	}
}

var churnHeader = row{"churn", "tlmon", "asked", "achieved", "machine", "ran", "CPU (% of a core)", "after warm-up", "RSS at warm-up", "RSS at the end", "peak (VmHWM)", "RSS slope after warm-up"}

func (c Churn) row() row {
	asked := fmt.Sprintf("%s/s", thousands(c.Rate))
	if c.Error != "" {
		return row{c.Name, c.Monitor, asked, "failed: " + oneLine(c.Error)}
	}
	slope := "—"
	if c.SlopeMBPerMin != nil {
		slope = fmt.Sprintf("%+.2f MB/min", *c.SlopeMBPerMin)
	}
	return row{c.Name, c.Monitor, asked, fmt.Sprintf("%.0f/s", c.AchievedRate), fmt.Sprintf("%.0f/s", c.MachineRate),
		dur(c.ElapsedMS).Round(time.Second).String(), fmt.Sprintf("%.2f%%", c.CPUPercent),
		fmt.Sprintf("%.2f%% (from %v)", c.CPUAfterWarmup, dur(c.WarmupMS)), mb(c.RSSWarmupKB), mb(c.RSSEndKB), mb(c.PeakKB), slope}
}

var spawnRateHeader = row{"tracer", "N", "median", "spread", "starts/s", "of the rate alone", "exact"}

// spawnRateRows are the spawn-rate table's rows: the matrix's, with the rate.
func (w *WorkloadResult) spawnRateRows() []row {
	var rows []row
	for i := range w.Cells {
		c := &w.Cells[i]
		full := c.row()
		if len(full) < len(cellHeader) {
			rows = append(rows, full) // skipped
			continue
		}
		ratio := "—"
		if r, _, _, ok := w.rateRatio(c.Tracer); ok && c.Tracer != "none" {
			ratio = fmt.Sprintf("%.0f%%", r*100)
		}
		rows = append(rows, row{full[0], full[1], full[2], full[3], fmt.Sprintf("%.0f", c.rate()), ratio, full[8]})
	}
	return rows
}

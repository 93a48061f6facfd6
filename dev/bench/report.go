package main

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"text/template"
	"time"
)

// Report is the JSON file, and what the tables and docs/performance.md are
// made from.
type Report struct {
	Date        string           `json:"date"`
	Kernel      string           `json:"kernel"`
	CPUs        int              `json:"cpus"`
	CPUModel    string           `json:"cpu_model"`
	Commit      string           `json:"commit"` // of the tree built and measured
	Args        []string         `json:"args"`
	Scale       float64          `json:"scale"`
	Reps        int              `json:"reps"`
	Quick       bool             `json:"quick,omitempty"`
	WallSeconds float64          `json:"wall_seconds"` // the whole bench run
	Warnings    []string         `json:"warnings,omitempty"`
	Workloads   []WorkloadResult `json:"workloads"`
	CPU         []CPUUse         `json:"cpu,omitempty"`
	RSS         *RSSUse          `json:"rss,omitempty"`
	Startup     *Startup         `json:"startup,omitempty"`
	Collector   []CollectorBench `json:"collector,omitempty"`
	History     []HistoryMemory  `json:"history,omitempty"`
	// SpawnRate is the spawn workload in 2 loops at once, alone and under
	// a few tracers: the machine's rate of starting processes.
	SpawnRate *WorkloadResult `json:"spawn_rate,omitempty"`
	Churn     []Churn         `json:"churn,omitempty"`
	BPFStats  *BPFStats       `json:"bpf_stats,omitempty"`
	Verdicts  []Verdict       `json:"verdicts"`
}

func (r *Report) warn(format string, a ...any) {
	w := fmt.Sprintf(format, a...)
	r.Warnings = append(r.Warnings, w)
	fmt.Fprintln(os.Stderr, "bench: warning:", w)
}

func (r *Report) workload(mode string) *WorkloadResult {
	for i := range r.Workloads {
		if r.Workloads[i].Mode == mode {
			return &r.Workloads[i]
		}
	}
	return nil
}

// WorkloadResult is one workload under every tracer: one table.
type WorkloadResult struct {
	Mode  string            `json:"mode"`
	About string            `json:"about"`
	Round string            `json:"round,omitempty"` // what one of the N rounds is, if its cost is noted
	N     int               `json:"n"`
	SlowN int               `json:"slow_n"` // N under perf trace and strace
	Calls map[string]uint64 `json:"calls"`  // what one run at N makes
	Order []string          `json:"order"`  // of the first repetition; later ones rotate it
	Cells []Cell            `json:"cells"`
}

func (w *WorkloadResult) cell(tracer string) *Cell {
	if w == nil {
		return nil
	}
	for i := range w.Cells {
		if w.Cells[i].Tracer == tracer {
			return &w.Cells[i]
		}
	}
	return nil
}

// Cell is one workload under one tracer: one row.
type Cell struct {
	Tracer  string `json:"tracer"`
	Command string `json:"command"`
	Skipped string `json:"skipped,omitempty"`
	N       int    `json:"n"`
	// Syscalls is the measured calls of one run, as the workload reported
	// them: the divisor of the per-call costs.
	Syscalls uint64 `json:"syscalls"`
	// ElapsedNS holds the wall time of each successful repetition, in order.
	ElapsedNS []int64 `json:"elapsed_ns"`
	MedianNS  int64   `json:"median_ns,omitempty"`
	MinNS     int64   `json:"min_ns,omitempty"`
	MaxNS     int64   `json:"max_ns,omitempty"`
	// NSPerSyscall is MedianNS / Syscalls. Slowdown is that over none's, and
	// AddedNSPerSyscall that minus none's: per call, so that rows run with a
	// smaller N (perf trace, strace) compare with the others. XFloor is
	// AddedNSPerSyscall over the floor's.
	NSPerSyscall      float64  `json:"ns_per_syscall,omitempty"`
	Slowdown          *float64 `json:"slowdown,omitempty"`
	AddedNSPerSyscall *float64 `json:"added_ns_per_syscall,omitempty"`
	XFloor            *float64 `json:"x_floor,omitempty"`
	// AddedNSPerRound is MedianNS / N minus none's: what the tracer adds to
	// one round of the workload (spawn: one process's life).
	AddedNSPerRound *float64 `json:"added_ns_per_round,omitempty"`
	// Lost is the events the tracer said it lost, over all repetitions, and
	// LostReps the repetitions that lost any; absent for tracers that do not
	// say (bpftrace, strace) or count nothing.
	Lost     *uint64 `json:"lost,omitempty"`
	LostReps int     `json:"lost_reps,omitempty"`
	// Exact is true when the tracer's count of every syscall the workload
	// reported, for the workload's process, was the workload's, in every
	// repetition; absent for none and the floor, which count nothing.
	Exact       *bool    `json:"exact,omitempty"`
	ExactReps   int      `json:"exact_reps,omitempty"`
	CheckedReps int      `json:"checked_reps,omitempty"`
	Miscounts   []string `json:"miscounts,omitempty"`
	Errors      []string `json:"errors,omitempty"`
}

// record adds one repetition and returns a note for the progress line.
func (c *Cell) record(rep int, w workloadReport, got traced) string {
	c.ElapsedNS = append(c.ElapsedNS, w.ElapsedNS)
	c.Syscalls = w.syscalls()
	note := ""
	if got.lost != nil {
		if c.Lost == nil {
			c.Lost = new(uint64)
		}
		*c.Lost += *got.lost
		if *got.lost > 0 {
			c.LostReps++
			note += fmt.Sprintf(" lost %d", *got.lost)
		}
	}
	if got.calls != nil {
		c.CheckedReps++
		if miss := miscount(w, got); miss != "" {
			c.Miscounts = append(c.Miscounts, fmt.Sprintf("rep %d: %s", rep, miss))
			note += " MISCOUNTED " + miss
		} else {
			c.ExactReps++
			note += " exact"
		}
	}
	return note
}

// summarize fills in the statistics of every row.
func (w *WorkloadResult) summarize() {
	for i := range w.Cells {
		c := &w.Cells[i]
		if len(c.ElapsedNS) == 0 {
			continue
		}
		c.MedianNS, c.MinNS, c.MaxNS = median(c.ElapsedNS)
		c.NSPerSyscall = float64(c.MedianNS) / float64(c.Syscalls)
		if c.CheckedReps > 0 {
			exact := c.ExactReps == c.CheckedReps
			c.Exact = &exact
		}
	}
	none, fl := w.cell("none"), w.cell("floor")
	if none == nil || none.NSPerSyscall == 0 {
		return
	}
	for i := range w.Cells {
		c := &w.Cells[i]
		if c.Tracer == "none" || c.NSPerSyscall == 0 {
			continue
		}
		slow, added := c.NSPerSyscall/none.NSPerSyscall, c.NSPerSyscall-none.NSPerSyscall
		perRound := float64(c.MedianNS)/float64(c.N) - float64(none.MedianNS)/float64(none.N)
		c.Slowdown, c.AddedNSPerSyscall, c.AddedNSPerRound = &slow, &added, &perRound
	}
	if fl == nil || fl.AddedNSPerSyscall == nil || *fl.AddedNSPerSyscall <= 0 {
		return // no floor to compare with (or noise swallowed it)
	}
	for i := range w.Cells {
		c := &w.Cells[i]
		if c.AddedNSPerSyscall != nil {
			x := *c.AddedNSPerSyscall / *fl.AddedNSPerSyscall
			c.XFloor = &x
		}
	}
}

// median returns the median, minimum and maximum of v (not empty).
func median[T int64 | float64](v []T) (med, lo, hi T) {
	s := slices.Sorted(slices.Values(v))
	if m := len(s) / 2; len(s)%2 == 1 {
		med = s[m]
	} else {
		med = (s[m-1] + s[m]) / 2
	}
	return med, s[0], s[len(s)-1]
}

// Verdict is one target of issues 6, 16 and 22 and how this run did on it.
// Targets are reported, never asserted: one noisy run can miss a target the
// next meets.
type Verdict struct {
	Target string `json:"target"`
	Got    string `json:"got"`
	Met    *bool  `json:"met"` // nil: not measured in this run, or not measurable
}

func (v Verdict) Mark() string {
	switch {
	case v.Met == nil:
		return "unknown"
	case *v.Met:
		return "met"
	default:
		return "NOT met"
	}
}

// verdicts checks the results against the targets.
func (r *Report) verdicts() {
	add := func(target, got string, met *bool) {
		r.Verdicts = append(r.Verdicts, Verdict{Target: target, Got: got, Met: met})
	}
	is := func(b bool) *bool { return &b }
	xFloor := func(mode, tracer string, limit float64) {
		target := fmt.Sprintf("%s: %s added cost ≤ %g× the floor's", mode, tracer, limit)
		c := r.workload(mode).cell(tracer)
		if c == nil || c.XFloor == nil {
			add(target, "not measured", nil)
			return
		}
		add(target, fmt.Sprintf("%.2f× (%s per syscall)", *c.XFloor, ns(*c.AddedNSPerSyscall)), is(*c.XFloor <= limit))
	}
	exactNoLoss := func(mode, tracer string) {
		target := fmt.Sprintf("%s: %s counts exactly, loses nothing", mode, tracer)
		c := r.workload(mode).cell(tracer)
		if c == nil || c.Exact == nil || c.Lost == nil {
			add(target, "not measured", nil)
			return
		}
		add(target, fmt.Sprintf("exact in %d of %d reps, %d events lost", c.ExactReps, c.CheckedReps, *c.Lost), is(*c.Exact && *c.Lost == 0))
	}

	// Issue 22's: a share of what bpftrace's count-only one-liner adds, in
	// the same run.
	vsBpftrace := func(mode, tracer string, share float64, shareText string) {
		target := strings.TrimSpace(fmt.Sprintf("%s: %s added cost ≤ %s", mode, tracer, shareText)) + " bpftrace-count's"
		g := r.workload(mode)
		tl, bt := g.cell(tracer), g.cell("bpftrace-count")
		if tl == nil || bt == nil || tl.AddedNSPerSyscall == nil || bt.AddedNSPerSyscall == nil || *bt.AddedNSPerSyscall <= 0 {
			add(target, "not measured", nil)
			return
		}
		x := *tl.AddedNSPerSyscall / *bt.AddedNSPerSyscall
		add(target, fmt.Sprintf("%.2f× (%s vs %s per syscall)", x, ns(*tl.AddedNSPerSyscall), ns(*bt.AddedNSPerSyscall)), is(x <= share))
	}

	xFloor("getppid", "tlmon", 3)
	vsBpftrace("getppid", "tlmon", 0.5, "½ of")
	xFloor("getppid", "tlmon-nolat", 2)
	vsBpftrace("getppid", "tlmon-nolat", 1.0/3, "⅓ of")
	exactNoLoss("getppid", "tlmon")
	exactNoLoss("getppid", "tlmon-nolat")
	xFloor("openat-close", "tlmon", 4)
	vsBpftrace("openat-close", "tlmon", 1, "")
	exactNoLoss("openat-close", "tlmon")

	for _, want := range []struct {
		interval time.Duration
		limit    float64
	}{{time.Second, 3}, {100 * time.Millisecond, 15}} {
		target := fmt.Sprintf("interactive tlmon -i %v with 2,000 idle processes: CPU ≤ %g%% of a core", want.interval, want.limit)
		i := slices.IndexFunc(r.CPU, func(c CPUUse) bool { return c.Monitor == "interactive" && c.Interval == want.interval.String() })
		if i < 0 || r.CPU[i].Error != "" {
			add(target, "not measured", nil)
			continue
		}
		add(target, fmt.Sprintf("%.2f%%", r.CPU[i].Percent), is(r.CPU[i].Percent <= want.limit))
	}
	{
		target := "tlmon RSS ≤ 80 MB after a storm of 10,000 forks"
		if s := r.RSS; s == nil || len(s.Monitors) == 0 {
			add(target, "not measured", nil)
		} else {
			var got []string
			met := true
			for _, m := range s.Monitors {
				if m.Error != "" {
					got = append(got, m.Monitor+": failed")
					met = false
					continue
				}
				worst := max(m.AfterStormKB, m.AfterRetireKB)
				got = append(got, fmt.Sprintf("%s %s", m.Monitor, mb(worst)))
				met = met && worst <= 80*1024
			}
			text := strings.Join(got, ", ")
			if s.Forks != stormForks {
				text += fmt.Sprintf(" (a storm of only %d forks)", s.Forks)
			}
			add(target, text, is(met))
		}
	}
	{
		target := "every process of the storm retired"
		if s := r.RSS; s == nil || s.StormLeft == nil {
			add(target, "not measured", nil)
		} else {
			add(target, fmt.Sprintf("%d of %d left in the report %v after the storm", *s.StormLeft, s.Forks, dur(s.CheckedAfterMS)), is(*s.StormLeft == 0))
		}
	}
	for _, st := range []struct{ what, target string }{
		{"interactive", "interactive tlmon: first frame ≤ 150 ms"},
		{"headless", "headless tlmon: first sample ≤ 150 ms"},
	} {
		s := r.Startup
		if s == nil {
			add(st.target, "not measured", nil)
			continue
		}
		m := s.Interactive
		if st.what == "headless" {
			m = s.Headless
		}
		if len(m.MS) == 0 {
			add(st.target, "not measured", nil)
			continue
		}
		add(st.target, fmt.Sprintf("median %.0f ms of %d", m.MedianMS, len(m.MS)), is(m.MedianMS <= 150))
	}
	for _, c := range r.Collector {
		target := fmt.Sprintf("collector %s: ≥ 1 M events/s, 0 allocs/event", c.Name)
		if !c.Available {
			add(target, "not available: "+c.Error, nil)
			continue
		}
		// A few allocations in the whole run (goroutine machinery) leave a
		// tiny fraction; one allocation per event would be 1.
		add(target, fmt.Sprintf("%.2f M events/s, %.2g allocs/event", c.EventsPerSec/1e6, c.AllocsPerEvent),
			is(c.EventsPerSec >= 1e6 && c.AllocsPerEvent < zeroAllocs))
	}
	// History in memory: 10 minutes of 2,000 processes within the default
	// budget, at the share of active processes the budget is set for.
	for _, h := range r.History {
		if h.ActivePercent != 30 {
			continue
		}
		target := "history: ≤ 50 MB for 10 min of 2,000 processes (30% active)"
		if h.Error != "" {
			add(target, "not measured: "+oneLine(h.Error), nil)
			continue
		}
		add(target, fmt.Sprintf("history: %.1f MB for 10 min of 2,000 processes", h.MB), is(h.MB <= 50))
	}

	// Issue 16: a process's life is cheap, and tlmon stays light under churn.
	{
		target := "spawn: tlmon added cost per spawned process ≤ 2× bpftrace-count's"
		g := r.workload("spawn")
		tl, bt := g.cell("tlmon"), g.cell("bpftrace-count")
		switch {
		case tl == nil || bt == nil || tl.AddedNSPerRound == nil || bt.AddedNSPerRound == nil:
			add(target, "not measured", nil)
		case *bt.AddedNSPerRound <= 0:
			add(target, fmt.Sprintf("%s vs %s per process: bpftrace-count's lost in the noise", ns(*tl.AddedNSPerRound), ns(*bt.AddedNSPerRound)), nil)
		default:
			x := *tl.AddedNSPerRound / *bt.AddedNSPerRound
			add(target, fmt.Sprintf("%.1f× (%s vs %s per process)", x, ns(*tl.AddedNSPerRound), ns(*bt.AddedNSPerRound)), is(x <= 2))
		}
	}
	{
		target := fmt.Sprintf("spawn rate, %d loops at once: under tlmon ≥ 90%% of the rate alone", spawnRateProcs)
		if ratio, alone, under, ok := r.SpawnRate.rateRatio("tlmon"); ok {
			add(target, fmt.Sprintf("%.0f%% (%.0f/s vs %.0f/s)", ratio*100, under, alone), is(ratio >= 0.9))
		} else {
			add(target, "not measured", nil)
		}
	}
	for _, want := range churnRuns {
		c := r.churn(want.name)
		what := fmt.Sprintf("%s tlmon, %s starts/s", want.monitor, thousands(want.rate))
		if c == nil || c.Error != "" {
			add(what+fmt.Sprintf(": CPU ≤ %g%% of a core, RSS ≤ %d MB", want.cpuLimit, churnRSSLimitMB), "not measured", nil)
			continue
		}
		what = fmt.Sprintf("%s for %v", what, dur(c.PlannedMS))
		short := ""
		if c.AchievedRate < 0.95*c.Rate {
			short = fmt.Sprintf(" (at %.0f starts/s)", c.AchievedRate)
		}
		add(fmt.Sprintf("%s: CPU ≤ %g%% of a core", what, want.cpuLimit),
			fmt.Sprintf("%.2f%%, %.2f%% after %v%s", c.CPUPercent, c.CPUAfterWarmup, dur(c.WarmupMS), short), is(c.CPUPercent <= want.cpuLimit))
		add(fmt.Sprintf("%s: RSS ≤ %d MB", what, churnRSSLimitMB),
			fmt.Sprintf("peak %s, %s at the end%s", mb(c.PeakKB), mb(c.RSSEndKB), short), is(c.PeakKB <= churnRSSLimitMB*1024))
		if want.flat {
			target := fmt.Sprintf("%s: RSS flat after %v (≤ %g MB/min)", what, dur(c.WarmupMS), churnFlatMBPerMin)
			if c.SlopeMBPerMin == nil {
				add(target, "too few samples", nil)
			} else {
				add(target, fmt.Sprintf("%+.2f MB/min (%s → %s)", *c.SlopeMBPerMin, mb(c.RSSWarmupKB), mb(c.RSSEndKB)), is(*c.SlopeMBPerMin <= churnFlatMBPerMin))
			}
		}
	}
}

// zeroAllocs is the allocations per event that count as none: fewer than one
// in a hundred events, so a handful in a whole benchmark run.
const zeroAllocs = 0.01

// ns formats a per-call cost: "105ns", "1.7µs".
func ns(v float64) string {
	if v >= 1000 || v <= -1000 {
		return fmt.Sprintf("%.1fµs", v/1000)
	}
	return fmt.Sprintf("%.0fns", v)
}

func secs(nsec int64) string { return fmt.Sprintf("%.2f", float64(nsec)/1e9) }

func mb(kb uint64) string { return fmt.Sprintf("%.1f MB", float64(kb)/1024) }

// thousands formats a rate: 500, 2,000.
func thousands(v float64) string {
	n := int(v)
	if n < 1000 {
		return fmt.Sprint(n)
	}
	return fmt.Sprintf("%d,%03d", n/1000, n%1000)
}

func dur(ms int64) time.Duration { return time.Duration(ms) * time.Millisecond }

// count formats N: 10M, 500k, 2000.
func count(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 10_000 && n%1000 == 0:
		return fmt.Sprintf("%dk", n/1000)
	}
	return fmt.Sprint(n)
}

// row is one table row as text, shared by the terminal and the markdown.
type row []string

var cellHeader = row{"tracer", "N", "median", "spread", "slowdown", "added/syscall", "×floor", "lost", "exact"}

func (c *Cell) row() row {
	if c.Skipped != "" || len(c.ElapsedNS) == 0 {
		why := c.Skipped
		if why == "" {
			why = "every repetition failed: " + strings.Join(c.Errors, "; ")
		}
		return row{c.Tracer, count(c.N), "skipped: " + oneLine(why)}
	}
	dash := "—"
	slow, added, x, lost, exact := dash, dash, dash, dash, dash
	if c.Slowdown != nil {
		slow = fmt.Sprintf("%.2f×", *c.Slowdown)
	}
	if c.AddedNSPerSyscall != nil {
		added = ns(*c.AddedNSPerSyscall)
	}
	if c.XFloor != nil {
		x = fmt.Sprintf("%.2f", *c.XFloor)
	}
	if c.Lost != nil {
		lost = fmt.Sprint(*c.Lost)
		if c.LostReps > 0 {
			lost += fmt.Sprintf(" (%d/%d reps)", c.LostReps, len(c.ElapsedNS))
		}
	}
	if c.Exact != nil {
		exact = "yes"
		if !*c.Exact {
			exact = fmt.Sprintf("NO (%d/%d)", c.ExactReps, c.CheckedReps)
		}
	}
	if len(c.Errors) > 0 {
		exact += fmt.Sprintf(" (%d failed runs)", len(c.Errors))
	}
	return row{c.Tracer, count(c.N), secs(c.MedianNS) + "s", secs(c.MinNS) + "–" + secs(c.MaxNS), slow, added, x, lost, exact}
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

func (w *WorkloadResult) title() string {
	total := totalCalls(w.Calls)
	return fmt.Sprintf("%s: %s; N = %s (%s syscalls a run), %s under perf trace and strace",
		w.Mode, w.About, count(w.N), count(int(total)), count(w.SlowN))
}

var cpuHeader = row{"monitor", "interval", "idle processes", "measured", "CPU (% of one core)", "other processes started/s"}

func (c CPUUse) row() row {
	if c.Error != "" {
		return row{c.Monitor, c.Interval, fmt.Sprint(c.Processes), "failed: " + oneLine(c.Error)}
	}
	return row{c.Monitor, c.Interval, fmt.Sprint(c.Processes), fmt.Sprintf("%.0fs", c.Seconds), fmt.Sprintf("%.2f%%", c.Percent), fmt.Sprintf("%.0f", c.ForksPerSec)}
}

var rssHeader = row{"monitor", "before", "after the storm", "after retirement", "peak (VmHWM)"}

func (m RSSMonitor) row() row {
	if m.Error != "" {
		return row{m.Monitor, "failed: " + oneLine(m.Error)}
	}
	return row{m.Monitor, mb(m.BeforeKB), mb(m.AfterStormKB), mb(m.AfterRetireKB), mb(m.PeakKB)}
}

var startupHeader = row{"what", "median", "min–max", "runs"}

func (s StartupTimes) row(what string) row {
	if len(s.MS) == 0 {
		return row{what, "failed: " + oneLine(s.Error)}
	}
	return row{what, fmt.Sprintf("%.0f ms", s.MedianMS), fmt.Sprintf("%.0f–%.0f ms", slices.Min(s.MS), slices.Max(s.MS)), fmt.Sprint(len(s.MS))}
}

var collectorHeader = row{"benchmark", "events/s", "allocs/event", "ns/event"}

func (c CollectorBench) row() row {
	if !c.Available {
		return row{c.Name, "not available: " + oneLine(c.Error)}
	}
	return row{c.Name, fmt.Sprintf("%.2f M", c.EventsPerSec/1e6), fmt.Sprintf("%.3g", c.AllocsPerEvent), fmt.Sprintf("%.0f", c.NSPerEvent)}
}

// textTable aligns rows in columns for the terminal.
func textTable(w io.Writer, header row, rows []row) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, r := range append([]row{header}, rows...) {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}

// mdTable formats rows as a markdown table.
func mdTable(header row, rows []row) string {
	var b strings.Builder
	esc := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	line := func(r row) {
		cells := make([]string, len(header))
		for i := range cells {
			if i < len(r) {
				cells[i] = esc(r[i])
			}
		}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	line(header)
	sep := make(row, len(header))
	for i := range sep {
		sep[i] = "---"
	}
	line(sep)
	for _, r := range rows {
		line(r)
	}
	return b.String()
}

// sections are the report's tables, for both outputs.
type section struct {
	Kind   string // "workload" or "extra"
	Title  string
	Header row
	Rows   []row
	Notes  []string
}

func (r *Report) sections() []section {
	var out []section
	for i := range r.Workloads {
		w := &r.Workloads[i]
		s := section{Kind: "workload", Title: w.title(), Header: cellHeader}
		for j := range w.Cells {
			s.Rows = append(s.Rows, w.Cells[j].row())
			for _, m := range w.Cells[j].Miscounts {
				s.Notes = append(s.Notes, w.Cells[j].Tracer+" miscounted, "+m)
			}
		}
		if w.Round != "" {
			var added []string
			for _, c := range w.Cells {
				if c.AddedNSPerRound != nil {
					added = append(added, fmt.Sprintf("%s %s", c.Tracer, ns(*c.AddedNSPerRound)))
				}
			}
			if len(added) > 0 {
				s.Notes = append(s.Notes, fmt.Sprintf("Added per %s (median time of a round minus none's): %s.", w.Round, strings.Join(added, ", ")))
			}
		}
		out = append(out, s)
	}
	if w := r.SpawnRate; w != nil {
		s := section{Kind: "workload", Header: spawnRateHeader, Rows: w.spawnRateRows(),
			Title: fmt.Sprintf("spawn rate: %s; N = %s: the machine's rate of starting processes", w.About, count(w.N))}
		for _, c := range w.Cells {
			for _, m := range c.Miscounts {
				s.Notes = append(s.Notes, c.Tracer+" miscounted, "+m)
			}
		}
		out = append(out, s)
	}
	if len(r.CPU) > 0 {
		s := section{Kind: "extra", Title: "tlmon's own CPU use (utime + stime of its process) on a machine with 2,000 idle processes", Header: cpuHeader}
		for _, c := range r.CPU {
			s.Rows = append(s.Rows, c.row())
		}
		out = append(out, s)
	}
	if x := r.RSS; x != nil {
		s := section{Kind: "extra", Header: rssHeader,
			Title: fmt.Sprintf("tlmon's memory (VmRSS) around a storm of %d short-lived processes, the whole machine watched", x.Forks)}
		for _, m := range x.Monitors {
			s.Rows = append(s.Rows, m.row())
		}
		if x.Error != "" {
			s.Notes = append(s.Notes, "storm: "+oneLine(x.Error))
		}
		if x.StormLeft != nil {
			s.Notes = append(s.Notes, fmt.Sprintf("Retirement (headless JSON, %v after the storm, retirement delay %v): %d of the storm's %d processes appeared in a report during the storm, %d were still listed after, and %d exited processes in all were listed.",
				dur(x.CheckedAfterMS), dur(x.RetireAfterMS), x.StormSeen, x.Forks, *x.StormLeft, x.ExitedLeft))
		}
		out = append(out, s)
	}
	if x := r.Startup; x != nil {
		out = append(out, section{Kind: "extra", Title: "tlmon's start-up", Header: startupHeader, Rows: []row{
			x.Interactive.row("interactive, to the first full frame (tmux)"),
			x.Headless.row("headless -o json -i 100ms, to the first sample line"),
		}})
	}
	if len(r.Churn) > 0 {
		s := section{Kind: "extra", Header: churnHeader,
			Title: fmt.Sprintf("tlmon under churn: the spawn workload (%d loops) at a steady rate of process starts, the whole machine watched", churnProcs)}
		for _, c := range r.Churn {
			s.Rows = append(s.Rows, c.row())
		}
		out = append(out, s)
	}
	if x := r.BPFStats; x != nil {
		s := section{Kind: "programs", Title: x.title(), Header: bpfStatsHeader, Rows: x.rows()}
		for _, e := range x.Errors {
			s.Notes = append(s.Notes, "failed: "+oneLine(e))
		}
		out = append(out, s)
	}
	if len(r.Collector) > 0 {
		s := section{Kind: "extra", Title: "collector throughput (go test -bench ./collector)", Header: collectorHeader}
		for _, c := range r.Collector {
			s.Rows = append(s.Rows, c.row())
		}
		out = append(out, s)
	}
	if len(r.History) > 0 {
		s := section{Kind: "extra", Title: "history in memory (go test -bench TenMinutes ./history)", Header: historyHeader}
		for _, h := range r.History {
			s.Rows = append(s.Rows, h.row())
		}
		s.Notes = append(s.Notes, "600 frames (10 minutes at 1 s) of a synthetic 2,000 processes with 5 to 15 syscalls each, latency histograms spread over about 8 buckets; see docs/architecture.md, History in memory")
		out = append(out, s)
	}
	return out
}

// printReport writes the tables and the verdicts.
func printReport(w io.Writer, r *Report) {
	fmt.Fprintf(w, "\ntlmon bench %s, tree %s; kernel %s, %d × %s; median of %d reps\n", r.Date, r.Commit, r.Kernel, r.CPUs, r.CPUModel, r.Reps)
	for _, s := range r.sections() {
		fmt.Fprintf(w, "\n%s\n", s.Title)
		textTable(w, s.Header, s.Rows)
		for _, n := range s.Notes {
			fmt.Fprintln(w, "  "+n)
		}
	}
	fmt.Fprintln(w)
	for _, v := range r.Verdicts {
		fmt.Fprintf(w, "verdict: %-7s %s: %s\n", v.Mark(), v.Target, v.Got)
	}
	for _, warning := range r.Warnings {
		fmt.Fprintln(w, "warning:", warning)
	}
}

// writeJSON writes the report to bench-<date>.json and latest.json in dir.
func writeJSON(dir string, rep *Report) error {
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	t, _ := time.Parse(time.RFC3339, rep.Date)
	dated := filepath.Join(dir, "bench-"+t.Format("2006-01-02-150405")+".json")
	for _, name := range []string{dated, filepath.Join(dir, "latest.json")} {
		if err := writeFile(name, data); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "bench: wrote %s and latest.json\n", dated)
	return nil
}

// writeFile writes through a temp file and a rename, so the file is never
// half written.
func writeFile(name string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(name+".tmp", data, 0o644); err != nil {
		return err
	}
	return os.Rename(name+".tmp", name)
}

//go:embed performance.md.tmpl
var docTemplate string

// writeDoc writes docs/performance.md from the template.
func writeDoc(name string, rep *Report) error {
	tmpl, err := template.New("performance.md").Funcs(template.FuncMap{
		"table": func(s section) string { return mdTable(s.Header, s.Rows) },
		"wall":  func(sec float64) time.Duration { return time.Duration(sec * float64(time.Second)).Round(time.Second) },
		"join":  strings.Join,
	}).Parse(docTemplate)
	if err != nil {
		return fmt.Errorf("doc template: %w", err)
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, struct {
		*Report
		Sections []section
	}{rep, rep.sections()}); err != nil {
		return fmt.Errorf("doc template: %w", err)
	}
	return writeFile(name, b.Bytes())
}

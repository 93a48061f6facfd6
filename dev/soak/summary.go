package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// line is one row of the summary: a check (pass or fail) or, with info set,
// a figure that is reported and not checked.
type line struct {
	name, figures string
	pass, info    bool
	notes         []string // shown under the table
}

type summary struct{ lines []line }

func (s *summary) check(name string, pass bool, figures string, notes ...string) {
	s.lines = append(s.lines, line{name: name, pass: pass, figures: figures, notes: notes})
}

func (s *summary) info(name, figures string) {
	s.lines = append(s.lines, line{name: name, info: true, figures: figures})
}

func (s *summary) ok() bool {
	return !slices.ContainsFunc(s.lines, func(l line) bool { return !l.info && !l.pass })
}

func (s *summary) print(w io.Writer, took time.Duration) {
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "check\tresult\tfigures")
	for _, l := range s.lines {
		result := "PASS"
		switch {
		case l.info:
			result = "-"
		case !l.pass:
			result = "FAIL"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", l.name, result, l.figures)
	}
	tw.Flush()
	for _, l := range s.lines {
		for _, n := range l.notes {
			fmt.Fprintf(w, "  %s: %s\n", l.name, n)
		}
	}
	verdict := "PASS"
	if !s.ok() {
		verdict = "FAIL"
	}
	fmt.Fprintf(w, "soak: %s in %v\n", verdict, took.Round(time.Second))
}

func summarize(o options, l *load, w *watch, final *snapshot, sm *sampler, keys keyResult, monLost string) *summary {
	s := &summary{}
	for _, k := range []*kind{&l.spawn, &l.storm, &l.open} {
		figures := fmt.Sprintf("%d/%d runs exact (%s)", k.exact, k.runs, strings.Join(k.checked, ", "))
		switch k {
		case &l.spawn:
			rate := 0.0
			if k.elapsed > 0 {
				rate = float64(k.spawned) / k.elapsed.Seconds()
			}
			var codes []string
			for _, c := range slices.Sorted(maps.Keys(k.exitCodes)) {
				codes = append(codes, fmt.Sprintf("%s×%d", c, k.exitCodes[c]))
			}
			figures += fmt.Sprintf("; %d processes started, %.0f/s while running (asked %d/s), exit codes %s",
				k.spawned, rate, o.spawnRate, strings.Join(codes, " "))
		case &l.storm:
			figures += fmt.Sprintf("; %s getppid", thousands(k.calls))
		case &l.open:
			figures += fmt.Sprintf("; %d distinct paths, each opened exactly as reported in Files", 2*(k.exact-k.filesFull))
			if k.filesFull > 0 {
				figures += fmt.Sprintf(" (%d runs' paths not checked: the Files table was full, %d paths)", k.filesFull, maxFiles)
			}
		}
		if k.failed > 0 {
			figures += fmt.Sprintf("; %d runs failed", k.failed)
		}
		s.check("exact: "+k.name, k.runs > 0 && k.exact == k.runs && k.failed == 0, figures, k.misses...)
	}

	// The loss counters: the most they reached in any report, which for
	// cumulative counters is the last.
	w.mu.Lock()
	lost := maps.Clone(w.maxLost)
	first := maps.Clone(w.firstLost)
	reports, bad, note, longest, lag, maxPending := w.reports, w.invariantBad, w.invariantNote, w.lineBytes, w.maxLag, w.maxPending
	w.mu.Unlock()
	var unattributed uint64
	if final != nil {
		_, unattributed = final.losses()
	}
	nonZero := func(match func(string) bool) (string, bool) {
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(lost)) {
			if match(k) && lost[k] > 0 {
				parts = append(parts, fmt.Sprintf("%s %s (from %s)", k, thousands(lost[k]), first[k].Format("15:04:05")))
			}
		}
		if len(parts) == 0 {
			return "all 0", true
		}
		return strings.Join(parts, ", "), false
	}
	isMapFull := func(k string) bool { return strings.HasSuffix(k, "_map_full") }
	lostFig, lostOK := nonZero(func(k string) bool {
		return k == "total" || k == "attribution_misses" || k == "buffer" || k == "lifecycle_buffer"
	})
	lostFig = fmt.Sprintf("lost.total, buffer, lifecycle_buffer, attribution_misses: %s; unattributed calls at the end %s", lostFig, thousands(unattributed))
	if monLost != "" {
		lostFig += "; monitor's badge: lost " + monLost
	}
	s.check("nothing lost", lostOK && unattributed == 0, lostFig)
	mapFig, mapOK := nonZero(isMapFull)
	s.check("no map full", mapOK, mapFig)
	other, _ := nonZero(func(k string) bool {
		return !isMapFull(k) && k != "total" && k != "attribution_misses" && k != "buffer" && k != "lifecycle_buffer" && countsLoss(k)
	})
	s.info("other loss counters", other)
	var finalPending int64 = -1
	if final != nil {
		finalPending = final.PendingCalls
	}
	s.check("invariant", reports > 0 && bad == 0 && finalPending == 0,
		fmt.Sprintf("processes + retired + unattributed + pending (≥ 0) = system-wide in %d/%d reports; pending at most %s, in the final summary %d",
			reports-bad, reports, thousands(uint64(maxPending)), finalPending),
		nonEmpty(note)...)

	// The monitor keeps the history (10 minutes by default) within its
	// budgets: it may use that much more.
	s.rss(o, "headless", o.maxRSS, sm.samples["headless"], sm.hwmMB["headless"])
	s.rss(o, "monitor", o.maxRSS+o.historyRSS, sm.samples["monitor"], sm.hwmMB["monitor"])

	keyFig := fmt.Sprintf("%d presses, slowest %v, %d slower than %v", keys.presses, keys.slowest.Round(time.Millisecond), keys.late, keys.bound)
	var keyNotes []string
	if keys.err != nil {
		keyNotes = []string{keys.err.Error()}
	}
	s.check("keys answered", keys.presses > 0 && keys.late == 0 && keys.err == nil, keyFig, keyNotes...)

	if final != nil {
		s.info("headless at the end", fmt.Sprintf("%d processes listed, %s retired, %d files, %s detail events; reports up to %s kB, read up to %v after their time",
			len(final.Processes), thousands(final.Retired.Processes), len(final.Files), thousands(final.DetailEvents), thousands(uint64(longest/1024)), lag.Round(time.Millisecond)))
	}
	return s
}

// rss checks one tlmon's memory: at most maxRSS MB in every sample, and a
// least-squares slope over the samples after warm-up of at most o.maxSlope
// MB a minute. Its CPU use over the same window is reported.
func (s *summary) rss(o options, name string, maxRSS float64, samples []sample, hwm float64) {
	if len(samples) < 3 {
		s.check("RSS "+name, false, fmt.Sprintf("%d samples", len(samples)))
		return
	}
	var peak float64
	for _, sm := range samples {
		peak = max(peak, sm.rssMB)
	}
	start := samples[0].at.Add(o.warmup)
	var after []sample
	for _, sm := range samples {
		if !sm.at.Before(start) {
			after = append(after, sm)
		}
	}
	slope, ok := 0.0, len(after) >= 3
	if ok {
		slope = slopePerMinute(after)
	}
	first, last := samples[0], samples[len(samples)-1]
	// The curve, a point every tenth of the run, for reading a failure.
	var curve []string
	for i := 0; i < 10; i++ {
		curve = append(curve, fmt.Sprintf("%.0f", samples[i*len(samples)/10].rssMB))
	}
	curve = append(curve, fmt.Sprintf("%.0f", last.rssMB))
	// A slope needs minutes after warm-up to mean anything: over the short
	// version's 40 s, tables still filling (exited processes waiting to
	// retire, paths) read as growth. There it is shown, not checked.
	window := last.at.Sub(start)
	slopeChecked := window >= minSlopeWindow
	limit := fmt.Sprintf("limit %+.1f", o.maxSlope)
	if !slopeChecked {
		limit = fmt.Sprintf("not checked under %v", minSlopeWindow)
	}
	s.check("RSS "+name, ok && peak <= maxRSS && (!slopeChecked || slope <= o.maxSlope),
		fmt.Sprintf("%.1f MB at start, %.1f at the end, peak %.1f (VmHWM %.1f; limit %.0f), slope %+.2f MB/min after %v over %d samples (%s)",
			first.rssMB, last.rssMB, peak, hwm, maxRSS, slope, o.warmup, len(after), limit),
		"MB over the run: "+strings.Join(curve, " "))
	if len(after) >= 2 {
		a, b := after[0], after[len(after)-1]
		s.info("CPU "+name, fmt.Sprintf("%.1f%% of a core after warm-up", 100*(b.cpu-a.cpu).Seconds()/b.at.Sub(a.at).Seconds()))
	}
}

// minSlopeWindow is the least time after warm-up over which the RSS slope is
// checked.
const minSlopeWindow = 5 * time.Minute

// slopePerMinute is the least-squares slope of RSS over time, in MB a minute.
func slopePerMinute(samples []sample) float64 {
	t0 := samples[0].at
	var n, sx, sy, sxx, sxy float64
	for _, sm := range samples {
		x, y := sm.at.Sub(t0).Minutes(), sm.rssMB
		n++
		sx += x
		sy += y
		sxx += x * x
		sxy += x * y
	}
	d := n*sxx - sx*sx
	if d == 0 {
		return 0
	}
	return (n*sxy - sx*sy) / d
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// thousands formats n with commas: 1,234,567.
func thousands(n uint64) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// Package ui shows what the aggregator counted: the headless reports (table,
// JSON, CSV) now, the interactive monitor next. It reads immutable snapshots
// only; it must not import bpf or collector.
package output

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"tlmon/model"
	"tlmon/syscalls"
)

// Meta says how the counts were taken; every report carries it.
type Meta = model.Meta

// Report is the JSON form of one headless summary.
type Report struct {
	Version string `json:"tlmon_version"`
	Buffer  string `json:"buffer"`
	Hook    string `json:"hook"`
	Rung    int    `json:"rung"`
	Scope   string `json:"scope"`
	// SinceStart says the counts are since the start (the final summary);
	// false in the reports of each interval (-i), whose counts are that
	// interval's own, over its IntervalS seconds.
	SinceStart bool `json:"since_start"`
	// LatencySampled: see model.Meta.
	LatencySampled bool    `json:"latency_sampled,omitempty"`
	IntervalS      float64 `json:"interval_s,omitempty"`
	// ProcessesLeftOut counts the processes --top left out.
	ProcessesLeftOut int `json:"processes_left_out,omitempty"`
	*model.Snapshot
}

// report is the JSON report of s, with m, counts since the start.
func report(m Meta, s *model.Snapshot) Report {
	return Report{Version: m.Version, Buffer: m.Buffer, Hook: m.Hook, Rung: m.Rung, Scope: model.Escape(m.Scope), SinceStart: true,
		LatencySampled: m.LatencySampled, Snapshot: s}
}

// WriteJSON writes the snapshot as one JSON object on one line. An Encoder
// reuses its buffer from one report to the next, where Marshal would make a
// new one and printing it a copy: with thousands of processes a report is
// megabytes, and those two were a quarter of tlmon's heap in a fork storm.
//
// The processes are written one by one into the rest: system-wide under churn
// they are thousands, megabytes of JSON a report, and encoding the report
// whole held all of it in memory at once (a third of tlmon's heap, written
// every second with -i).
func WriteJSON(w io.Writer, m Meta, s *model.Snapshot) error {
	return writeJSON(w, report(m, s))
}

// writeJSON writes r as WriteJSON does.
func writeJSON(w io.Writer, r Report) error {
	s := r.Snapshot
	trimmed := *s
	trimmed.Processes = []model.ProcStat{}
	r.Snapshot = &trimmed
	rest, err := json.Marshal(r)
	if err != nil {
		return err
	}
	// Only a key can hold these bytes unescaped: strings escape their quotes.
	i := bytes.Index(rest, []byte(`"processes":[]`))
	if i < 0 {
		return errors.New("JSON report: no processes key")
	}
	i += len(`"processes":[`)
	bw := bufio.NewWriter(w)
	bw.Write(rest[:i])
	for j, p := range active(s.Processes) {
		if j > 0 {
			bw.WriteByte(',')
		}
		b, err := json.Marshal(p)
		if err != nil {
			return err
		}
		bw.Write(b)
	}
	bw.Write(rest[i:])
	bw.WriteByte('\n')
	return bw.Flush()
}

// RungLabel says how counts are taken: "rung 1: ringbuf + raw_tp".
func RungLabel(m Meta) string {
	label := fmt.Sprintf("rung %d: %s + %s", m.Rung, model.Escape(m.Buffer), model.Escape(m.Hook))
	if m.LatencySampled {
		label += ", latency sampled"
	}
	return label
}

// WriteCSV writes one row per (process, syscall).
func WriteCSV(w io.Writer, s *model.Snapshot) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"pid", "start_time", "comm", "syscall", "nr", "calls", "errors", "errnos", "total_ns", "avg_ns", "p50_ns", "p95_ns", "p99_ns"})
	u := strconv.FormatUint
	for _, p := range active(s.Processes) {
		for _, sc := range p.Syscalls {
			cw.Write([]string{
				u(uint64(p.ID.PID), 10), u(p.ID.Start, 10), model.Escape(p.Comm), sc.Name, strconv.Itoa(sc.Nr),
				u(sc.Calls, 10), u(sc.Errors, 10), errnoList(sc.Errnos, ";"),
				u(sc.LatSumNs, 10), u(sc.AvgNs, 10), csvQuantile(sc, sc.P50Ns), csvQuantile(sc, sc.P95Ns), csvQuantile(sc, sc.P99Ns),
			})
		}
	}
	cw.Flush()
	return cw.Error()
}

// csvQuantile is a percentile of sc, empty where no histogram is behind it
// (a young process's syscalls): absent, not zero.
func csvQuantile(sc model.SyscallStat, q uint64) string {
	if !sc.HasQuantiles() {
		return ""
	}
	return strconv.FormatUint(q, 10)
}

// WriteTable writes a summary like strace -c, then the busiest processes.
func WriteTable(w io.Writer, m Meta, s *model.Snapshot, topProcs int) error {
	const row = "%-20s %12s %10s %10s %9s %9s %9s  %s\n"
	fmt.Fprintf(w, row, "syscall", "calls", "errors", "total", "avg", "p50", "p99", "errno")
	u := func(n uint64) string { return strconv.FormatUint(n, 10) }
	for _, sc := range s.Syscalls {
		fmt.Fprintf(w, row, sc.Name, u(sc.Calls), u(sc.Errors), Duration(sc.LatSumNs),
			latency(sc.AvgNs, sc.LatCount), latency(sc.P50Ns, sc.LatCount),
			latency(sc.P99Ns, sc.LatCount), errnoList(sc.Errnos, " "))
	}
	fmt.Fprintf(w, row, "total", u(s.Totals.Calls), u(s.Totals.Errors), Duration(s.Totals.LatSumNs), "", "", "", "")

	procs := active(s.Processes)
	if len(procs) > 0 {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "PID\tCOMM\tCALLS\tERRORS\tTOP SYSCALL\tSTATUS\n")
		for i, p := range procs {
			if topProcs > 0 && i == topProcs {
				fmt.Fprintf(tw, "… %d more\t\t\t\t\t\n", len(procs)-topProcs)
				break
			}
			top := ""
			if len(p.Syscalls) > 0 {
				top = p.Syscalls[0].Name
			}
			fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%s\t%s\n", p.ID.PID, model.Escape(p.Comm), p.Calls, p.Errors, top, Status(p))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	l := s.Lost
	fmt.Fprintf(w, "\n%s over %s, %s, scope %s; lost: %s\n", plural(s.Totals.Calls, "syscall"),
		s.Elapsed.Round(time.Millisecond), RungLabel(m), m.Scope, lossLine(l))
	return nil
}

// active leaves out processes that made no call in scope: in a scoped run the
// others are only known from /proc.
func active(ps []model.ProcStat) []model.ProcStat {
	out := make([]model.ProcStat, 0, len(ps))
	for _, p := range ps {
		if p.Calls > 0 || p.Errors > 0 {
			out = append(out, p)
		}
	}
	return out
}

// Status says how a process stands: running, exited with its code, killed by a
// signal, or unnamed (seen only by its calls).
func Status(p model.ProcStat) string {
	switch {
	case p.Placeholder:
		return "unnamed"
	case p.Alive:
		return "running"
	}
	return syscalls.ExitString(p.ExitCode, p.ExitSignal)
}

func lossLine(l model.LossStats) string {
	if l.Total == 0 && l.AttributionMisses == 0 {
		return "0"
	}
	var parts []string
	for c := model.LossCause(0); c < model.NumLossCauses; c++ {
		if n := l.ByCause[c]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, c))
		}
	}
	if l.ProcOverflow > 0 {
		parts = append(parts, fmt.Sprintf("%d proc_overflow", l.ProcOverflow))
	}
	if l.AttributionMisses > 0 {
		parts = append(parts, fmt.Sprintf("%d unnamed processes", l.AttributionMisses))
	}
	return fmt.Sprintf("%d (%s)", l.Total, strings.Join(parts, ", "))
}

func errnoList(es []model.ErrnoCount, sep string) string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = fmt.Sprintf("%s:%d", e.Name, e.Count)
	}
	return strings.Join(parts, sep)
}

func plural(n uint64, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func latency(ns, samples uint64) string {
	if samples == 0 {
		return "-"
	}
	return Duration(ns)
}

// Duration formats nanoseconds for a column: 850ns, 12.3µs, 4.56ms, 1.23s.
func Duration(ns uint64) string {
	if ns < 1e3 {
		return fmt.Sprintf("%dns", ns)
	}
	// Three significant digits; a value that rounds to 1000 goes to the
	// next unit (999.7µs is 1ms, not 1e+03µs).
	v := float64(ns) / 1e3
	for _, unit := range []string{"µs", "ms", "s"} {
		if v < 999.5 {
			return strconv.FormatFloat(v, 'g', 3, 64) + unit
		}
		if unit != "s" {
			v /= 1e3
		}
	}
	return fmt.Sprintf("%.0fs", v)
}

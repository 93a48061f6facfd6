// Package metrics serves tlmon's counts to Prometheus (--metrics ADDR): an
// OpenMetrics endpoint made with Prometheus's own Go client. Its collector
// reads the latest snapshot when Prometheus scrapes, as cloudflare's
// ebpf_exporter reads its maps: nothing runs per event, nothing on the live
// path. Only with --metrics-labels does a goroutine fold each interval's
// snapshot into per-command or per-cgroup counters (groups.go).
//
// It serves counts only: never arguments, paths, command lines or PIDs.
// It imports model alone of tlmon's packages.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"tlmon/model"
)

// histLog2 are the upper bounds of the latency histograms' buckets, as powers
// of two of nanoseconds: 256ns, 1.02µs, 4.1µs, ... 17.2s, every power of 4.
// The snapshot's half-octave buckets (80 of them) are merged four into one so
// that a syscall has 15 series of buckets, not 81: a syscall's latency still
// reads within a factor of 4, enough for rates and alerts, and the monitor
// has the fine-grained percentiles.
var histLog2 = []uint{8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34}

// histUpper are histLog2 in seconds (Prometheus's unit of time).
var histUpper = func() []float64 {
	u := make([]float64, len(histLog2))
	for i, l := range histLog2 {
		u[i] = float64(uint64(1)<<l) / 1e9
	}
	return u
}()

// overflowCause is the lost-events cause of processes refused at the aggregator's
// bound (model.LossStats.ProcOverflow), beside the kernel's causes.
const overflowCause = "proc_overflow"

// collector turns the latest snapshot into metrics at each scrape.
type collector struct {
	snapshot func() *model.Snapshot
	groups   []*groups // one per --metrics-labels value

	calls, errors, duration, lost, detail, started, exited, info *prometheus.Desc
	version                                                      string
}

func newCollector(snapshot func() *model.Snapshot, version string, groups []*groups) *collector {
	return &collector{
		snapshot: snapshot,
		groups:   groups,
		version:  version,
		calls: prometheus.NewDesc("tlmon_syscalls_total",
			"System calls made, by syscall; class is the syscall's strace-style classes, comma-separated.",
			[]string{"syscall", "class"}, nil),
		errors: prometheus.NewDesc("tlmon_syscall_errors_total",
			"System calls that returned an error, by syscall and errno name (errors whose errno was not recorded, see cause errno_map_full, are in no series).",
			[]string{"syscall", "errno"}, nil),
		duration: prometheus.NewDesc("tlmon_syscall_duration_seconds",
			"Time from a system call's entry to its return, by syscall (none with --no-latency).",
			[]string{"syscall"}, nil),
		lost: prometheus.NewDesc("tlmon_lost_events_total",
			"What tlmon could not count or attribute, by cause (the causes of tlmon's loss report).",
			[]string{"cause"}, nil),
		detail: prometheus.NewDesc("tlmon_detail_events_total",
			"Detail events (one call with its arguments) received from the kernel.",
			nil, nil),
		started: prometheus.NewDesc("tlmon_processes_started_total",
			"Processes tlmon has tracked: those running when it started counting and every one started since.",
			nil, nil),
		exited: prometheus.NewDesc("tlmon_processes_exited_total",
			"Tracked processes that exited (or, named by no event, are presumed gone).",
			nil, nil),
		info: prometheus.NewDesc("tlmon_build_info",
			"tlmon's version; always 1.",
			[]string{"version"}, nil),
	}
}

// Describe sends every family's description.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.calls, c.errors, c.duration, c.lost, c.detail, c.started, c.exited, c.info} {
		ch <- d
	}
	for _, g := range c.groups {
		ch <- g.calls
		ch <- g.errors
	}
}

// Collect walks the latest snapshot once.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(c.info, prometheus.GaugeValue, 1, c.version)
	s := c.snapshot()
	if s == nil {
		return
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	for i := range s.Syscalls {
		st := &s.Syscalls[i]
		counter(c.calls, st.Calls, st.Name, st.Classes.String())
		for _, e := range st.Errnos {
			counter(c.errors, e.Count, st.Name, e.Name)
		}
		if st.Hist != nil {
			ch <- c.histogram(st)
		}
	}
	for cause := model.LossCause(0); cause < model.NumLossCauses; cause++ {
		counter(c.lost, s.Lost.ByCause[cause], cause.String())
	}
	counter(c.lost, s.Lost.ProcOverflow, overflowCause)
	counter(c.detail, s.DetailEvents)
	var exited uint64
	for i := range s.Processes {
		// A placeholder is presumed gone but may yet be named alive: it
		// counts once retired, so the counter never goes down.
		if p := &s.Processes[i]; !p.Alive && !p.Placeholder {
			exited++
		}
	}
	counter(c.started, uint64(len(s.Processes))+s.Retired.Processes)
	counter(c.exited, exited+s.Retired.Processes)
	for _, g := range c.groups {
		g.collect(s, ch)
	}
}

// histogram merges a syscall's half-octave buckets into histUpper's: the
// bucket le=2^k ns counts the calls that took less than 2^k ns, which are
// the half-octave buckets below index 2k (model.HistBounds).
func (c *collector) histogram(st *model.SyscallStat) prometheus.Metric {
	buckets := make(map[float64]uint64, len(histUpper))
	var cum uint64
	next := 0
	for k, l := range histLog2 {
		for ; next < int(2*l); next++ {
			cum += st.Hist[next]
		}
		buckets[histUpper[k]] = cum
	}
	for ; next < model.HistBuckets; next++ {
		cum += st.Hist[next]
	}
	return prometheus.MustNewConstHistogram(c.duration, cum, float64(st.LatSumNs)/1e9, buckets, st.Name)
}

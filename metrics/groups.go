package metrics

import (
	"fmt"
	"sync"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"tlmon/model"
)

// The --metrics-labels values: series per command name, per cgroup.
const (
	LabelComm   = "comm"
	LabelCgroup = "cgroup"
)

// MaxGroups is how many commands (or cgroups) get series of their own: the
// first MaxGroups seen making calls, busiest first at each fold. The calls of
// any other add up under OtherGroup. A group keeps its series once it has
// them, so that no counter ever goes down (Prometheus would read a reset).
const MaxGroups = 50

// OtherGroup is the label value of the calls of the groups past MaxGroups
// (and of a command that is itself named "other").
const OtherGroup = "other"

// maxLabelLen bounds a label value in bytes: a cgroup path can be long.
const maxLabelLen = 128

// groups keeps the calls and errors of each syscall per command (or cgroup)
// as counters that never go down. A snapshot's processes cannot give them
// directly: a process leaves Snapshot.Processes when it retires (its counts go
// to one retired total), and a process that execs takes a new comm with the
// counts it made under the old one. So each fold adds what each process did
// since the snapshot folded before, under the process's current name, and a
// process's last counts stay counted after it retires. Folding once an
// interval sees every process's final counts: an exited process stays in the
// snapshots for 5 seconds after its counts are final (the aggregator's
// RetireAfter), unless more than 256 exit at once and the oldest retire early;
// the calls such a process made in its last interval are then not in these
// series (they are in tlmon_syscalls_total).
type groups struct {
	key           func(*model.ProcStat) string
	calls, errors *prometheus.Desc
	max           int

	mu sync.Mutex
	// prev is the snapshot folded last, and prevProcs its processes by id.
	prev      *model.Snapshot
	prevProcs map[model.ProcID]*model.ProcStat
	named     map[string]map[string]callsErrors
	other     map[string]callsErrors
}

// callsErrors are one syscall's counts in one group.
type callsErrors struct{ calls, errors uint64 }

// newGroups makes the series of one --metrics-labels value.
func newGroups(kind string, max int) (*groups, error) {
	g := &groups{max: max, prevProcs: map[model.ProcID]*model.ProcStat{},
		named: map[string]map[string]callsErrors{}, other: map[string]callsErrors{}}
	switch kind {
	case LabelComm:
		g.key = func(p *model.ProcStat) string { return labelValue(p.Comm) }
		g.calls = prometheus.NewDesc("tlmon_command_syscalls_total",
			"System calls made, by command name (comm: the first 50 seen, the rest as \"other\") and syscall.",
			[]string{"comm", "syscall"}, nil)
		g.errors = prometheus.NewDesc("tlmon_command_syscall_errors_total",
			"System calls that returned an error, by command name (as tlmon_command_syscalls_total) and syscall.",
			[]string{"comm", "syscall"}, nil)
	case LabelCgroup:
		g.key = func(p *model.ProcStat) string {
			// On a hybrid host every process may sit at the v2 root: its
			// v1 place (name=systemd:/system.slice/x.service) names it.
			if p.V1Cgroup != "" && (p.CgroupPath == "" || p.CgroupPath == "/") {
				return labelValue(p.V1Cgroup)
			}
			return labelValue(p.CgroupPath)
		}
		g.calls = prometheus.NewDesc("tlmon_cgroup_syscalls_total",
			"System calls made, by cgroup (its path, which names the systemd unit: the first 50 seen, the rest as \"other\") and syscall.",
			[]string{"cgroup", "syscall"}, nil)
		g.errors = prometheus.NewDesc("tlmon_cgroup_syscall_errors_total",
			"System calls that returned an error, by cgroup (as tlmon_cgroup_syscalls_total) and syscall.",
			[]string{"cgroup", "syscall"}, nil)
	default:
		return nil, fmt.Errorf("%q: want %s or %s", kind, LabelComm, LabelCgroup)
	}
	return g, nil
}

// labelValue makes a name from outside tlmon a label value: escaped as
// everywhere in tlmon (valid UTF-8, inert), at most maxLabelLen bytes, and
// "unknown" rather than empty (an empty value is no label at all). A longer
// one keeps its end, after "…": a cgroup path's end names its unit.
func labelValue(s string) string {
	s = model.Escape(s)
	if len(s) > maxLabelLen {
		const ellipsis = "…"
		cut := len(s) - (maxLabelLen - len(ellipsis))
		for cut < len(s) && !utf8.RuneStart(s[cut]) {
			cut++
		}
		s = ellipsis + s[cut:]
	}
	if s == "" {
		return "unknown"
	}
	return s
}

// fold adds what each process of s did since the snapshot folded before.
func (g *groups) fold(s *model.Snapshot) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if s == nil || s == g.prev {
		return
	}
	if p := g.prev; p != nil && (s.Totals.Calls < p.Totals.Calls || s.At.Add(-s.Elapsed).After(p.At)) {
		// The counts were cleared (the monitor's c) after p: everything
		// in s is new. These counters go on from where they were.
		clear(g.prevProcs)
	}
	for i := range s.Processes {
		p := &s.Processes[i]
		q := g.prevProcs[p.ID]
		if q != nil && q.Calls == p.Calls && q.Errors == p.Errors {
			continue // unchanged, as most are in an interval
		}
		var acc map[string]callsErrors // chosen at the first call: idle processes take no group
		for j := range p.Syscalls {
			sc := &p.Syscalls[j]
			var before model.Counts
			if q != nil {
				before = syscallCounts(q, sc.Nr)
			}
			dc, de := sub(sc.Calls, before.Calls), sub(sc.Errors, before.Errors)
			if dc != 0 || de != 0 {
				if acc == nil {
					acc = g.group(g.key(p))
				}
				v := acc[sc.Name]
				v.calls, v.errors = v.calls+dc, v.errors+de
				acc[sc.Name] = v
			}
		}
	}
	clear(g.prevProcs)
	for i := range s.Processes {
		g.prevProcs[s.Processes[i].ID] = &s.Processes[i]
	}
	g.prev = s
}

// group is the counts of the group named name, a new one while there is room.
func (g *groups) group(name string) map[string]callsErrors {
	if acc, ok := g.named[name]; ok {
		return acc
	}
	if len(g.named) >= g.max || name == OtherGroup {
		return g.other
	}
	acc := map[string]callsErrors{}
	g.named[name] = acc
	return acc
}

// syscallCounts are p's counts of syscall nr.
func syscallCounts(p *model.ProcStat, nr int) model.Counts {
	for i := range p.Syscalls {
		if p.Syscalls[i].Nr == nr {
			return p.Syscalls[i].Counts
		}
	}
	return model.Counts{}
}

// sub is a-b, or 0 where a process's count went down (it cannot, but a
// counter must not).
func sub(a, b uint64) uint64 {
	if a < b {
		return 0
	}
	return a - b
}

// collect folds s and sends every group's series.
func (g *groups) collect(s *model.Snapshot, ch chan<- prometheus.Metric) {
	g.fold(s)
	g.mu.Lock()
	defer g.mu.Unlock()
	send := func(name string, acc map[string]callsErrors) {
		for sc, v := range acc {
			ch <- prometheus.MustNewConstMetric(g.calls, prometheus.CounterValue, float64(v.calls), name, sc)
			if v.errors > 0 {
				ch <- prometheus.MustNewConstMetric(g.errors, prometheus.CounterValue, float64(v.errors), name, sc)
			}
		}
	}
	for name, acc := range g.named {
		send(name, acc)
	}
	send(OtherGroup, g.other)
}

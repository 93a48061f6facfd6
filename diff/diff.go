// Package diff compares two windows of a session, or of two sessions: which
// commands and syscalls changed their calls/s, errors/s and p99 the most
// between them, and which appeared or vanished. A window is two snapshots,
// its start and its end: what happened between them is the end's counts
// less the start's. The monitor's diff view and the --diff report read the
// same Result.
package diff

import (
	"cmp"
	"math"
	"slices"
	"time"

	"tlmon/model"
)

// Window is what happened between two snapshots of one session: From's
// counts are taken from To's (From nil: everything To counted, since its
// start).
type Window struct {
	From, To *model.Snapshot
}

// Span is how long the window lasts: To's interval alone for a window of
// one snapshot.
func (w Window) Span() time.Duration {
	if w.From == nil {
		return w.To.Elapsed
	}
	return w.To.At.Sub(w.From.At)
}

// Stats are one command's or syscall's rates over a window, and its p99
// where its calls were timed with a histogram (HasP99).
type Stats struct {
	Calls, Errors       uint64
	CallRate, ErrorRate float64
	P99Ns               uint64
	HasP99              bool
}

// Change marks a row that is only in one of the windows.
type Change uint8

const (
	Both     Change = iota
	New             // only in B
	Vanished        // only in A
)

func (c Change) String() string {
	switch c {
	case New:
		return "new"
	case Vanished:
		return "vanished"
	}
	return ""
}

// Row is one command or syscall in both windows.
type Row struct {
	Name   string
	A, B   Stats
	Change Change
}

// DeltaCallRate and the others are B less A.
func (r Row) DeltaCallRate() float64  { return r.B.CallRate - r.A.CallRate }
func (r Row) DeltaErrorRate() float64 { return r.B.ErrorRate - r.A.ErrorRate }
func (r Row) DeltaP99() float64       { return float64(r.B.P99Ns) - float64(r.A.P99Ns) }

// Result is the comparison of two windows: commands and syscalls, each
// sorted by the size of its change in calls/s, then errors/s, then p99.
type Result struct {
	A, B     Window
	Commands []Row
	Syscalls []Row
}

// Compare compares window a with window b.
func Compare(a, b Window) Result {
	r := Result{A: a, B: b}
	r.Commands = join(commands(a, ""), commands(b, ""), a.Span(), b.Span())
	r.Syscalls = join(syscallsOf(a), syscallsOf(b), a.Span(), b.Span())
	return r
}

// CommandSyscalls compares the syscalls of command comm in a and b (a
// command's row drilled into).
func CommandSyscalls(a, b Window, comm string) []Row {
	return join(syscallsOfCommand(a, comm), syscallsOfCommand(b, comm), a.Span(), b.Span())
}

// SyscallCommands compares the commands that made syscall name in a and b
// (a syscall's row drilled into).
func SyscallCommands(a, b Window, name string) []Row {
	return join(commands(a, name), commands(b, name), a.Span(), b.Span())
}

// tally is a row's counts and histogram over one window, before rates.
type tally struct {
	model.Counts
	hist  model.Hist
	timed bool // a histogram is behind it
}

// add adds the counts of s less those of from (nil: none; counts that went
// down were cleared in between, and count whole).
func (t *tally) add(s, from *model.SyscallStat) {
	if from != nil && s.Counts.Since(from.Counts) == s.Counts {
		from = nil
	}
	c := s.Counts
	if from != nil {
		c.Sub(from.Counts)
	}
	t.Counts.Add(c)
	if s.Hist == nil {
		return
	}
	t.timed = true
	for i, v := range s.Hist {
		if from != nil && from.Hist != nil {
			v -= min(v, from.Hist[i])
		}
		t.hist[i] += v
	}
}

// byProcess tallies w's processes' syscalls, each less what it was at the
// window's start, under the key row gives it ("": left out). A process gone
// by the window's end (retired) is left out: its last counts are not known.
func byProcess(w Window, row func(p *model.ProcStat, s *model.SyscallStat) string) map[string]*tally {
	before := map[model.ProcID]*model.ProcStat{}
	if w.From != nil {
		for i := range w.From.Processes {
			before[w.From.Processes[i].ID] = &w.From.Processes[i]
		}
	}
	out := map[string]*tally{}
	for i := range w.To.Processes {
		p := &w.To.Processes[i]
		prev := before[p.ID]
		for j := range p.Syscalls {
			s := &p.Syscalls[j]
			key := row(p, s)
			if key == "" {
				continue
			}
			t := out[key]
			if t == nil {
				t = &tally{}
				out[key] = t
			}
			t.add(s, syscallIn(prev, s.Nr))
		}
	}
	return active(out)
}

// commands tallies w by command, of syscall only if it is not "".
func commands(w Window, syscall string) map[string]*tally {
	return byProcess(w, func(p *model.ProcStat, s *model.SyscallStat) string {
		if syscall != "" && s.Name != syscall {
			return ""
		}
		return p.Comm
	})
}

// syscallsOfCommand tallies w by syscall, of command comm's processes.
func syscallsOfCommand(w Window, comm string) map[string]*tally {
	return byProcess(w, func(p *model.ProcStat, s *model.SyscallStat) string {
		if p.Comm != comm {
			return ""
		}
		return s.Name
	})
}

// active leaves out the rows with nothing counted in the window.
func active(m map[string]*tally) map[string]*tally {
	for name, t := range m {
		if t.Calls == 0 && t.Errors == 0 {
			delete(m, name)
		}
	}
	return m
}

// syscallIn is p's stat of syscall nr, or nil.
func syscallIn(p *model.ProcStat, nr int) *model.SyscallStat {
	if p == nil {
		return nil
	}
	for i := range p.Syscalls {
		if p.Syscalls[i].Nr == nr {
			return &p.Syscalls[i]
		}
	}
	return nil
}

// syscallsOf tallies w by syscall, system-wide.
func syscallsOf(w Window) map[string]*tally {
	var from []model.SyscallStat
	if w.From != nil {
		from = w.From.Syscalls
	}
	out := map[string]*tally{}
	for i := range w.To.Syscalls {
		s := &w.To.Syscalls[i]
		var prev *model.SyscallStat
		if j := slices.IndexFunc(from, func(f model.SyscallStat) bool { return f.Name == s.Name }); j >= 0 {
			prev = &from[j]
		}
		t := &tally{}
		t.add(s, prev)
		out[s.Name] = t
	}
	return active(out)
}

// stats are a tally's rates over span.
func (t *tally) stats(span time.Duration) Stats {
	s := Stats{Calls: t.Calls, Errors: t.Errors}
	if secs := span.Seconds(); secs > 0 {
		s.CallRate, s.ErrorRate = float64(t.Calls)/secs, float64(t.Errors)/secs
	}
	if t.timed && t.hist.Count() > 0 {
		s.P99Ns, s.HasP99 = t.hist.Quantile(0.99), true
	}
	return s
}

// join pairs the rows of a and b by name, marks those in one only, and
// sorts them by the size of their change.
func join(a, b map[string]*tally, spanA, spanB time.Duration) []Row {
	var rows []Row
	for name, ta := range a {
		r := Row{Name: name, A: ta.stats(spanA), Change: Vanished}
		if tb := b[name]; tb != nil {
			r.B, r.Change = tb.stats(spanB), Both
		}
		rows = append(rows, r)
	}
	for name, tb := range b {
		if a[name] == nil {
			rows = append(rows, Row{Name: name, B: tb.stats(spanB), Change: New})
		}
	}
	slices.SortFunc(rows, func(x, y Row) int {
		return cmp.Or(
			cmp.Compare(math.Abs(y.DeltaCallRate()), math.Abs(x.DeltaCallRate())),
			cmp.Compare(math.Abs(y.DeltaErrorRate()), math.Abs(x.DeltaErrorRate())),
			cmp.Compare(math.Abs(y.DeltaP99()), math.Abs(x.DeltaP99())),
			cmp.Compare(x.Name, y.Name))
	})
	return rows
}

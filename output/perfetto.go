package output

import (
	"bufio"
	"encoding/json"
	"io"
	"iter"
	"sort"
	"strconv"
	"time"

	"tlmon/model"
	"tlmon/syscalls"
)

// Perfetto's UI (and chrome://tracing) opens the Trace Event Format: a JSON
// object whose traceEvents are metadata (M: a process's or thread's name),
// complete slices (X: a start and a duration, in µs) and counters (C). A
// recording becomes one: each process a track with its lifetime as a
// slice, each detailed or slow call a slice on its thread's track with its
// arguments, the system-wide calls/s and errors/s and each busy syscall's
// calls/s as counters.

// traceEvent is one event of the Trace Event Format. Times are µs since the
// recording's start (ts), as floats: the ns stay in the fraction.
type traceEvent struct {
	Name string         `json:"name"`
	Cat  string         `json:"cat"` // Chrome's trace viewer needs one on every event
	Ph   string         `json:"ph"`
	Ts   float64        `json:"ts"`
	Dur  *float64       `json:"dur,omitempty"`
	S    string         `json:"s,omitempty"` // an instant's scope: "t", its thread
	PID  uint32         `json:"pid"`
	TID  uint32         `json:"tid"`
	Args map[string]any `json:"args,omitempty"`
}

// counterPID is the track of the system-wide counters: no process has PID 0.
const counterPID = 0

// counterSyscalls is how many of the busiest syscalls get a counter of
// their own.
const counterSyscalls = 10

// Trace is what WritePerfetto writes of a recording.
type Trace struct {
	Meta Meta
	// Start is when the recording's counts began: times count from it.
	Start time.Time
	// Frames are its snapshots, oldest first; Final is the last.
	Frames iter.Seq[*model.Snapshot]
	Final  *model.Snapshot
	// Calls are its detail events, Lifecycle its forks, execs and exits.
	Calls     iter.Seq[model.CallRecord]
	Lifecycle iter.Seq[model.LifeRecord]
}

// WritePerfetto writes t as a Trace Event Format file.
func WritePerfetto(w io.Writer, t Trace) error {
	meta, start, final, frames, calls := t.Meta, t.Start, t.Final, t.Frames, t.Calls
	us := func(t time.Time) float64 { return float64(t.Sub(start).Nanoseconds()) / 1e3 }
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	bw.WriteString(`{"displayTimeUnit":"ns","otherData":`)
	enc.Encode(map[string]any{"tlmon": meta.Version, "scope": model.Escape(meta.Scope), "rung": RungLabel(meta)})
	bw.WriteString(`,"traceEvents":[`)
	first := true
	emit := func(e traceEvent) {
		if e.Cat == "" {
			e.Cat = map[string]string{"M": "__metadata", "C": "rate"}[e.Ph]
		}
		if !first {
			bw.WriteByte(',')
		}
		first = false
		enc.Encode(e)
	}
	emit(traceEvent{Name: "process_name", Ph: "M", PID: counterPID, Args: map[string]any{"name": "tlmon: all processes"}})

	// The counters: one point a frame; the processes as they were last.
	busiest := busiestSyscalls(final, counterSyscalls)
	last := map[model.ProcID]model.ProcStat{}
	var order []model.ProcID
	for f := range frames {
		for _, p := range f.Processes {
			if _, ok := last[p.ID]; !ok {
				order = append(order, p.ID)
			}
			p.Syscalls = nil
			last[p.ID] = p
		}
		emit(traceEvent{Name: "syscalls/s", Ph: "C", Ts: us(f.At), PID: counterPID,
			Args: map[string]any{"calls": f.Totals.CallRate, "errors": f.Totals.ErrorRate}})
		rates := map[string]any{}
		for _, s := range f.Syscalls {
			if busiest[s.Name] {
				rates[s.Name] = s.CallRate
			}
		}
		if len(rates) > 0 {
			emit(traceEvent{Name: "calls/s by syscall", Ph: "C", Ts: us(f.At), PID: counterPID, Args: rates})
		}
	}

	// The processes: named, and their lifetimes as slices, from their start
	// (or the recording's) to their exit (or its end).
	end := final.At
	for _, id := range order {
		p := last[id]
		if p.Calls == 0 && p.Errors == 0 {
			continue
		}
		name := model.Escape(p.Comm)
		emit(traceEvent{Name: "process_name", Ph: "M", PID: p.ID.PID, Args: map[string]any{"name": name}})
		from := start
		if !meta.Boot.IsZero() {
			if born := meta.Boot.Add(time.Duration(p.ID.Start) * (time.Second / model.ClockTicksPerSecond)); born.After(start) {
				from = born
			}
		}
		to := end
		if !p.Alive && !p.ExitedAt.IsZero() {
			to = p.ExitedAt
		}
		dur := max(0, us(to)-us(from))
		emit(traceEvent{Name: name + " " + strconv.FormatUint(uint64(p.ID.PID), 10), Cat: "process", Ph: "X", Ts: us(from), Dur: &dur,
			PID: p.ID.PID, TID: p.ID.PID, Args: map[string]any{"status": Status(p), "calls": p.Calls, "errors": p.Errors, "cmdline": model.Escape(p.Cmdline)}})
	}

	// The forks, execs and exits, as instants on the thread's track at
	// their kernel times: a fork on the child's.
	for r := range t.Lifecycle {
		args := map[string]any{"comm": model.Escape(r.Comm)}
		switch r.Kind {
		case model.EventFork:
			args["parent"] = r.Parent.PID
		case model.EventExec:
			args["filename"] = model.Escape(r.Filename)
		case model.EventExit:
			args["code"], args["signal"], args["core_dumped"] = r.ExitCode, r.ExitSignal, r.CoreDumped
		}
		emit(traceEvent{Name: r.Kind.String(), Cat: "process", Ph: "i", S: "t", Ts: us(r.Time), PID: r.Proc.PID, TID: r.TID, Args: args})
	}

	// The calls, each on its thread's track, ending at its time.
	threads := map[[2]uint32]bool{}
	for call := range calls {
		c := &call
		if t := [2]uint32{c.Proc.PID, c.TID}; !threads[t] {
			threads[t] = true
			emit(traceEvent{Name: "thread_name", Ph: "M", PID: c.Proc.PID, TID: c.TID, Args: map[string]any{"name": "tid " + strconv.FormatUint(uint64(c.TID), 10)}})
		}
		dur := float64(c.Duration.Nanoseconds()) / 1e3
		name := c.Name
		if name == "" {
			name = "syscall_" + strconv.Itoa(c.Nr)
		}
		args := map[string]any{"call": syscalls.FormatCall(c), "ret": c.Ret}
		if e := c.Errno(); e != 0 {
			args["errno"] = syscalls.ErrnoName(e)
		}
		cat := "syscall"
		if c.Flags&model.CallSlow != 0 {
			cat = "syscall,slow"
		}
		emit(traceEvent{Name: name, Cat: cat, Ph: "X", Ts: us(c.Time) - dur, Dur: &dur, PID: c.Proc.PID, TID: c.TID, Args: args})
	}
	bw.WriteString("]}\n")
	return bw.Flush()
}

// busiestSyscalls are the n syscalls with the most calls in s.
func busiestSyscalls(s *model.Snapshot, n int) map[string]bool {
	list := append([]model.SyscallStat(nil), s.Syscalls...)
	sort.SliceStable(list, func(i, j int) bool { return list[i].Calls > list[j].Calls })
	out := map[string]bool{}
	for _, st := range list[:min(n, len(list))] {
		out[st.Name] = true
	}
	return out
}

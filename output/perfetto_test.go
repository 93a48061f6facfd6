package output

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"tlmon/model"
)

// TestPerfettoFileFollowsTheTraceEventFormat checks the file against the
// Trace Event Format's rules (its published description: every event a
// name, a category, a phase and a pid; M with args.name; X with ts and a dur of 0 or
// more; C with numeric args) and that it holds what a recording had: a
// slice per call on its thread, each process's lifetime, a counter point a
// frame.
func TestPerfettoFileFollowsTheTraceEventFormat(t *testing.T) {
	boot := time.Date(2026, 12, 6, 11, 0, 0, 0, time.UTC)
	t0 := boot.Add(time.Hour)
	mk := func(at time.Duration, alive bool) *model.Snapshot {
		p := model.ProcStat{ID: model.ProcID{PID: 42, Start: uint64(3600*model.ClockTicksPerSecond + 50)}, Comm: "dd\x1b]0;x", Alive: alive,
			Counts: model.Counts{Calls: 10}, Syscalls: []model.SyscallStat{{Nr: 0, Name: "read", Counts: model.Counts{Calls: 10}}}}
		if !alive {
			p.ExitedAt = t0.Add(at)
		}
		return &model.Snapshot{At: t0.Add(at), Elapsed: at, Totals: model.SyscallTotals{CallRate: 10},
			Syscalls: p.Syscalls, Processes: []model.ProcStat{p}}
	}
	frames := []*model.Snapshot{mk(time.Second, true), mk(2*time.Second, false)}
	calls := []model.CallRecord{
		{Proc: frames[0].Processes[0].ID, TID: 43, Time: t0.Add(1500 * time.Millisecond), Nr: 0, Name: "read", Ret: -2, Duration: 2 * time.Millisecond},
		{Proc: frames[0].Processes[0].ID, TID: 43, Time: t0.Add(1600 * time.Millisecond), Nr: 257, Name: "openat", Ret: 3, Duration: time.Microsecond, Flags: model.CallSlow},
	}
	id := frames[0].Processes[0].ID
	life := []model.LifeRecord{
		{Kind: model.EventFork, Time: t0.Add(500 * time.Millisecond), Proc: id, TID: 42, Parent: model.ProcID{PID: 1}, Comm: "sh"},
		{Kind: model.EventExec, Time: t0.Add(501 * time.Millisecond), Proc: id, TID: 42, Comm: "dd", Filename: "/bin/dd"},
		{Kind: model.EventExit, Time: t0.Add(2 * time.Second), Proc: id, TID: 42, ExitCode: 1, Comm: "dd"},
	}
	var buf bytes.Buffer
	if err := WritePerfetto(&buf, Trace{Meta: Meta{Version: "v1", Boot: boot, Scope: "all"}, Start: t0, Final: frames[1],
		Frames: slices.Values(frames), Calls: slices.Values(calls), Lifecycle: slices.Values(life)}); err != nil {
		t.Fatal(err)
	}
	var file struct {
		TraceEvents []map[string]any `json:"traceEvents"`
	}
	if err := json.Unmarshal(buf.Bytes(), &file); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, buf.String())
	}
	phases := map[string]int{}
	var spans []map[string]any
	for i, e := range file.TraceEvents {
		name, _ := e["name"].(string)
		ph, _ := e["ph"].(string)
		// The format calls cat optional; Chrome's trace viewer fails
		// without it (found loading a tlmon trace in devtools-timeline-model).
		if cat, ok := e["cat"].(string); !ok || cat == "" {
			t.Errorf("event %d has no category: %v", i, e)
		}
		_, hasPID := e["pid"].(float64)
		ts, hasTS := e["ts"].(float64)
		if name == "" || !hasPID || !hasTS || ts < 0 {
			t.Errorf("event %d lacks a name, a pid or a ts ≥ 0: %v", i, e)
		}
		phases[ph]++
		args, _ := e["args"].(map[string]any)
		switch ph {
		case "M":
			if n, _ := args["name"].(string); n == "" || (name != "process_name" && name != "thread_name") {
				t.Errorf("metadata event %d: %v", i, e)
			}
		case "X":
			if d, ok := e["dur"].(float64); !ok || d < 0 {
				t.Errorf("slice %d has no dur ≥ 0: %v", i, e)
			}
			spans = append(spans, e)
		case "i":
			if e["s"] != "t" || e["cat"] != "process" || e["tid"].(float64) != 42 {
				t.Errorf("instant %d: %v", i, e)
			}
			if name == "exec" && (ts != 501_000 || args["filename"] != "/bin/dd") || name == "exit" && (ts != 2_000_000 || args["code"] != 1.0) {
				t.Errorf("the %s instant: %v", name, e)
			}
		case "C":
			for k, v := range args {
				if _, ok := v.(float64); !ok {
					t.Errorf("counter %d's %s is not a number: %v", i, k, e)
				}
			}
		default:
			t.Errorf("event %d has phase %q", i, ph)
		}
	}
	if phases["C"] < len(frames) || len(spans) != len(calls)+1 || phases["i"] != len(life) {
		t.Errorf("phases %v, slices %d: want a counter a frame, a slice a call and one for the process, an instant a lifecycle event", phases, len(spans))
	}
	for _, s := range spans {
		switch s["name"] {
		case "read":
			if s["dur"].(float64) != 2000 || s["ts"].(float64) != 1_498_000 || s["tid"].(float64) != 43 {
				t.Errorf("read's slice: %v", s)
			}
			if a := s["args"].(map[string]any); a["errno"] != "ENOENT" {
				t.Errorf("read's errno: %v", a)
			}
		case `dd\x1b]0;x 42`:
			// born 0.5 s into the recording, exited at 2 s
			if s["ts"].(float64) != 500_000 || s["dur"].(float64) != 1_500_000 {
				t.Errorf("the process's lifetime: %v", s)
			}
		case "openat":
			if s["cat"] != "syscall,slow" {
				t.Errorf("the slow call is not marked: %v", s)
			}
		default:
			t.Errorf("unexpected slice %v", s)
		}
	}
	if bytes.Contains(buf.Bytes(), []byte("\x1b")) {
		t.Error("a raw escape reached the file")
	}
}

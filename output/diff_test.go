package output

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"tlmon/diff"
	"tlmon/model"
)

func diffSides() (DiffSide, DiffSide, diff.Result) {
	t0 := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	snapOf := func(at time.Duration, comm string, calls uint64) *model.Snapshot {
		h := model.Hist{}
		h[model.HistBucket(2000)] = calls
		s := model.SyscallStat{Nr: 0, Name: "read", Counts: model.Counts{Calls: calls, Errors: 1}, Hist: &h}
		return &model.Snapshot{At: t0.Add(at), Elapsed: at, Syscalls: []model.SyscallStat{s},
			Processes: []model.ProcStat{{ID: model.ProcID{PID: 1, Start: 1}, Comm: comm, Syscalls: []model.SyscallStat{s}}}}
	}
	a := DiffSide{Name: "a.tlmon", Window: diff.Window{To: snapOf(10*time.Second, "make", 100)}}
	b := DiffSide{Name: "b.tlmon", Window: diff.Window{From: snapOf(time.Second, "evil\x1b[2J", 10), To: snapOf(3*time.Second, "evil\x1b[2J", 50)}}
	return a, b, diff.Compare(a.Window, b.Window)
}

// TestDiffReportsCarryBothWindowsAndEveryRow: the table names both windows
// and lists every row with its change; the JSON parses, with a p99 or null
// and untrusted names escaped in both.
func TestDiffReportsCarryBothWindowsAndEveryRow(t *testing.T) {
	a, b, res := diffSides()
	var tb bytes.Buffer
	if err := WriteDiffTable(&tb, a, b, res); err != nil {
		t.Fatal(err)
	}
	out := tb.String()
	for _, want := range []string{"A: a.tlmon, start to 12:00:10.000 (10s)", "B: b.tlmon, 12:00:01.000 to 12:00:03.000 (2s)", "vanished", "new", `evil\x1b[2J`, "+10.0"} {
		if !strings.Contains(out, want) {
			t.Errorf("the table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b") {
		t.Errorf("a raw escape reached the table:\n%q", out)
	}
	var js bytes.Buffer
	if err := WriteDiffJSON(&js, a, b, res); err != nil {
		t.Fatal(err)
	}
	var got struct {
		A struct {
			SpanS float64 `json:"span_s"`
		} `json:"a"`
		Commands []struct {
			Name   string
			Change string
			B      struct {
				CallRate float64 `json:"call_rate"`
				P99Ns    *uint64 `json:"p99_ns"`
			}
		}
		Syscalls []struct {
			Delta struct {
				CallRate float64  `json:"call_rate"`
				P99Ns    *float64 `json:"p99_ns"`
			}
		}
	}
	if err := json.Unmarshal(js.Bytes(), &got); err != nil {
		t.Fatalf("%v\n%s", err, js.String())
	}
	if got.A.SpanS != 10 || len(got.Commands) != 2 || len(got.Syscalls) != 1 {
		t.Fatalf("JSON: %+v\n%s", got, js.String())
	}
	for _, c := range got.Commands {
		switch c.Name {
		case `evil\x1b[2J`:
			if c.Change != "new" || c.B.CallRate != 20 || c.B.P99Ns == nil {
				t.Errorf("the new command: %+v", c)
			}
		case "make":
			if c.Change != "vanished" || c.B.P99Ns != nil {
				t.Errorf("the vanished command: %+v", c)
			}
		default:
			t.Errorf("unknown command %q", c.Name)
		}
	}
	if d := got.Syscalls[0].Delta; d.CallRate != 10 || d.P99Ns == nil {
		t.Errorf("read's change: %+v", d)
	}
}

package output

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"tlmon/model"
)

func hostileSnapshot() *model.Snapshot {
	evil := "\x1b]0;owned\x07\x1b[2Jx\nfake,row\u202erev\u200b\xff"
	sc := model.SyscallStat{Nr: 110, Name: "getppid", Counts: model.Counts{Calls: 3}}
	return &model.Snapshot{
		Syscalls: []model.SyscallStat{sc},
		Processes: []model.ProcStat{{
			ID: model.ProcID{PID: 42, Start: 7}, Comm: evil, Alive: true,
			Counts: model.Counts{Calls: 3}, Syscalls: []model.SyscallStat{sc},
		}},
	}
}

func TestHostileNamesAreInertInEveryOutput(t *testing.T) {
	for _, c := range []struct {
		name  string
		write func(*bytes.Buffer) error
	}{
		{"table", func(b *bytes.Buffer) error { return WriteTable(b, Meta{}, hostileSnapshot(), 0) }},
		{"csv", func(b *bytes.Buffer) error { return WriteCSV(b, hostileSnapshot()) }},
		{"json", func(b *bytes.Buffer) error { return WriteJSON(b, Meta{}, hostileSnapshot()) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := c.write(&b); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			if strings.ContainsAny(out, "\x1b\x07\u202e\u200b\xff") || !utf8.ValidString(out) {
				t.Errorf("an escape, bell, bidi override, zero-width space or invalid byte reached the output: %q", out)
			}
			evil := hostileSnapshot().Processes[0].Comm
			if c.name == "json" {
				var r struct{ Processes []struct{ Comm string } }
				if err := json.Unmarshal(b.Bytes(), &r); err != nil || len(r.Processes) != 1 {
					t.Fatalf("%v: %s", err, out)
				}
				if back, err := model.Unescape(r.Processes[0].Comm); err != nil || back != evil {
					t.Errorf("the name's bytes do not come back from the JSON: %q (%v)", back, err)
				}
			} else if !strings.Contains(out, model.Escape(evil)) {
				t.Errorf("the name is not there escaped: %q", out)
			}
			if c.name != "table" && strings.Count(out, "\n") != map[string]int{"csv": 2, "json": 1}[c.name] {
				t.Errorf("a newline in a name broke a row: %q", out)
			}
		})
	}
}

// A run whose latency was sampled says so in every report: its latencies are
// estimates (--sample-latency).
func TestSampledLatencyIsSaid(t *testing.T) {
	s := &model.Snapshot{Elapsed: time.Second}
	for _, sampled := range []bool{false, true} {
		m := Meta{Rung: 1, Buffer: "ringbuf", Hook: "raw_tp", Scope: "all", LatencySampled: sampled}
		var js, table bytes.Buffer
		if err := WriteJSON(&js, m, s); err != nil {
			t.Fatal(err)
		}
		if err := WriteTable(&table, m, s, 0); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(js.String(), `"latency_sampled":true`); got != sampled {
			t.Errorf("sampled %v, JSON: %s", sampled, js.String())
		}
		if got := strings.Contains(table.String(), "latency sampled"); got != sampled {
			t.Errorf("sampled %v, table: %s", sampled, table.String())
		}
	}
}

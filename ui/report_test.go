package ui

import (
	"bytes"
	"strings"
	"testing"

	"tlmon/model"
)

func hostileSnapshot() *model.Snapshot {
	evil := "\x1b]0;owned\x07\x1b[2Jx\nfake,row"
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
			if strings.ContainsAny(out, "\x1b\x07") {
				t.Errorf("escape or bell reached the output: %q", out)
			}
			if c.name != "table" && strings.Count(out, "\n") != map[string]int{"csv": 2, "json": 1}[c.name] {
				t.Errorf("a newline in a name broke a row: %q", out)
			}
		})
	}
}

func TestSanitizeKeepsPrintableText(t *testing.T) {
	for in, want := range map[string]string{
		"bash":             "bash",
		"kworker/0:1H":     "kworker/0:1H",
		"naïve 名前":         "naïve 名前",
		"a\x1b[31mred":     "a?[31mred",
		"tab\there":        "tab?here",
		"c1\u009bcontrol":  "c1?control",
		"line\nbreak\rnow": "line?break?now",
	} {
		if got := Sanitize(in); got != want {
			t.Errorf("Sanitize(%q) = %q, want %q", in, got, want)
		}
	}
}

package bpf

import (
	"os"
	"path/filepath"
	"testing"
)

// TestFormatOffsetReadsEitherLayout reads the field offsets of
// sched_process_fork as 6.18 lays it out (comms as __data_loc) and as older
// kernels do (char arrays): the legacy object's offsets come from here.
func TestFormatOffsetReadsEitherLayout(t *testing.T) {
	for _, c := range []struct {
		name, format string
		want         uint32
	}{
		{"data_loc", "name: sched_process_fork\nID: 300\nformat:\n" +
			"\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n" +
			"\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n" +
			"\tfield:__data_loc char[] parent_comm;\toffset:8;\tsize:4;\tsigned:0;\n" +
			"\tfield:pid_t parent_pid;\toffset:12;\tsize:4;\tsigned:1;\n" +
			"\tfield:__data_loc char[] child_comm;\toffset:16;\tsize:4;\tsigned:0;\n" +
			"\tfield:pid_t child_pid;\toffset:20;\tsize:4;\tsigned:1;\n", 20},
		{"char_array", "name: sched_process_fork\nformat:\n" +
			"\tfield:char parent_comm[16];\toffset:8;\tsize:16;\tsigned:1;\n" +
			"\tfield:pid_t parent_pid;\toffset:24;\tsize:4;\tsigned:1;\n" +
			"\tfield:char child_comm[16];\toffset:28;\tsize:16;\tsigned:1;\n" +
			"\tfield:pid_t child_pid;\toffset:44;\tsize:4;\tsigned:1;\n", 44},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "format")
			if err := os.WriteFile(path, []byte(c.format), 0o600); err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, err := formatOffset(f, "child_pid")
			if err != nil || got != c.want {
				t.Errorf("child_pid at %d (%v), want %d", got, err, c.want)
			}
			f.Seek(0, 0)
			if _, err := formatOffset(f, "pid"); err == nil {
				t.Errorf("found a field pid, which the format lacks (parent_pid and child_pid are others)")
			}
		})
	}
}

// TestStaleKprobesAreThoseOfTlmonsGone reads kprobe_events lines: a tlmon's
// event is stale when the PID in its group runs no more (or it has none, as
// the first versions made them); other tools' events are never touched.
func TestStaleKprobesAreThoseOfTlmonsGone(t *testing.T) {
	text := "r64:tlmon_4000000000_1a2b/__x64_sys_read __x64_sys_read\n" +
		"p:tlmon_1a2b3c/__x64_sys_getppid __x64_sys_getppid\n" +
		"r:" + kprobeGroup + "_3c4d/__x64_sys_wait4 __x64_sys_wait4\n" +
		"p:ebpf_5e6f/do_exit do_exit\n"
	events := parseKprobeEvents(text)
	want := []struct {
		event kprobeEvent
		stale bool
	}{
		{kprobeEvent{true, "tlmon_4000000000_1a2b", "__x64_sys_read"}, true},
		{kprobeEvent{false, "tlmon_1a2b3c", "__x64_sys_getppid"}, true},
		{kprobeEvent{true, kprobeGroup + "_3c4d", "__x64_sys_wait4"}, false},
		{kprobeEvent{false, "ebpf_5e6f", "do_exit"}, false},
	}
	if len(events) != len(want) {
		t.Fatalf("parsed %d events, want %d: %+v", len(events), len(want), events)
	}
	for i, w := range want {
		if events[i] != w.event || events[i].stale() != w.stale {
			t.Errorf("line %d: %+v stale %v, want %+v stale %v", i, events[i], events[i].stale(), w.event, w.stale)
		}
	}
}

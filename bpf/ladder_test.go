package bpf

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestRungsForTheFlags(t *testing.T) {
	for _, tc := range []struct {
		buffer, hook string
		want         []int // rung numbers, best first
		err          string
	}{
		{"auto", "auto", []int{1, 2, 3, 4}, ""},
		{"", "", []int{1, 2, 3, 4}, ""},
		{"ringbuf", "auto", []int{1}, ""},
		{"perf", "auto", []int{2, 3, 4}, ""},
		{"auto", "raw_tp", []int{1, 2}, ""},
		{"auto", "tracepoint", []int{3}, ""},
		{"perf", "kprobe", []int{4}, ""},
		{"ringbuf", "kprobe", nil, "the ring buffer goes with raw tracepoints only"},
		{"mmap", "auto", nil, `--buffer "mmap": want auto, ringbuf or perf`},
		{"auto", "fentry", nil, `--hook "fentry": want auto, raw_tp, tracepoint or kprobe`},
	} {
		rungs, err := Rungs(tc.buffer, tc.hook)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("--buffer %s --hook %s: error %v, want one saying %q", tc.buffer, tc.hook, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("--buffer %s --hook %s: %v", tc.buffer, tc.hook, err)
			continue
		}
		var got []int
		for _, r := range rungs {
			got = append(got, r.Number)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("--buffer %s --hook %s: rungs %v, want %v", tc.buffer, tc.hook, got, tc.want)
		}
	}
}

// kernel is a made-up kernel for climb: what each of its features does.
type kernel map[string]error

var errNo = errors.New("not supported")

// try fails a rung the way Probe.try would on the made-up kernel.
func (k kernel) try(r Rung) error {
	if r.Buffer == BufferRingbuf && k["ringbuf"] != nil {
		return missing(ringbufFeature, k["ringbuf"])
	}
	if err := k[r.Hook]; err != nil {
		return missing(hookFeatures[r.Hook], err)
	}
	return nil
}

func TestClimbTakesTheBestRungTheKernelRuns(t *testing.T) {
	for _, tc := range []struct {
		name   string
		kernel kernel
		buffer string
		hook   string
		want   int
		errs   []string // what the error must name, when no rung works
	}{
		{name: "6.x: everything", kernel: kernel{}, want: 1},
		{name: "5.4: no ring buffer", kernel: kernel{"ringbuf": errNo}, want: 2},
		{name: "4.14: no raw tracepoints", kernel: kernel{"ringbuf": errNo, HookRawTP: errNo}, want: 3},
		{name: "4.4: kprobes only", kernel: kernel{"ringbuf": errNo, HookRawTP: errNo, HookTracepoint: errNo}, want: 4},
		{name: "this host forced to kprobes", kernel: kernel{HookKprobe: errNo}, hook: HookKprobe,
			errs: []string{"rung 4 (perf buffer, kprobes) does not work on this kernel: it needs kprobes (CONFIG_KPROBES): not supported"}},
		{name: "nothing works", kernel: kernel{"ringbuf": errNo, HookRawTP: errNo, HookTracepoint: errNo, HookKprobe: errNo},
			errs: []string{"no way to watch syscalls works on this kernel", "rung 1 (ring buffer, raw tracepoints) needs the ring buffer (Linux 5.8)",
				"rung 2 (perf buffer, raw tracepoints) needs raw tracepoints (Linux 4.17)", "rung 3 (perf buffer, syscall tracepoints) needs syscall tracepoints (Linux 4.7)",
				"rung 4 (perf buffer, kprobes) needs kprobes (CONFIG_KPROBES)"}},
		{name: "5.4 forced to the ring buffer", kernel: kernel{"ringbuf": errNo}, buffer: BufferRingbuf,
			errs: []string{"rung 1 (ring buffer, raw tracepoints) does not work on this kernel: it needs the ring buffer (Linux 5.8)"}},
	} {
		rungs, err := Rungs(tc.buffer, tc.hook)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got, err := climb(rungs, tc.kernel.try)
		if tc.errs == nil {
			if err != nil || got.Number != tc.want {
				t.Errorf("%s: took %v (%v), want rung %d", tc.name, got, err, tc.want)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: took %v, want an error", tc.name, got)
			continue
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: the error is more than one line: %q", tc.name, err)
		}
		for _, want := range tc.errs {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: error %q does not say %q", tc.name, err, want)
			}
		}
	}
}

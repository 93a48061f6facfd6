package bpf

import (
	"fmt"
	"strings"
)

// Hooks: where the programs see syscalls.
const (
	HookAuto       = "auto"
	HookRawTP      = "raw_tp"     // raw tracepoints sys_enter/sys_exit (4.17)
	HookTracepoint = "tracepoint" // tracepoints raw_syscalls:sys_enter/sys_exit through perf events (4.7)
	HookKprobe     = "kprobe"     // kprobes and kretprobes on the syscall functions (4.4 here: legacy.bpf.c)
)

// A Rung is one way of getting syscalls out of the kernel: a buffer for the
// events and a hook on the syscalls. Load takes the best rung the kernel runs.
type Rung struct {
	Number int // place on the ladder, 1 the best
	Buffer string
	Hook   string
}

// Ladder lists the rungs, best first: each needs less of the kernel than the
// one before, and measures less or costs more.
var Ladder = []Rung{
	{1, BufferRingbuf, HookRawTP},
	{2, BufferPerf, HookRawTP},
	{3, BufferPerf, HookTracepoint},
	{4, BufferPerf, HookKprobe},
}

func (r Rung) String() string {
	return fmt.Sprintf("rung %d (%s, %s)", r.Number, bufferNames[r.Buffer], hookNames[r.Hook])
}

var bufferNames = map[string]string{BufferRingbuf: "ring buffer", BufferPerf: "perf buffer"}

var hookNames = map[string]string{
	HookRawTP:      "raw tracepoints",
	HookTracepoint: "syscall tracepoints",
	HookKprobe:     "kprobes",
}

// What a rung needs of the kernel, as a user can look it up: named when the
// rung fails.
const ringbufFeature = "the ring buffer (Linux 5.8)"

// legacySince is the oldest kernel the legacy object runs on, per hook.
var legacySince = map[string]string{HookTracepoint: "4.7", HookKprobe: "4.4"}

var hookFeatures = map[string]string{
	HookRawTP:      "raw tracepoints (Linux 4.17)",
	HookTracepoint: "syscall tracepoints (Linux 4.7)",
	HookKprobe:     "kprobes (CONFIG_KPROBES)",
}

// Rungs lists the rungs to try, best first, given the buffer and hook asked
// for (each auto or one of its kind). Its errors name the flags.
func Rungs(buffer, hook string) ([]Rung, error) {
	switch buffer {
	case "", BufferAuto, BufferRingbuf, BufferPerf:
	default:
		return nil, fmt.Errorf("--buffer %q: want auto, ringbuf or perf", buffer)
	}
	switch hook {
	case "", HookAuto, HookRawTP, HookTracepoint, HookKprobe:
	default:
		return nil, fmt.Errorf("--hook %q: want auto, raw_tp, tracepoint or kprobe", hook)
	}
	var rungs []Rung
	for _, r := range Ladder {
		if (buffer == "" || buffer == BufferAuto || buffer == r.Buffer) && (hook == "" || hook == HookAuto || hook == r.Hook) {
			rungs = append(rungs, r)
		}
	}
	if len(rungs) == 0 {
		return nil, fmt.Errorf("--buffer %s cannot go with --hook %s: the ring buffer goes with raw tracepoints only", buffer, hook)
	}
	return rungs, nil
}

// A missingError says which kernel feature made a rung fail.
type missingError struct {
	feature string // what the kernel lacks, as a user can look it up
	err     error
}

func (e *missingError) Error() string { return fmt.Sprintf("%s: %v", e.feature, e.err) }
func (e *missingError) Unwrap() error { return e.err }

// missing wraps err, the failure of a rung, with the feature it shows missing.
func missing(feature string, err error) error { return &missingError{feature, err} }

// climb tries the rungs in order and returns the first that works. When none
// does, the one-line error names, for each rung, the feature it lacked.
func climb(rungs []Rung, try func(Rung) error) (Rung, error) {
	var why []string
	for _, r := range rungs {
		err := try(r)
		if err == nil {
			return r, nil
		}
		if len(rungs) == 1 {
			return Rung{}, fmt.Errorf("%s does not work on this kernel: it needs %v", r, err)
		}
		why = append(why, fmt.Sprintf("%s needs %v", r, err))
	}
	return Rung{}, fmt.Errorf("no way to watch syscalls works on this kernel: %s", strings.Join(why, "; "))
}

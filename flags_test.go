package main

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"tlmon/model"
)

// TestFlagsMakeTheSessionConfig: the flags land in the session's config,
// parsed, with the defaults that depend on what is watched. No root needed.
func TestFlagsMakeTheSessionConfig(t *testing.T) {
	process, _ := model.ParseClass("process")
	debugging, _ := model.ParseClass(defaultDetail)
	for _, tt := range []struct {
		line  string
		check func(*options) bool
	}{
		{"", func(o *options) bool {
			c := o.session
			return c.Detail == process && !c.DetailChosen && c.Follow && c.Interval == time.Second && c.Syscalls == nil && !o.headless
		}},
		{"-p 12,34 --no-follow", func(o *options) bool {
			return slices.Equal(o.session.PIDs, []uint32{12, 34}) && !o.session.Follow && o.session.Detail == debugging
		}},
		{"--cgroup /a/b --classes none", func(o *options) bool {
			return o.session.Cgroup == "/a/b" && o.session.Detail == 0 && o.session.DetailChosen
		}},
		{"-e getppid,openat --failed --no-latency -- make -j2", func(o *options) bool {
			c := o.session
			return slices.Equal(c.Syscalls, []int{unix.SYS_GETPPID, unix.SYS_OPENAT}) && c.FailedOnly && c.NoLatency &&
				slices.Equal(c.Command, []string{"make", "-j2"}) && c.Detail == debugging
		}},
		{"--headless -i 250ms -d 3s -o json --events --slow 5ms", func(o *options) bool {
			return o.headless && o.perInterval && o.session.Interval == 250*time.Millisecond && o.duration == 3*time.Second &&
				o.output == "json" && o.events && o.session.Slow == 5*time.Millisecond
		}},
		{"--classes all --buffer perf --hook tracepoint", func(o *options) bool {
			return o.session.Detail == model.ClassAll && o.session.Buffer == "perf" && o.session.Hook == "tracepoint"
		}},
	} {
		o, err := parseFlags(strings.Fields(tt.line))
		if err != nil {
			t.Errorf("%q: %v", tt.line, err)
			continue
		}
		if !tt.check(o) {
			t.Errorf("%q: options %+v", tt.line, *o)
		}
	}
}

// TestBadFlagsAreUsageErrors: each mistake is a usage error (exit 2) naming
// the flag.
func TestBadFlagsAreUsageErrors(t *testing.T) {
	for line, want := range map[string]string{
		"-p 0":                      "--pid",
		"-p 1 --cgroup /x":          "give only one",
		"-e nosuchcall":             "--syscalls",
		"--classes bogus":           "--classes",
		"-i 10ms":                   "--interval",
		"--slow 1ms --no-latency":   "--no-latency",
		"--events":                  "--headless",
		"-o xml --headless":         "--output",
		"--theme neon":              "--theme",
		"sleep 1":                   "after --",
		"--hook nosuchhook":         "hook",
		"--headless --duration=-1s": "--duration",
		"--no-such-flag":            "see tlmon --help",
	} {
		_, err := parseFlags(strings.Fields(line))
		var ue usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want a usage error with %q", line, err, want)
		}
	}
}

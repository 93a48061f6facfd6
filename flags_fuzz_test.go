package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// FuzzParseFlags: any command line (words split on spaces) is parsed or
// refused with a usage error, never a panic; values are checked as main
// checks them (durations, PIDs, classes, syscall lists, the output).
func FuzzParseFlags(f *testing.F) {
	for _, s := range []string{
		"--headless -d 3s -o json", "-p 1,2,3", "-p 0", "--pid=-1", "-i 50ms", "-d -1s",
		"--cgroup /sys/fs/cgroup/x", "-e getppid,%file", "--classes all", "--classes bogus",
		"-- sleep 1", "sleep 1", "--theme neon", "--slow 1ms --no-latency", "-o xml", "--top -3",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		o, err := parseFlags(strings.Fields(line))
		var ue usageError
		switch {
		case err == nil && o == nil:
			t.Fatalf("%q: no options and no error", line)
		case err != nil && !errors.As(err, &ue) && !errors.Is(err, pflag.ErrHelp):
			t.Fatalf("%q: %v is not a usage error", line, err)
		case err == nil && (o.session.Interval < 100e6 || o.duration < 0):
			t.Fatalf("%q: accepted interval %v, duration %v", line, o.session.Interval, o.duration)
		}
	})
}

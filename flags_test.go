package main

import (
	"errors"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

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
		{"--seccomp-profile p.conf --seccomp-format systemd -- ls", func(o *options) bool {
			return o.seccompProfile == "p.conf" && o.seccompFormat == "systemd" && !o.headless
		}},
		{"--replay r.tlmon --seccomp-profile p.json", func(o *options) bool {
			return o.seccompProfile == "p.json" && o.seccompFormat == "oci"
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
		"-d 0s":                     "--duration 0s",
		"--top -1":                  "--top",
		"-o xml --headless":         "--output",
		"--theme neon":              "--theme",
		"sleep 1":                   "after --",
		"--hook nosuchhook":         "hook",
		"--headless --duration=-1s": "--duration",
		"--no-such-flag":            "see tlmon --help",
		// A recording was made with its own settings.
		"--replay r.tlmon -p 12":                 "--pid has no meaning with --replay",
		"--replay r.tlmon --record s.tlmon":      "--record has no meaning with --replay",
		"--replay r.tlmon -- ls":                 "a command to run has no meaning",
		"--diff r.tlmon":                         "--diff goes with --replay",
		"-o perfetto":                            "perfetto writes a recording",
		"--replay r.tlmon --diff s.tlmon -o csv": "--diff prints a table or JSON",
		"--replay r.tlmon --from 1s":             "--from and --to choose the windows",
		"--replay r.tlmon --diff r --from 1,2,3": "one time, or two",
		"--replay r.tlmon --speed 0":             "--speed",
		"--history -1s":                          "--history",
		"--counted bogus":                        "--counted",
		// The profile is of every call seen, in a format it knows.
		"--seccomp-profile p.json --seccomp-format json -- ls": "--seccomp-format \"json\": want oci or systemd",
		"--seccomp-format systemd -- ls":                       "give the file",
		"--seccomp-profile p.json -e openat -- ls":             "needs every call counted",
		"--seccomp-profile p.json --failed -- ls":              "needs every call counted",
		// The endpoint serves a live session's counts.
		"--replay r.tlmon --metrics :9911":        "--metrics has no meaning with --replay",
		"--headless --metrics 9911":               "want HOST:PORT or :PORT",
		"--headless --metrics-labels comm":        "give --metrics too",
		"--metrics :1 --metrics-labels pid":       `--metrics-labels "pid": want comm or cgroup`,
		"--metrics :1 --metrics-labels comm,comm": "given twice",
	} {
		_, err := parseFlags(strings.Fields(line))
		var ue usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want a usage error with %q", line, err, want)
		}
	}
}

// TestHeadlessOnlyFlagsImplyHeadless: a flag that only means something in a
// report asks for one, never ignored by the monitor; --top applies to every
// format, 20 by default in the table only.
func TestHeadlessOnlyFlagsImplyHeadless(t *testing.T) {
	for line, top := range map[string]int{
		"-o json":             0,
		"-o csv --top 5":      5,
		"--top 3":             3,
		"--top 0":             0,
		"-i 2s --since-start": defaultTop,
		"--events":            defaultTop,
		"-d 3s":               defaultTop,
		"--duration=1m":       defaultTop,
		"-o table":            defaultTop,
		"--headless":          defaultTop,
		"--headless -o json":  0,
	} {
		o, err := parseFlags(strings.Fields(line))
		if err != nil {
			t.Errorf("%q: %v", line, err)
		} else if !o.headless || o.top != top {
			t.Errorf("%q: headless %v, top %d; want headless, top %d", line, o.headless, o.top, top)
		}
	}
	for _, line := range []string{"", "-i 2s", "--theme mono -p 1"} {
		if o, err := parseFlags(strings.Fields(line)); err != nil || o.headless {
			t.Errorf("%q: headless %v (%v), want the monitor", line, o != nil && o.headless, err)
		}
	}
}

// TestMetricsFlags: --metrics takes an address, for the monitor or a report,
// and --metrics-labels one or both kinds of groups.
func TestMetricsFlags(t *testing.T) {
	o, err := parseFlags([]string{"--headless", "--metrics", "127.0.0.1:9911", "--metrics-labels", "comm,cgroup"})
	if err != nil || o.metrics != "127.0.0.1:9911" || len(o.metricsLabels) != 2 {
		t.Errorf("%+v, %v", o, err)
	}
	if o, err := parseFlags([]string{"--metrics", ":9911"}); err != nil || o.headless || o.metrics != ":9911" {
		t.Errorf("the monitor with --metrics: %v", err)
	}
}

// TestHelpFitsIn80Columns: --help has a usage line, examples and every line
// within 80 columns.
func TestHelpFitsIn80Columns(t *testing.T) {
	text := helpText(newFlagSet(&options{}))
	for i, line := range strings.Split(text, "\n") {
		if n := utf8.RuneCountInString(line); n > 80 {
			t.Errorf("line %d is %d columns: %q", i+1, n, line)
		}
	}
	for _, want := range []string{"Usage: tlmon", "Examples:", "tlmon -p ", "tlmon -- ", "-o json -d 10s", "--failed", "--top"} {
		if !strings.Contains(text, want) {
			t.Errorf("the help does not say %q:\n%s", want, text)
		}
	}
}

// TestBuildVersion: --version says the module's version of a go install,
// else the commit built (dirty or not), and "dev" only when the build
// recorded neither.
func TestBuildVersion(t *testing.T) {
	rev := "0123456789abcdef0123456789abcdef01234567"
	vcs := func(modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}
	}
	for _, c := range []struct {
		module   string
		settings []debug.BuildSetting
		want     string
	}{
		{"v1.2.3", vcs("false"), "v1.2.3"},
		{"v0.0.0-20260101000000-0123456789ab", nil, "v0.0.0-20260101000000-0123456789ab"},
		{"(devel)", vcs("false"), rev},
		{"(devel)", vcs("true"), rev + "-dirty"},
		{"", vcs("true"), rev + "-dirty"},
		{"(devel)", nil, "dev"},
	} {
		bi := &debug.BuildInfo{Main: debug.Module{Path: "tlmon", Version: c.module}, Settings: c.settings}
		if got := buildVersion(bi); got != c.want {
			t.Errorf("module %q, settings %v: %q, want %q", c.module, c.settings, got, c.want)
		}
	}
}

// TestHistoryAndRecordingFlags: the monitor keeps 10 minutes by default, a
// report none (nothing moves back through it); --record names the file; a
// replay takes --diff, --from and --to and implies --headless with --diff.
func TestHistoryAndRecordingFlags(t *testing.T) {
	o, err := parseFlags(nil)
	if err != nil || o.session.History != 10*time.Minute {
		t.Errorf("the monitor keeps %v (%v), want 10m", o.session.History, err)
	}
	o, err = parseFlags([]string{"-o", "json", "--record", "s.tlmon"})
	if err != nil || o.session.History != 0 || o.session.Record != "s.tlmon" {
		t.Errorf("a report with --record: %+v (%v)", o.session, err)
	}
	o, err = parseFlags([]string{"--replay", "a.tlmon", "--diff", "a.tlmon", "--from", "0s,5m", "--to", "1m,6m"})
	if err != nil || !o.headless || o.replay != "a.tlmon" || len(o.from) != 2 || o.to[1] != "6m" {
		t.Errorf("a diff of two windows: %+v (%v)", o, err)
	}
}

// TestMain keeps a config file of the user's out of the tests.
func TestMain(m *testing.M) {
	dir, _ := os.MkdirTemp("", "tlmon-config")
	os.Setenv("XDG_CONFIG_HOME", dir)
	os.Unsetenv("SUDO_UID")
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// TestConfigFileGivesDefaultsTheCommandLineOverrides: the default config
// file sets flags the command line did not; --config names another, a
// missing one is an error, and a bad one is a usage error naming file and
// line; the file's interval is the monitor's refresh, not a report each
// interval.
func TestConfigFileGivesDefaultsTheCommandLineOverrides(t *testing.T) {
	dir := filepath.Join(os.Getenv("XDG_CONFIG_HOME"), "tlmon")
	os.MkdirAll(dir, 0o755)
	path := filepath.Join(dir, "config.toml")
	os.WriteFile(path, []byte("theme = \"light\"\ninterval = \"500ms\"\ntop = 7\n"), 0o644)
	defer os.Remove(path)
	o, err := parseFlags([]string{"--top", "3", "-o", "json"})
	if err != nil || o.theme != "light" || o.session.Interval != 500*time.Millisecond || o.top != 3 || o.perInterval {
		t.Errorf("theme %q interval %v top %d per interval %v (%v)", o.theme, o.session.Interval, o.top, o.perInterval, err)
	}
	other := filepath.Join(t.TempDir(), "x.toml")
	os.WriteFile(other, []byte("theme = \"dark\"\n"), 0o644)
	if o, err := parseFlags([]string{"--config", other}); err != nil || o.theme != "dark" {
		t.Errorf("--config: theme %q (%v)", o.theme, err)
	}
	if _, err := parseFlags([]string{"--config", other + ".missing"}); err == nil {
		t.Error("a missing --config file is no error")
	}
	os.WriteFile(other, []byte("theme = \"dark\"\nthme = 1\n"), 0o644)
	_, err = parseFlags([]string{"--config", other})
	var ue usageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), other+": line 2: unknown key \"thme\"") {
		t.Errorf("a bad file: %v", err)
	}
	if o, err := parseFlags([]string{"--config", ""}); err != nil || o.theme == "light" {
		t.Errorf("--config '' still read the default file: %q (%v)", o.theme, err)
	}
}

package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"tlmon/config"
	"tlmon/metrics"
	"tlmon/model"
	"tlmon/output"
	"tlmon/seccomp"
	"tlmon/session"
	"tlmon/syscalls"
	"tlmon/themes"
	"tlmon/ui"
)

type usageError struct{ error }

// options are the parsed flags: the session's config and how to show it.
type options struct {
	session  session.Config
	headless bool
	duration time.Duration
	output   string
	// perInterval prints a report every interval (--interval was given).
	perInterval bool
	// sinceStart makes the reports of each interval carry the counts since
	// the start, not the interval's own.
	sinceStart bool
	events     bool
	top        int
	theme      string
	mouse      bool
	version    bool
	cpuProfile string
	// genDocs is where to write the man page and shell completions
	// (gendocs.go; make generate).
	genDocs string

	// seccompProfile is where to write, when the run ends, the syscalls seen
	// as a seccomp profile in seccompFormat (seccomp.FormatOCI, ...).
	seccompProfile, seccompFormat string
	// metrics is the address of the OpenMetrics endpoint ("" none);
	// metricsLabels the per-command or per-cgroup series it adds.
	metrics       string
	metricsLabels []string

	// replay is a recording to show instead of this machine's syscalls;
	// diff another (or the same) to compare it with; from and to choose the
	// windows (one value: the replay's; two, comma-separated: the replay's
	// and the diff's); speed is how fast the monitor plays it.
	replay, diffWith string
	from, to         []string
	speed            float64

	// configPath is the config file (--config); printConfig prints the
	// effective config (--print-config); config is the file read, if any.
	configPath  string
	printConfig bool
	config      *config.File
	flags       *pflag.FlagSet // the parsed flags, for --print-config

	// The flags' text, checked and parsed into session by validate.
	counted  string
	pids     []string
	syscalls []string
	classes  string
	noFollow bool
}

// defaultDetail are the classes sent in detail unless --classes says otherwise,
// when watching chosen processes: what a user debugging a failing or slow
// program looks at first. Watching the whole machine, only process detail is
// on by default (execs with their argv name what a shell loop or a build
// starts): file and network detail send about ten times as many events, some
// 80,000 a second from a workstation's process churn (2,000 starts a second),
// which would take a good part of a core to read. F and N switch them on.
const (
	defaultDetail    = "process,file,network"
	defaultDetailAll = "process"
)

// The help's first lines, before the flags: how to call tlmon, and examples
// (each line at most helpWidth columns, as the flags' text is wrapped to).
const helpWidth = 80

const helpHead = `Usage: tlmon [flags] [-- command [args...]]

Watches every system call on this machine with BPF: a live monitor, or a
report with --headless. Needs root (or CAP_BPF and CAP_PERFMON).

Examples:
  tlmon                        monitor everything
  tlmon -p 1234                watch process 1234 and the children it forks
  tlmon -- make -j4            run a command and watch it
  tlmon -o json -d 10s         headless: a JSON report after 10 seconds
  tlmon -e %file --failed      only failing file calls
  tlmon --record s.tlmon       monitor and record; later, anywhere, no root:
  tlmon --replay s.tlmon       play it back (-o json: its summary)

Flags:
`

// newFlagSet defines tlmon's flags over o.
func newFlagSet(o *options) *pflag.FlagSet {
	c := &o.session
	fs := pflag.NewFlagSet("tlmon", pflag.ContinueOnError)
	fs.SortFlags = false
	fs.StringSliceVarP(&o.pids, "pid", "p", nil, "watch only these processes (repeat or comma list); their new children join")
	fs.StringVar(&c.Cgroup, "cgroup", "", "watch only this cgroup v2 and its descendants (path inside the hierarchy)")
	fs.BoolVar(&o.headless, "headless", false, "print a summary instead of the interactive monitor")
	fs.DurationVarP(&o.duration, "duration", "d", 0, "stop after this long, more than 0 (implies --headless; without it: until Ctrl-C or the command exits)")
	fs.StringVarP(&o.output, "output", "o", output.FormatTable, "report format: table, json or csv, and perfetto with --replay (implies --headless)")
	fs.StringVar(&c.Buffer, "buffer", session.BufferAuto, "event buffer: auto, ringbuf or perf")
	fs.StringVar(&c.Hook, "hook", session.HookAuto, "syscall hooks: auto, raw_tp, tracepoint or kprobe")
	fs.StringSliceVarP(&o.syscalls, "syscalls", "e", nil, "count only these syscalls (names, numbers, %class); filtered in the kernel")
	fs.BoolVar(&c.FailedOnly, "failed", false, "count only failing calls")
	fs.StringVar(&o.classes, "classes", defaultDetail, "send the calls of these classes one by one with their arguments (file, desc, network, process, memory, signal, ipc, time, creds, other, all or none); watching the whole machine, the default is process")
	fs.StringVar(&o.counted, "counted", "all", "the classes counted at start (the monitor's v switches them): file, desc, network, … as --classes")
	fs.BoolVar(&o.events, "events", false, "print each call of the --classes as it happens, strace notation or JSON lines with -o json (implies --headless)")
	fs.DurationVar(&c.Slow, "slow", 0, "also send any call slower than this, whatever its class, with its arguments (e.g. 100ms)")
	fs.DurationVarP(&c.Interval, "interval", "i", time.Second, "refresh interval (min 100ms); headless, print a report of each interval's own counts")
	fs.BoolVar(&o.sinceStart, "since-start", false, "with -i, each report holds the counts since the start, not the interval's own (implies --headless)")
	fs.BoolVar(&c.NoLatency, "no-latency", false, "do not time syscalls (lowest overhead: calls and errors only)")
	fs.BoolVar(&c.SampleLatency, "sample-latency", false, "time a thread's hot syscalls one call in 16 (less overhead; calls and errors stay exact, latency becomes an estimate)")
	fs.BoolVar(&o.noFollow, "no-follow", false, "with --pid, do not add the children the processes fork")
	fs.IntVar(&o.top, "top", 0, "report only the busiest N processes by calls, in every format (implies --headless; 0: all; without --top: 20 in the table, all in JSON and CSV)")
	fs.DurationVar(&c.History, "history", 10*time.Minute, "keep this long of snapshots to move back through ([ ] { } =) and compare (A, B, D); 0 keeps none")
	fs.StringVar(&o.metrics, "metrics", "", "serve the counts to Prometheus at http://`ADDR`/metrics (ADDR: HOST:PORT or :PORT; no authentication: bind to 127.0.0.1 or put a proxy in front)")
	fs.StringSliceVar(&o.metricsLabels, "metrics-labels", nil, "with --metrics, also series per `comm` (command name) or cgroup, or both: the first 50 seen making calls, the rest as \"other\"")
	fs.StringVar(&c.Record, "record", "", "record the session to this file as it goes (replay it anywhere with --replay)")
	fs.StringVar(&o.replay, "replay", "", "show a recording instead of this machine (no root needed): the monitor, or a report with --headless or -o")
	fs.StringVar(&o.diffWith, "diff", "", "with --replay, compare the recording with this one (or itself with --from and --to); implies --headless")
	fs.StringSliceVar(&o.from, "from", nil, "with --replay, where its window starts: an offset (90s) or a time (12:03:05); two values, comma-separated, for the --diff recording's too")
	fs.StringSliceVar(&o.to, "to", nil, "with --replay, where its window ends, as --from")
	fs.Float64Var(&o.speed, "speed", 1, "with --replay, how fast the monitor plays it (- and + change it)")
	fs.StringVar(&o.seccompProfile, "seccomp-profile", "", "when the run ends, write the syscalls seen in scope to this file as a seccomp profile allowing them (others fail with EPERM)")
	fs.StringVar(&o.seccompFormat, "seccomp-format", seccomp.FormatOCI, "the profile's format: oci (JSON for Docker, Podman, Kubernetes) or systemd (a SystemCallFilter= drop-in)")
	fs.StringVar(&o.theme, "theme", "auto", "colours: auto, dark, light or mono (NO_COLOR forces mono)")
	fs.BoolVar(&o.mouse, "mouse", false, "mouse wheel and clicks (takes text selection away from the terminal)")
	fs.StringVar(&o.configPath, "config", "", "read this config file (default: ~/.config/tlmon/config.toml, the sudo user's under sudo; '' for none); flags win over it")
	fs.BoolVar(&o.printConfig, "print-config", false, "print the effective config (the file and the flags) and exit")
	fs.BoolVarP(&o.version, "version", "V", false, "print the version and exit")
	fs.BoolVar(&c.PanicOnTick, "test-panic-collector", false, "make the collector panic (tests of the clean stop)")
	fs.MarkHidden("test-panic-collector")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of tlmon itself to this file")
	fs.MarkHidden("cpuprofile")
	fs.StringVar(&o.genDocs, "gen-docs", "", "write the man page and shell completions into this directory (make generate)")
	fs.MarkHidden("gen-docs")
	return fs
}

// helpText is what --help prints on stdout.
func helpText(fs *pflag.FlagSet) string {
	return helpHead + fs.FlagUsagesWrapped(helpWidth)
}

// defaultTop is how many processes the table shows without --top.
const defaultTop = 20

func parseFlags(args []string) (*options, error) {
	o := &options{}
	c := &o.session
	fs := newFlagSet(o)
	fs.Usage = func() { fmt.Fprint(os.Stdout, helpText(fs)) }
	o.flags = fs
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil, err
		}
		return nil, usageError{fmt.Errorf("%v (see tlmon --help)", err)}
	}
	// What the command line says, before the config file fills in the rest:
	// a flag given there asks for a report, or for a report each interval;
	// the same key in the file sets a default.
	onLine := map[string]bool{}
	fs.Visit(func(f *pflag.Flag) { onLine[f.Name] = true })
	if err := o.readConfig(fs); err != nil {
		return nil, usageError{err}
	}
	// A flag that only means something in a report asks for one.
	for _, name := range []string{"output", "top", "events", "duration", "since-start", "diff"} {
		if onLine[name] {
			o.headless = true
		}
	}
	if fs.Changed("duration") && o.duration == 0 {
		return nil, usageError{errors.New("--duration 0s: give a duration above 0, or leave -d out to run until Ctrl-C")}
	}
	if !fs.Changed("top") && o.output == output.FormatTable {
		o.top = defaultTop
	}
	if fs.Changed("seccomp-format") && o.seccompProfile == "" {
		return nil, usageError{errors.New("--seccomp-format says how to write --seccomp-profile FILE: give the file")}
	}
	c.DetailChosen = fs.Changed("classes")
	o.perInterval = onLine["interval"]
	if o.replay != "" {
		// A recording was made with its own settings: the flags that choose
		// what and how to watch have no meaning for it.
		for _, name := range []string{"pid", "cgroup", "buffer", "hook", "syscalls", "failed", "classes", "events", "slow", "interval", "since-start", "no-latency", "sample-latency", "no-follow", "record", "history", "metrics", "metrics-labels", "counted"} {
			if fs.Changed(name) {
				return nil, usageError{fmt.Errorf("--%s has no meaning with --replay: the recording was made with its own", name)}
			}
		}
	} else {
		for _, name := range []string{"diff", "from", "to", "speed"} {
			if fs.Changed(name) {
				return nil, usageError{fmt.Errorf("--%s goes with --replay FILE", name)}
			}
		}
	}
	if o.headless {
		c.History = 0 // nothing moves back through it
		// Its reports of each interval start with a whole one.
		c.WholeFirstInterval = o.perInterval
	}
	c.Command = fs.Args()
	if n := fs.ArgsLenAtDash(); n > 0 || (n < 0 && len(c.Command) > 0) {
		return nil, usageError{fmt.Errorf("unexpected argument %q: put the command to run after --", c.Command[0])}
	}
	return o, o.validate()
}

// uiOptions are the monitor's options: the flags' and the config file's
// views, highlight rules and where a view's columns are saved.
func (o *options) uiOptions(interval, firstTick time.Duration) ui.Options {
	u := ui.Options{Interval: interval, FirstTick: firstTick, Theme: o.theme, Mouse: o.mouse}
	path := o.configPath
	if o.config != nil {
		path = o.config.Path
		u.Views = viewPrefs(o.config)
		for _, r := range o.config.Highlight {
			color := r.Color
			if n, ok := config.Colors[color]; ok {
				color = n
			}
			u.Highlight = append(u.Highlight, ui.Highlight{Syscall: r.Syscall, Errno: r.Errno, Comm: r.Comm, Slower: r.Slower, Color: color})
		}
	}
	if path == "" && !o.flags.Changed("config") {
		path = config.DefaultPath()
	}
	if path != "" {
		u.SaveView = func(name string, p ui.ViewPrefs) error {
			return config.SaveView(path, name, config.View{Columns: p.Columns, Sort: p.Sort, Reverse: p.Reverse})
		}
	}
	return u
}

// viewPrefs are the config file's views as the monitor takes them.
func viewPrefs(f *config.File) map[string]ui.ViewPrefs {
	views := map[string]ui.ViewPrefs{}
	for name, v := range f.Views {
		views[name] = ui.ViewPrefs{Columns: v.Columns, Sort: v.Sort, Reverse: v.Reverse}
	}
	return views
}

// readConfig reads the config file (--config, else the default path if
// there is a file) and sets the flags it gives that the command line did
// not.
func (o *options) readConfig(fs *pflag.FlagSet) error {
	path, must := config.DefaultPath(), false
	if fs.Changed("config") {
		path, must = o.configPath, true
	}
	if path == "" {
		return nil
	}
	f, err := config.Read(path, fs, must)
	if err != nil || f == nil {
		return err
	}
	o.config = f
	if err := f.Apply(fs); err != nil {
		return err
	}
	if err := ui.CheckViews(viewPrefs(f)); err != nil {
		return fmt.Errorf("%s: %w", f.Path, err)
	}
	return nil
}

// validate checks the flags' values and parses them into the session config.
func (o *options) validate() error {
	bad := func(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }
	c := &o.session
	switch o.output {
	case output.FormatTable, output.FormatJSON, output.FormatCSV:
	case output.FormatPerfetto:
		if o.replay == "" {
			return bad("--output perfetto writes a recording: give it with --replay FILE")
		}
	default:
		return bad("--output %q: want table, json, csv or perfetto", o.output)
	}
	if o.diffWith != "" && o.output != output.FormatTable && o.output != output.FormatJSON {
		return bad("--diff prints a table or JSON (-o table or -o json)")
	}
	if (len(o.from) > 0 || len(o.to) > 0) && o.diffWith == "" {
		return bad("--from and --to choose the windows --diff compares: give --diff FILE (the same file for two windows of one)")
	}
	if len(o.from) > 2 || len(o.to) > 2 {
		return bad("--from and --to take one time, or two comma-separated (the replay's, then the --diff recording's)")
	}
	if o.speed <= 0 || o.speed > 1000 {
		return bad("--speed %g: give a speed above 0, up to 1000", o.speed)
	}
	if c.History < 0 {
		return bad("--history %s: must be 0 (none) or more", c.History)
	}
	if len(c.Command) > 0 && o.replay != "" {
		return bad("a command to run has no meaning with --replay")
	}
	if err := seccomp.CheckFormat(o.seccompFormat); err != nil {
		return bad("--seccomp-format %v", err)
	}
	if o.seccompProfile != "" && (len(c.Syscalls) > 0 || len(o.syscalls) > 0 || c.FailedOnly) {
		return bad("--seccomp-profile needs every call counted: it cannot go with --syscalls or --failed")
	}
	if err := session.CheckRungs(c.Buffer, c.Hook); err != nil {
		return bad("%v", err)
	}
	if len(o.metricsLabels) > 0 && o.metrics == "" {
		return bad("--metrics-labels adds labels to --metrics ADDR: give --metrics too")
	}
	if err := metrics.CheckLabels(o.metricsLabels); err != nil {
		return bad("--metrics-labels %v", err)
	}
	if addr := o.metrics; addr != "" {
		if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
			return bad("--metrics %q: want HOST:PORT or :PORT (e.g. 127.0.0.1:9911)", addr)
		}
	}
	if err := themes.Check(o.theme); err != nil {
		return bad("--theme: %v", err)
	}
	o.theme = themes.WithNoColor(o.theme, os.Getenv("NO_COLOR"))
	if c.Interval < 100*time.Millisecond {
		return bad("--interval %s: the minimum is 100ms", c.Interval)
	}
	if o.duration < 0 {
		return bad("--duration %s: must be positive", o.duration)
	}
	if c.Slow < 0 {
		return bad("--slow %s: must be positive", c.Slow)
	}
	if c.Slow > 0 && c.NoLatency {
		return bad("--slow finds slow calls by timing them: it cannot go with --no-latency")
	}
	if c.SampleLatency && c.NoLatency {
		return bad("--sample-latency times some calls: it cannot go with --no-latency")
	}
	if o.top < 0 {
		return bad("--top %d: must be 0 (all) or more", o.top)
	}
	switch o.classes {
	case "none", "":
	case "all":
		c.Detail = model.ClassAll
	default:
		cl, err := model.ParseClass(o.classes)
		if err != nil {
			return bad("--classes: %v", err)
		}
		c.Detail = cl
	}
	if o.counted != "all" {
		cl, err := model.ParseClass(o.counted)
		if err != nil || cl == 0 {
			return bad("--counted %q: want class names (file, desc, network, process, memory, signal, ipc, time, creds, other) or all", o.counted)
		}
		c.Counted = cl
	}
	scopes := 0
	for _, set := range []bool{len(o.pids) > 0, c.Cgroup != "", len(c.Command) > 0} {
		if set {
			scopes++
		}
	}
	if scopes > 1 {
		return bad("--pid, --cgroup and a command each choose what to watch: give only one")
	}
	if scopes == 0 && !c.DetailChosen {
		c.Detail, _ = model.ParseClass(defaultDetailAll)
	}
	for _, p := range o.pids {
		n, err := strconv.ParseUint(p, 10, 32)
		if err != nil || n == 0 {
			return bad("--pid %q: not a process id", p)
		}
		c.PIDs = append(c.PIDs, uint32(n))
	}
	c.Follow = !o.noFollow
	if len(o.syscalls) > 0 {
		nrs, err := syscalls.ParseSyscallList(syscalls.HostTable(), o.syscalls)
		if err != nil {
			return bad("--syscalls: %v", err)
		}
		c.Syscalls = nrs
	}
	return nil
}

// version and commitDate are set by the Makefile (-ldflags -X
// main.version=...): its builds do not stamp VCS information (a build under
// sudo in a user's clone would fail git's ownership check).
var version, commitDate = "", ""

// versionString is the version alone (the header and reports name it; --version
// prints versionLine): the Makefile's -X main.version,
// else what the build recorded (buildVersion).
func versionString() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	return buildVersion(bi)
}

// buildVersion is the version a build recorded: the main module's version
// when it has one (go install tlmon@v1.2.3), else the commit it was built
// from, "-dirty" when the tree had changes, else "dev".
func buildVersion(bi *debug.BuildInfo) string {
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	rev, _, dirty := vcs(bi)
	if rev == "" {
		return "dev"
	}
	return rev + dirty
}

// vcs is what the build recorded of its commit: the revision, the commit's
// date (yyyy-mm-dd) and "-dirty" when the tree had changes.
func vcs(bi *debug.BuildInfo) (rev, date, dirty string) {
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			date, _, _ = strings.Cut(s.Value, "T")
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	return rev, date, dirty
}

// versionLine is what --version prints: the version (versionString), then
// what the build recorded of the commit (short, unless the version already
// names it, and its date) and the Go that built it:
// "tlmon v0.3.1 (abc1234def56 2026-12-06, go1.26.8)".
func versionLine() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "tlmon " + versionString()
	}
	return "tlmon " + describeBuild(versionString(), commitDate, bi)
}

// describeBuild is v followed by the build's commit, its date (date unless
// the build recorded one) and Go version.
func describeBuild(v, date string, bi *debug.BuildInfo) string {
	rev, built, dirty := vcs(bi)
	if built != "" {
		date = built
	}
	var about []string
	if short := rev[:min(len(rev), 12)]; short != "" && !strings.Contains(v, short) {
		about = append(about, short+dirty)
	}
	if date != "" {
		about = append(about, date)
	}
	build := strings.Join(about, " ")
	if bi.GoVersion != "" {
		if build != "" {
			build += ", "
		}
		build += bi.GoVersion
	}
	if build == "" {
		return v
	}
	return v + " (" + build + ")"
}

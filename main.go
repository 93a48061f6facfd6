// Command tlmon watches every system call on the machine, live.
//
//	sudo tlmon [flags] [-- command [args...]]
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/term"

	"tlmon/aggregator"
	"tlmon/bpf"
	"tlmon/collector"
	"tlmon/model"
	"tlmon/output"
	"tlmon/themes"
	"tlmon/ui"
)

// version is set by the Makefile (-ldflags -X main.version=...).
var version = ""

// firstRead is when the first counter read comes after attaching, whatever the
// interval: the first screen then has numbers a moment after start, over a
// short first interval.
const firstRead = 50 * time.Millisecond

// Exit codes: usage mistakes are 2, failures at run time 1.
const (
	exitRuntime = 1
	exitUsage   = 2
)

type usageError struct{ error }

type options struct {
	pids        []string
	pidList     []uint32 // pids, parsed
	cgroup      string
	headless    bool
	duration    time.Duration
	output      string
	buffer      string
	hook        string
	syscalls    []string
	failed      bool
	interval    time.Duration
	perInterval bool
	noLatency   bool
	noFollow    bool
	top         int
	version     bool
	command     []string
	theme       string
	mouse       bool
	testPanic   bool
	cpuProfile  string
	classes     string
	detail      model.Class // classes, parsed
	classesSet  bool        // --classes was given
	slow        time.Duration
	events      bool
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

// tlmon runs on the machine it is debugging, so its heap grows by half of what
// is live before Go's collector runs (GOGC=50, not 100): a fork storm leaves
// tens of MB of exited processes to retire. A lower memory limit would keep
// RSS lower still, but while a build starts hundreds of processes a second the
// live heap passes it and the collector then runs without pause, taking most
// of a core (measured: 23% of a core at GOGC=50, 73% with a 48 MiB limit);
// the limit is only a backstop. GOGC and GOMEMLIMIT in the environment win.
const (
	gcPercent   = 50
	memoryLimit = 256 << 20
)

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
	opts, err := parseFlags(os.Args[1:])
	if errors.Is(err, pflag.ErrHelp) {
		os.Exit(0)
	}
	if err == nil {
		err = run(opts)
	}
	var status exitCode
	if errors.As(err, &status) {
		os.Exit(int(status)) // the watched command's own status, said by it
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "tlmon: %v\n", err)
		var ue usageError
		if errors.As(err, &ue) {
			os.Exit(exitUsage)
		}
		os.Exit(exitRuntime)
	}
}

func parseFlags(args []string) (*options, error) {
	o := &options{}
	fs := pflag.NewFlagSet("tlmon", pflag.ContinueOnError)
	fs.SortFlags = false
	fs.StringSliceVarP(&o.pids, "pid", "p", nil, "watch only these processes (repeat or comma list); their new children join")
	fs.StringVar(&o.cgroup, "cgroup", "", "watch only this cgroup v2 and its descendants (path inside the hierarchy)")
	fs.BoolVar(&o.headless, "headless", false, "print a summary instead of the interactive monitor")
	fs.DurationVarP(&o.duration, "duration", "d", 0, "stop after this long (headless; default: until Ctrl-C or the command exits)")
	fs.StringVarP(&o.output, "output", "o", output.FormatTable, "headless output: table, json or csv")
	fs.StringVar(&o.buffer, "buffer", bpf.BufferAuto, "event buffer: auto, ringbuf or perf")
	fs.StringVar(&o.hook, "hook", bpf.HookAuto, "syscall hooks: auto, raw_tp, tracepoint or kprobe")
	fs.StringSliceVarP(&o.syscalls, "syscalls", "e", nil, "count only these syscalls (names, numbers, %class); filtered in the kernel")
	fs.BoolVar(&o.failed, "failed", false, "count only failing calls")
	fs.StringVar(&o.classes, "classes", defaultDetail, "send the calls of these classes one by one with their arguments (file, desc, network, process, memory, signal, ipc, time, creds, other, all or none); watching the whole machine, the default is process")
	fs.BoolVar(&o.events, "events", false, "headless: print each call of the --classes as it happens (strace notation, or JSON lines with -o json)")
	fs.DurationVar(&o.slow, "slow", 0, "also send any call slower than this, whatever its class, with its arguments (e.g. 100ms)")
	fs.DurationVarP(&o.interval, "interval", "i", time.Second, "refresh interval (min 100ms); in headless mode, print a report every interval")
	fs.BoolVar(&o.noLatency, "no-latency", false, "do not time syscalls (lowest overhead: calls and errors only)")
	fs.BoolVar(&o.noFollow, "no-follow", false, "with --pid, do not add the children the processes fork")
	fs.IntVar(&o.top, "top", 20, "headless table: show this many processes (0: all)")
	fs.StringVar(&o.theme, "theme", "auto", "colours: auto, dark, light or mono (NO_COLOR forces mono)")
	fs.BoolVar(&o.mouse, "mouse", false, "mouse wheel and clicks (takes text selection away from the terminal)")
	fs.BoolVarP(&o.version, "version", "V", false, "print the version and exit")
	fs.BoolVar(&o.testPanic, "test-panic-collector", false, "make the collector panic (tests of the clean stop)")
	fs.MarkHidden("test-panic-collector")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of tlmon itself to this file")
	fs.MarkHidden("cpuprofile")
	fs.Usage = func() {
		fmt.Fprintf(os.Stderr, "Usage: sudo tlmon [flags] [-- command [args...]]\n\n%s", fs.FlagUsages())
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil, err
		}
		return nil, usageError{fmt.Errorf("%v (see tlmon --help)", err)}
	}
	o.classesSet = fs.Changed("classes")
	o.perInterval = fs.Changed("interval")
	o.command = fs.Args()
	if n := fs.ArgsLenAtDash(); n > 0 || (n < 0 && len(o.command) > 0) {
		return nil, usageError{fmt.Errorf("unexpected argument %q: put the command to run after --", o.command[0])}
	}
	return o, o.validate()
}

func (o *options) validate() error {
	bad := func(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }
	switch o.output {
	case output.FormatTable, output.FormatJSON, output.FormatCSV:
	default:
		return bad("--output %q: want table, json or csv", o.output)
	}
	if _, err := bpf.Rungs(o.buffer, o.hook); err != nil {
		return bad("%v", err)
	}
	if err := themes.Check(o.theme); err != nil {
		return bad("--theme: %v", err)
	}
	o.theme = themes.WithNoColor(o.theme, os.Getenv("NO_COLOR"))
	if o.interval < 100*time.Millisecond {
		return bad("--interval %s: the minimum is 100ms", o.interval)
	}
	if o.duration < 0 {
		return bad("--duration %s: must be positive", o.duration)
	}
	if o.slow < 0 {
		return bad("--slow %s: must be positive", o.slow)
	}
	if o.slow > 0 && o.noLatency {
		return bad("--slow finds slow calls by timing them: it cannot go with --no-latency")
	}
	if o.events && !o.headless {
		return bad("--events prints to the terminal: use it with --headless (the monitor shows events with e)")
	}
	switch o.classes {
	case "none", "":
	case "all":
		o.detail = model.ClassAll
	default:
		cl, err := model.ParseClass(o.classes)
		if err != nil {
			return bad("--classes: %v", err)
		}
		o.detail = cl
	}
	scopes := 0
	for _, set := range []bool{len(o.pids) > 0, o.cgroup != "", len(o.command) > 0} {
		if set {
			scopes++
		}
	}
	if scopes > 1 {
		return bad("--pid, --cgroup and a command each choose what to watch: give only one")
	}
	if scopes == 0 && !o.classesSet {
		o.detail, _ = model.ParseClass(defaultDetailAll)
	}
	for _, p := range o.pids {
		n, err := strconv.ParseUint(p, 10, 32)
		if err != nil || n == 0 {
			return bad("--pid %q: not a process id", p)
		}
		o.pidList = append(o.pidList, uint32(n))
	}
	return nil
}

// exitCode carries a watched command's exit status out of run.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("command exited with status %d", int(e)) }

func run(o *options) error {
	if o.version {
		fmt.Println("tlmon", versionString())
		return nil
	}
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if !o.headless && !term.IsTerminal(int(os.Stdout.Fd())) {
		return usageError{errors.New("the interactive monitor needs a terminal: use --headless to print a summary")}
	}
	table := model.HostTable()
	var enabled []int
	if len(o.syscalls) > 0 {
		var err error
		if enabled, err = model.ParseSyscallList(table, o.syscalls); err != nil {
			return usageError{fmt.Errorf("--syscalls: %w", err)}
		}
	}
	if err := bpf.CheckSystem(); err != nil {
		return err
	}
	cgroups, cgErr := collector.FindCgroups()
	collector.RemoveStaleCgroups(cgroups) // left by a tlmon killed with SIGKILL
	scope, err := collector.ResolveScope(collector.ScopeRequest{
		PIDs: o.pidList, Cgroup: o.cgroup, Command: o.command, Follow: !o.noFollow}, cgroups, cgErr)
	if err != nil {
		return err
	}
	if scope.Command != nil {
		// Whatever way run ends, the command ends with it; a no-op once stopped.
		defer scope.Command.Stop(syscall.SIGTERM)
	}

	probe, err := bpf.Load(bpf.Options{Buffer: o.buffer, Hook: o.hook, NoLatency: o.noLatency, Table: table, Slow: o.slow})
	if err != nil {
		return err
	}
	defer probe.Close()
	if err := scope.Apply(probe); err != nil {
		return err
	}
	if err := probe.SetSyscallFilter(enabled); err != nil {
		return err
	}
	if o.failed {
		if err := probe.SetFailedOnly(true); err != nil {
			return err
		}
	}

	ctx, stop := notifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	// A panic in one of our goroutines stops everything cleanly, as a signal
	// would, and is reported as the cause.
	ctx, crash := context.WithCancelCause(ctx)
	defer crash(nil)

	agg := aggregator.New(aggregator.Config{Table: table, CgroupPath: cgroups.Path})
	var events *output.EventLog
	var onEvent func(*model.Event)
	if o.events {
		events = output.NewEventLog(os.Stdout, table, o.output)
		onEvent = events.Add
	}
	coll, err := collector.New(collector.Config{Probe: probe, Sink: agg, Cgroups: cgroups, Interval: o.interval, FirstRead: firstRead,
		OnEvent:     onEvent,
		OnPanic:     func(v any) { crash(fmt.Errorf("internal error in the collector: %v", v)) },
		PanicOnTick: o.testPanic})
	if err != nil {
		return err
	}
	defer coll.Close()
	coll.SeedProcesses()
	coll.Start()
	if err := probe.Attach(); err != nil {
		return err
	}
	meta := model.Meta{Version: versionString(), Buffer: probe.Buffer(), Hook: probe.Rung().Hook, Rung: probe.Rung().Number, Scope: scope.Desc,
		Boot: collector.BootTime(), HybridCgroups: cgroups != nil && cgroups.Hybrid}
	control := collector.NewControl(probe, agg, coll.Flush, cgroups, table, meta, scope.Target(cgroups), !o.noFollow, enabled)
	if !probe.HasDetail() && !o.classesSet {
		o.detail = 0 // the default classes, on a rung without detail events: counts only
	}
	if err := control.SetDetail(o.detail); err != nil {
		return err
	}
	if err := control.SetSlow(o.slow); err != nil {
		return err
	}
	if o.headless {
		return runHeadless(ctx, o, probe, coll, agg, scope, meta, events)
	}
	return runMonitor(ctx, o, control, scope)
}

// runMonitor runs the interactive monitor until the user quits or a signal
// comes. A command it starts runs with its output discarded: the screen is
// the monitor's.
func runMonitor(ctx context.Context, o *options, control *collector.Control, scope *collector.Scope) error {
	if cmd := scope.Command; cmd != nil {
		cmd.Cmd.Stdin, cmd.Cmd.Stdout, cmd.Cmd.Stderr = nil, nil, nil
		if err := cmd.Start(); err != nil {
			return err
		}
	}
	err := ui.Run(ctx, control, ui.Options{Interval: o.interval, FirstTick: firstRead + 20*time.Millisecond, Theme: o.theme, Mouse: o.mouse})
	if ierr := internalError(ctx); ierr != nil {
		return ierr
	}
	if err != nil {
		return err
	}
	if cmd := scope.Command; cmd != nil {
		return commandStatus(cmd, cmd.Stop(stopSignal(ctx)))
	}
	return nil
}

// runHeadless prints reports until the duration ends, a signal comes, the
// command exits or the watched processes are gone.
func runHeadless(ctx context.Context, o *options, probe *bpf.Probe, coll *collector.Collector, agg *aggregator.Aggregator, scope *collector.Scope, meta model.Meta, events *output.EventLog) error {
	if o.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.duration)
		defer cancel()
	}
	// Say when counting starts: everything from here on is in the summary.
	fmt.Fprintf(os.Stderr, "tlmon: watching %s (%s buffer); Ctrl-C prints the summary\n", meta.Scope, meta.Buffer)
	cmd := scope.Command
	if cmd != nil {
		if err := cmd.Start(); err != nil {
			return err
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		go func() {
			select {
			case <-cmd.Done():
				cancel()
			case <-ctx.Done():
			}
		}()
	} else if len(o.pidList) > 0 {
		ctx = untilScopeEmpty(ctx, probe, o.interval)
	}

	out := output.Headless{Out: os.Stdout, Output: o.output, TopProcs: o.top, Meta: meta}
	if events != nil {
		go flushEvery(ctx, events, 100*time.Millisecond)
	}
	if o.perInterval {
		if err := out.Follow(ctx, o.interval, agg.Snapshot); err != nil {
			return err
		}
	} else {
		<-ctx.Done()
	}
	if err := internalError(ctx); err != nil {
		return err // no summary from a broken collector
	}
	var cmdErr error
	if cmd != nil {
		// Stopped by a signal or --duration while the command runs: it ends
		// too, before the programs detach, so that its end is counted.
		cmdErr = cmd.Stop(stopSignal(ctx))
	}
	if err := probe.Detach(); err != nil {
		return err
	}
	if err := coll.Drain(); err != nil {
		return err
	}
	if events != nil {
		if err := events.Flush(); err != nil {
			return err
		}
	}
	if err := out.Write(agg.Snapshot()); err != nil {
		return err
	}
	return commandStatus(cmd, cmdErr)
}

// flushEvery writes the event log's lines out every period until ctx ends.
func flushEvery(ctx context.Context, l *output.EventLog, period time.Duration) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			l.Flush()
		}
	}
}

// signalCause is the cause of ctx's end when a signal ended it: the command
// tlmon started gets the same signal, as from a shell.
type signalCause struct{ sig syscall.Signal }

func (s signalCause) Error() string { return s.sig.String() + " received" }

// Is makes a signal a cancellation, not an internal error.
func (s signalCause) Is(target error) bool { return target == context.Canceled }

// notifyContext is signal.NotifyContext with the signal as the cause.
func notifyContext(parent context.Context, sigs ...os.Signal) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, sigs...)
	go func() {
		select {
		case s := <-ch:
			cancel(signalCause{s.(syscall.Signal)})
		case <-ctx.Done():
		}
	}()
	return ctx, func() { signal.Stop(ch); cancel(nil) }
}

// stopSignal is what the command gets when tlmon stops: the signal tlmon got,
// else SIGTERM (quit, --duration, an internal error).
func stopSignal(ctx context.Context) syscall.Signal {
	var s signalCause
	if errors.As(context.Cause(ctx), &s) {
		return s.sig
	}
	return syscall.SIGTERM
}

// internalError is the cause of ctx's end when it was a panic, not a signal, a
// timeout or the end of the work.
func internalError(ctx context.Context) error {
	err := context.Cause(ctx)
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	return err
}

// untilScopeEmpty ends when every watched process (followed children included)
// is gone: the kernel drops each from the PID scope when it exits.
func untilScopeEmpty(parent context.Context, probe *bpf.Probe, every time.Duration) context.Context {
	ctx, cancel := context.WithCancel(parent)
	go func() {
		t := time.NewTicker(every / 2)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if pids, err := probe.ScopedPIDs(); err == nil && len(pids) == 0 {
					cancel()
					return
				}
			}
		}
	}()
	return ctx
}

// commandStatus passes a watched command's failure on as tlmon's exit status,
// as strace does.
func commandStatus(cmd *collector.Command, err error) error {
	if cmd == nil || err == nil {
		return nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return exitCode(128 + int(ws.Signal()))
		}
		return exitCode(ee.ExitCode())
	}
	return err
}

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "dev-" + s.Value[:12]
			}
		}
	}
	return "dev"
}

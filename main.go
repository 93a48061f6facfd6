// Command tlmon watches every system call on the machine, live.
//
//	sudo tlmon [flags] [-- command [args...]]
//
// main parses the flags (flags.go, with the config file's defaults) into a
// session config, opens the live session and hands it to the interactive
// monitor or to a headless report, and to the metrics endpoint; a recording
// goes the same ways (replaying.go).
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/term"

	"tlmon/config"
	"tlmon/metrics"
	"tlmon/model"
	"tlmon/output"
	"tlmon/seccomp"
	"tlmon/session"
	"tlmon/syscalls"
	"tlmon/ui"
)

// Exit codes: usage mistakes are 2, failures at run time 1; a watched
// command's failure is passed on as its own status.
const (
	exitRuntime = 1
	exitUsage   = 2
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
	if isCompletionRequest(os.Args[1:]) {
		// A completion script asks what the words typed so far complete to.
		if err := complete(os.Args[1:], os.Stdout, os.Stderr); err != nil {
			os.Exit(exitRuntime)
		}
		os.Exit(0)
	}
	opts, err := parseFlags(os.Args[1:])
	if errors.Is(err, pflag.ErrHelp) {
		os.Exit(0)
	}
	if err == nil {
		err = run(opts)
	}
	var status session.ExitStatus
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

func run(o *options) error {
	if o.printConfig {
		var b bytes.Buffer
		config.Print(&b, o.flags, o.config)
		_, err := os.Stdout.Write(b.Bytes())
		return err
	}
	if o.version {
		fmt.Println(versionLine())
		return nil
	}
	if o.genDocs != "" {
		return genDocs(o.genDocs)
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
	if o.seccompProfile != "" {
		// Before the run, so a typo in the path does not cost it.
		if err := seccomp.Check(o.seccompProfile); err != nil {
			return err
		}
	}
	ctx, stop := session.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	if o.replay != "" {
		return runReplay(ctx, o)
	}
	if err := needTerminal(o); err != nil {
		return err
	}
	// A panic in one of the session's goroutines stops everything cleanly,
	// as a signal would, and is reported as the cause.
	ctx, crash := context.WithCancelCause(ctx)
	defer crash(nil)

	cfg := o.session
	if o.seccompProfile != "" && len(cfg.PIDs) == 0 && cfg.Cgroup == "" && len(cfg.Command) == 0 {
		fmt.Fprintln(os.Stderr, "tlmon: --seccomp-profile of the whole machine allows what any process called: give a command, --pid or --cgroup to profile one program")
	}
	cfg.Version, cfg.OnPanic, cfg.QuietCommand = versionString(), crash, !o.headless
	var events *output.EventLog
	if o.events {
		events = output.NewEventLog(os.Stdout, syscalls.HostTable(), o.output)
		cfg.OnEvent = events.Add
	}
	// The endpoint's address is taken before anything is counted: one in use
	// ends tlmon at once, in one line.
	var metricsLn net.Listener
	if o.metrics != "" {
		ln, err := metrics.Listen(o.metrics)
		if err != nil {
			return fmt.Errorf("--metrics %s: %w", o.metrics, err)
		}
		metricsLn = ln
	}
	// The start allocates some 20 MB at once, most of it garbage soon (the
	// BPF object, the kernel's BTF): with the collector on, its ten or so
	// collections took a third of the 60 ms before the programs were
	// attached. The memory limit still holds meanwhile.
	gc := debug.SetGCPercent(-1)
	live, err := session.Open(cfg)
	debug.SetGCPercent(gc)
	if err != nil {
		if metricsLn != nil {
			metricsLn.Close()
		}
		return err
	}
	defer live.Close()
	if metricsLn != nil {
		srv, err := metrics.Serve(metricsLn, metrics.Options{Snapshot: live.Snapshot, Labels: o.metricsLabels, Interval: cfg.Interval, Version: cfg.Version})
		if err != nil {
			return err
		}
		defer srv.Close()
	}
	if o.headless {
		err = runHeadless(ctx, o, live, events)
	} else {
		err = runMonitor(ctx, o, live)
	}
	if cerr := live.Close(); err == nil {
		err = cerr // the recording's failure
	}
	return err
}

// needTerminal says the monitor cannot run without a terminal.
func needTerminal(o *options) error {
	if !o.headless && !term.IsTerminal(int(os.Stdout.Fd())) {
		return usageError{errors.New("the interactive monitor needs a terminal: use --headless to print a summary")}
	}
	return nil
}

// runMonitor runs the interactive monitor until the user quits or a signal
// comes.
func runMonitor(ctx context.Context, o *options, live *session.Live) error {
	if err := live.Start(); err != nil {
		return err
	}
	err := ui.Run(ctx, live, o.uiOptions(o.session.Interval, session.FirstRead+20*time.Millisecond))
	if ierr := session.InternalError(ctx); ierr != nil {
		return ierr
	}
	if err != nil {
		return err
	}
	if o.seccompProfile == "" {
		return live.StopCommand(session.StopSignal(ctx))
	}
	// The profile needs every call, to the command's last: end the run as
	// the headless summary does.
	final, cmdStatus, err := live.Finish(session.StopSignal(ctx))
	if err == nil {
		err = writeSeccomp(o, final, runtime.GOARCH)
	}
	if err != nil {
		return err
	}
	return cmdStatus
}

// writeSeccomp writes --seccomp-profile, if asked, from the run's final
// snapshot, and says on stderr what is in it.
func writeSeccomp(o *options, final *model.Snapshot, arch string) error {
	if o.seccompProfile == "" {
		return nil
	}
	seen, err := seccomp.Write(o.seccompProfile, o.seccompFormat, final, arch)
	if err != nil {
		return err
	}
	for _, line := range seen.Notes(o.seccompProfile) {
		fmt.Fprintln(os.Stderr, "tlmon:", line)
	}
	return nil
}

// runHeadless prints reports until the duration ends, a signal comes or what
// is watched is gone (the command exited, the watched processes exited).
func runHeadless(ctx context.Context, o *options, live *session.Live, events *output.EventLog) error {
	if o.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.duration)
		defer cancel()
	}
	// Say when counting starts: everything from here on is in the summary.
	meta := live.Meta()
	fmt.Fprintln(os.Stderr, watchingLine(meta.Scope, meta.Buffer, o.duration, len(o.session.Command) > 0))
	if err := live.Start(); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-live.Ended():
			cancel()
		case <-ctx.Done():
		}
	}()

	out := output.Headless{Out: os.Stdout, Output: o.output, TopProcs: o.top, SinceStart: o.sinceStart, Meta: meta}
	if events != nil {
		go events.FlushEvery(ctx, 100*time.Millisecond)
	}
	if o.perInterval {
		if err := out.Follow(ctx, o.session.Interval, live.Snapshot, live.Published()); err != nil {
			return err
		}
	} else {
		<-ctx.Done()
	}
	if err := session.InternalError(ctx); err != nil {
		return err // no summary from a broken collector
	}
	final, cmdStatus, err := live.Finish(session.StopSignal(ctx))
	if err != nil {
		return err
	}
	if events != nil {
		if err := events.Flush(); err != nil {
			return err
		}
	}
	if err := out.Write(final); err != nil {
		return err
	}
	if err := writeSeccomp(o, final, runtime.GOARCH); err != nil {
		return err
	}
	return cmdStatus
}

// watchingLine says, as counting starts, what is watched and until when: for
// -d's duration, until the command exits, or until Ctrl-C, which always stops
// earlier and prints the summary.
func watchingLine(scope, buffer string, duration time.Duration, command bool) string {
	until := "; Ctrl-C prints the summary"
	switch {
	case duration > 0 && command:
		until = fmt.Sprintf(" for %s or until the command exits (Ctrl-C stops earlier)", duration)
	case duration > 0:
		until = fmt.Sprintf(" for %s (Ctrl-C stops earlier)", duration)
	case command:
		until = " until the command exits (Ctrl-C stops earlier)"
	}
	return fmt.Sprintf("tlmon: watching %s (%s buffer)%s", scope, buffer, until)
}

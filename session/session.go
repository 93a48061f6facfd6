// Package session opens tlmon's live pipeline from one Config: it loads and
// attaches the BPF programs of the best rung the kernel takes, scopes them to
// what the user asked to watch (everything, PIDs, a cgroup or a command it
// starts), and runs the collector into the aggregator. What it offers the
// monitor and the reports (snapshots, events, meta, scope and class controls,
// the end of the run) is all a source of counts is: a recording could offer
// the same. It is the one package that wires bpf, collector and aggregator.
package session

import (
	"errors"
	"fmt"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"tlmon/aggregator"
	"tlmon/bpf"
	"tlmon/collector"
	"tlmon/model"
	"tlmon/syscalls"
)

// Config is everything a live session is opened from; main fills it from the
// flags.
type Config struct {
	// What to watch: at most one of PIDs, Cgroup and Command; none is
	// everything.
	PIDs    []uint32
	Cgroup  string
	Command []string
	// Follow adds the children the PIDs fork from now on.
	Follow bool
	// QuietCommand starts the command with no terminal (the monitor's screen
	// is its own); else it shares tlmon's stdin, stdout and stderr.
	QuietCommand bool

	Buffer    string // bpf.BufferAuto, ringbuf or perf
	Hook      string // bpf.HookAuto, raw_tp, tracepoint or kprobe
	NoLatency bool
	// SampleLatency: see bpf.Options.SampleLatency.
	SampleLatency bool
	// Syscalls are the only syscalls counted (the -e filter); nil counts all.
	Syscalls   []int
	FailedOnly bool
	// Counted are the classes counted at start (0: all); the monitor
	// switches them.
	Counted model.Class
	// Detail are the classes whose calls the kernel sends one by one;
	// DetailChosen says the user chose them, else a rung without detail
	// events quietly counts only.
	Detail       model.Class
	DetailChosen bool
	Slow         time.Duration

	// Interval is how often the kernel's counters are read. The first read
	// comes at FirstRead, unless WholeFirstInterval: then at Interval, as
	// reports of each interval want it (a short first one is not reported).
	Interval           time.Duration
	WholeFirstInterval bool
	// History is how long the snapshots are kept to move back through (0:
	// none); Record, if set, is the file the session is recorded to.
	History time.Duration
	Record  string
	// OnEvent, if set, sees every event (the headless event lines).
	OnEvent func(*model.Event)
	// OnPanic is called when a goroutine of the pipeline panics: the owner
	// stops cleanly, with the panic as the cause.
	OnPanic func(error)
	// PanicOnTick makes the collector panic at its first read (tests).
	PanicOnTick bool
	Version     string
}

// FirstRead is when the first counter read comes after attaching, whatever
// the interval: the first screen has numbers a moment after start, over a
// short first interval.
const FirstRead = 50 * time.Millisecond

// Live is an open session on this machine's kernel. Its Control is the
// monitor's backend.
type Live struct {
	*Control
	cfg   Config
	probe *bpf.Probe
	coll  *collector.Collector
	agg   *aggregator.Aggregator
	scope *Scope

	// keeper keeps the snapshots for the history and the recording (nil:
	// neither).
	keeper *keeper

	endOnce sync.Once
	ended   chan struct{}
	// closeOnce closes once; closeErr is the recording's failure, if any.
	closeOnce sync.Once
	closeErr  error
	// commandEnd says how the command ended, once it has (Meta).
	commandEnd atomic.Pointer[string]
}

// Open checks the system, resolves what to watch, loads and attaches the
// programs and starts counting. A mistake in what the user named ends with one
// line and nothing attached. The command, if any, starts with Start.
func Open(cfg Config) (l *Live, err error) {
	if err := bpf.CheckSystem(); err != nil {
		return nil, err
	}
	table := syscalls.HostTable()
	cgroups, cgErr := collector.FindCgroups()
	RemoveStaleCgroups(cgroups) // left by a tlmon killed with SIGKILL
	scope, err := ResolveScope(ScopeRequest{PIDs: cfg.PIDs, Cgroup: cfg.Cgroup, Command: cfg.Command, Follow: cfg.Follow}, cgroups, cgErr)
	if err != nil {
		return nil, err
	}
	l = &Live{cfg: cfg, scope: scope, ended: make(chan struct{})}
	defer func() {
		if err != nil {
			l.Close()
		}
	}()
	if cmd := scope.Command; cmd != nil && cfg.QuietCommand {
		cmd.Cmd.Stdin, cmd.Cmd.Stdout, cmd.Cmd.Stderr = nil, nil, nil
	}

	// /proc is read while the kernel verifies the programs: some 40 ms of a
	// start on a machine of a thousand processes. A process that execs
	// between its read and the attach keeps its former name until it execs
	// again or exits, as one that execs during the read would anyway.
	scanned := make(chan []model.ProcInfo, 1)
	go func() { scanned <- collector.ScanProcs(cgroups) }()
	l.probe, err = bpf.Load(bpf.Options{Buffer: cfg.Buffer, Hook: cfg.Hook, NoLatency: cfg.NoLatency, SampleLatency: cfg.SampleLatency, Table: table, Slow: cfg.Slow})
	if err != nil {
		return l, err
	}
	if err := scope.Apply(l.probe); err != nil {
		return l, err
	}
	if err := l.probe.SetSyscallFilter(cfg.Syscalls); err != nil {
		return l, err
	}
	if cfg.FailedOnly {
		if err := l.probe.SetFailedOnly(true); err != nil {
			return l, err
		}
	}

	meta := model.Meta{Version: cfg.Version, Buffer: l.probe.Buffer(), Hook: l.probe.Rung().Hook, Rung: l.probe.Rung().Number, Scope: scope.Desc,
		Boot: collector.BootTime(), HybridCgroups: cgroups != nil && cgroups.Hybrid, LatencySampled: l.probe.LatencySampled()}
	detail := cfg.Detail
	if !l.probe.HasDetail() && !cfg.DetailChosen {
		detail = 0 // the default classes, on a rung without detail events: counts only
	}

	aggCfg := aggregator.Config{Table: table, CgroupPath: cgroups.Path}
	if cfg.History > 0 || cfg.Record != "" {
		counted := model.ClassAll
		if cfg.Counted != 0 {
			counted = cfg.Counted
		}
		if l.keeper, err = newKeeper(cfg.History, cfg.Record, meta, cfg.Interval, counted, detail, table); err != nil {
			return l, err
		}
		aggCfg.OnCall = l.keeper.onCall
		if cfg.Record != "" {
			aggCfg.OnLifecycle = l.keeper.onLife
		}
	}
	l.agg = aggregator.New(aggCfg)
	var sink collector.Sink = l.agg
	if l.keeper != nil {
		sink = tappedSink{l.agg, l.keeper}
	}
	onPanic := func(v any) {
		if cfg.OnPanic != nil {
			cfg.OnPanic(fmt.Errorf("internal error in the collector: %v", v))
		}
	}
	firstRead := FirstRead
	if cfg.WholeFirstInterval {
		firstRead = 0
	}
	l.coll, err = collector.New(collector.Config{Probe: l.probe, Sink: sink, Cgroups: cgroups, Interval: cfg.Interval, FirstRead: firstRead,
		OnEvent: cfg.OnEvent, OnPanic: onPanic, PanicOnTick: cfg.PanicOnTick})
	if err != nil {
		return l, err
	}
	l.coll.SeedProcesses(<-scanned)
	l.coll.Start()
	if err := l.probe.Attach(); err != nil {
		return l, err
	}
	l.Control = NewControl(l.probe, l.agg, l.coll.Flush, cgroups, table, meta, scope.Target(cgroups), cfg.Follow, cfg.Syscalls)
	if l.keeper != nil && l.keeper.hist != nil {
		l.Control.history = l.keeper
	}
	if cfg.Counted != 0 {
		if err := l.SetClasses(cfg.Counted); err != nil {
			return l, err
		}
	}
	if err := l.SetDetail(detail); err != nil {
		return l, err
	}
	if err := l.SetSlow(cfg.Slow); err != nil {
		return l, err
	}
	return l, nil
}

// Start starts the command the session watches, if it has one.
func (l *Live) Start() error {
	cmd := l.scope.Command
	if cmd == nil {
		return nil
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() {
		<-cmd.Done()
		end := commandEnd(cmd.Err())
		l.commandEnd.Store(&end)
	}()
	return nil
}

// Published receives once the counts were read and a snapshot published
// since the last receive (one reader: the report of each interval).
func (l *Live) Published() <-chan struct{} { return l.agg.Published() }

// Meta is the control's, with how the command ended once it has.
func (l *Live) Meta() model.Meta {
	m := l.Control.Meta()
	if end := l.commandEnd.Load(); end != nil {
		m.CommandEnd = *end
	}
	return m
}

// commandEnd says how a command ended, from exec.Cmd.Wait's error, as a
// shell would: "exit 0", "exit 3", "killed by SIGKILL".
func commandEnd(err error) string {
	if err == nil {
		return "exit 0"
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return "ended: " + err.Error()
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return syscalls.ExitString(0, int(ws.Signal()))
	}
	return syscalls.ExitString(ee.ExitCode(), 0)
}

// Ended closes when what is watched is gone: the command exited, or every
// process of a PID scope (followed children included) exited. Watching
// everything or a cgroup, it never closes.
func (l *Live) Ended() <-chan struct{} {
	l.endOnce.Do(func() {
		switch {
		case l.scope.Command != nil:
			go func() { <-l.scope.Command.Done(); close(l.ended) }()
		case len(l.cfg.PIDs) > 0:
			go l.closeWhenScopeEmpty()
		}
	})
	return l.ended
}

// closeWhenScopeEmpty looks at the PID scope twice an interval: the kernel
// drops each process from it when it exits.
func (l *Live) closeWhenScopeEmpty() {
	t := time.NewTicker(l.cfg.Interval / 2)
	defer t.Stop()
	for range t.C {
		if pids, err := l.probe.ScopedPIDs(); err == nil && len(pids) == 0 {
			close(l.ended)
			return
		}
	}
}

// StopCommand ends the command, if any, with sig (then SIGKILL after a grace)
// and says how it ended: nil for success or no command, an ExitStatus for a
// failure.
func (l *Live) StopCommand(sig syscall.Signal) error {
	if l.scope.Command == nil {
		return nil
	}
	return commandStatus(l.scope.Command.Stop(sig))
}

// Finish ends the run for a final report: the command ends with sig before
// the programs detach, so that its end is counted, then every event the
// kernel sent is read. It returns the last snapshot and the command's status
// as StopCommand does.
func (l *Live) Finish(sig syscall.Signal) (final *model.Snapshot, command error, err error) {
	command = l.StopCommand(sig)
	if err := l.probe.Detach(); err != nil {
		return nil, command, err
	}
	if err := l.coll.Drain(); err != nil {
		return nil, command, err
	}
	final = l.agg.Snapshot()
	if l.keeper != nil {
		// The recording ends with the snapshot the summary prints.
		l.closeErr = l.keeper.close(final, l.endedCommand())
	}
	return final, command, nil
}

// endedCommand says how the command ended, once it has ("" before, or
// without one).
func (l *Live) endedCommand() string {
	if cmd := l.scope.Command; cmd != nil {
		select {
		case <-cmd.Done():
			return commandEnd(cmd.Err())
		default:
		}
	}
	return ""
}

// Close stops everything the session started, the command included, and
// ends the recording with the last snapshot (after Finish, the one it
// returned) and how the command ended. It returns the recording's failure,
// if any; calls after the first only return it again.
func (l *Live) Close() error {
	l.closeOnce.Do(func() {
		if cmd := l.scope.Command; cmd != nil {
			cmd.Stop(syscall.SIGTERM)
		}
		end := l.endedCommand()
		if l.coll != nil {
			l.coll.Close() // no snapshot comes after
		}
		if l.keeper != nil {
			l.closeErr = l.keeper.close(l.agg.Snapshot(), end)
		}
		if l.probe != nil {
			l.probe.Close()
		}
	})
	return l.closeErr
}

// ExitStatus is a watched command's failure: tlmon exits with the same
// status, as strace does (128+N for a command killed by signal N).
type ExitStatus int

func (e ExitStatus) Error() string { return fmt.Sprintf("command exited with status %d", int(e)) }

// commandStatus turns a command's exit (exec.Cmd.Wait's error) into an
// ExitStatus.
func commandStatus(err error) error {
	var ee *exec.ExitError
	if err == nil || !errors.As(err, &ee) {
		return err
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return ExitStatus(128 + int(ws.Signal()))
	}
	return ExitStatus(ee.ExitCode())
}

// The --buffer and --hook choices that let the kernel decide.
const (
	BufferAuto = bpf.BufferAuto
	HookAuto   = bpf.HookAuto
)

// Buffers and Hooks are the values --buffer and --hook accept (the shell
// completions offer them).
var (
	Buffers = []string{bpf.BufferAuto, bpf.BufferRingbuf, bpf.BufferPerf}
	Hooks   = []string{bpf.HookAuto, bpf.HookRawTP, bpf.HookTracepoint, bpf.HookKprobe}
)

// CheckRungs says whether a --buffer and --hook choice names any rung, before
// anything is loaded.
func CheckRungs(buffer, hook string) error {
	_, err := bpf.Rungs(buffer, hook)
	return err
}

package collector

import (
	"os/exec"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"tlmon/aggregator"
	"tlmon/bpf"
	"tlmon/internal/probetest"
	"tlmon/model"
)

// countingSink counts what it is handed and sums the deltas.
type countingSink struct {
	events atomic.Uint64
	opens  atomic.Uint64 // openat call events that returned 3
	reads  atomic.Uint64
	mu     sync.Mutex
	lost   model.Losses
	tried  uint64
}

func (s *countingSink) AddProcess(model.ProcInfo) {}
func (s *countingSink) HandleEvent(e *model.Event) {
	s.events.Add(1)
	if e.Kind == model.EventSyscall && e.Call.Nr == unix.SYS_OPENAT && e.Call.Ret == 3 {
		s.opens.Add(1)
	}
}
func (s *countingSink) HandleCounters(d *model.CounterDelta) []model.ProcID {
	s.reads.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, n := range d.Lost {
		s.lost[i] += n
	}
	s.tried += d.EventsAttempted
	return nil
}

// TestLossesAddUpWhenTheConsumerStalls fills a minimal buffer that nobody
// drains: events must be lost, and received + lost must equal what the kernel
// says it attempted.
func TestLossesAddUpWhenTheConsumerStalls(t *testing.T) {
	for _, buffer := range []string{bpf.BufferRingbuf, bpf.BufferPerf} {
		t.Run(buffer, func(t *testing.T) {
			p := probetest.Load(t, bpf.Options{Buffer: buffer, RingBytes: 4096, PerfBytes: 4096})
			sink := &countingSink{}
			c, err := New(Config{Probe: p, Sink: sink, Interval: time.Hour, EventsPaused: true})
			if err != nil {
				t.Fatal(err)
			}
			c.Start()
			defer c.Close()
			for i := 0; i < 100; i++ { // fork, exec and exit: 300 events
				if err := exec.Command("/bin/true").Run(); err != nil {
					t.Fatal(err)
				}
			}
			p.Detach()
			if err := c.Drain(); err != nil {
				t.Fatal(err)
			}
			received, lost := sink.events.Load(), sink.lost[model.LossLifecycle]
			if lost == 0 {
				t.Errorf("nothing lost with a stalled consumer and a %d-byte buffer", 4096)
			}
			if received+lost != sink.tried || sink.tried < 300 {
				t.Errorf("received %d + lost %d != attempted %d (want ≥ 300 attempted)", received, lost, sink.tried)
			}
		})
	}
}

// TestCloseStopsEveryGoroutine checks Close unblocks the reader and waits for
// both goroutines.
func TestCloseStopsEveryGoroutine(t *testing.T) {
	p := probetest.Load(t, bpf.Options{})
	before := runtime.NumGoroutine()
	for i := 0; i < 5; i++ {
		c, err := New(Config{Probe: p, Sink: &countingSink{}, Interval: 10 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		c.Start()
		time.Sleep(20 * time.Millisecond)
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after Close, %d before", n, before)
	}
}

// drainInjected makes n events in the kernel with inject while the consumer
// waits, then lets a collector drain them into sink, and says how long that
// took and how many heap allocations it made.
func drainInjected(tb testing.TB, p *bpf.Probe, n int, inject func() error, sink Sink) (time.Duration, uint64) {
	tb.Helper()
	c, err := New(Config{Probe: p, Sink: sink, Interval: time.Hour, EventsPaused: true})
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	c.Start()
	runtime.LockOSThread() // InjectCall's two runs must come from one thread
	for i := 0; i < n; i++ {
		if err := inject(); err != nil {
			tb.Fatal(err)
		}
	}
	runtime.UnlockOSThread()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	c.ResumeEvents()
	deadline := start.Add(30 * time.Second)
	for c.Stats().Received < uint64(n) {
		if time.Now().After(deadline) {
			tb.Fatalf("%d of %d injected events arrived", c.Stats().Received, n)
		}
		runtime.Gosched()
	}
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	return elapsed, after.Mallocs - before.Mallocs
}

// injectingProbe is a probe that sees only injected events.
func injectingProbe(tb testing.TB) *bpf.Probe {
	p := probetest.Load(tb, bpf.Options{RingBytes: 64 << 20})
	p.Detach()
	// Injected events name pid 0: only the "all" scope lets them through, and
	// detached, nothing else comes in.
	if err := p.ScopeAll(); err != nil {
		tb.Fatal(err)
	}
	return p
}

// benchmarkDrain reports events per second, ns and allocations per event of
// draining injected events into the sinks newSink makes, 100,000 at a time
// (they fit the 64 MiB ring).
func benchmarkDrain(b *testing.B, p *bpf.Probe, inject func() error, newSink func() Sink) {
	const perRound = 100_000
	var total time.Duration
	var allocs uint64
	for done := 0; done < b.N; done += perRound {
		d, a := drainInjected(b, p, min(perRound, b.N-done), inject, newSink())
		total += d
		allocs += a
	}
	b.ReportMetric(float64(b.N)/total.Seconds(), "events/s")
	b.ReportMetric(float64(allocs)/float64(b.N), "allocs/event")
	b.ReportMetric(float64(total.Nanoseconds())/float64(b.N), "ns/event")
}

// BenchmarkEventPath measures draining lifecycle events into a sink that only
// counts (the target is zero allocations per event).
func BenchmarkEventPath(b *testing.B) {
	p := injectingProbe(b)
	benchmarkDrain(b, p, p.InjectEvent, func() Sink { return &countingSink{} })
}

// detailProbe is an injecting probe with openat's detail on: InjectCall then
// sends openat call events, made by the real sys_enter and sys_exit programs.
func detailProbe(tb testing.TB) (*bpf.Probe, func() error) {
	p := injectingProbe(tb)
	if err := p.SetDetail([]int{unix.SYS_OPENAT}, false); err != nil {
		tb.Fatal(err)
	}
	return p, func() error { return p.InjectCall(unix.SYS_OPENAT, 3) }
}

// BenchmarkDetailEventPath measures draining syscall detail events into a
// sink that only counts: the collector's own cost (target: ≥ 1 M events/s on
// one core, zero allocations per event).
func BenchmarkDetailEventPath(b *testing.B) {
	p, inject := detailProbe(b)
	benchmarkDrain(b, p, inject, func() Sink { return &countingSink{} })
}

// BenchmarkDetailEventPathAggregated is the same into the real aggregator,
// which keeps each call in its process's log and its file table.
func BenchmarkDetailEventPathAggregated(b *testing.B) {
	p, inject := detailProbe(b)
	benchmarkDrain(b, p, inject, func() Sink { return aggregator.New(aggregator.Config{}) })
}

// TestEventPathAllocatesNothing drains 50,000 lifecycle and then 50,000 detail
// events: the goroutine machinery may allocate a few times in all, never once
// per event.
func TestEventPathAllocatesNothing(t *testing.T) {
	const n = 50_000
	p := injectingProbe(t)
	if err := p.SetDetail([]int{unix.SYS_OPENAT}, false); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		inject func() error
	}{
		{"lifecycle", p.InjectEvent},
		{"detail", func() error { return p.InjectCall(unix.SYS_OPENAT, 3) }},
	} {
		sink := &countingSink{}
		d, allocs := drainInjected(t, p, n, c.inject, sink)
		if c.name == "detail" && sink.opens.Load() != n {
			t.Errorf("%d of %d events were the openat calls injected", sink.opens.Load(), n)
		}
		if allocs > 20 {
			t.Errorf("%s: %d allocations draining %d events", c.name, allocs, n)
		}
		t.Logf("%s: %d events in %v (%.1f M/s), %d allocations", c.name, n, d, float64(n)/d.Seconds()/1e6, allocs)
	}
}

// collectTrue starts a collector reading into a real aggregator, read only
// when a test asks (Flush, Drain).
func collectTrue(t *testing.T, opts bpf.Options, cfg aggregator.Config) (*bpf.Probe, *aggregator.Aggregator, *Collector) {
	t.Helper()
	p := probetest.Load(t, opts)
	agg := aggregator.New(cfg)
	c, err := New(Config{Probe: p, Sink: agg, Interval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	c.Start()
	t.Cleanup(func() { c.Close() })
	return p, agg, c
}

// runTrue runs /bin/true and returns its pid.
func runTrue(t *testing.T) uint32 {
	t.Helper()
	child := exec.Command("/bin/true")
	if err := child.Run(); err != nil {
		t.Fatal(err)
	}
	return uint32(child.Process.Pid)
}

// TestAYoungProcessCountsWithoutKernelEntries runs a short-lived child born
// after the probe loaded: its counts come whole in the counts event sent when
// it exits, and it never has an entry in the per-process maps to retire.
func TestAYoungProcessCountsWithoutKernelEntries(t *testing.T) {
	p, agg, c := collectTrue(t, bpf.Options{}, aggregator.Config{})
	pid := runTrue(t)
	p.Detach()
	if err := c.Drain(); err != nil {
		t.Fatal(err)
	}
	if n, _ := p.ProcEntries(pid); n != 0 {
		t.Errorf("the young child made %d entries in the per-process map", n)
	}
	snap := agg.Snapshot()
	var childCalls uint64
	for _, ps := range snap.Processes {
		if ps.ID.PID == pid {
			childCalls = ps.Calls
			for _, s := range ps.Syscalls {
				if s.Hist != nil {
					t.Errorf("the young child's %s has a latency histogram of its own", s.Name)
				}
			}
		}
	}
	if childCalls == 0 {
		t.Fatalf("no calls counted for the child %d", pid)
	}
	var procs uint64
	for _, ps := range snap.Processes {
		procs += ps.Calls
	}
	if sum := procs + snap.Retired.Calls + snap.Lost.Unattributed.Calls; sum != snap.Totals.Calls {
		t.Errorf("processes %d + retired %d + unattributed %d = %d, but %d calls were counted in all",
			procs, snap.Retired.Calls, snap.Lost.Unattributed.Calls, sum, snap.Totals.Calls)
	}
	if lost := snap.Lost.Total; lost != 0 {
		t.Errorf("%d lost", lost)
	}
}

// TestExitedProcessesLeaveTheKernelMaps runs a short-lived child under a
// collector feeding the real aggregator with a short retirement delay: once
// retired, the child's entries must be gone from the kernel's maps, while its
// counts stay in the aggregator's totals.
func TestExitedProcessesLeaveTheKernelMaps(t *testing.T) {
	// A young child makes no entries (TestAYoungProcessCountsWithoutKernelEntries).
	p, agg, c := collectTrue(t, bpf.Options{NoYoungTables: true}, aggregator.Config{RetireAfter: 50 * time.Millisecond})
	pid := runTrue(t)
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	if n, _ := p.ProcEntries(pid); n == 0 {
		t.Fatal("the child left no entries to retire")
	}
	execs := agg.Snapshot().Totals.Calls
	deadline := time.Now().Add(5 * time.Second)
	for {
		time.Sleep(60 * time.Millisecond)
		if err := c.Flush(); err != nil {
			t.Fatal(err)
		}
		n, err := p.ProcEntries(pid)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d kernel entries of exited pid %d remain", n, pid)
		}
	}
	for _, ps := range agg.Snapshot().Processes {
		if ps.ID.PID == pid {
			t.Errorf("retired pid %d still listed", pid)
		}
	}
	if got := agg.Snapshot().Totals.Calls; got < execs {
		t.Errorf("totals fell from %d to %d when the child retired", execs, got)
	}
}

// TestExecedProcessesGetTheirNewCommandLine runs a child that execs a long
// sleep: the exec event clears the command line inherited at fork, and the
// next counter read must fill in the new one from /proc.
func TestExecedProcessesGetTheirNewCommandLine(t *testing.T) {
	p := probetest.Load(t, bpf.Options{})
	agg := aggregator.New(aggregator.Config{})
	c, err := New(Config{Probe: p, Sink: agg, Interval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	c.Start()
	defer c.Close()
	child := exec.Command("/bin/sleep", "17.5")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Wait()
	defer child.Process.Kill()
	pid := uint32(child.Process.Pid)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		if err := c.Flush(); err != nil {
			t.Fatal(err)
		}
		for _, ps := range agg.Snapshot().Processes {
			if ps.ID.PID == pid && ps.Comm == "sleep" && ps.Cmdline == "/bin/sleep 17.5" {
				return
			}
		}
	}
	for _, ps := range agg.Snapshot().Processes {
		if ps.ID.PID == pid {
			t.Fatalf("exec'd child: comm %q cmdline %q, want sleep and %q", ps.Comm, ps.Cmdline, "/bin/sleep 17.5")
		}
	}
	t.Fatal("the exec'd child was never listed")
}

// TestFirstReadComesEarly checks that the first counter read comes after
// FirstRead, not after a whole interval, and the next one an interval later.
func TestFirstReadComesEarly(t *testing.T) {
	p := probetest.Load(t, bpf.Options{})
	sink := &countingSink{}
	c, err := New(Config{Probe: p, Sink: sink, Interval: time.Hour, FirstRead: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	c.Start()
	defer c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for sink.reads.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no read within 5 s with FirstRead 20ms")
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	if n := sink.reads.Load(); n != 1 {
		t.Errorf("%d reads, want the first one only (the next comes an hour later)", n)
	}
}

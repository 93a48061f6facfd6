// Package collector moves what the kernel side produced into the aggregator: a
// goroutine per event buffer (process events and young threads' counts, detail
// events) drains it into a reused record, another reads the counter maps on a
// ticker and turns their absolute values into deltas, adding the young
// threads' counts received meanwhile. It also
// names processes from /proc and cgroups from the cgroup v2 tree. It must not
// import the aggregator or the ui: it talks to a Sink.
package collector

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"tlmon/bpf"
	"tlmon/model"
)

// Sink receives what the collector reads. HandleEvent is called from the event
// goroutine with a record that is reused afterwards; HandleCounters from the
// ticker goroutine with a delta that is reused afterwards, and returns the
// processes it retired so their kernel entries can be deleted.
type Sink interface {
	AddProcess(p model.ProcInfo)
	HandleEvent(e *model.Event)
	HandleCounters(d *model.CounterDelta) []model.ProcID
}

// Config sets up a Collector.
type Config struct {
	Probe    *bpf.Probe
	Sink     Sink
	Cgroups  *Cgroups // may be nil
	Interval time.Duration
	// FirstRead, if set and shorter than Interval, is when the first read
	// comes after Start, so that the first screen has numbers without waiting
	// a whole interval; the reads then come every Interval.
	FirstRead time.Duration
	// OnEvent, if set, sees every event after the sink (the headless mode uses it
	// to notice that the processes it watches have exited).
	OnEvent func(e *model.Event)
	// EventsPaused starts with the event reader stopped until ResumeEvents (a test
	// hook: with nobody draining, the buffer fills and losses must show).
	EventsPaused bool
	// OnPanic is called, instead of crashing, when one of the collector's
	// goroutines panics: the owner stops the program cleanly (the terminal
	// restored, the programs detached). The goroutine then ends.
	OnPanic func(v any)
	// PanicOnTick makes the ticker panic at its first tick, an Interval after
	// Start (a test hook for OnPanic).
	PanicOnTick bool
}

// Collector runs its goroutines: one per event buffer, and the ticker.
type Collector struct {
	cfg     Config
	readers []*bpf.EventReader // the lifecycle buffer's, then the detail one's
	sinkMu  sync.Mutex         // one event at a time into the sink and OnEvent

	cancel context.CancelFunc
	wg     sync.WaitGroup // the ticker
	events sync.WaitGroup // the event reader
	resume chan struct{}

	readMu   sync.Mutex // serialises counter reads (ticker and Flush)
	cur      bpf.Counters
	prev     bpf.Counters
	delta    model.CounterDelta
	lastRead time.Time
	known    map[model.ProcID]bool
	// execed holds processes that exec'd since the last read: their command
	// line and v1 cgroup are read from /proc then (bounded: a storm of
	// short-lived execs would make this the ticker's main work).
	execed []model.ProcID
	exited map[model.ProcID]struct{} // of those, the ones whose exit event came
	// forked holds children forked since the last read, which start in their
	// parent's cgroup and may be moved soon after (a container runtime, a
	// service manager): they are read again from /proc once, at the read after
	// next (forkedDue), an interval or two later. Bounded like execed.
	forked, forkedDue []model.ProcID
	// young holds the counts of young threads (EventCounts) received since
	// the last read, for the next delta; guarded by readMu.
	young youngCounts

	received   atomic.Uint64
	perfLost   atomic.Uint64
	readErrors atomic.Uint64
}

// New opens the event reader. Start runs the goroutines.
func New(cfg Config) (*Collector, error) {
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	life, err := cfg.Probe.NewLifecycleReader()
	if err != nil {
		return nil, err
	}
	c := &Collector{cfg: cfg, readers: []*bpf.EventReader{life}, resume: make(chan struct{}), known: map[model.ProcID]bool{}, exited: map[model.ProcID]struct{}{}}
	detail, err := cfg.Probe.NewDetailReader()
	if err != nil {
		life.Close()
		return nil, err
	}
	if detail != nil {
		c.readers = append(c.readers, detail)
	}
	c.delta = model.CounterDelta{
		System:       make([]model.Counts, bpf.MaxSyscalls),
		SystemHist:   make([]model.Hist, bpf.MaxSyscalls),
		Unattributed: make([]model.Counts, bpf.MaxSyscalls),
		Procs:        map[model.ProcSyscall]model.Counts{},
		ProcHists:    map[model.ProcSyscall]model.Hist{},
		Errnos:       map[model.ProcErrno]uint64{},
		IO:           map[model.ProcID]model.IOCounts{},
	}
	if !cfg.EventsPaused {
		close(c.resume)
	}
	return c, nil
}

// SeedProcesses hands the sink procs, the processes alive (ScanProcs) before
// the programs were attached.
func (c *Collector) SeedProcesses(procs []model.ProcInfo) {
	for _, p := range procs {
		c.known[p.ID] = true
		c.cfg.Sink.AddProcess(p)
	}
}

// Start runs the event reader and the counter ticker until Close.
func (c *Collector) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	c.lastRead = time.Now()
	c.wg.Add(1)
	// The clocks start now, not when the goroutine first runs: the readers
	// block in epoll_wait holding both Ps of a two-CPU machine until Go's
	// monitor takes them back, up to 20 ms later.
	var first <-chan time.Time
	if f := c.cfg.FirstRead; f > 0 && f < c.cfg.Interval {
		first = time.After(f)
	}
	t := time.NewTicker(c.cfg.Interval)
	for _, r := range c.readers {
		c.events.Add(1)
		go c.readEvents(ctx, r)
	}
	go c.tick(ctx, first, t)
}

// Drain reads the events still in the buffers, stops the event goroutines and
// reads the counters one last time, so a final summary misses nothing that
// happened before the call.
func (c *Collector) Drain() error {
	c.ResumeEvents()
	for _, r := range c.readers {
		if err := r.Flush(); err != nil { // Read returns what is buffered, then stops
			return err
		}
	}
	c.events.Wait()
	return c.Flush()
}

// ResumeEvents starts draining the buffer of a collector made with EventsPaused.
func (c *Collector) ResumeEvents() {
	select {
	case <-c.resume:
	default:
		close(c.resume)
	}
}

// recoverTo hands a panic of the calling goroutine to OnPanic.
func (c *Collector) recoverTo() {
	if v := recover(); v != nil {
		if c.cfg.OnPanic == nil {
			panic(v)
		}
		c.cfg.OnPanic(v)
	}
}

// readEvents drains one buffer into the sink until it is closed or flushed.
func (c *Collector) readEvents(ctx context.Context, r *bpf.EventReader) {
	defer c.events.Done()
	defer c.recoverTo()
	select {
	case <-c.resume:
	case <-ctx.Done():
		return
	}
	var e model.Event // one record, reused for every event
	for {
		ok, lost, err := r.Read(&e)
		if errors.Is(err, bpf.ErrClosed) || errors.Is(err, bpf.ErrFlushed) {
			return // closed, or drained (see Drain)
		}
		if err != nil {
			c.readErrors.Add(1)
			continue
		}
		if !ok {
			c.perfLost.Add(lost)
			continue
		}
		c.received.Add(1)
		if e.Kind == model.EventCounts {
			c.readMu.Lock()
			c.young.add(e.Proc, &e.Counts)
			c.readMu.Unlock()
		}
		c.sinkMu.Lock()
		c.cfg.Sink.HandleEvent(&e)
		// After the sink: a reread of an exec'd process must come after the exec
		// cleared what it made stale.
		switch e.Kind {
		case model.EventExec, model.EventFork:
			c.noteEvent(e.Proc, e.Kind)
		case model.EventExit:
			c.noteExit(e.Proc)
		}
		if c.cfg.OnEvent != nil {
			c.cfg.OnEvent(&e)
		}
		c.sinkMu.Unlock()
	}
}

// tick reads the counters at first (nil: none) and at each tick of t.
func (c *Collector) tick(ctx context.Context, first <-chan time.Time, t *time.Ticker) {
	defer c.wg.Done()
	defer c.recoverTo()
	defer t.Stop()
	read := func() {
		if err := c.Flush(); err != nil {
			c.readErrors.Add(1)
		}
	}
	if first != nil {
		select {
		case <-ctx.Done():
			return
		case <-first:
			read()
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if c.cfg.PanicOnTick {
				panic("collector: panic requested by a test")
			}
			read()
		}
	}
}

// Flush reads the counter maps now and hands the sink what changed since the
// last read. The ticker calls it; so does a final summary.
func (c *Collector) Flush() error {
	c.readMu.Lock()
	defer c.readMu.Unlock()
	if err := c.cfg.Probe.ReadCounters(&c.cur); err != nil {
		return err
	}
	now := time.Now()
	d := &c.delta
	d.At, d.Interval = now, now.Sub(c.lastRead)
	c.lastRead = now
	diff(d, &c.cur, &c.prev)
	c.young.moveTo(d)
	c.nameNewProcesses(d)
	c.rereadExeced()
	retired := c.cfg.Sink.HandleCounters(d)
	c.prev, c.cur = c.cur, c.prev
	if len(retired) > 0 {
		for _, id := range retired {
			delete(c.known, id)
		}
		return c.cfg.Probe.ForgetProcs(retired)
	}
	return nil
}

// nameNewProcesses looks up, in /proc, processes that show up in the counters but
// were named by no event: they may have been alive before we started, or their
// lifecycle event was lost. The aggregator keeps a placeholder for those /proc
// cannot name either.
func (c *Collector) nameNewProcesses(d *model.CounterDelta) {
	for k := range d.Procs {
		if c.known[k.Proc] {
			continue
		}
		c.known[k.Proc] = true
		info, err := ReadProc(k.Proc.PID, c.cfg.Cgroups)
		if err == nil && info.ID == k.Proc {
			c.cfg.Sink.AddProcess(info)
		}
	}
}

// maxExecReads bounds the /proc reads per counter read for processes that exec'd.
const maxExecReads = 256

// noteEvent remembers processes named by events so /proc is not asked again,
// and those that exec'd, for rereadExeced. It runs on the event goroutine;
// known and execed are guarded by readMu.
func (c *Collector) noteEvent(id model.ProcID, kind model.EventKind) {
	c.readMu.Lock()
	c.known[id] = true
	switch {
	case kind == model.EventExec && len(c.execed) < maxExecReads:
		c.execed = append(c.execed, id)
	case kind == model.EventFork && len(c.forked) < maxExecReads && c.cfg.Cgroups != nil:
		c.forked = append(c.forked, id)
	}
	c.readMu.Unlock()
}

// noteExit remembers a process that exited, so rereadExeced does not look for
// it in /proc: under churn most processes that exec'd are gone by the next read.
func (c *Collector) noteExit(id model.ProcID) {
	c.readMu.Lock()
	if len(c.execed) > 0 || len(c.forked) > 0 || len(c.forkedDue) > 0 {
		c.exited[id] = struct{}{}
	}
	c.readMu.Unlock()
}

// rereadExeced fills in, from /proc, what an exec event cannot carry: the new
// command line and, on hybrid hosts, the v1 cgroup; and where the children
// forked before the last read are now. A process already gone is skipped, and
// so is a reused PID (the start time must match).
func (c *Collector) rereadExeced() {
	for _, id := range c.execed {
		if _, gone := c.exited[id]; gone {
			continue
		}
		if info, err := ReadProc(id.PID, c.cfg.Cgroups); err == nil && info.ID == id {
			c.cfg.Sink.AddProcess(info)
		}
	}
	c.execed = c.execed[:0]
	// Children forked before the last read, once: where are they now?
	for _, id := range c.forkedDue {
		if _, gone := c.exited[id]; gone {
			continue
		}
		if info, err := ReadProc(id.PID, c.cfg.Cgroups); err == nil && info.ID == id {
			c.cfg.Sink.AddProcess(info)
		}
	}
	c.forkedDue, c.forked = c.forked, c.forkedDue[:0]
	clear(c.exited)
}

// Stats are the collector's own counts, for checks and the lost-events display.
type Stats struct {
	Received   uint64 // events decoded and handed to the sink
	PerfLost   uint64 // samples the perf buffer reported lost (late; the kernel count is exact)
	ReadErrors uint64
}

// Stats returns the collector's own counts.
func (c *Collector) Stats() Stats {
	return Stats{Received: c.received.Load(), PerfLost: c.perfLost.Load(), ReadErrors: c.readErrors.Load()}
}

// Close stops both goroutines and waits for them. Closing the reader unblocks
// a Read in progress.
func (c *Collector) Close() error {
	if c.cancel != nil {
		c.cancel()
	}
	var errs []error
	for _, r := range c.readers {
		errs = append(errs, r.Close())
	}
	c.wg.Wait()
	c.events.Wait()
	return errors.Join(errs...)
}

// noHist is the previous histogram of a key new in this read.
var noHist bpf.Hist32

// diff writes cur - prev into d. Kernel counters only grow; an entry smaller than
// before was deleted and made anew, so all of it is new. Per-process histogram
// buckets are u32 in the kernel and wrap: their deltas are taken modulo 2^32.
func diff(d *model.CounterDelta, cur, prev *bpf.Counters) {
	for nr := range cur.System {
		d.System[nr] = cur.System[nr].Since(prev.System[nr])
		d.Unattributed[nr] = cur.Unattributed[nr].Since(prev.Unattributed[nr])
		for b := range cur.SystemHist[nr] {
			d.SystemHist[nr][b] = cur.SystemHist[nr][b] - prev.SystemHist[nr][b]
		}
	}
	clear(d.Procs)
	for k, v := range cur.Procs {
		if dv := v.Since(prev.Procs[k]); !dv.IsZero() {
			d.Procs[k] = dv
		}
	}
	clear(d.ProcHists)
	for k, v := range cur.ProcHists.All() {
		old := prev.ProcHists.Get(k)
		if old == nil {
			old = &noHist
		}
		var h model.Hist
		any := false
		for b := range v {
			h[b] = uint64(v[b] - old[b])
			any = any || h[b] != 0
		}
		if any {
			d.ProcHists[k] = h
		}
	}
	clear(d.Errnos)
	for k, v := range cur.Errnos {
		old := prev.Errnos[k]
		if v < old {
			old = 0
		}
		if v != old {
			d.Errnos[k] = v - old
		}
	}
	for i := range d.Lost {
		d.Lost[i] = cur.Lost[i] - prev.Lost[i]
	}
	clear(d.IO)
	for id, v := range cur.IO {
		old := prev.IO[id]
		if v.Read < old.Read || v.Written < old.Written || v.Received < old.Received || v.Sent < old.Sent {
			old = model.IOCounts{} // deleted and made anew
		}
		if v != old {
			d.IO[id] = model.IOCounts{Read: v.Read - old.Read, Written: v.Written - old.Written,
				Received: v.Received - old.Received, Sent: v.Sent - old.Sent}
		}
	}
	d.EventsAttempted = cur.EventsAttempted - prev.EventsAttempted
	d.DetailAttempted = cur.DetailAttempted - prev.DetailAttempted
	d.Restarts = cur.Restarts - prev.Restarts
}

package session

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"tlmon/aggregator"
	"tlmon/history"
	"tlmon/model"
	"tlmon/recording"
	"tlmon/syscalls"
)

// keeper hands each snapshot the aggregator publishes to the history and the
// recording, on a goroutine of its own: nothing of the live path waits on
// either. A snapshot it has no time for is skipped; the next one's frame
// carries what it changed.
type keeper struct {
	hist  *history.History  // nil: none kept
	calls history.Calls     // the detail events of the frames hist keeps
	rec   *recording.Writer // nil: no recording
	in    chan *model.Snapshot
	done  chan struct{}

	// last is the snapshot kept last; buf the room of the recording's own
	// frames (recordingFrame).
	last *model.Snapshot
	buf  []byte

	mu      sync.Mutex
	stopped bool // closed: no snapshot is taken any more
	// batch are the calls since the last snapshot kept, at most
	// maxBatch; batchLost counts those past it.
	batch     []model.CallRecord
	batchLost uint64
	// life are the lifecycle events since the last snapshot kept, for the
	// recording, at most maxBatch.
	life   []model.LifeRecord
	recErr error // the recording's first failure: it stops there

	closeOnce sync.Once
	closeErr  error
}

// newKeeper keeps snapshots for keep (0: none) and records them to path
// ("": no recording), described by meta.
func newKeeper(keep time.Duration, path string, meta model.Meta, interval time.Duration, classes, detail model.Class, table *syscalls.Table) (*keeper, error) {
	k := &keeper{in: make(chan *model.Snapshot, 4), done: make(chan struct{})}
	if keep > 0 {
		k.hist = history.New(history.Options{Keep: keep, Coarse: true})
		k.calls.Budget = callsBudget
	}
	if path != "" {
		w, err := recording.Create(path, recordingHeader(meta, interval, classes, detail, table))
		if err != nil {
			return nil, fmt.Errorf("--record: %w", err)
		}
		k.rec = w
	}
	go k.run()
	return k, nil
}

// recordingHeader describes this session for a replay elsewhere.
func recordingHeader(meta model.Meta, interval time.Duration, classes, detail model.Class, table *syscalls.Table) recording.Header {
	h := recording.Header{Tlmon: meta.Version, Arch: runtime.GOARCH, Rung: meta.Rung, Buffer: meta.Buffer, Hook: meta.Hook,
		Scope: meta.Scope, HybridCgroups: meta.HybridCgroups, LatencySampled: meta.LatencySampled, Start: time.Now(), Boot: meta.Boot, Interval: interval,
		Classes: classNames(classes), Detail: classNames(detail)}
	h.Host, _ = os.Hostname()
	var uts unix.Utsname
	if unix.Uname(&uts) == nil {
		h.Kernel = unix.ByteSliceToString(uts.Release[:])
	}
	for _, s := range table.All() {
		h.Syscalls = append(h.Syscalls, recording.Syscall{Nr: s.Nr, Name: s.Name, Classes: classNames(s.Classes)})
	}
	return h
}

func classNames(c model.Class) []string {
	if c == 0 {
		return nil
	}
	return strings.Split(c.String(), ",")
}

// callsBudget bounds the detail events the history keeps, beside its 50 MB
// of snapshots: past it the oldest go, and the events pane at a moment that
// old shows none.
const callsBudget = 16 << 20

// maxBatch bounds the calls kept for one interval: every detail class on
// under a build sends some 80,000 a second, which neither the history nor a
// recording should hold whole.
const maxBatch = 20000

// addCall takes a detail event's call for the frame of the interval.
func (k *keeper) addCall(c *model.CallRecord) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.stopped {
		return
	}
	if len(k.batch) >= maxBatch {
		k.batchLost++
		return
	}
	k.batch = append(k.batch, *c)
}

// addLife takes a lifecycle event for the recording's frame of the
// interval; past maxBatch it is left out (the snapshots still say when each
// process started and exited).
func (k *keeper) addLife(r *model.LifeRecord) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.stopped && len(k.life) < maxBatch {
		k.life = append(k.life, *r)
	}
}

// takeEvents hands over the calls and the lifecycle events of the interval.
func (k *keeper) takeEvents() ([]model.CallRecord, []model.LifeRecord) {
	k.mu.Lock()
	defer k.mu.Unlock()
	b, l := k.batch, k.life
	k.batch, k.life = nil, nil
	return b, l
}

// offer hands s over unless the keeper is still busy with earlier ones, or
// closed.
func (k *keeper) offer(s *model.Snapshot) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.stopped {
		return
	}
	select {
	case k.in <- s:
	default:
	}
}

func (k *keeper) run() {
	defer close(k.done)
	for s := range k.in {
		k.keep(s, false)
	}
}

// keep stores s in the history and appends its frame to the recording;
// one no newer than the last is skipped, but the final snapshot, which is
// often the last one kept already: its keyframe then restates that moment
// exactly, and a replay takes the second frame.
func (k *keeper) keep(s *model.Snapshot, final bool) {
	if k.last != nil && (s.At.Before(k.last.At) || s.At.Equal(k.last.At) && !final) {
		return
	}
	var frame, callsFrame []byte
	calls, life := k.takeEvents()
	switch {
	case k.hist != nil && final:
		frame = k.hist.AddKeyframe(s)
	case k.hist != nil:
		frame = k.hist.Add(s)
	}
	if k.hist != nil {
		callsFrame = k.calls.Add(k.hist.Latest(), calls)
		k.calls.DropBefore(k.hist.Oldest())
	} else if k.rec != nil && len(calls) > 0 {
		callsFrame = history.AppendCalls(nil, calls)
	}
	if k.rec != nil {
		k.record(recording.KindSnapshot, s.At, k.recordingFrame(s, frame, final))
		if len(calls) > 0 {
			k.record(recording.KindCalls, s.At, callsFrame)
		}
		if len(life) > 0 {
			k.record(recording.KindLifecycle, s.At, history.AppendLifecycle(nil, life))
		}
	}
	k.last = s
}

// recordingFrame is s's frame in the recording: a keyframe first and last
// (what a replay's summary prints is exact), coarse deltas in between. A
// replay reads a recording from its start, so the keyframes with which the
// history bounds its rebuilds would only cost bytes: some 30 KB each for
// 500 processes, against 4 KB for a delta. The history's frame serves
// where it is what is asked for (it keeps every snapshot the recording
// does, as coarse deltas between its keyframes); hist is nil without one.
func (k *keeper) recordingFrame(s *model.Snapshot, hist []byte, final bool) []byte {
	key := k.last == nil || final
	if hist != nil && history.IsKeyframe(hist) == key {
		return hist
	}
	if key {
		k.buf = history.AppendDelta(k.buf[:0], nil, s)
	} else {
		k.buf = history.AppendCoarseDelta(k.buf[:0], k.last, s)
	}
	return k.buf
}

// ProcDetailAt is what the detail events kept said of process id up to the
// moment seq: its last calls, and the files and endpoints they named.
func (k *keeper) ProcDetailAt(id model.ProcID, seq uint64) model.ProcDetail {
	return history.ProcDetail(k.calls.Of(id, seq, history.DetailCalls))
}

// record appends a frame; after a failure it records no more, and Close
// says why.
func (k *keeper) record(kind uint16, at time.Time, frame []byte) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.recErr != nil {
		return
	}
	if err := k.rec.WriteFrame(kind, at, frame); err != nil {
		k.recErr = fmt.Errorf("recording: %w", err)
	}
}

// close keeps the final snapshot, notes how the command ended, and closes
// the recording: its last frame is what a headless summary printed. Only
// the first call does anything; later ones return its error.
func (k *keeper) close(final *model.Snapshot, commandEnd string) error {
	k.closeOnce.Do(func() { k.closeErr = k.finish(final, commandEnd) })
	return k.closeErr
}

func (k *keeper) finish(final *model.Snapshot, commandEnd string) error {
	k.mu.Lock()
	k.stopped = true
	close(k.in)
	k.mu.Unlock()
	<-k.done
	if final != nil {
		k.keep(final, true)
	}
	if k.rec == nil {
		return nil
	}
	if commandEnd != "" {
		b, _ := json.Marshal(map[string]string{"command_end": commandEnd})
		k.record(recording.KindMeta, time.Now(), b)
	}
	err := k.rec.Close()
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.recErr != nil {
		return k.recErr
	}
	if err != nil {
		return fmt.Errorf("recording: %w", err)
	}
	return nil
}

// moments are the history's, as the monitor reads them.
func (k *keeper) Moments() []model.Moment {
	ms := k.hist.Moments()
	out := make([]model.Moment, len(ms))
	for i, m := range ms {
		out[i] = model.Moment{Seq: m.Seq, At: m.At, CallRate: m.CallRate, ErrorRate: m.ErrorRate}
	}
	return out
}

func (k *keeper) At(seq uint64) (*model.Snapshot, error) { return k.hist.At(seq) }

// onCall is the aggregator's OnCall.
func (k *keeper) onCall(c *model.CallRecord) { k.addCall(c) }

// onLife is the aggregator's OnLifecycle.
func (k *keeper) onLife(r *model.LifeRecord) { k.addLife(r) }

// tappedSink is the aggregator, which hands each snapshot it publishes
// after a counter read to the keeper.
type tappedSink struct {
	*aggregator.Aggregator
	k *keeper
}

func (t tappedSink) HandleCounters(d *model.CounterDelta) []model.ProcID {
	retired := t.Aggregator.HandleCounters(d)
	t.k.offer(t.Aggregator.Snapshot())
	return retired
}

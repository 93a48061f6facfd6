// Package replay opens a recording (package recording, frames of package
// history) as a source of snapshots like a live session: the monitor plays
// it at its recorded speed, faster or slower, and moves through it; the
// reports print its last snapshot as the live run printed it, its frames as
// a trace, or a window of it compared with another. It needs no root and no
// BPF, on any machine and architecture.
package replay

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"syscall"
	"time"

	"tlmon/diff"
	"tlmon/history"
	"tlmon/model"
	"tlmon/recording"
)

// Player is an open recording: every snapshot of it kept (in a history as
// compact as the live one's) and a play head that moves with the clock.
type Player struct {
	name   string
	header recording.Header
	meta   model.Meta
	hist   *history.History
	calls  history.Calls // the detail events, by the frame they end with
	life   []model.LifeRecord
	// moments are every frame's, oldest first; commandEnd says how the
	// command tlmon ran ended, as the session closed.
	moments    []history.Moment
	commandEnd string
	// truncated says the file ended inside a frame: it plays up to the last
	// whole one.
	truncated error

	mu     sync.Mutex
	speed  float64
	paused bool
	// The play head is at base when the wall clock read wall, and moves
	// speed times as fast as it.
	base, wall time.Time
	now        func() time.Time
}

// errRecording is what a recording cannot do of what the monitor asks: it
// shows what was seen, with the settings it was recorded with.
var errRecording = errors.New("a recording shows what was seen, with the settings it was recorded with")

// Open reads the recording at path whole. A file cut short (a tlmon killed
// as it recorded) opens up to its last whole frame, and Truncated says so;
// a damaged, empty or foreign file, or one from a newer tlmon, is an error
// that says what and where.
func Open(path string) (*Player, error) {
	r, err := recording.Open(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	p := &Player{name: path, header: r.Header(), speed: 1, now: time.Now,
		hist: history.New(history.Options{Keep: math.MaxInt64, Budget: math.MaxInt})}
	h := p.header
	p.meta = model.Meta{Version: h.Tlmon, Buffer: h.Buffer, Hook: h.Hook, Rung: h.Rung, Scope: h.Scope, Boot: h.Boot, HybridCgroups: h.HybridCgroups,
		LatencySampled: h.LatencySampled}
	// A snapshot is kept once the next frame shows it is not restated: a
	// recording's last frame may restate the moment before it, exactly
	// (session's keeper), and the replay shows that moment once.
	var prev *model.Snapshot
	for {
		f, err := r.Next()
		var rerr *recording.Error
		switch {
		case err == io.EOF:
		case errors.As(err, &rerr) && errors.Is(err, recording.ErrTruncated):
			p.truncated = fmt.Errorf("%s: cut short at byte %d (%s): replaying up to its last whole frame", path, rerr.Offset, rerr.What)
		case err != nil:
			return nil, err
		}
		if err != nil {
			break
		}
		switch f.Kind {
		case recording.KindSnapshot:
			s, err := history.ApplyDelta(prev, f.Payload)
			if err != nil {
				return nil, fmt.Errorf("%s: frame at byte %d: %w", path, f.Offset, err)
			}
			if prev != nil && !s.At.Equal(prev.At) {
				p.hist.Add(prev)
			}
			prev = s
		case recording.KindCalls:
			if _, err := history.ReadCalls(f.Payload); err != nil {
				return nil, fmt.Errorf("%s: frame at byte %d: %w", path, f.Offset, err)
			}
			// The payload is the reader's until the next frame; prev is
			// added next, as the frame after Latest.
			p.calls.AddFrame(p.hist.Latest()+1, append([]byte(nil), f.Payload...))
		case recording.KindLifecycle:
			life, err := history.ReadLifecycle(f.Payload)
			if err != nil {
				return nil, fmt.Errorf("%s: frame at byte %d: %w", path, f.Offset, err)
			}
			p.life = append(p.life, life...)
		case recording.KindMeta:
			var m struct {
				CommandEnd string `json:"command_end"`
			}
			if err := json.Unmarshal(f.Payload, &m); err != nil {
				return nil, fmt.Errorf("%s: frame at byte %d: %w", path, f.Offset, err)
			}
			p.commandEnd = m.CommandEnd
		default: // a kind a newer tlmon writes: skipped
		}
	}
	if prev != nil {
		p.hist.Add(prev)
	}
	p.moments = p.hist.Moments()
	if len(p.moments) == 0 {
		return nil, fmt.Errorf("%s: the recording holds no snapshot", path)
	}
	p.base, p.wall = p.moments[0].At, p.now()
	return p, nil
}

// Name is the file the recording came from.
func (p *Player) Name() string { return p.name }

// Header is the recording's description.
func (p *Player) Header() recording.Header { return p.header }

// Truncated is nil, or says the file was cut short.
func (p *Player) Truncated() error { return p.truncated }

// Final is the recording's last snapshot: what a headless run printed.
func (p *Player) Final() *model.Snapshot {
	s, _ := p.hist.At(p.moments[len(p.moments)-1].Seq)
	return s
}

// Snapshots calls yield with each snapshot of the recording, oldest first,
// until it returns false.
func (p *Player) Snapshots(yield func(*model.Snapshot) bool) {
	for _, m := range p.moments {
		s, err := p.hist.At(m.Seq)
		if err != nil || !yield(s) {
			return
		}
	}
}

// Start is when the recording's first snapshot's counts began.
func (p *Player) Start() time.Time {
	first := p.moments[0]
	return first.At.Add(-first.Elapsed)
}

// Window is the window of the recording between from and to: offsets from
// its start ("90s") or times of day ("12:03:05", in the recording's own
// time zone as recorded); "" for its start and its end. The snapshots are an
// interval apart: the window starts at the last one at or before from and
// ends at the first at or after to.
func (p *Player) Window(from, to string) (diff.Window, error) {
	var w diff.Window
	last := len(p.moments) - 1
	end := last
	if to != "" {
		at, err := p.parseTime(to)
		if err != nil {
			return w, fmt.Errorf("--to %q: %w", to, err)
		}
		// The window ends at the first snapshot at or after to.
		end = min(p.momentAt(at.Add(-1))+1, last)
	}
	if from != "" {
		at, err := p.parseTime(from)
		if err != nil {
			return w, fmt.Errorf("--from %q: %w", from, err)
		}
		if i := p.momentAt(at); i >= 0 {
			if i >= end {
				return w, fmt.Errorf("--from %q is not before --to: the window holds no interval", from)
			}
			if w.From, err = p.hist.At(p.moments[i].Seq); err != nil {
				return w, err
			}
		}
	}
	var err error
	w.To, err = p.hist.At(p.moments[end].Seq)
	return w, err
}

// momentAt is the last moment at or before t, or -1.
func (p *Player) momentAt(t time.Time) int {
	i := -1
	for j, m := range p.moments {
		if m.At.After(t) {
			break
		}
		i = j
	}
	return i
}

// parseTime reads an offset from the recording's start or a time of day
// on its first day.
func (p *Player) parseTime(s string) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return p.Start().Add(d), nil
	}
	start := p.Start()
	for _, layout := range []string{"15:04:05.000", "15:04:05", "15:04"} {
		if t, err := time.ParseInLocation(layout, s, start.Location()); err == nil {
			return time.Date(start.Year(), start.Month(), start.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), start.Location()), nil
		}
	}
	return time.Time{}, errors.New("want an offset from the start (90s, 2m) or a time (12:03:05)")
}

// head is where the play head is now, and the index of the moment shown.
func (p *Player) head() (time.Time, int) {
	p.mu.Lock()
	at := p.base
	if !p.paused {
		at = at.Add(time.Duration(float64(p.now().Sub(p.wall)) * p.speed))
	}
	p.mu.Unlock()
	return at, max(0, p.momentAt(at))
}

// The ui.Backend of a recording: the snapshots up to the play head; the
// controls that change what the kernel counts say what a recording cannot.

func (p *Player) Snapshot() *model.Snapshot {
	_, i := p.head()
	s, _ := p.hist.At(p.moments[i].Seq)
	return s
}

func (p *Player) Moments() []model.Moment {
	_, i := p.head()
	out := make([]model.Moment, i+1)
	for j, m := range p.moments[:i+1] {
		out[j] = model.Moment{Seq: m.Seq, At: m.At, CallRate: m.CallRate, ErrorRate: m.ErrorRate}
	}
	return out
}

func (p *Player) SnapshotAt(seq uint64) (*model.Snapshot, error) { return p.hist.At(seq) }

// Meta is the recording's, with the command's end once the play head is
// past it.
func (p *Player) Meta() model.Meta {
	m := p.meta
	if p.commandEnd != "" && p.Ended() { // recorded as the session closed
		m.CommandEnd = p.commandEnd
	}
	return m
}

// SummaryMeta is the recording's meta as a headless run printed it: as it
// was when counting began.
func (p *Player) SummaryMeta() model.Meta { return p.meta }

// Ended says the play head is at the recording's last snapshot.
func (p *Player) Ended() bool {
	_, i := p.head()
	return i == len(p.moments)-1
}

// SetPaused stops or starts the play head where it is.
func (p *Player) SetPaused(paused bool) {
	at, _ := p.head()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.base, p.wall, p.paused = at, p.now(), paused
}

// Seek moves the play head to at.
func (p *Player) Seek(at time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.base, p.wall = at, p.now()
}

// Speed is how many times as fast as recorded the play head moves.
func (p *Player) Speed() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.speed
}

// SetSpeed changes the speed from where the play head is.
func (p *Player) SetSpeed(x float64) {
	at, _ := p.head()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.base, p.wall, p.speed = at, p.now(), x
}

func (p *Player) Classes() model.Class         { return classesOf(p.header.Classes) }
func (p *Player) Detail() model.Class          { return classesOf(p.header.Detail) }
func (p *Player) SetClasses(model.Class) error { return errRecording }
func (p *Player) SetDetail(model.Class) error  { return errRecording }
func (p *Player) Slow() time.Duration          { return 0 }
func (p *Player) SetSlow(time.Duration) error  { return errRecording }
func (p *Player) Targets() ([]model.Target, error) {
	return nil, errRecording
}
func (p *Player) Attach(model.Target) error                 { return errRecording }
func (p *Player) Clear()                                    {}
func (p *Player) Signal(model.ProcID, syscall.Signal) error { return errRecording }
func (p *Player) Trace(model.ProcID) error                  { return errRecording }
func (p *Player) Traced() model.ProcID                      { return model.ProcID{} }

// ProcDetail is what the detail events recorded say of process id up to
// the play head; ProcDetailAt up to moment seq.
func (p *Player) ProcDetail(id model.ProcID) model.ProcDetail {
	_, i := p.head()
	return p.ProcDetailAt(id, p.moments[i].Seq)
}

func (p *Player) ProcDetailAt(id model.ProcID, seq uint64) model.ProcDetail {
	return history.ProcDetail(p.calls.Of(id, seq, history.DetailCalls))
}

// Calls calls yield with each detail event of the recording, oldest first,
// until it returns false.
func (p *Player) Calls(yield func(model.CallRecord) bool) { p.calls.All(yield) }

// Lifecycle calls yield with each fork, exec and exit the recording holds,
// in order, until it returns false (an earlier tlmon's recording holds
// none; its snapshots say when each process started and exited).
func (p *Player) Lifecycle(yield func(model.LifeRecord) bool) {
	for _, r := range p.life {
		if !yield(r) {
			return
		}
	}
}
func (p *Player) InFlight() ([]model.InFlight, error)        { return nil, errLive }
func (p *Player) Threads(uint32) ([]model.ThreadStat, error) { return nil, errLive }

var errLive = errors.New("read live only: a recording does not hold it")

// classesOf reads class names back (those this tlmon does not know are
// left out).
func classesOf(names []string) model.Class {
	var c model.Class
	for _, n := range names {
		if cl, err := model.ParseClass(n); err == nil {
			c |= cl
		}
	}
	return c
}

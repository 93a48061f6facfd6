// Package history keeps the last minutes of snapshots in memory, to rewind
// and compare, as compact frames that a recording can hold too: codec.go
// writes a model.Snapshot as a delta from the one before (or as a keyframe)
// and rebuilds it exactly; history.go keeps the frames within a time and a
// byte budget and rebuilds any of them. It imports the standard library and
// model only: a frame is read back by any later tlmon with nothing else in
// the way, and nothing of the live path waits on it.
package history

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"tlmon/model"
)

// History keeps the last minutes of snapshots as frames (see codec.go) in
// groups: a keyframe, then deltas. A frame is rebuilt from its group's
// keyframe by applying the deltas up to it; a group ends after keyEvery
// frames, or once its deltas add up to more than keyRatio times its
// keyframe, so a rebuild costs at most keyEvery applies and its bytes stay
// within a few keyframes. Old frames go a whole group at a time, so that the
// oldest kept frame is always a keyframe.
//
// Add runs on the goroutine that publishes snapshots; Moments, At and the
// rest on any other. Add never waits on a rebuild: rebuilds read frames,
// which are immutable, outside the lock.
type History struct {
	opts Options

	// addMu serializes Add: last is the snapshot the next delta is written
	// against, keyBytes and groupBytes what decides the next keyframe.
	addMu      sync.Mutex
	last       *model.Snapshot
	keyBytes   int
	groupBytes int
	groupLen   int
	scratch    []byte

	mu     sync.Mutex
	frames []frame // oldest first; frames[0] is a keyframe
	first  uint64  // the Seq of frames[0]
	next   uint64  // the Seq of the next frame added
	bytes  int
	// checkpoints and recent are rebuilt snapshots: every checkpointEvery
	// frames of a group, and the frames asked for last. Apart, so that the
	// frames a user steps through never push out the checkpoints the next
	// steps start from.
	checkpoints cache
	recent      cache
}

// Options size a History; zero values take the defaults.
type Options struct {
	// Keep is how much time the frames cover at least (10 minutes), and at
	// most a group (60 frames) more: frames go a group at a time.
	Keep time.Duration
	// Budget bounds the bytes of the frames (50 MiB): past it, the oldest
	// groups go even when younger than Keep; the newest group always stays.
	Budget int
	// Coarse writes the deltas with the syscalls' latency sums kept to the
	// microsecond (AppendCoarseDelta): a third fewer bytes, in memory and
	// in a recording of the frames; keyframes stay exact.
	Coarse bool
}

// Defaults of Options.
const (
	DefaultKeep   = 10 * time.Minute
	DefaultBudget = 50 << 20
)

const (
	// keyEvery bounds a group: rebuilding a frame applies at most this many
	// deltas (about 60 × 0.3 ms for 2,000 processes).
	keyEvery = 60
	// keyRatio ends a group early when its deltas outweigh its keyframe this
	// many times: more deltas would cost more to apply than a keyframe to
	// keep. Above 1 because a keyframe costs memory every deltas do not.
	keyRatio = 2
	// checkpointEvery: a rebuild keeps every this many frames of its way in
	// the cache, so that stepping back one frame at a time costs at most
	// this many applies, not a whole group's.
	checkpointEvery = 8
	// checkpointsKept and recentKept size the caches. Checkpoints 8 frames
	// apart share little (most processes changed in between): each is some
	// MB for 2,000 processes. Four cover half a group; stepping back past
	// them rebuilds the other half once.
	checkpointsKept = 4
	recentKept      = 3
)

// Seq numbers frames from 1 in the order they were added; a dropped frame
// never gives its number to another.
type Seq = uint64

type frame struct {
	data []byte
	key  bool
	m    Moment
}

// Moment is what a timeline needs of a frame without rebuilding it.
type Moment struct {
	Seq       Seq
	At        time.Time
	Elapsed   time.Duration
	Interval  time.Duration
	CallRate  float64 // system-wide, per second over the interval
	ErrorRate float64
}

// New returns an empty History.
func New(opts Options) *History {
	if opts.Keep <= 0 {
		opts.Keep = DefaultKeep
	}
	if opts.Budget <= 0 {
		opts.Budget = DefaultBudget
	}
	return &History{opts: opts, first: 1, next: 1, checkpoints: cache{max: checkpointsKept}, recent: cache{max: recentKept}}
}

// Add appends s, which is immutable from now on, and returns the frame it
// stored: a delta from the snapshot added before, or a keyframe. The bytes
// are the History's: a recorder writes them, and never modifies them. A
// recorder that starts after the first Add starts with a keyframe of its own
// (AppendDelta(nil, nil, s)), then the frames Add returns after s.
func (h *History) Add(s *model.Snapshot) []byte { return h.add(s, false) }

// AddKeyframe is Add writing a keyframe: exact whatever Options.Coarse,
// as the last frame of a recording is.
func (h *History) AddKeyframe(s *model.Snapshot) []byte { return h.add(s, true) }

func (h *History) add(s *model.Snapshot, key bool) []byte {
	h.addMu.Lock()
	defer h.addMu.Unlock()
	key = key || h.last == nil || h.groupLen >= keyEvery
	var buf []byte
	if !key {
		buf = appendFrame(h.scratch[:0], h.last, s, h.opts.Coarse)
		key = h.groupBytes+len(buf) > keyRatio*h.keyBytes
	}
	if key {
		buf = AppendDelta(h.scratch[:0], nil, s)
		h.keyBytes, h.groupBytes, h.groupLen = len(buf), 0, 0
	} else {
		h.groupBytes += len(buf)
	}
	h.groupLen++
	h.scratch = buf
	data := slices.Clone(buf) // its own allocation, of about its size: frames are kept for minutes
	h.last = s

	h.mu.Lock()
	defer h.mu.Unlock()
	h.frames = append(h.frames, frame{data: data, key: key, m: Moment{
		Seq: h.next, At: s.At, Elapsed: s.Elapsed, Interval: s.Interval,
		CallRate: s.Totals.CallRate, ErrorRate: s.Totals.ErrorRate,
	}})
	h.next++
	h.bytes += cap(data)
	h.trim()
	return data
}

// trim drops the oldest group while the next one starts early enough to
// cover Keep on its own, or while the frames are over budget; the newest
// group always stays.
func (h *History) trim() {
	newest := h.frames[len(h.frames)-1].m.At
	for {
		end := h.groupEnd(0)
		if end == len(h.frames) {
			return
		}
		covers := newest.Sub(h.frames[end].m.At) >= h.opts.Keep
		if !covers && h.bytes <= h.opts.Budget {
			return
		}
		for _, f := range h.frames[:end] {
			h.bytes -= cap(f.data)
		}
		h.frames = slices.Delete(h.frames, 0, end)
		h.first += uint64(end)
		h.checkpoints.dropBefore(h.first)
		h.recent.dropBefore(h.first)
	}
}

// groupEnd is the index of the keyframe after the one at i, or len(frames).
func (h *History) groupEnd(i int) int {
	for j := i + 1; j < len(h.frames); j++ {
		if h.frames[j].key {
			return j
		}
	}
	return len(h.frames)
}

// Moments returns a Moment for each frame kept, oldest first.
func (h *History) Moments() []Moment {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := make([]Moment, len(h.frames))
	for i := range h.frames {
		m[i] = h.frames[i].m
	}
	return m
}

// Latest is the Seq of the newest frame, 0 when there is none.
func (h *History) Latest() Seq {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.next - 1
}

// Bytes is the memory the frames kept hold: their allocations, which the
// allocator rounds up to its size classes (a few percent more than their
// lengths). Add's scratch buffer (the largest frame written) and the cache
// of rebuilt snapshots are not in it.
func (h *History) Bytes() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.bytes
}

// Stats says what a History holds.
type Stats struct {
	Frames, Keyframes int
	Bytes             int
	// Oldest and Latest are the Seqs of the frames kept (0 when none); Span
	// the time between them.
	Oldest, Latest Seq
	Span           time.Duration
}

// Stats says what h holds now.
func (h *History) Stats() Stats {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := Stats{Frames: len(h.frames), Bytes: h.bytes}
	if len(h.frames) == 0 {
		return st
	}
	for _, f := range h.frames {
		if f.key {
			st.Keyframes++
		}
	}
	st.Oldest, st.Latest = h.first, h.next-1
	st.Span = h.frames[len(h.frames)-1].m.At.Sub(h.frames[0].m.At)
	return st
}

// ErrGone is returned by At for a frame dropped already or not yet added.
type ErrGone struct {
	Seq            Seq
	Oldest, Latest Seq
}

func (e *ErrGone) Error() string {
	return fmt.Sprintf("frame %d is not kept (frames %d to %d are)", e.Seq, e.Oldest, e.Latest)
}

// At rebuilds the snapshot of frame seq from the nearest snapshot before it
// in its group: one in the cache, or the keyframe.
func (h *History) At(seq Seq) (*model.Snapshot, error) {
	h.mu.Lock()
	if seq < h.first || seq >= h.next {
		defer h.mu.Unlock()
		return nil, &ErrGone{Seq: seq, Oldest: h.first, Latest: h.next - 1}
	}
	i := int(seq - h.first)
	start := i
	for !h.frames[start].key {
		start--
	}
	var s *model.Snapshot
	from := start
	for j := i; j >= start; j-- {
		if c := h.cached(h.first + uint64(j)); c != nil {
			s, from = c, j+1
			break
		}
	}
	// The frames are immutable and their slices stay valid when dropped:
	// apply them without the lock.
	todo := make([]frame, i+1-from)
	copy(todo, h.frames[from:i+1])
	base := h.first + uint64(from)
	groupStart := h.first + uint64(start)
	h.mu.Unlock()

	var kept []cached
	for k, f := range todo {
		next, err := ApplyDelta(s, f.data)
		if err != nil {
			return nil, fmt.Errorf("history: rebuilding frame %d: frame %d: %w", seq, base+uint64(k), err)
		}
		s = next
		if n := base + uint64(k); (n-groupStart)%checkpointEvery == 0 {
			kept = append(kept, cached{n, s})
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if seq < h.first {
		return s, nil // dropped meanwhile
	}
	for _, c := range kept {
		h.checkpoints.put(c.seq, c.s)
	}
	if h.checkpoints.get(seq) == nil {
		h.recent.put(seq, s)
	}
	return s, nil
}

// DropCache forgets the rebuilt snapshots kept for the next At: for when
// nobody looks at the past for a while.
func (h *History) DropCache() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.checkpoints.items, h.recent.items = nil, nil
}

func (h *History) cached(seq Seq) *model.Snapshot {
	if s := h.recent.get(seq); s != nil {
		return s
	}
	return h.checkpoints.get(seq)
}

// cache keeps the last rebuilt snapshots, the least recently used going
// first. Rebuilt snapshots share what did not change between them: frames
// next to each other most of it, checkpoints 8 frames apart much less.
type cache struct {
	items []cached // most recently used last
	max   int
}

type cached struct {
	seq Seq
	s   *model.Snapshot
}

func (c *cache) get(seq Seq) *model.Snapshot {
	for i, it := range c.items {
		if it.seq == seq {
			c.items = append(slices.Delete(c.items, i, i+1), it)
			return it.s
		}
	}
	return nil
}

func (c *cache) dropBefore(seq Seq) {
	c.items = slices.DeleteFunc(c.items, func(it cached) bool { return it.seq < seq })
}

func (c *cache) put(seq Seq, s *model.Snapshot) {
	if c.get(seq) != nil {
		return
	}
	if len(c.items) == c.max {
		c.items = slices.Delete(c.items, 0, 1)
	}
	c.items = append(c.items, cached{seq, s})
}

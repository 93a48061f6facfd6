package history

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"tlmon/model"
)

func TestEveryKeptFrameRebuildsExactly(t *testing.T) {
	w := newWorkload(10, 200, 0.3)
	h := New(Options{Keep: time.Hour})
	orig := map[uint64]*model.Snapshot{}
	for range 150 {
		s := w.next()
		frame := h.Add(s)
		orig[h.Latest()] = s
		if got := mustApply(t, nil, AppendDelta(nil, nil, s)); IsKeyframe(frame) && deepDiff(s, got) != "" {
			t.Fatal("a keyframe differs from its snapshot")
		}
	}
	st := h.Stats()
	if st.Frames != 150 || st.Oldest != 1 || st.Latest != 150 || st.Keyframes < 3 {
		t.Fatalf("stats %+v: want 150 frames from 1 to 150 in groups of at most %d", st, keyEvery)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	for _, i := range rng.Perm(150) {
		seq := uint64(i + 1)
		got, err := h.At(seq)
		if err != nil {
			t.Fatalf("At(%d): %v", seq, err)
		}
		if d := deepDiff(orig[seq], got); d != "" {
			t.Fatalf("At(%d)%s", seq, d)
		}
	}
	// Stepping back from the newest frame one at a time.
	for seq := uint64(150); seq > 100; seq-- {
		got, err := h.At(seq)
		if err != nil || deepDiff(orig[seq], got) != "" {
			t.Fatalf("At(%d) stepping back: %v", seq, err)
		}
	}
}

// Stepping back one frame rebuilds from a checkpoint a few frames before it,
// not from the group's keyframe: but for once every checkpointsKept
// checkpoints, when the ones cached are all later.
func TestSteppingBackStartsFromACheckpoint(t *testing.T) {
	w := newWorkload(11, 200, 0.01)
	for range 20 {
		w.next() // counts in most processes: a keyframe that outweighs 60 deltas
	}
	h := New(Options{Keep: time.Hour})
	for range keyEvery {
		h.Add(w.next())
	}
	if k := h.Stats().Keyframes; k != 1 {
		t.Fatalf("%d keyframes: want one group", k)
	}
	if _, err := h.At(keyEvery); err != nil {
		t.Fatal(err)
	}
	far := 0
	for seq := uint64(keyEvery - 1); seq > 1; seq-- {
		h.mu.Lock()
		near := false
		for _, c := range slices.Concat(h.checkpoints.items, h.recent.items) {
			near = near || c.seq <= seq && seq-c.seq <= checkpointEvery
		}
		h.mu.Unlock()
		if !near {
			far++
		}
		if _, err := h.At(seq); err != nil {
			t.Fatal(err)
		}
	}
	if max := keyEvery / (checkpointsKept * checkpointEvery); far > max {
		t.Fatalf("%d steps back rebuilt from the keyframe, want at most %d", far, max)
	}
}

func TestOldFramesGoAWholeGroupAtATime(t *testing.T) {
	w := newWorkload(12, 40, 0.3)
	h := New(Options{Keep: 90 * time.Second})
	for range 400 {
		h.Add(w.next())
	}
	st := h.Stats()
	if st.Latest != 400 || st.Span < 90*time.Second || st.Span > 90*time.Second+keyEvery*time.Second+time.Second {
		t.Fatalf("stats %+v: want the last 90 s and at most a group more", st)
	}
	m := h.Moments()
	if len(m) != st.Frames || m[0].Seq != st.Oldest || m[len(m)-1].Seq != 400 {
		t.Fatalf("moments from %d to %d, stats %+v", m[0].Seq, m[len(m)-1].Seq, st)
	}
	if _, err := h.At(st.Oldest); err != nil {
		t.Fatalf("the oldest frame: %v", err)
	}
	var gone *ErrGone
	if _, err := h.At(st.Oldest - 1); !errors.As(err, &gone) {
		t.Fatalf("a dropped frame: %v", err)
	}
	if _, err := h.At(401); !errors.As(err, &gone) {
		t.Fatalf("a frame not added yet: %v", err)
	}
}

func TestTheBudgetBoundsTheBytes(t *testing.T) {
	w := newWorkload(13, 300, 0.3)
	h := New(Options{Keep: time.Hour, Budget: 1 << 20})
	for range 200 {
		h.Add(w.next())
		// The newest group stays whatever its size.
		if st := h.Stats(); st.Bytes > 1<<20 && st.Keyframes > 1 {
			t.Fatalf("%d bytes in %d groups, over a budget of 1 MiB", st.Bytes, st.Keyframes)
		}
	}
	if h.Bytes() == 0 || h.Stats().Oldest == 1 {
		t.Fatalf("stats %+v: nothing dropped", h.Stats())
	}
}

func TestAnEmptyHistory(t *testing.T) {
	h := New(Options{})
	if h.Latest() != 0 || len(h.Moments()) != 0 || h.Bytes() != 0 || h.Stats() != (Stats{}) {
		t.Fatal("an empty history holds something")
	}
	if _, err := h.At(0); err == nil {
		t.Fatal("At(0) of an empty history")
	}
}

// Readers rebuild frames while snapshots are added and old ones dropped (run
// with -race).
func TestReadersAndAddConcurrently(t *testing.T) {
	w := newWorkload(14, 60, 0.3)
	h := New(Options{Keep: 40 * time.Second})
	h.Add(w.next())
	var wg sync.WaitGroup
	done := make(chan struct{})
	for r := range 3 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(r), 0))
			for {
				select {
				case <-done:
					return
				default:
				}
				m := h.Moments()
				if _, err := h.At(m[rng.IntN(len(m))].Seq); err != nil {
					var gone *ErrGone
					if !errors.As(err, &gone) {
						t.Error(err)
						return
					}
				}
			}
		})
	}
	for range 200 {
		h.Add(w.next())
	}
	close(done)
	wg.Wait()
}

// tenMinutes adds 600 frames (10 minutes at 1 s) of 2,000 processes, a share
// active of them each interval, and returns the bytes kept and the frames'
// sizes, with coarse deltas as the monitor keeps them.
func tenMinutes(tb testing.TB, active float64) (bytes int, st Stats) {
	w := newWorkload(20, 2000, active)
	h := New(Options{Keep: time.Hour, Budget: 1 << 30, Coarse: true})
	for range 600 {
		h.Add(w.next())
	}
	return h.Bytes(), h.Stats()
}

// The figure the budget is set from: 10 minutes of 2,000 processes, 30% of
// them active each interval.
func TestTenMinutesOf2000ProcessesFitTheBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("about 5 s")
	}
	bytes, st := tenMinutes(t, 0.3)
	t.Logf("history: %.1f MB for 10 min of 2,000 processes, 30%% active (%d keyframes, %d B/frame)",
		float64(bytes)/1e6, st.Keyframes, bytes/st.Frames)
	if bytes > DefaultBudget {
		t.Errorf("%d bytes: over the default budget of %d", bytes, DefaultBudget)
	}
}

// BenchmarkTenMinutes reports the bytes of 10 minutes of 2,000 processes,
// 30% and 100% of them active each interval (make bench reads the metrics;
// run it with -benchtime 1x).
func BenchmarkTenMinutes(b *testing.B) {
	for b.Loop() {
		for _, active := range []int{30, 100} {
			bytes, st := tenMinutes(b, float64(active)/100)
			b.ReportMetric(float64(bytes)/1e6, fmt.Sprintf("MB-%d%%-active", active))
			b.ReportMetric(float64(bytes/st.Frames), fmt.Sprintf("B/frame-%d%%-active", active))
		}
	}
}

// BenchmarkAdd adds one interval of 2,000 processes, 30% of them active.
func BenchmarkAdd(b *testing.B) {
	w := newWorkload(21, 2000, 0.3)
	h := New(Options{})
	h.Add(w.next())
	var frames, keys int
	var bytes, keyBytes int
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		s := w.next()
		b.StartTimer()
		f := h.Add(s)
		frames++
		bytes += len(f)
		if IsKeyframe(f) {
			keys++
			keyBytes += len(f)
		}
	}
	b.ReportMetric(float64(bytes)/float64(frames), "B/frame")
	if frames > keys {
		b.ReportMetric(float64(bytes-keyBytes)/float64(frames-keys), "B/delta")
	}
}

// benchHistory is a History of 2 groups of 2,000 processes, 30% active.
func benchHistory(b *testing.B) *History {
	w := newWorkload(22, 2000, 0.3)
	h := New(Options{})
	for range 2 * keyEvery {
		h.Add(w.next())
	}
	return h
}

// BenchmarkAt rebuilds a frame in the middle of a group from its keyframe
// (nothing cached): what a jump on the timeline costs.
func BenchmarkAt(b *testing.B) {
	h := benchHistory(b)
	seq := uint64(keyEvery + keyEvery/2)
	key := seq
	for !h.frames[key-h.first].key {
		key--
	}
	b.ReportAllocs()
	for b.Loop() {
		h.DropCache()
		if _, err := h.At(seq); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(seq-key), "deltas")
}

// BenchmarkAtSteppingBack rebuilds frames one before the other, as a user
// scrubbing back does.
func BenchmarkAtSteppingBack(b *testing.B) {
	h := benchHistory(b)
	seq := h.Latest()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.At(seq); err != nil {
			b.Fatal(err)
		}
		if seq--; seq == 0 {
			seq = h.Latest()
		}
	}
}

// BenchmarkApplyDelta applies one delta of 2,000 processes, 30% active.
func BenchmarkApplyDelta(b *testing.B) {
	w := newWorkload(23, 2000, 0.3)
	for range 30 {
		w.next()
	}
	prev, next := w.next(), w.next()
	frame := AppendDelta(nil, prev, next)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ApplyDelta(prev, frame); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(frame)), "B/delta")
}

// BenchmarkKeyframe writes a keyframe of 2,000 processes.
func BenchmarkKeyframe(b *testing.B) {
	w := newWorkload(24, 2000, 0.3)
	for range 30 {
		w.next()
	}
	s := w.next()
	var n int
	b.ReportAllocs()
	for b.Loop() {
		n = len(AppendDelta(nil, nil, s))
	}
	b.ReportMetric(float64(n), "B/keyframe")
}

// BenchmarkApplyKeyframe rebuilds a snapshot of 2,000 processes from its
// keyframe: where every rebuild starts.
func BenchmarkApplyKeyframe(b *testing.B) {
	w := newWorkload(24, 2000, 0.3)
	for range 30 {
		w.next()
	}
	frame := AppendDelta(nil, nil, w.next())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ApplyDelta(nil, frame); err != nil {
			b.Fatal(err)
		}
	}
}

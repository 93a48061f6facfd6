package session

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"tlmon/history"
	"tlmon/model"
	"tlmon/recording"
	"tlmon/replay"
	"tlmon/syscalls"
)

// TestKeeperRecordsWhatItKeeps: snapshots offered while the monitor reads
// the history and calls come in are kept in order, recorded, and the last
// frame is the final snapshot; offers after close are ignored.
func TestKeeperRecordsWhatItKeeps(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.tlmon")
	k, err := newKeeper(time.Minute, path, model.Meta{Version: "t", Scope: "all"}, 100*time.Millisecond, model.ClassAll, 0, syscalls.HostTable())
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 6, 12, 0, 0, 0, time.Local)
	snap := func(i int) *model.Snapshot {
		c := model.Counts{Calls: uint64(10 * i)}
		return &model.Snapshot{At: t0.Add(time.Duration(i) * 100 * time.Millisecond), Interval: 100 * time.Millisecond, Totals: model.SyscallTotals{Counts: c}}
	}
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			for _, m := range k.Moments() {
				k.At(m.Seq)
			}
			k.addCall(&model.CallRecord{Name: "openat", Time: t0})
		}
	})
	for i := 1; i <= 50; i++ {
		k.offer(snap(i))
		time.Sleep(time.Millisecond)
	}
	close(done)
	wg.Wait()
	final := snap(60)
	if err := k.close(final, "exit 0"); err != nil {
		t.Fatal(err)
	}
	k.offer(snap(70)) // after close: ignored, no panic
	r, err := recording.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var last time.Time
	var kinds []uint16
	for {
		f, err := r.Next()
		if err != nil {
			break
		}
		if f.Kind == recording.KindSnapshot {
			if !f.Time.After(last) {
				t.Errorf("frame at %v after %v", f.Time, last)
			}
			last = f.Time
		}
		kinds = append(kinds, f.Kind)
	}
	if !last.Equal(final.At) || kinds[len(kinds)-1] != recording.KindMeta {
		t.Errorf("the recording ends at %v with kind %d, want the final snapshot (%v) and the command's end", last, kinds[len(kinds)-1], final.At)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode())
	}
}

// TestARecordingEndsExact: the frames between keyframes keep latency sums to
// the microsecond, but the final snapshot, kept already as one of them, is
// restated by a keyframe, and a replay ends on it exactly, shown once. The
// recording has no keyframe but its first and that one, while the history
// starts a group every 60 frames.
func TestARecordingEndsExact(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.tlmon")
	k, err := newKeeper(time.Minute, path, model.Meta{Version: "t", Scope: "all"}, time.Second, model.ClassAll, 0, syscalls.HostTable())
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 6, 12, 0, 0, 0, time.Local)
	snap := func(i int) *model.Snapshot {
		c := model.Counts{Calls: uint64(10 * i), LatSumNs: uint64(1234567 * i), LatCount: uint64(10 * i)}
		sc := model.SyscallStat{Nr: 39, Name: "getppid", Counts: c, AvgNs: c.LatSumNs / c.LatCount}
		s := &model.Snapshot{At: t0.Add(time.Duration(i) * time.Second), Interval: time.Second, Totals: model.SyscallTotals{Counts: c},
			Syscalls:  []model.SyscallStat{sc},
			Processes: []model.ProcStat{{ID: model.ProcID{PID: 7, Start: 1}, Comm: "x", Counts: c, Syscalls: []model.SyscallStat{sc}}}}
		// Idle processes: a keyframe outweighs the deltas, which stay deltas.
		for pid := range uint32(100) {
			s.Processes = append(s.Processes, model.ProcStat{ID: model.ProcID{PID: 100 + pid, Start: 1}, Comm: "idle"})
		}
		return s
	}
	const frames = 70
	var last *model.Snapshot
	for i := 1; i <= frames; i++ {
		last = snap(i)
		k.offer(last)
		for k.hist.Latest() < uint64(i) {
			time.Sleep(time.Millisecond)
		}
	}
	if err := k.close(last, ""); err != nil {
		t.Fatal(err)
	}
	r, err := recording.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var keys []int
	for i := 0; ; i++ {
		f, err := r.Next()
		if err != nil {
			break
		}
		if history.IsKeyframe(f.Payload) {
			keys = append(keys, i)
		}
	}
	if !slices.Equal(keys, []int{0, frames}) {
		t.Errorf("keyframes at %v, want the first and the last of %d frames", keys, frames+1)
	}
	p, err := replay.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	p.Snapshots(func(*model.Snapshot) bool { n++; return true })
	if n != frames {
		t.Errorf("%d moments, want %d", n, frames)
	}
	want, _ := json.Marshal(last)
	if got, _ := json.Marshal(p.Final()); !bytes.Equal(got, want) {
		t.Errorf("the replay ends on\n%s\nwant\n%s", got, want)
	}
	var mid *model.Snapshot
	p.Snapshots(func(s *model.Snapshot) bool { mid = s; return !s.At.Equal(t0.Add(3 * time.Second)) })
	if mid.Syscalls[0].LatSumNs == snap(3).Syscalls[0].LatSumNs {
		t.Error("a frame between keyframes kept its latency sum to the nanosecond: not coarse")
	}
}

package session

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"tlmon/model"
	"tlmon/recording"
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

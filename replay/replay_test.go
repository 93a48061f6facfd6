package replay

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"tlmon/history"
	"tlmon/model"
	"tlmon/output"
	"tlmon/recording"
)

var t0 = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

// snapshots are n snapshots a second apart of one process whose read
// calls grow by 100 a second.
func snapshots(n int) []*model.Snapshot {
	var out []*model.Snapshot
	for i := 1; i <= n; i++ {
		c := model.Counts{Calls: uint64(100 * i)}
		sc := model.SyscallStat{Nr: 0, Name: "read", Counts: c, CallRate: 100}
		out = append(out, &model.Snapshot{At: t0.Add(time.Duration(i) * time.Second), Interval: time.Second, Elapsed: time.Duration(i) * time.Second,
			Totals: model.SyscallTotals{Counts: c, CallRate: 100}, Syscalls: []model.SyscallStat{sc},
			Processes: []model.ProcStat{{ID: model.ProcID{PID: 7, Start: 1}, Comm: "dd", Alive: true, Counts: c, CallRate: 100, Syscalls: []model.SyscallStat{sc}}}})
	}
	return out
}

// record writes snaps to a recording file as a session does, and how the
// command ended; it returns the file's path.
func record(t *testing.T, snaps []*model.Snapshot, commandEnd string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "r.tlmon")
	w, err := recording.Create(path, recording.Header{Tlmon: "v-test", Rung: 1, Buffer: "ringbuf", Hook: "raw_tp", Scope: "all", Interval: time.Second, Classes: []string{"file", "network"}})
	if err != nil {
		t.Fatal(err)
	}
	var prev *model.Snapshot
	for _, s := range snaps {
		if err := w.WriteFrame(recording.KindSnapshot, s.At, history.AppendDelta(nil, prev, s)); err != nil {
			t.Fatal(err)
		}
		prev = s
	}
	if commandEnd != "" {
		w.WriteFrame(recording.KindMeta, prev.At, []byte(`{"command_end":"`+commandEnd+`"}`))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestPlaysAtTheRecordedSpeedPausesAndSpeedsUp: the play head starts at the
// first snapshot and moves with the clock, as fast as recorded, paused or
// faster; the moments are those up to it; the command's end shows at the
// end.
func TestPlaysAtTheRecordedSpeedPausesAndSpeedsUp(t *testing.T) {
	snaps := snapshots(10)
	p, err := Open(record(t, snaps, "exit 3"))
	if err != nil {
		t.Fatal(err)
	}
	wall := time.Unix(1000, 0)
	p.now = func() time.Time { return wall }
	p.base, p.wall = snaps[0].At, wall
	at := func(want int) {
		t.Helper()
		if s := p.Snapshot(); !s.At.Equal(snaps[want].At) || s.Totals.Calls != snaps[want].Totals.Calls {
			t.Fatalf("shows %v, want snapshot %d (%v)", s.At, want, snaps[want].At)
		}
		if n := len(p.Moments()); n != want+1 {
			t.Errorf("%d moments up to snapshot %d", n, want)
		}
	}
	at(0)
	wall = wall.Add(2500 * time.Millisecond)
	at(2)
	p.SetPaused(true)
	wall = wall.Add(time.Hour)
	at(2)
	p.SetPaused(false)
	p.SetSpeed(4)
	wall = wall.Add(time.Second)
	at(6)
	if p.Meta().CommandEnd != "" || p.Ended() {
		t.Error("the command's end shows before the end")
	}
	wall = wall.Add(time.Minute)
	at(9)
	if !p.Ended() || p.Meta().CommandEnd != "exit 3" || p.SummaryMeta().CommandEnd != "" {
		t.Errorf("at the end: ended %v, command end %q", p.Ended(), p.Meta().CommandEnd)
	}
	if f := p.Final(); f.Totals.Calls != 1000 {
		t.Errorf("the final snapshot has %d calls", f.Totals.Calls)
	}
	if p.Classes() != model.ClassFile|model.ClassNetwork {
		t.Errorf("classes %v", p.Classes())
	}
	if err := p.SetClasses(model.ClassAll); err == nil {
		t.Error("a recording took new classes")
	}
}

// TestWindowsByOffsetAndTime: --from and --to as offsets or times of day
// choose the snapshots around them.
func TestWindowsByOffsetAndTime(t *testing.T) {
	p, err := Open(record(t, snapshots(10), ""))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		from, to         string
		wantFrom, wantTo int // seconds after t0; 0: none (the start)
	}{
		{"", "", 0, 10},
		{"2s", "5s", 2, 5},
		{"2500ms", "4500ms", 2, 5},
		{"12:00:03", "12:00:04", 3, 4},
	} {
		w, err := p.Window(tc.from, tc.to)
		if err != nil {
			t.Fatalf("%q %q: %v", tc.from, tc.to, err)
		}
		from := 0
		if w.From != nil {
			from = int(w.From.At.Sub(t0) / time.Second)
		}
		if to := int(w.To.At.Sub(t0) / time.Second); from != tc.wantFrom || to != tc.wantTo {
			t.Errorf("--from %q --to %q: %ds to %ds, want %ds to %ds", tc.from, tc.to, from, to, tc.wantFrom, tc.wantTo)
		}
	}
	for _, bad := range [][2]string{{"5s", "2s"}, {"soon", ""}, {"", "later"}} {
		if _, err := p.Window(bad[0], bad[1]); err == nil {
			t.Errorf("--from %q --to %q: no error", bad[0], bad[1])
		}
	}
}

// TestACutRecordingPlaysUpToItsLastWholeFrame: a recording cut anywhere in
// its last frame opens with every frame before, and says so; cut inside its
// header or empty, it is an error of one line.
func TestACutRecordingPlaysUpToItsLastWholeFrame(t *testing.T) {
	path := record(t, snapshots(5), "")
	b, _ := os.ReadFile(path)
	cut := filepath.Join(t.TempDir(), "cut.tlmon")
	os.WriteFile(cut, b[:len(b)-7], 0o600)
	p, err := Open(cut)
	if err != nil {
		t.Fatal(err)
	}
	if p.Truncated() == nil || !strings.Contains(p.Truncated().Error(), "cut short at byte") {
		t.Errorf("a cut recording does not say so: %v", p.Truncated())
	}
	if f := p.Final(); f.Totals.Calls != 400 {
		t.Errorf("the cut recording ends at %d calls, want the fourth snapshot's 400", f.Totals.Calls)
	}
	for name, data := range map[string][]byte{"empty": nil, "header cut": b[:40], "not a recording": []byte("hello, world\n")} {
		f := filepath.Join(t.TempDir(), "x")
		os.WriteFile(f, data, 0o600)
		_, err := Open(f)
		if err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want one line", name, err)
		}
	}
	corrupt := append([]byte(nil), b...)
	corrupt[len(corrupt)-20] ^= 0xff
	f := filepath.Join(t.TempDir(), "corrupt")
	os.WriteFile(f, corrupt, 0o600)
	if _, err := Open(f); err == nil || !errors.Is(err, recording.ErrCorrupt) || !strings.Contains(err.Error(), "byte") {
		t.Errorf("a corrupt frame: %v, want where it is", err)
	}
}

// TestARecordingOfAnotherMachineReplaysExactly: a recording tlmon made on
// amd64, and the summary that run printed (testdata: `tlmon --record
// amd64.tlmon -o json -i 200ms -- workload --hold 300ms openat-close 200`,
// the workload's own line taken out), replays to that summary byte for byte
// on the machine that runs the test: `make kernels` runs it on arm64 too.
func TestARecordingOfAnotherMachineReplaysExactly(t *testing.T) {
	defer func(l *time.Location) { time.Local = l }(time.Local)
	time.Local = time.UTC // the zone the run printed its times in
	p, err := Open("testdata/amd64.tlmon")
	if err != nil {
		t.Fatal(err)
	}
	if p.Header().Arch != "amd64" {
		t.Fatalf("the recording is of %s", p.Header().Arch)
	}
	var got bytes.Buffer
	if err := (output.Headless{Out: &got, Output: output.FormatJSON, Meta: p.SummaryMeta()}).Write(p.Final()); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/amd64.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("on %s the summary differs from the one printed on amd64:\n%s\nwant\n%s", runtime.GOARCH, got.Bytes(), want)
	}
	// The workload's exec and exit, with its exit status.
	var workload model.ProcID
	exited := false
	p.Lifecycle(func(r model.LifeRecord) bool {
		switch {
		case r.Kind == model.EventExec && strings.HasSuffix(r.Filename, "/wl"):
			workload = r.Proc
		case r.Kind == model.EventExit && r.Proc == workload:
			exited = r.ExitCode == 0 && r.Comm == "wl"
		}
		return true
	})
	if workload.PID == 0 || !exited {
		t.Errorf("the recording's lifecycle events miss the workload's exec (%v) or exit (%v)", workload, exited)
	}
}

package history

import (
	"testing"
	"time"

	"tlmon/model"
)

func lifecycleSample() []model.LifeRecord {
	t0 := time.Unix(1_765_000_000, 123456789)
	return []model.LifeRecord{
		{Kind: model.EventFork, Time: t0, Proc: model.ProcID{PID: 101, Start: 5000}, TID: 101, Parent: model.ProcID{PID: 100, Start: 10}, Comm: "bash"},
		{Kind: model.EventExec, Time: t0.Add(300 * time.Microsecond), Proc: model.ProcID{PID: 101, Start: 5000}, TID: 101, Comm: "ls", Filename: "/usr/bin/ls"},
		{Kind: model.EventExit, Time: t0.Add(2 * time.Millisecond), Proc: model.ProcID{PID: 101, Start: 5000}, TID: 101, ExitCode: 2, Comm: "ls"},
		{Kind: model.EventExit, Time: t0.Add(3 * time.Millisecond), Proc: model.ProcID{PID: 102, Start: 5001}, TID: 103, ExitSignal: 11, CoreDumped: true, Comm: "ls"},
	}
}

func TestLifecycleEventsRoundTrip(t *testing.T) {
	want := lifecycleSample()
	got, err := ReadLifecycle(AppendLifecycle(nil, want))
	if err != nil {
		t.Fatal(err)
	}
	if d := deepDiff(want, got); d != "" {
		t.Fatalf("%s", d)
	}
	frame := AppendLifecycle(nil, want)
	for n := range len(frame) {
		if _, err := ReadLifecycle(frame[:n]); err == nil {
			t.Fatalf("a frame cut at %d of %d bytes was read", n, len(frame))
		}
	}
	if _, err := ReadLifecycle(append(frame, 0)); err == nil {
		t.Fatal("trailing bytes were read")
	}
	if _, err := ReadLifecycle(AppendCalls(nil, nil)); err == nil {
		t.Fatal("a calls frame was read as lifecycle events")
	}
}

// FuzzReadLifecycle: any bytes give events or an error, never a panic, and
// what is read writes back to the same events.
func FuzzReadLifecycle(f *testing.F) {
	f.Add(AppendLifecycle(nil, lifecycleSample()))
	f.Add(AppendLifecycle(nil, nil))
	f.Add([]byte{formatVersion, kindLifecycle, 200})
	f.Fuzz(func(t *testing.T, frame []byte) {
		events, err := ReadLifecycle(frame)
		if err != nil {
			return
		}
		again, err := ReadLifecycle(AppendLifecycle(nil, events))
		if err != nil || deepDiff(events, again) != "" {
			t.Fatalf("read back differently: %v", err)
		}
	})
}

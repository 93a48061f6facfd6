package history

import (
	"reflect"
	"testing"
	"time"

	"tlmon/model"
)

func testCalls() []model.CallRecord {
	t0 := time.Unix(1_765_000_000, 123)
	return []model.CallRecord{
		{Proc: model.ProcID{PID: 7, Start: 99}, TID: 8, Time: t0, Nr: 257, Name: "openat", Ret: -2, Duration: 1500,
			Args: [6]uint64{0xffffff9c, 1 << 40, 0x80000}, Strs: [2]string{"/etc/passwd\x00x", ""}, Flags: model.CallSlow},
		{Proc: model.ProcID{PID: 7, Start: 99}, TID: 9, Time: t0.Add(-time.Millisecond), Nr: 42, Name: "connect", Ret: 0,
			Blob: []byte{2, 0, 0x1f, 0x90, 127, 0, 0, 1}},
		{Proc: model.ProcID{PID: 12, Start: 3}, TID: 12, Time: t0.Add(time.Hour), Nr: 59, Name: "execve", Argv: []string{"ls", "-l", ""}, Strs: [2]string{"/bin/ls"}},
	}
}

// TestCallsRoundTrip: every field of every call comes back.
func TestCallsRoundTrip(t *testing.T) {
	in := testCalls()
	out, err := ReadCalls(AppendCalls(nil, in))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Errorf("calls came back as\n%+v\nwant\n%+v", out, in)
	}
	if out, err := ReadCalls(AppendCalls(nil, nil)); err != nil || len(out) != 0 {
		t.Errorf("no calls: %v %v", out, err)
	}
}

// TestCallsKeptPerFrame: Of finds a process's last calls up to a frame,
// most recent first; dropped frames are gone.
func TestCallsKeptPerFrame(t *testing.T) {
	var c Calls
	calls := testCalls()
	c.Add(1, calls[:2])
	c.Add(2, calls[2:])
	c.Add(3, calls[:1])
	id := model.ProcID{PID: 7, Start: 99}
	if got := c.Of(id, 2, 10); len(got) != 2 || got[0].Name != "connect" {
		t.Errorf("pid 7 up to frame 2: %+v", got)
	}
	if got := c.Of(id, 3, 2); len(got) != 2 || got[0].Name != "openat" || got[1].Name != "connect" {
		t.Errorf("pid 7 up to frame 3, two: %+v", got)
	}
	c.DropBefore(3)
	if got := c.Of(id, 2, 10); len(got) != 0 || c.Bytes() == 0 {
		t.Errorf("after dropping frames 1 and 2: %+v, %d bytes", got, c.Bytes())
	}
}

func FuzzReadCalls(f *testing.F) {
	f.Add(AppendCalls(nil, testCalls()))
	f.Add([]byte{formatVersion, kindCalls, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		calls, err := ReadCalls(b)
		if err != nil {
			return
		}
		again, err := ReadCalls(AppendCalls(nil, calls))
		if err != nil || len(again) != len(calls) {
			t.Fatalf("a frame read back does not read again: %v", err)
		}
	})
}

// TestCallsKeepWithinTheirBudget: past the budget the oldest frames go, the
// newest stays.
func TestCallsKeepWithinTheirBudget(t *testing.T) {
	c := Calls{Budget: 1000}
	calls := testCalls()
	for seq := Seq(1); seq <= 100; seq++ {
		c.Add(seq, calls)
	}
	if c.Bytes() > 1000 {
		t.Errorf("%d bytes kept, budget 1000", c.Bytes())
	}
	id := calls[0].Proc
	if got := c.Of(id, 100, 1); len(got) != 1 {
		t.Error("the newest frame's calls are gone")
	}
	if got := c.Of(id, 5, 10); len(got) != 0 {
		t.Errorf("frame 5 still kept: %v", got)
	}
}

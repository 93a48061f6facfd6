package session

import (
	"testing"
	"time"

	"tlmon/bpf"
	"tlmon/collector"
	"tlmon/internal/probetest"
	"tlmon/model"
	"tlmon/syscalls"
)

// TestInFlightBoundsACallByTheThreadsAge: a thread without an entry record
// that started after watching began cannot have entered before: it shows with
// its age, an upper bound, not with the time since watching began marked as a
// lower bound.
func TestInFlightBoundsACallByTheThreadsAge(t *testing.T) {
	cat := blockedCat(t)
	time.Sleep(100 * time.Millisecond) // cat is inside read before anything is loaded: no record
	p := probetest.Load(t, bpf.Options{})
	pid := uint32(cat.Process.Pid)
	if err := p.ScopePIDs([]uint32{pid}, true); err != nil {
		t.Fatal(err)
	}
	cg, _ := collector.FindCgroups()
	c := NewControl(p, &nullCounts{}, nil, cg, syscalls.HostTable(), model.Meta{}, model.Target{Kind: model.TargetPID, PID: pid}, true, nil)
	c.since -= uint64(100 * time.Second) // watching began long before cat started
	flying, err := c.InFlight()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range flying {
		if f.PID == pid {
			if f.Syscall != "read" || f.AtLeast || !f.AtMost || f.Since > 10*time.Second || f.Since < 50*time.Millisecond {
				t.Errorf("cat in flight: %+v, want read for at most its age (well under 10s), not ≥100s", f)
			}
			return
		}
	}
	t.Errorf("cat (pid %d) is not in flight: %+v", pid, flying)
}

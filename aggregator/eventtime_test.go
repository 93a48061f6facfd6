package aggregator

import (
	"testing"
	"time"

	"tlmon/model"
)

// TestCallsKeepTheKernelsTime: calls handled together (a buffer read at once)
// are placed by the time the kernel gave their events, not by when they were
// handled: two calls 1 ms apart are 1 ms apart in their records.
func TestCallsKeepTheKernelsTime(t *testing.T) {
	mono := uint64(50 * time.Second)
	a, clk := newAgg(t, Config{Mono: func() uint64 { return mono }})
	p := pid(7)
	a.AddProcess(model.ProcInfo{ID: p, Comm: "dd"})
	clk.Advance(time.Second)
	mono += uint64(time.Second)
	a.HandleCounters(newDelta().build(clk.Now(), time.Second)) // the clocks read together
	synced := clk.Now()
	for _, ago := range []time.Duration{5 * time.Millisecond, 4 * time.Millisecond} {
		e := syscallEvent(t, a, p, call{name: "read", ret: 1})
		e.Time = mono - uint64(ago)
		a.HandleEvent(e)
	}
	e := syscallEvent(t, a, p, call{name: "write", ret: 1}) // no kernel time: now
	a.HandleEvent(e)
	calls := a.ProcDetail(p).Calls
	if len(calls) != 3 {
		t.Fatalf("%d calls", len(calls))
	}
	times := map[time.Time]bool{}
	for _, c := range calls {
		times[c.Time] = true
	}
	for _, want := range []time.Time{synced.Add(-5 * time.Millisecond), synced.Add(-4 * time.Millisecond), clk.Now()} {
		if !times[want] {
			t.Errorf("no call at %v: %v", want.Sub(synced), calls)
		}
	}
}

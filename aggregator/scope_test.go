package aggregator

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"tlmon/model"
)

// TestSnapshotShowsOnlyTheScopeAttachedTo: after an attach the kernel still
// counts the return of calls entered before (bash's wait4, tmux's poll); the
// snapshot lists only the processes of the new scope all the same.
func TestSnapshotShowsOnlyTheScopeAttachedTo(t *testing.T) {
	a, clk := newAgg(t, Config{CgroupPath: func(id uint64) string { return fmt.Sprintf("/cg%d", id) }})
	bash, dd, child, tmux := pid(10), pid(20), pid(21), pid(30)
	a.AddProcess(model.ProcInfo{ID: bash, Comm: "bash", CgroupID: 1})
	a.AddProcess(model.ProcInfo{ID: dd, Parent: bash, Comm: "dd", CgroupID: 2})
	a.AddProcess(model.ProcInfo{ID: child, Parent: dd, Comm: "dd", CgroupID: 2})
	a.AddProcess(model.ProcInfo{ID: tmux, Comm: "tmux", CgroupID: 3})
	pids := func() []uint32 {
		clk.Advance(time.Second)
		d := newDelta()
		for _, p := range []model.ProcID{bash, dd, child, tmux} {
			d.add(p, 0, model.Counts{Calls: 1})
		}
		a.HandleCounters(d.build(clk.Now(), time.Second))
		var out []uint32
		for _, p := range a.Snapshot().Processes {
			out = append(out, p.ID.PID)
		}
		slices.Sort(out)
		return out
	}
	for _, tc := range []struct {
		scope model.Target
		want  []uint32
	}{
		{model.Target{Kind: model.TargetPID, PID: 20}, []uint32{20, 21}},
		{model.Target{Kind: model.TargetCgroup, Cgroup: "/cg3"}, []uint32{30}},
		{model.Target{Kind: model.TargetAll}, []uint32{10, 20, 21, 30}},
	} {
		a.SetScope(tc.scope)
		if got := pids(); !slices.Equal(got, tc.want) {
			t.Errorf("scope %+v: processes %v, want %v", tc.scope, got, tc.want)
		}
		if s := a.Snapshot(); s.Totals.Calls == 0 {
			t.Errorf("scope %+v: totals lost the calls", tc.scope)
		}
	}
}

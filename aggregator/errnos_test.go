package aggregator

import (
	"slices"
	"testing"
	"time"

	"tlmon/model"
)

// TestErrnoBreakdownIsSortedByCount checks errno lists and their JSON.
func TestErrnoBreakdownIsSortedByCount(t *testing.T) {
	a, clk := newAgg(t, Config{})
	p1, p2 := pid(1), pid(2)
	a.AddProcess(model.ProcInfo{ID: p1, Comm: "a"})
	a.AddProcess(model.ProcInfo{ID: p2, Comm: "b"})
	const openat = 257
	d := newDelta().add(p1, openat, model.Counts{Calls: 20, Errors: 9}).add(p2, openat, model.Counts{Calls: 5, Errors: 5})
	d.errnos[model.ProcErrno{Proc: p1, Nr: openat, Errno: 13}] = 2 // EACCES
	d.errnos[model.ProcErrno{Proc: p1, Nr: openat, Errno: 2}] = 7  // ENOENT
	d.errnos[model.ProcErrno{Proc: p2, Nr: openat, Errno: 13}] = 5
	a.HandleCounters(d.build(clk.Now(), time.Second))
	s := a.Snapshot()
	for _, tc := range []struct {
		name string
		list []model.ErrnoCount
		want []model.ErrnoCount
	}{
		{"system-wide", findSyscall(s.Syscalls, openat).Errnos, []model.ErrnoCount{{Errno: 2, Name: "ENOENT", Count: 7}, {Errno: 13, Name: "EACCES", Count: 7}}}, // a tie: by number
		{"first process", findProc(s, p1).Syscalls[0].Errnos, []model.ErrnoCount{{Errno: 2, Name: "ENOENT", Count: 7}, {Errno: 13, Name: "EACCES", Count: 2}}},
		{"second process", findProc(s, p2).Syscalls[0].Errnos, []model.ErrnoCount{{Errno: 13, Name: "EACCES", Count: 5}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !slices.Equal(tc.list, tc.want) {
				t.Errorf("got %v, want %v", tc.list, tc.want)
			}
		})
	}
	if s.Processes[0].ID != p1 {
		t.Errorf("processes not sorted by calls: first %v", s.Processes[0].ID)
	}
}

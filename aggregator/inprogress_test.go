package aggregator

import (
	"syscall"
	"testing"
	"time"

	"tlmon/model"
)

// TestConnectInProgressIsNoError: a non-blocking connect returns EINPROGRESS
// while the connection is under way; that is no failure, so connect's errors
// and errnos leave it out, in the counts and in the endpoints alike. Other
// syscalls' EINPROGRESS and connect's real failures stay errors.
func TestConnectInProgressIsNoError(t *testing.T) {
	a, clk := newAgg(t, Config{})
	p := pid(40)
	a.AddProcess(model.ProcInfo{ID: p, Comm: "curl"})
	connect, _ := a.table.Lookup("connect")
	poll, _ := a.table.Lookup("poll")
	d := newDelta().
		add(p, uint16(connect.Nr), model.Counts{Calls: 10, Errors: 4}).
		add(p, uint16(poll.Nr), model.Counts{Calls: 5, Errors: 2})
	d.errnos[model.ProcErrno{Proc: p, Nr: uint16(connect.Nr), Errno: uint16(syscall.EINPROGRESS)}] = 3
	d.errnos[model.ProcErrno{Proc: p, Nr: uint16(connect.Nr), Errno: uint16(syscall.ECONNREFUSED)}] = 1
	d.errnos[model.ProcErrno{Proc: p, Nr: uint16(poll.Nr), Errno: uint16(syscall.EINPROGRESS)}] = 2
	clk.Advance(time.Second)
	a.HandleCounters(d.build(clk.Now(), time.Second))

	a.HandleEvent(syscallEvent(t, a, p, call{name: "connect", ret: -int64(syscall.EINPROGRESS), blob: inet4("10.0.0.9", 443)}))
	s := publish(a, clk)

	for _, st := range []*model.SyscallStat{sysStat(s, connect.Nr), procSyscall(findProc(s, p), connect.Nr)} {
		if st == nil || st.Calls != 10 || st.Errors != 1 || len(st.Errnos) != 1 || st.Errnos[0].Name != "ECONNREFUSED" {
			t.Errorf("connect: %+v, want 10 calls, 1 error (ECONNREFUSED)", st)
		}
	}
	if st := sysStat(s, poll.Nr); st == nil || st.Errors != 2 {
		t.Errorf("poll's EINPROGRESS is an error still: %+v", st)
	}
	if len(s.Endpoints) != 1 || s.Endpoints[0].Errors != 0 {
		t.Errorf("endpoints %+v, want 10.0.0.9:443 without errors", s.Endpoints)
	}
}

func sysStat(s *model.Snapshot, nr int) *model.SyscallStat {
	for i := range s.Syscalls {
		if s.Syscalls[i].Nr == nr {
			return &s.Syscalls[i]
		}
	}
	return nil
}

func procSyscall(p *model.ProcStat, nr int) *model.SyscallStat {
	if p == nil {
		return nil
	}
	return sysStat(&model.Snapshot{Syscalls: p.Syscalls}, nr)
}

package aggregator

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"tlmon/model"
	"tlmon/syscalls"
)

// Errnos as the kernel returns them (negated), by their amd64 numbers.
const (
	eNOENT        = -2
	eAGAIN        = -11
	eACCES        = -13
	eCONNREFUSED  = -111
	eINPROGRESS   = -115
	eADDRINUSE    = -98
	eNOTCONNECTED = -107
)

// call describes an EventSyscall to build: the syscall by name, its result,
// its string arguments and its struct argument as captured.
type call struct {
	name string
	ret  int64
	strs []string
	blob []byte
	args [6]uint64
}

// syscallEvent builds the event the kernel would send for c made by p, its
// strings and struct laid out in Call.Data as the BPF side does.
func syscallEvent(t testing.TB, a *Aggregator, p model.ProcID, c call) *model.Event {
	t.Helper()
	sc, ok := a.table.Lookup(c.name)
	if !ok {
		t.Fatalf("no syscall %q", c.name)
	}
	e := &model.Event{Kind: model.EventSyscall, Proc: p, TID: p.PID}
	e.Call.Nr, e.Call.Ret, e.Call.Args, e.Call.Duration = uint16(sc.Nr), c.ret, c.args, 1500
	off := 0
	put := func(b []byte) model.Span {
		s := model.Span{Off: uint16(off), Len: uint16(len(b))}
		off += copy(e.Call.Data[off:], b)
		return s
	}
	for i, s := range c.strs {
		e.Call.Str[i] = put([]byte(s))
	}
	if c.blob != nil {
		e.Call.Blob = put(c.blob)
	}
	return e
}

// inet4 and unixAddr build struct sockaddrs as user memory holds them.
func inet4(addr string, port uint16) []byte {
	b := make([]byte, 16)
	binary.NativeEndian.PutUint16(b, model.AFInet)
	binary.BigEndian.PutUint16(b[2:], port)
	a := netip.MustParseAddr(addr).As4()
	copy(b[4:], a[:])
	return b
}

func inet6(addr string, port uint16) []byte {
	b := make([]byte, 28)
	binary.NativeEndian.PutUint16(b, model.AFInet6)
	binary.BigEndian.PutUint16(b[2:], port)
	a := netip.MustParseAddr(addr).As16()
	copy(b[8:], a[:])
	return b
}

func unixAddr(path string) []byte {
	b := make([]byte, 2, 110)
	binary.NativeEndian.PutUint16(b, model.AFUnix)
	return append(append(b, path...), 0)
}

// tcpEvent builds an EventTCP of p for an IPv4 connection.
func tcpEvent(p model.ProcID, newState uint8, local, remote netip.AddrPort) *model.Event {
	e := &model.Event{Kind: model.EventTCP, Proc: p}
	e.TCP = model.TCPData{Family: model.AFInet, OldState: model.TCPSynSent, NewState: newState, SPort: local.Port(), DPort: remote.Port()}
	l, r := local.Addr().As4(), remote.Addr().As4()
	copy(e.TCP.SAddr[:], l[:])
	copy(e.TCP.DAddr[:], r[:])
	return e
}

// publish makes the aggregator publish a snapshot (an idle interval) and
// returns it.
func publish(a *Aggregator, clk *clock) *model.Snapshot {
	clk.Advance(time.Second)
	a.HandleCounters(newDelta().build(clk.Now(), time.Second))
	return a.Snapshot()
}

func errnoList(kv ...any) []model.ErrnoCount {
	var list []model.ErrnoCount
	for i := 0; i < len(kv); i += 2 {
		n := kv[i].(int)
		list = append(list, model.ErrnoCount{Errno: n, Name: syscalls.ErrnoName(n), Count: uint64(kv[i+1].(int))})
	}
	return list
}

// TestCallRecordsKeepWhatTheEventCarried checks the record kept of one call.
func TestCallRecordsKeepWhatTheEventCarried(t *testing.T) {
	a, clk := newAgg(t, Config{})
	p := pid(1)
	a.AddProcess(model.ProcInfo{ID: p, Comm: "cat"})
	a.HandleEvent(syscallEvent(t, a, p, call{name: "openat", ret: 3, strs: []string{"/etc/hosts"}, args: [6]uint64{0xffffff9c, 0x1000, 0x80000}}))
	got := a.ProcDetail(p).Calls
	want := []model.CallRecord{{
		Proc: p, TID: p.PID, Time: clk.Now(), Nr: 257, Name: "openat", Ret: 3, Duration: 1500,
		Args: [6]uint64{0xffffff9c, 0x1000, 0x80000}, Strs: [2]string{"/etc/hosts"},
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("calls\n got %+v\nwant %+v", got, want)
	}
}

// TestProcDetailKeepsTheLastCallsNewestFirst feeds n calls and checks which
// are kept, and their order.
func TestProcDetailKeepsTheLastCallsNewestFirst(t *testing.T) {
	for _, tc := range []struct {
		name           string
		calls          int
		kept           int
		newest, oldest uint64 // the marker (Args[2]) of the first and last kept
	}{
		{"one call is kept", 1, 1, 0, 0},
		{"a full log keeps all", maxCalls, maxCalls, maxCalls - 1, 0},
		{"the 257th call evicts the oldest", maxCalls + 1, maxCalls, maxCalls, 1},
		{"many calls keep the last 256", 1000, maxCalls, 999, 1000 - maxCalls},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, _ := newAgg(t, Config{})
			p, other := pid(1), pid(2)
			for i := range tc.calls {
				a.HandleEvent(syscallEvent(t, a, p, call{name: "read", ret: 10, args: [6]uint64{3, 0, uint64(i)}}))
			}
			a.HandleEvent(syscallEvent(t, a, other, call{name: "write", ret: 1}))
			calls := a.ProcDetail(p).Calls
			if len(calls) != tc.kept {
				t.Fatalf("%d calls kept, want %d", len(calls), tc.kept)
			}
			for i, c := range calls {
				if want := tc.newest - uint64(i); c.Args[2] != want || c.Proc != p || c.Name != "read" {
					t.Fatalf("call %d: marker %d proc %v name %s, want marker %d", i, c.Args[2], c.Proc, c.Name, want)
				}
			}
			if calls[len(calls)-1].Args[2] != tc.oldest {
				t.Errorf("oldest kept %d, want %d", calls[len(calls)-1].Args[2], tc.oldest)
			}
			if o := a.ProcDetail(other).Calls; len(o) != 1 || o[0].Name != "write" {
				t.Errorf("other process's calls %+v", o)
			}
			if len(a.procs[p].detail.calls.items) > maxCalls {
				t.Errorf("ring holds %d", len(a.procs[p].detail.calls.items))
			}
		})
	}
}

// TestExitedProcessKeepsItsLastCalls: at exit a process's log shrinks to its
// newest exitedCalls calls, and a late call still evicts the oldest.
func TestExitedProcessKeepsItsLastCalls(t *testing.T) {
	a, _ := newAgg(t, Config{})
	p := pid(1)
	for i := range 100 {
		a.HandleEvent(syscallEvent(t, a, p, call{name: "read", ret: 10, args: [6]uint64{3, 0, uint64(i)}}))
	}
	a.HandleEvent(event(model.EventExit, p, pid(2), "x"))
	a.HandleEvent(syscallEvent(t, a, p, call{name: "read", ret: 10, args: [6]uint64{3, 0, 100}}))
	calls := a.ProcDetail(p).Calls
	if len(calls) != exitedCalls {
		t.Fatalf("%d calls kept after exit, want %d", len(calls), exitedCalls)
	}
	for i, c := range calls {
		if want := uint64(100 - i); c.Args[2] != want {
			t.Fatalf("call %d: marker %d, want %d", i, c.Args[2], want)
		}
	}
	if n := cap(a.procs[p].detail.calls.items); n != exitedCalls {
		t.Errorf("the log's array holds %d calls, want %d", n, exitedCalls)
	}
}

// TestSyscallEventsNameTheProcess checks that a detail event creates and names
// its process as lifecycle events do, and respects MaxProcs.
func TestSyscallEventsNameTheProcess(t *testing.T) {
	a, clk := newAgg(t, Config{MaxProcs: 1})
	known, refused := pid(1), pid(2)
	e := syscallEvent(t, a, known, call{name: "openat", ret: 3, strs: []string{"/a"}})
	copy(e.CommBytes[:], "cat")
	a.HandleEvent(e)
	a.HandleEvent(syscallEvent(t, a, refused, call{name: "openat", ret: 3, strs: []string{"/a"}}))
	s := publish(a, clk)
	if p := findProc(s, known); p == nil || p.Comm != "cat" || !p.Alive {
		t.Errorf("process %+v", p)
	}
	if findProc(s, refused) != nil || s.Lost.ProcOverflow != 1 {
		t.Errorf("refused process: tracked %v, overflow %d", findProc(s, refused) != nil, s.Lost.ProcOverflow)
	}
	if d := a.ProcDetail(refused); d.Calls != nil || d.Files != nil {
		t.Errorf("refused process has detail %+v", d)
	}
	// Its open still counts system-wide.
	if len(s.Files) != 1 || s.Files[0].Opens != 2 || s.Files[0].LastProc != refused {
		t.Errorf("files %+v", s.Files)
	}
	if s.DetailEvents != 2 || s.Lost.EventsReceived != 2 {
		t.Errorf("detail events %d received %d, want 2, 2", s.DetailEvents, s.Lost.EventsReceived)
	}
}

// TestFilesCountOpensAndErrors checks the files tables, system-wide and per
// process.
func TestFilesCountOpensAndErrors(t *testing.T) {
	a, clk := newAgg(t, Config{})
	cat, ls := pid(1), pid(2)
	a.AddProcess(model.ProcInfo{ID: cat, Comm: "cat"})
	a.AddProcess(model.ProcInfo{ID: ls, Comm: "ls"})
	for _, c := range []struct {
		p model.ProcID
		call
	}{
		{cat, call{name: "openat", ret: 3, strs: []string{"/etc/hosts"}}},
		{cat, call{name: "open", ret: eNOENT, strs: []string{"/nope"}}},
		{cat, call{name: "openat2", ret: eACCES, strs: []string{"/root/x"}, blob: make([]byte, 24)}},
		{ls, call{name: "openat", ret: eNOENT, strs: []string{"/nope"}}},
		{ls, call{name: "creat", ret: eACCES, strs: []string{"/nope"}}},
		{ls, call{name: "openat", ret: eNOENT, strs: []string{"/nope"}}},
		{ls, call{name: "openat", ret: 4, strs: []string{"/etc/hosts"}}},
		{ls, call{name: "openat", ret: 5, strs: []string{"/b"}}},
		{ls, call{name: "openat", ret: eNOENT, strs: []string{""}}},          // no path captured: not counted
		{ls, call{name: "newfstatat", ret: 0, strs: []string{"/etc/hosts"}}}, // not an open
		{ls, call{name: "unlink", ret: eNOENT, strs: []string{"/nope"}}},     // not an open
	} {
		a.HandleEvent(syscallEvent(t, a, c.p, c.call))
	}
	s := publish(a, clk)
	for _, tc := range []struct {
		name string
		got  []model.FileStat
		want []model.FileStat
	}{
		{"system-wide, by opens then path", s.Files, []model.FileStat{
			{Path: "/nope", Opens: 4, Errors: 4, Errnos: errnoList(2, 3, 13, 1), LastProc: ls, LastComm: "ls"},
			{Path: "/etc/hosts", Opens: 2, LastProc: ls, LastComm: "ls"},
			{Path: "/b", Opens: 1, LastProc: ls, LastComm: "ls"},
			{Path: "/root/x", Opens: 1, Errors: 1, Errnos: errnoList(13, 1), LastProc: cat, LastComm: "cat"},
		}},
		{"cat's", a.ProcDetail(cat).Files, []model.FileStat{
			{Path: "/etc/hosts", Opens: 1, LastProc: cat, LastComm: "cat"},
			{Path: "/nope", Opens: 1, Errors: 1, Errnos: errnoList(2, 1), LastProc: cat, LastComm: "cat"},
			{Path: "/root/x", Opens: 1, Errors: 1, Errnos: errnoList(13, 1), LastProc: cat, LastComm: "cat"},
		}},
		{"ls's", a.ProcDetail(ls).Files, []model.FileStat{
			{Path: "/nope", Opens: 3, Errors: 3, Errnos: errnoList(2, 2, 13, 1), LastProc: ls, LastComm: "ls"},
			{Path: "/b", Opens: 1, LastProc: ls, LastComm: "ls"},
			{Path: "/etc/hosts", Opens: 1, LastProc: ls, LastComm: "ls"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !reflect.DeepEqual(tc.got, tc.want) {
				t.Errorf("\n got %+v\nwant %+v", tc.got, tc.want)
			}
		})
	}
	if n := len(a.ProcDetail(ls).Calls); n != 8 {
		t.Errorf("ls has %d calls, want every one (8)", n)
	}
	if s.DetailEvents != 11 {
		t.Errorf("detail events %d, want 11", s.DetailEvents)
	}
}

// TestEndpointsCountConnectsBindsAccepts checks the endpoint tables.
func TestEndpointsCountConnectsBindsAccepts(t *testing.T) {
	a, clk := newAgg(t, Config{})
	cli, srv := pid(1), pid(2)
	a.AddProcess(model.ProcInfo{ID: cli, Comm: "curl"})
	a.AddProcess(model.ProcInfo{ID: srv, Comm: "nginx"})
	for _, c := range []struct {
		p model.ProcID
		call
	}{
		{cli, call{name: "connect", ret: 0, blob: inet4("10.0.0.1", 443)}},
		{cli, call{name: "connect", ret: eINPROGRESS, blob: inet4("10.0.0.1", 443)}},
		{cli, call{name: "connect", ret: eCONNREFUSED, blob: inet4("10.0.0.1", 443)}},
		{cli, call{name: "connect", ret: eCONNREFUSED, blob: inet6("::1", 8080)}},
		{cli, call{name: "connect", ret: 0, blob: unixAddr("/run/x.sock")}},
		{cli, call{name: "connect", ret: 0, blob: []byte{2, 0, 1}}}, // cut short: not counted
		{cli, call{name: "connect", ret: eAGAIN}},                   // not captured: not counted
		{srv, call{name: "bind", ret: 0, blob: inet4("0.0.0.0", 80), args: [6]uint64{3}}},
		{srv, call{name: "bind", ret: eADDRINUSE, blob: inet4("0.0.0.0", 80), args: [6]uint64{4}}},
		// Accepted on the socket bound: under its local endpoint, whatever the
		// clients' ephemeral ports.
		{srv, call{name: "accept4", ret: 5, blob: inet4("10.0.0.2", 50000), args: [6]uint64{3}}},
		{srv, call{name: "accept", ret: 6, blob: inet4("10.0.0.2", 50001), args: [6]uint64{3}}},
		// Accepted on a socket bound before tlmon watched: by the peer's host.
		{srv, call{name: "accept4", ret: 7, blob: inet4("10.0.0.3", 40000), args: [6]uint64{9}}},
		{srv, call{name: "accept4", ret: 8, blob: inet4("10.0.0.3", 40001), args: [6]uint64{9}}},
		{srv, call{name: "accept4", ret: eAGAIN}},                                   // failed: no peer
		{srv, call{name: "accept4", ret: eNOTCONNECTED, blob: inet4("1.1.1.1", 1)}}, // failed: ignored whatever the blob
		{srv, call{name: "connect", ret: 0, blob: unixAddr("/run/x.sock")}},
		{srv, call{name: "sendto", ret: 10, blob: inet4("10.0.0.9", 53)}}, // not an endpoint call
	} {
		a.HandleEvent(syscallEvent(t, a, c.p, c.call))
	}
	s := publish(a, clk)
	for _, tc := range []struct {
		name string
		got  []model.EndpointStat
		want []model.EndpointStat
	}{
		{"system-wide, by calls then endpoint", s.Endpoints, []model.EndpointStat{
			{Endpoint: "0.0.0.0:80", Accepts: 2, Binds: 2, Errors: 1, Errnos: errnoList(98, 1), LastProc: srv, LastComm: "nginx"},
			{Endpoint: "10.0.0.1:443", Connects: 3, Errors: 1, Errnos: errnoList(111, 1), LastProc: cli, LastComm: "curl"},
			{Endpoint: "10.0.0.3:*", Accepts: 2, LastProc: srv, LastComm: "nginx"},
			{Endpoint: "unix:/run/x.sock", Connects: 2, LastProc: srv, LastComm: "nginx"},
			{Endpoint: "[::1]:8080", Connects: 1, Errors: 1, Errnos: errnoList(111, 1), LastProc: cli, LastComm: "curl"},
		}},
		{"the client's", a.ProcDetail(cli).Endpoints, []model.EndpointStat{
			{Endpoint: "10.0.0.1:443", Connects: 3, Errors: 1, Errnos: errnoList(111, 1), LastProc: cli, LastComm: "curl"},
			{Endpoint: "[::1]:8080", Connects: 1, Errors: 1, Errnos: errnoList(111, 1), LastProc: cli, LastComm: "curl"},
			{Endpoint: "unix:/run/x.sock", Connects: 1, LastProc: cli, LastComm: "curl"},
		}},
		{"the server's", a.ProcDetail(srv).Endpoints, []model.EndpointStat{
			{Endpoint: "0.0.0.0:80", Accepts: 2, Binds: 2, Errors: 1, Errnos: errnoList(98, 1), LastProc: srv, LastComm: "nginx"},
			{Endpoint: "10.0.0.3:*", Accepts: 2, LastProc: srv, LastComm: "nginx"},
			{Endpoint: "unix:/run/x.sock", Connects: 1, LastProc: srv, LastComm: "nginx"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !reflect.DeepEqual(tc.got, tc.want) {
				t.Errorf("\n got %+v\nwant %+v", tc.got, tc.want)
			}
		})
	}
}

// TestTopTablesAreBounded fills the tables past their bounds: new keys are
// refused and counted, keys already in go on counting.
func TestTopTablesAreBounded(t *testing.T) {
	for _, tc := range []struct {
		name            string
		call            func(i int) call
		sys, proc       func(a *Aggregator) *topTable
		sysMax, procMax int
	}{
		{"files",
			func(i int) call { return call{name: "openat", ret: 3, strs: []string{fmt.Sprintf("/f%05d", i)}} },
			func(a *Aggregator) *topTable { return &a.detail.files },
			func(a *Aggregator) *topTable { return &a.procs[pid(1)].detail.files },
			maxFiles, maxProcFiles},
		{"endpoints",
			func(i int) call { return call{name: "connect", ret: 0, blob: inet4("10.0.0.1", uint16(i+1))} },
			func(a *Aggregator) *topTable { return &a.detail.endpoints },
			func(a *Aggregator) *topTable { return &a.procs[pid(1)].detail.endpoints },
			maxEndpoints, maxProcEndpoints},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, clk := newAgg(t, Config{})
			const n = 5000
			for i := range n {
				a.HandleEvent(syscallEvent(t, a, pid(1), tc.call(i)))
			}
			// The first key is in every table: it still counts.
			a.HandleEvent(syscallEvent(t, a, pid(1), tc.call(0)))
			sys, proc := tc.sys(a), tc.proc(a)
			if len(sys.m) != tc.sysMax || sys.refused != n-uint64(tc.sysMax) {
				t.Errorf("system-wide: %d keys, %d refused", len(sys.m), sys.refused)
			}
			if len(proc.m) != tc.procMax || proc.refused != n-uint64(tc.procMax) {
				t.Errorf("per process: %d keys, %d refused", len(proc.m), proc.refused)
			}
			s := publish(a, clk)
			d := a.ProcDetail(pid(1))
			if len(s.Files)+len(s.Endpoints) != tc.sysMax || len(d.Files)+len(d.Endpoints) != tc.procMax {
				t.Errorf("snapshot %d files %d endpoints, process %d files %d endpoints", len(s.Files), len(s.Endpoints), len(d.Files), len(d.Endpoints))
			}
			if got := s.Files; got != nil && (got[0].Path != "/f00000" || got[0].Opens != 2) {
				t.Errorf("first file %+v", got[0])
			}
			if got := s.Endpoints; got != nil && (got[0].Endpoint != "10.0.0.1:1" || got[0].Connects != 2) {
				t.Errorf("first endpoint %+v", got[0])
			}
		})
	}
}

// TestTCPConnectionsAreARing checks the system-wide TCP log.
func TestTCPConnectionsAreARing(t *testing.T) {
	a, clk := newAgg(t, Config{})
	known, unknown := pid(1), pid(2)
	a.AddProcess(model.ProcInfo{ID: known, Comm: "curl"})
	local, remote := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	const n = 300
	for i := range n {
		state := uint8(model.TCPEstablished)
		if i%2 == 1 {
			state = model.TCPClose
		}
		p := known
		if i%3 == 0 {
			p = unknown
		}
		clk.Advance(time.Millisecond)
		a.HandleEvent(tcpEvent(p, state, netip.AddrPortFrom(local, uint16(1000+i)), netip.AddrPortFrom(remote, 443)))
		// Other state changes are not kept.
		a.HandleEvent(tcpEvent(p, model.TCPSynRecv, netip.AddrPortFrom(local, 1), netip.AddrPortFrom(remote, 1)))
	}
	stamp := clk.Now()
	s := publish(a, clk)
	if len(s.Conns) != maxConns {
		t.Fatalf("%d connections kept, want %d", len(s.Conns), maxConns)
	}
	for i, c := range s.Conns {
		j := n - 1 - i // the event number: most recent first
		want := model.TCPConn{
			Proc: known, Comm: "curl", State: "established",
			Local: netip.AddrPortFrom(local, uint16(1000+j)), Remote: netip.AddrPortFrom(remote, 443),
			Time: stamp.Add(-time.Duration(i) * time.Millisecond),
		}
		if j%2 == 1 {
			want.State = "closed"
		}
		if j%3 == 0 {
			want.Proc, want.Comm = unknown, "" // not tracked: no comm, and not created
		}
		if c != want {
			t.Fatalf("connection %d:\n got %+v\nwant %+v", i, c, want)
		}
	}
	if findProc(s, unknown) != nil {
		t.Error("a TCP event created a process")
	}
	if s.DetailEvents != 2*n {
		t.Errorf("detail events %d, want %d", s.DetailEvents, 2*n)
	}
}

// TestIOTotalsAndRates checks byte counts per process and system-wide, through
// retirement and Clear.
func TestIOTotalsAndRates(t *testing.T) {
	a, clk := newAgg(t, Config{RetireAfter: time.Second})
	stays, exits, untracked := pid(1), pid(2), pid(3)
	a.AddProcess(model.ProcInfo{ID: stays, Comm: "stays"})
	a.AddProcess(model.ProcInfo{ID: exits, Comm: "exits"})
	feed := func(interval time.Duration, io map[model.ProcID]model.IOCounts) *model.Snapshot {
		t.Helper()
		clk.Advance(interval)
		d := newDelta().add(stays, 0, model.Counts{Calls: 1}).build(clk.Now(), interval)
		d.IO = io
		a.HandleCounters(d)
		checkInvariant(t, a)
		return a.Snapshot()
	}
	io := func(r, w, rc, sn uint64) model.IOCounts {
		return model.IOCounts{Read: r, Written: w, Received: rc, Sent: sn}
	}
	stat := func(total model.IOCounts, secs float64, last model.IOCounts) model.IOStat {
		if secs == 0 {
			return model.IOStat{IOCounts: total}
		}
		return model.IOStat{IOCounts: total, ReadRate: float64(last.Read) / secs, WriteRate: float64(last.Written) / secs,
			RecvRate: float64(last.Received) / secs, SendRate: float64(last.Sent) / secs}
	}
	check := func(step string, s *model.Snapshot, sys model.IOStat, procs map[model.ProcID]*model.IOStat) {
		t.Helper()
		if s.IO != sys {
			t.Errorf("%s: system-wide %+v, want %+v", step, s.IO, sys)
		}
		for id, want := range procs {
			p := findProc(s, id)
			switch {
			case want == nil && p != nil:
				t.Errorf("%s: process %v still tracked", step, id)
			case want != nil && p == nil:
				t.Errorf("%s: process %v not tracked", step, id)
			case want != nil && p.IO != *want:
				t.Errorf("%s: process %v %+v, want %+v", step, id, p.IO, *want)
			}
		}
	}

	s := feed(2*time.Second, map[model.ProcID]model.IOCounts{stays: io(100, 200, 0, 0), exits: io(0, 0, 40, 60), untracked: io(1, 1, 1, 1)})
	check("first interval", s, stat(io(101, 201, 41, 61), 2, io(101, 201, 41, 61)), map[model.ProcID]*model.IOStat{
		stays: ptr(stat(io(100, 200, 0, 0), 2, io(100, 200, 0, 0))),
		exits: ptr(stat(io(0, 0, 40, 60), 2, io(0, 0, 40, 60))),
	})

	a.HandleEvent(event(model.EventExit, exits, pid(0), "exits"))
	s = feed(time.Second, map[model.ProcID]model.IOCounts{stays: io(10, 0, 0, 0), exits: io(0, 0, 0, 6)})
	check("exit", s, stat(io(111, 201, 41, 67), 1, io(10, 0, 0, 6)), map[model.ProcID]*model.IOStat{
		stays: ptr(stat(io(110, 200, 0, 0), 1, io(10, 0, 0, 0))),
		exits: ptr(stat(io(0, 0, 40, 66), 1, io(0, 0, 0, 6))),
	})

	// Final and older than RetireAfter: retired, its bytes stay in the total.
	s = feed(2*time.Second, nil)
	check("retirement", s, stat(io(111, 201, 41, 67), 0, model.IOCounts{}), map[model.ProcID]*model.IOStat{
		stays: ptr(stat(io(110, 200, 0, 0), 0, model.IOCounts{})),
		exits: nil,
	})

	clk.Advance(time.Second)
	a.Clear()
	check("Clear", a.Snapshot(), model.IOStat{}, map[model.ProcID]*model.IOStat{stays: {}})

	s = feed(time.Second, map[model.ProcID]model.IOCounts{stays: io(5, 0, 0, 0)})
	check("after Clear", s, stat(io(5, 0, 0, 0), 1, io(5, 0, 0, 0)), map[model.ProcID]*model.IOStat{
		stays: ptr(stat(io(5, 0, 0, 0), 1, io(5, 0, 0, 0))),
	})
}

func ptr[T any](v T) *T { return &v }

// TestClearForgetsDetail checks that Clear resets what detail events left.
func TestClearForgetsDetail(t *testing.T) {
	a, clk := newAgg(t, Config{})
	p := pid(1)
	local, remote := netip.MustParseAddrPort("10.0.0.1:1000"), netip.MustParseAddrPort("10.0.0.2:80")
	feed := func() {
		a.HandleEvent(syscallEvent(t, a, p, call{name: "openat", ret: eNOENT, strs: []string{"/x"}}))
		a.HandleEvent(syscallEvent(t, a, p, call{name: "connect", ret: 0, blob: inet4("10.0.0.2", 80)}))
		a.HandleEvent(tcpEvent(p, model.TCPEstablished, local, remote))
	}
	feed()
	before := publish(a, clk)
	a.Clear()
	s := a.Snapshot()
	if s.Files != nil || s.Endpoints != nil || s.Conns != nil || s.DetailEvents != 0 {
		t.Errorf("after Clear: files %v endpoints %v conns %v detail events %d", s.Files, s.Endpoints, s.Conns, s.DetailEvents)
	}
	if d := a.ProcDetail(p); !reflect.DeepEqual(d, model.ProcDetail{}) {
		t.Errorf("process detail after Clear: %+v", d)
	}
	feed()
	s = publish(a, clk)
	if len(s.Files) != 1 || s.Files[0].Opens != 1 || len(s.Endpoints) != 1 || len(s.Conns) != 1 || s.DetailEvents != 3 {
		t.Errorf("counting from zero: %+v", s)
	}
	if d := a.ProcDetail(p); len(d.Calls) != 2 || len(d.Files) != 1 || d.Files[0].Opens != 1 {
		t.Errorf("process detail counting from zero: %+v", d)
	}
	if before.DetailEvents != 3 || len(before.Files) != 1 || len(before.Conns) != 1 {
		t.Errorf("old snapshot changed: %+v", before)
	}
}

// TestOldDetailNeverChanges keeps a snapshot and a ProcDetail, feeds more, and
// checks neither changed: they share nothing mutable with the aggregator.
func TestOldDetailNeverChanges(t *testing.T) {
	a, clk := newAgg(t, Config{RetireAfter: time.Second})
	p := pid(1)
	a.AddProcess(model.ProcInfo{ID: p, Comm: "one"})
	i := 0
	feed := func() {
		for range 20 {
			i++
			a.HandleEvent(syscallEvent(t, a, p, call{name: "openat", ret: []int64{3, eNOENT, eACCES}[i%3], strs: []string{fmt.Sprint("/f", i%4)}}))
			a.HandleEvent(syscallEvent(t, a, p, call{name: "connect", ret: []int64{0, eCONNREFUSED}[i%2], blob: inet4("10.0.0.1", uint16(i%3))}))
			a.HandleEvent(tcpEvent(p, model.TCPClose, netip.MustParseAddrPort("10.0.0.1:1"), netip.AddrPortFrom(netip.MustParseAddr("10.0.0.2"), uint16(i))))
		}
		clk.Advance(time.Second)
		d := newDelta().add(p, 0, model.Counts{Calls: 1}).build(clk.Now(), time.Second)
		d.IO = map[model.ProcID]model.IOCounts{p: {Read: uint64(i)}}
		a.HandleCounters(d)
	}
	feed()
	old := a.Snapshot()
	oldJSON, err := json.Marshal(old)
	if err != nil {
		t.Fatal(err)
	}
	oldFiles := deepFiles(old.Files)
	oldDetail := a.ProcDetail(p)
	oldDetailCopy := model.ProcDetail{Calls: slices.Clone(oldDetail.Calls), Files: deepFiles(oldDetail.Files), Endpoints: slices.Clone(oldDetail.Endpoints)}

	a.HandleEvent(event(model.EventExec, p, pid(0), "renamed"))
	for range 3 {
		feed()
	}
	a.Clear()
	feed()

	if newJSON, _ := json.Marshal(old); string(newJSON) != string(oldJSON) {
		t.Errorf("old snapshot changed:\n%s\n%s", oldJSON, newJSON)
	}
	if !reflect.DeepEqual(old.Files, oldFiles) {
		t.Error("old snapshot's errno order changed")
	}
	if !reflect.DeepEqual(oldDetail, oldDetailCopy) {
		t.Error("old process detail changed")
	}
}

func deepFiles(list []model.FileStat) []model.FileStat {
	out := slices.Clone(list)
	for i := range out {
		out[i].Errnos = slices.Clone(out[i].Errnos)
	}
	return out
}

// TestUnchangedListsAreReused checks that a snapshot after no detail events
// shares the previous lists instead of rebuilding them.
func TestUnchangedListsAreReused(t *testing.T) {
	a, clk := newAgg(t, Config{})
	p := pid(1)
	a.HandleEvent(syscallEvent(t, a, p, call{name: "openat", ret: 3, strs: []string{"/x"}}))
	a.HandleEvent(syscallEvent(t, a, p, call{name: "bind", ret: 0, blob: inet4("0.0.0.0", 80)}))
	a.HandleEvent(tcpEvent(p, model.TCPEstablished, netip.MustParseAddrPort("10.0.0.1:1000"), netip.MustParseAddrPort("10.0.0.2:80")))
	first := publish(a, clk)
	second := publish(a, clk)
	if &first.Files[0] != &second.Files[0] || &first.Endpoints[0] != &second.Endpoints[0] || &first.Conns[0] != &second.Conns[0] {
		t.Error("unchanged lists were rebuilt")
	}
	a.HandleEvent(syscallEvent(t, a, p, call{name: "openat", ret: 3, strs: []string{"/x"}}))
	third := publish(a, clk)
	if &third.Files[0] == &second.Files[0] || third.Files[0].Opens != 2 || second.Files[0].Opens != 1 {
		t.Error("a changed files list was not rebuilt")
	}
	if &third.Endpoints[0] != &second.Endpoints[0] || &third.Conns[0] != &second.Conns[0] {
		t.Error("lists that did not change were rebuilt")
	}
}

// TestDetailJSONShape checks the field names of the new JSON.
func TestDetailJSONShape(t *testing.T) {
	a, clk := newAgg(t, Config{})
	p := pid(7)
	a.AddProcess(model.ProcInfo{ID: p, Comm: "curl"})
	a.HandleEvent(syscallEvent(t, a, p, call{name: "openat", ret: eNOENT, strs: []string{"/x"}}))
	a.HandleEvent(syscallEvent(t, a, p, call{name: "connect", ret: 0, blob: inet4("10.0.0.2", 80)}))
	a.HandleEvent(tcpEvent(p, model.TCPEstablished, netip.MustParseAddrPort("10.0.0.1:1000"), netip.MustParseAddrPort("10.0.0.2:80")))
	clk.Advance(time.Second)
	d := newDelta().add(p, 0, model.Counts{Calls: 1}).build(clk.Now(), time.Second)
	d.IO = map[model.ProcID]model.IOCounts{p: {Read: 10, Written: 20, Received: 30, Sent: 40}}
	a.HandleCounters(d)
	b, err := json.Marshal(a.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		IO           map[string]any   `json:"io"`
		Files        []map[string]any `json:"files"`
		Endpoints    []map[string]any `json:"endpoints"`
		TCP          []map[string]any `json:"tcp"`
		Processes    []map[string]any `json:"processes"`
		DetailEvents float64          `json:"detail_events"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		obj  map[string]any
		want map[string]any
	}{
		{"io", got.IO, map[string]any{"read_bytes": 10.0, "write_bytes": 20.0, "recv_bytes": 30.0, "send_bytes": 40.0,
			"read_rate": 10.0, "write_rate": 20.0, "recv_rate": 30.0, "send_rate": 40.0}},
		{"process io", got.Processes[0]["io"].(map[string]any), map[string]any{"read_bytes": 10.0, "send_rate": 40.0}},
		{"file", got.Files[0], map[string]any{"path": "/x", "opens": 1.0, "errors": 1.0, "errno": map[string]any{"ENOENT": 1.0},
			"last_pid": 7.0, "last_start_time": 1007.0, "last_comm": "curl"}},
		{"endpoint", got.Endpoints[0], map[string]any{"endpoint": "10.0.0.2:80", "connects": 1.0, "accepts": 0.0, "binds": 0.0,
			"errors": 0.0, "errno": map[string]any{}, "last_pid": 7.0, "last_start_time": 1007.0, "last_comm": "curl"}},
		{"tcp", got.TCP[0], map[string]any{"pid": 7.0, "start_time": 1007.0, "comm": "curl", "local": "10.0.0.1:1000",
			"remote": "10.0.0.2:80", "state": "established", "time": clk.Now().Add(-time.Second).Format(time.RFC3339Nano)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.want {
				if !reflect.DeepEqual(tc.obj[k], v) {
					t.Errorf("%s = %#v, want %#v (in %v)", k, tc.obj[k], v, tc.obj)
				}
			}
		})
	}
	if got.DetailEvents != 3 {
		t.Errorf("detail_events %v", got.DetailEvents)
	}
}

// TestConcurrentDetail runs detail events, counters with bytes, Clear,
// ProcDetail and readers at once; run it with -race.
func TestConcurrentDetail(t *testing.T) {
	a := New(Config{Table: amd64(t), MaxProcs: 20, RetireAfter: time.Millisecond})
	events := []*model.Event{
		syscallEvent(t, a, pid(0), call{name: "openat", ret: eNOENT, strs: []string{"/x"}}),
		syscallEvent(t, a, pid(0), call{name: "connect", ret: 0, blob: inet4("10.0.0.1", 80)}),
		tcpEvent(pid(0), model.TCPEstablished, netip.MustParseAddrPort("10.0.0.1:1"), netip.MustParseAddrPort("10.0.0.2:2")),
		event(model.EventExit, pid(0), pid(0), "x"),
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		e := &model.Event{}
		for i := uint32(1); ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			// The event is reused, as the collector does.
			*e = *events[i%uint32(len(events))]
			e.Proc = pid(i % 50)
			a.HandleEvent(e)
		}
	})
	wg.Go(func() {
		for i := uint32(0); ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := json.Marshal(a.Snapshot()); err != nil {
				t.Error(err)
				return
			}
			d := a.ProcDetail(pid(i % 50))
			_ = len(d.Calls) + len(d.Files)
		}
	})
	for i := range 300 {
		d := newDelta()
		io := map[model.ProcID]model.IOCounts{}
		for j := range 10 {
			d.add(pid(uint32((i+j)%50)), uint16(j), model.Counts{Calls: 1})
			io[pid(uint32((i+j)%50))] = model.IOCounts{Read: 1}
		}
		cd := d.build(time.Now(), time.Millisecond)
		cd.IO = io
		a.HandleCounters(cd)
		if i%100 == 50 {
			a.Clear()
		}
		checkInvariant(t, a)
	}
	close(stop)
	wg.Wait()
}

// BenchmarkHandleSyscallEvent measures one detail event: an open of one of a
// few hundred paths by one of a hundred processes.
func BenchmarkHandleSyscallEvent(b *testing.B) {
	a := New(Config{Table: amd64(b)})
	var evs []*model.Event
	for i := range 512 {
		evs = append(evs, syscallEvent(b, a, pid(uint32(i%100)), call{name: "openat", ret: []int64{3, eNOENT}[i%2], strs: []string{fmt.Sprint("/usr/lib/x86_64-linux-gnu/lib", i%300, ".so")}}))
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		a.HandleEvent(evs[i%len(evs)])
	}
}

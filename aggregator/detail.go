package aggregator

import (
	"cmp"
	"slices"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"tlmon/model"
	"tlmon/syscalls"
)

// Detail events and byte counts. A detail event (one syscall with its
// arguments, or one TCP connection changing state) arrives through HandleEvent
// at up to ~100k per second, so handling one costs a map lookup or two and an
// append: nothing is sorted until a snapshot or ProcDetail asks for it.
//
// What they leave is bounded: each process keeps its last maxCalls calls and
// small top tables of the files it opened and the endpoints it named; the
// system keeps larger top tables and its last maxConns TCP connections.

const (
	// maxCalls is how many recent calls each process keeps, and exitedCalls
	// how many once it exited: hundreds of exited processes wait to retire
	// while a build or a shell loop runs.
	maxCalls    = 256
	exitedCalls = 32
	// maxConns is how many recent TCP connections are kept system-wide.
	maxConns = 256
	// Bounds of the top tables, in distinct paths or endpoints.
	maxFiles         = 4096
	maxEndpoints     = 4096
	maxProcFiles     = 64
	maxProcEndpoints = 64
)

// detailKind says which top table a syscall's detail events feed.
type detailKind uint8

const (
	detailNone    detailKind = iota
	detailOpen               // the path opened is Strs[0]
	detailConnect            // the address is in Blob
	detailBind               // likewise
	detailAccept             // the peer's address is in Blob, on success
)

// Operations counted per key in topEntry.n: a file has opens only, an
// endpoint connects, accepts and binds.
const (
	opOpen    = 0
	opConnect = 0
	opAccept  = 1
	opBind    = 2
)

// kindOp is the operation a call of each kind counts as.
var kindOp = [...]int{detailOpen: opOpen, detailConnect: opConnect, detailBind: opBind, detailAccept: opAccept}

// detailKinds maps syscall numbers to kinds by name, so that the tables work
// with any architecture's table (arm64 has no open or creat).
func detailKinds(names *[numNr]string) (kinds [numNr]detailKind) {
	for nr, name := range names {
		switch name {
		case "open", "openat", "openat2", "creat":
			kinds[nr] = detailOpen
		case "connect":
			kinds[nr] = detailConnect
		case "bind":
			kinds[nr] = detailBind
		case "accept", "accept4":
			kinds[nr] = detailAccept
		}
	}
	return kinds
}

// detailState is the system-wide part of what detail events and byte counts
// leave.
type detailState struct {
	kinds  [numNr]detailKind
	events uint64 // detail events received, syscall and TCP

	files, endpoints topTable
	conns            ring[model.TCPConn]
	connsChanged     bool
	// The lists of the last snapshot, immutable: the next one reuses them when
	// nothing changed.
	filesPub     []model.FileStat
	endpointsPub []model.EndpointStat
	connsPub     []model.TCPConn

	// io is the bytes of every process, tracked or not, and lastIO those of the
	// last delta, for rates. Retiring a process takes nothing from io, as
	// retiring takes nothing from the system-wide syscall counts.
	io, lastIO model.IOCounts
}

func newDetailState(names *[numNr]string) detailState {
	return detailState{
		kinds:     detailKinds(names),
		files:     topTable{max: maxFiles},
		endpoints: topTable{max: maxEndpoints},
		conns:     ring[model.TCPConn]{max: maxConns},
	}
}

// procDetail is what detail events left about one process. It is allocated
// with the process's first detail event: most processes never have one.
type procDetail struct {
	calls            ring[model.CallRecord]
	files, endpoints topTable
	// bound maps the sockets the process bound (by fd) to their address, so
	// that the connections it accepts on one count under its local endpoint,
	// not one row per client's ephemeral port. At most maxBound.
	bound map[uint64]string
}

// maxBound bounds a process's bound sockets remembered.
const maxBound = 64

func newProcDetail() *procDetail {
	return &procDetail{
		calls:     ring[model.CallRecord]{max: maxCalls},
		files:     topTable{max: maxProcFiles},
		endpoints: topTable{max: maxProcEndpoints},
	}
}

// procIO is the bytes one process moved: in all, and in the delta of call
// number gen (for rates).
type procIO struct {
	total, last model.IOCounts
	gen         uint64
}

// handleSyscall records an EventSyscall; a.mu is held. The process is created
// or named as by lifecycle events (nil at MaxProcs: then the call still
// counts in the system-wide tables).
func (a *Aggregator) handleSyscall(e *model.Event) {
	a.detail.events++
	rec := syscalls.NewCallRecord(a.table, e, a.eventTime(e.Time))
	if a.cfg.OnCall != nil {
		a.cfg.OnCall(&rec)
	}
	kind, key := a.detailKey(&rec)
	p := a.named(e.Proc)
	var comm string
	if p != nil {
		if p.info.Comm == "" {
			p.info.Comm = e.Comm()
		}
		fillInfo(&p.info, model.ProcInfo{CgroupID: e.CgroupID})
		comm = p.info.Comm
		if p.detail == nil {
			p.detail = newProcDetail()
		}
		p.detail.calls.add(rec)
	} else {
		comm = e.Comm()
	}
	if key == "" {
		return
	}
	switch {
	case kind == detailBind && rec.Ret == 0 && p != nil:
		if _, ok := p.detail.bound[rec.Args[0]]; ok || len(p.detail.bound) < maxBound {
			if p.detail.bound == nil {
				p.detail.bound = map[uint64]string{}
			}
			p.detail.bound[rec.Args[0]] = key
		}
	case kind == detailAccept:
		key = a.acceptKey(p, &rec, key)
	}
	// The process's own table is bounded too: nil when it has none.
	sys, own := &a.detail.endpoints, (*topTable)(nil)
	if kind == detailOpen {
		sys = &a.detail.files
	}
	if p != nil {
		own = &p.detail.endpoints
		if kind == detailOpen {
			own = &p.detail.files
		}
	}
	op, errno := kindOp[kind], rec.Errno()
	if kind == detailConnect && errno == int(syscall.EINPROGRESS) {
		errno = 0 // a non-blocking connect under way: no failure (see notInProgress)
	}
	sys.add(key, op, errno, e.Proc, comm)
	if own != nil {
		own.add(key, op, errno, e.Proc, comm)
	}
}

// detailKey returns the top table a call feeds and its key there: the path
// opened or the socket address named; "" if none.
func (a *Aggregator) detailKey(r *model.CallRecord) (detailKind, string) {
	if r.Nr < 0 || r.Nr >= numNr {
		return detailNone, ""
	}
	switch kind := a.detail.kinds[r.Nr]; kind {
	case detailOpen:
		// An empty path was not captured (or fails with ENOENT): nothing to show.
		return kind, r.Strs[0]
	case detailConnect, detailBind, detailAccept:
		if kind == detailAccept && r.Ret < 0 {
			return kind, "" // no peer: its address is read only on success
		}
		sa, ok := model.DecodeSockaddr(r.Blob)
		if !ok {
			return kind, "" // not captured, or cut short
		}
		return kind, sa.String()
	}
	return detailNone, ""
}

// eventTime is the wall time of kernel time kt (CLOCK_MONOTONIC ns), from the
// pair of clocks read at the last HandleCounters (syncClocks): reading the
// monotonic clock for each of 100k events a second would cost a syscall each.
// It is now when the event carries no time (0) or the clocks were not read.
func (a *Aggregator) eventTime(kt uint64) time.Time {
	now := a.cfg.Now()
	if kt == 0 || a.clocks.mono == 0 {
		return now
	}
	t := a.clocks.wall.Add(time.Duration(int64(kt) - int64(a.clocks.mono)))
	if t.After(now) {
		return now
	}
	return t
}

// syncClocks reads the wall and the monotonic clock together.
func (a *Aggregator) syncClocks() {
	mono := a.cfg.Mono
	if mono == nil {
		mono = monotonicNow
	}
	a.clocks.mono = mono()
	a.clocks.wall = a.cfg.Now()
}

func monotonicNow() uint64 {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts) != nil {
		return 0
	}
	return uint64(ts.Nano())
}

// acceptKey is the endpoint an accepted connection counts under: the local
// endpoint it was accepted on, when the process's bind of that socket was
// seen, else the peer's address without its port (a client's ephemeral port
// changes with every connection): "10.0.0.2:*".
func (a *Aggregator) acceptKey(p *proc, rec *model.CallRecord, peer string) string {
	if p != nil {
		if local, ok := p.detail.bound[rec.Args[0]]; ok {
			return local
		}
	}
	if sa, ok := model.DecodeSockaddr(rec.Blob); ok && sa.Addr.IsValid() && (sa.Family == model.AFInet || sa.Family == model.AFInet6) {
		if sa.Addr.Addr().Is4() {
			return sa.Addr.Addr().String() + ":*"
		}
		return "[" + sa.Addr.Addr().String() + "]:*"
	}
	return peer
}

// handleTCP records an EventTCP; a.mu is held. It names no process: the
// kernel reports some state changes from contexts that belong to none.
func (a *Aggregator) handleTCP(e *model.Event) {
	a.detail.events++
	state := e.TCP.State()
	if state == "" {
		return
	}
	c := model.TCPConn{Proc: e.Proc, Local: e.TCP.Local(), Remote: e.TCP.Remote(), State: state, Time: a.eventTime(e.Time)}
	if p := a.procs[e.Proc]; p != nil {
		c.Comm = p.info.Comm
	}
	a.detail.conns.add(c)
	a.detail.connsChanged = true
}

// addIO adds the byte counts of a delta, system-wide and to the processes
// tracked; cur is the number of the HandleCounters call. Bytes of processes
// not tracked count system-wide only, as their histograms and errnos do.
func (a *Aggregator) addIO(io map[model.ProcID]model.IOCounts, cur uint64) {
	a.detail.lastIO = model.IOCounts{}
	for id, c := range io {
		a.detail.io.Add(c)
		a.detail.lastIO.Add(c)
		if p := a.index.get(id); p != nil {
			p.io.total.Add(c)
			p.io.last, p.io.gen = c, cur
		}
	}
}

// ioStat gives bytes with their rates over secs (0: no rates).
func ioStat(total, last model.IOCounts, secs float64) model.IOStat {
	return model.IOStat{
		IOCounts: total,
		ReadRate: model.Rate(last.Read, secs), WriteRate: model.Rate(last.Written, secs),
		RecvRate: model.Rate(last.Received, secs), SendRate: model.Rate(last.Sent, secs),
	}
}

// procIOStat gives p's bytes, with rates if it moved any in the last call.
func (a *Aggregator) procIOStat(p *proc, secs float64) model.IOStat {
	var last model.IOCounts
	if p.io.gen == a.gen {
		last = p.io.last
	}
	return ioStat(p.io.total, last, secs)
}

// publishDetail fills in the snapshot's byte counts and detail tables,
// rebuilding a list only when it changed since the last snapshot.
func (a *Aggregator) publishDetail(s *model.Snapshot, secs float64) {
	st := &a.detail
	s.DetailEvents, s.DetailAttempted = st.events, a.detailAttempted
	s.IO = ioStat(st.io, st.lastIO, secs)
	if st.files.changed {
		st.filesPub, st.files.changed = st.files.fileStats(), false
	}
	if st.endpoints.changed {
		st.endpointsPub, st.endpoints.changed = st.endpoints.endpointStats(), false
	}
	if st.connsChanged {
		st.connsPub, st.connsChanged = st.conns.newestFirst(), false
	}
	s.Files, s.Endpoints, s.Conns = st.filesPub, st.endpointsPub, st.connsPub
	s.FilesRefused, s.EndpointsRefused = st.files.refused, st.endpoints.refused
}

// clearDetail forgets what detail events and byte counts left, for Clear.
func (a *Aggregator) clearDetail() {
	a.detail = newDetailState(&a.names)
	for _, p := range a.procs {
		p.detail, p.io = nil, procIO{}
	}
}

// ProcDetail is what detail events said about one process: its last calls,
// most recent first, and its top files and endpoints, sorted as in a
// snapshot. All of it is the caller's. A process not tracked (never seen, or
// retired) has none.
func (a *Aggregator) ProcDetail(id model.ProcID) model.ProcDetail {
	a.mu.Lock()
	defer a.mu.Unlock()
	p := a.procs[id]
	if p == nil || p.detail == nil {
		return model.ProcDetail{}
	}
	return model.ProcDetail{
		Calls:     p.detail.calls.newestFirst(),
		Files:     p.detail.files.fileStats(),
		Endpoints: p.detail.endpoints.endpointStats(),
	}
}

// ring keeps the last max values added.
type ring[T any] struct {
	items []T // grows up to max, then the oldest is overwritten
	next  int // once full: the oldest, overwritten next
	max   int
}

func (r *ring[T]) add(v T) {
	if len(r.items) < r.max {
		r.items = append(r.items, v)
		return
	}
	r.items[r.next] = v
	r.next = (r.next + 1) % r.max
}

// keepNewest drops all but the n newest values, and keeps at most n from now on.
func (r *ring[T]) keepNewest(n int) {
	if len(r.items) > n {
		newest := r.newestFirst()[:n]
		slices.Reverse(newest)
		r.items = make([]T, n) // not newest itself: its array holds them all
		copy(r.items, newest)
		r.next = 0
	}
	r.max = min(r.max, n)
}

// newestFirst returns a copy of the values, the last added first. A value's
// own slices (a CallRecord's Blob and Argv) are shared: nothing modifies them
// once made.
func (r *ring[T]) newestFirst() []T {
	n := len(r.items)
	out := make([]T, n)
	for i := range out {
		// The newest is just before next (at the end while not full).
		out[i] = r.items[(r.next-1-i+2*n)%n]
	}
	return out
}

// topTable counts calls per key (a path, an endpoint) for a top table. Once it
// holds max keys it refuses new ones and counts them in refused: the simplest
// rule that stays bounded, and every count shown stays exact. Evicting the
// least-counted key instead would need a scan or a heap for each new key once
// full, per event. The price is that keys first seen after the table filled
// are not shown.
type topTable struct {
	m       map[string]*topEntry
	max     int
	refused uint64
	changed bool // since the last snapshot (the system-wide tables)
}

type topEntry struct {
	n      [3]uint64 // calls per operation (opOpen, opConnect ...)
	errors uint64
	// errnos.counts is in order of first appearance: snapshots get sorted
	// copies.
	errnos   errnos
	lastProc model.ProcID
	lastComm string
}

// add counts a call of operation op on key by proc; errno is 0 on success.
func (t *topTable) add(key string, op, errno int, proc model.ProcID, comm string) {
	e := t.m[key]
	if e == nil {
		if len(t.m) >= t.max {
			t.refused++
			return
		}
		if t.m == nil {
			t.m = make(map[string]*topEntry)
		}
		e = &topEntry{}
		t.m[key] = e
	}
	t.changed = true
	e.n[op]++
	e.lastProc, e.lastComm = proc, comm
	if errno == 0 {
		return
	}
	e.errors++
	e.errnos.add(uint16(errno), 1)
}

// fileStats returns the table as files, by opens (descending), then path.
func (t *topTable) fileStats() []model.FileStat {
	list := make([]model.FileStat, 0, len(t.m))
	for path, e := range t.m {
		list = append(list, model.FileStat{
			Path: path, Opens: e.n[opOpen], Errors: e.errors, Errnos: e.sortedErrnos(),
			LastProc: e.lastProc, LastComm: e.lastComm,
		})
	}
	slices.SortFunc(list, func(x, y model.FileStat) int {
		return cmp.Or(cmp.Compare(y.Opens, x.Opens), strings.Compare(x.Path, y.Path))
	})
	return list
}

// endpointStats returns the table as endpoints, by calls (descending), then
// endpoint.
func (t *topTable) endpointStats() []model.EndpointStat {
	list := make([]model.EndpointStat, 0, len(t.m))
	for ep, e := range t.m {
		list = append(list, model.EndpointStat{
			Endpoint: ep, Connects: e.n[opConnect], Accepts: e.n[opAccept], Binds: e.n[opBind],
			Errors: e.errors, Errnos: e.sortedErrnos(), LastProc: e.lastProc, LastComm: e.lastComm,
		})
	}
	slices.SortFunc(list, func(x, y model.EndpointStat) int {
		return cmp.Or(cmp.Compare(y.Connects+y.Accepts+y.Binds, x.Connects+x.Accepts+x.Binds), strings.Compare(x.Endpoint, y.Endpoint))
	})
	return list
}

// sortedErrnos returns a sorted copy of the errnos (nil if none).
func (e *topEntry) sortedErrnos() []model.ErrnoCount {
	if len(e.errnos.counts) == 0 {
		return nil
	}
	return sortedErrnos(slices.Clone(e.errnos.counts))
}

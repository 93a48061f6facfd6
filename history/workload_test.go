package history

import (
	"cmp"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sort"
	"time"

	"tlmon/model"
)

// workload makes snapshots the way the aggregator does: cumulative counts,
// rates over the interval, sorted lists, and the parts that did not change
// shared with the previous snapshot (a process's syscall list, histograms,
// errno lists, the detail tables). Each interval a share of the processes is
// active (a few of their syscalls count calls, errors and latencies), some
// start, some exit, and exited ones are retired a few intervals later.
type workload struct {
	rng      *rand.Rand
	active   float64 // the share of processes active each interval
	churn    int     // processes started (and about as many exited) each interval
	interval time.Duration
	at       time.Time
	start    time.Time
	procs    []*wproc
	nextPID  uint32
	sys      map[int]*wsys // system-wide, by syscall number
	sysStats []model.SyscallStat
	retired  model.RetiredStats
	files    []model.FileStat
	eps      []model.EndpointStat
	conns    []model.TCPConn
	io       model.IOCounts
	n        int
}

type wproc struct {
	stat     model.ProcStat // everything but Counts, rates, IO and Syscalls
	sys      []*wsys
	stats    []model.SyscallStat // published, shared until it changes
	rates    bool                // stats hold non-zero rates
	total    model.Counts
	io       model.IOCounts
	lastIO   model.IOCounts
	exitedAt int // the interval it exited in, 0 if alive
}

type wsys struct {
	nr     int
	counts model.Counts
	last   model.Counts // in the current interval
	hist   *model.Hist
	q      [3]uint64
	errnos []model.ErrnoCount
}

var (
	comms   = []string{"bash", "nginx", "postgres", "python3", "node", "java", "sshd", "systemd", "containerd", "kworker/0:1", "chrome", "make", "cc1", "go", "rustc", "redis-server"}
	cgroups = []string{"/system.slice/nginx.service", "/system.slice/postgresql.service", "/user.slice/user-1000.slice/session-2.scope", "/kubepods/burstable/pod1234/abcdef", "/system.slice/containerd.service", "/"}
	names   = []string{"read", "write", "openat", "close", "futex", "epoll_wait", "recvfrom", "sendto", "mmap", "munmap", "fstat", "lseek", "poll", "ioctl", "clock_nanosleep", "getpid", "brk", "rt_sigaction", "connect", "accept4"}
)

func newWorkload(seed uint64, procs int, active float64) *workload {
	w := &workload{
		rng:      rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		active:   active,
		churn:    max(1, procs/200),
		interval: time.Second,
		start:    time.Unix(1_780_000_000, 123456789),
		nextPID:  1000,
		sys:      map[int]*wsys{},
	}
	w.at = w.start
	for range procs {
		w.spawn()
	}
	return w
}

func (w *workload) spawn() {
	w.nextPID += 1 + uint32(w.rng.IntN(5))
	comm := comms[w.rng.IntN(len(comms))]
	p := &wproc{stat: model.ProcStat{
		ID:         model.ProcID{PID: w.nextPID, Start: uint64(w.n*100 + w.rng.IntN(100))},
		Parent:     model.ProcID{PID: 1, Start: 5},
		Comm:       comm,
		Exe:        "/usr/bin/" + comm,
		Cmdline:    fmt.Sprintf("%s --worker %d --config /etc/%s.conf", comm, w.nextPID, comm),
		CgroupID:   uint64(w.rng.IntN(len(cgroups)) + 1),
		CgroupPath: cgroups[w.rng.IntN(len(cgroups))],
		Alive:      true,
	}}
	for _, i := range w.rng.Perm(len(names))[:5+w.rng.IntN(11)] {
		p.sys = append(p.sys, &wsys{nr: i})
	}
	w.procs = append(w.procs, p)
}

// count adds a burst of calls to s, with latencies from its own range.
func (w *workload) count(s *wsys, calls uint64, withHist bool) model.Counts {
	c := model.Counts{Calls: calls}
	if w.rng.IntN(8) == 0 {
		c.Errors = 1 + calls/10
		errno := []int{2, 11, 4, 13}[w.rng.IntN(4)]
		list := slices.Clone(s.errnos)
		i := slices.IndexFunc(list, func(e model.ErrnoCount) bool { return e.Errno == errno })
		if i < 0 {
			list = append(list, model.ErrnoCount{Errno: errno, Name: []string{"ENOENT", "EAGAIN", "EINTR", "EACCES"}[errno%4]})
			i = len(list) - 1
		}
		list[i].Count += c.Errors
		slices.SortStableFunc(list, func(a, b model.ErrnoCount) int { return cmp.Compare(b.Count, a.Count) })
		s.errnos = list
	}
	var h model.Hist
	if s.hist != nil {
		h = *s.hist
	}
	// Latencies spread over about 8 buckets around the syscall's own
	// (a few hundred ns to a few ms): each call lands in one of them.
	base := 16 + s.nr%20
	left := calls
	for k := 0; left > 0; k++ {
		n := left
		if k < 8 {
			n = (left + 1) / 2
			n = uint64(w.rng.IntN(int(n))) + 1
		}
		b := min(base+k-2+w.rng.IntN(2), model.HistBuckets-1)
		h[b] += n
		lo, hi := model.HistBounds(b)
		c.LatSumNs += n*lo + uint64(w.rng.IntN(int(hi-lo)))
		c.LatCount += n
		left -= n
	}
	if withHist && c.LatCount > 0 {
		s.hist = &h
		h.Quantiles(percentiles[:], s.q[:])
	}
	s.counts.Add(c)
	return c
}

// next moves the workload one interval on and returns its snapshot.
func (w *workload) next() *model.Snapshot {
	w.n++
	w.at = w.at.Add(w.interval + time.Duration(w.rng.IntN(1000)))
	secs := w.interval.Seconds()
	for _, s := range w.sys {
		s.last = model.Counts{}
	}
	var lastTotal model.Counts
	var lastIO model.IOCounts
	for _, p := range w.procs {
		p.lastIO = model.IOCounts{}
		for _, s := range p.sys {
			s.last = model.Counts{}
		}
		if p.exitedAt != 0 || w.rng.Float64() >= w.active {
			continue
		}
		for range 1 + w.rng.IntN(3) {
			s := p.sys[w.rng.IntN(len(p.sys))]
			c := w.count(s, 1+uint64(w.rng.ExpFloat64()*200), true)
			s.last.Add(c)
			p.total.Add(c)
			lastTotal.Add(c)
			sys := w.sys[s.nr]
			if sys == nil {
				sys = &wsys{nr: s.nr}
				w.sys[s.nr] = sys
			}
			sc := w.count(sys, c.Calls, true)
			sys.last.Add(sc)
			if s.nr < 2 {
				b := c.Calls * 512
				if s.nr == 0 {
					p.lastIO.Read += b
				} else {
					p.lastIO.Written += b
				}
			}
		}
		p.io.Add(p.lastIO)
		lastIO.Add(p.lastIO)
	}
	w.io.Add(lastIO)

	// Exits and starts; exited processes are retired after 3 intervals.
	for range w.churn {
		p := w.procs[w.rng.IntN(len(w.procs))]
		if p.exitedAt == 0 {
			p.exitedAt = w.n
			p.stat.Alive = false
			p.stat.ExitedAt = w.at
			p.stat.ExitCode = w.rng.IntN(3)
			p.stats = nil // rebuilt below
		}
		w.spawn()
	}
	kept := w.procs[:0]
	for _, p := range w.procs {
		if p.exitedAt != 0 && w.n-p.exitedAt > 3 {
			w.retired.Processes++
			w.retired.Calls += p.total.Calls
			w.retired.Errors += p.total.Errors
			continue
		}
		kept = append(kept, p)
	}
	clear(w.procs[len(kept):])
	w.procs = kept

	s := &model.Snapshot{At: w.at, Interval: w.interval, Elapsed: w.at.Sub(w.start), Retired: w.retired}
	s.Processes = make([]model.ProcStat, len(w.procs))
	for i, p := range w.procs {
		changed := p.stats == nil || p.rates
		for _, x := range p.sys {
			changed = changed || !x.last.IsZero()
		}
		if changed {
			slices.SortStableFunc(p.sys, func(a, b *wsys) int {
				return cmp.Or(cmp.Compare(b.counts.Calls, a.counts.Calls), cmp.Compare(a.nr, b.nr))
			})
			p.stats = make([]model.SyscallStat, 0, len(p.sys))
			p.rates = false
			for _, x := range p.sys {
				if x.counts.Calls == 0 {
					continue
				}
				st := syscallStat(x, secs)
				p.rates = p.rates || st.CallRate != 0
				p.stats = append(p.stats, st)
			}
		}
		var last model.Counts
		for _, x := range p.sys {
			last.Add(x.last)
		}
		st := p.stat
		st.Counts = p.total
		st.CallRate, st.ErrorRate = model.RateWithin(last.Calls, p.total.Calls, secs), model.RateWithin(last.Errors, p.total.Errors, secs)
		st.IO = model.IOStat{IOCounts: p.io, ReadRate: model.Rate(p.lastIO.Read, secs), WriteRate: model.Rate(p.lastIO.Written, secs)}
		st.Syscalls = p.stats
		s.Processes[i] = st
		s.Totals.Add(p.total)
	}
	sort.Sort(byOrder[model.ProcStat]{s.Processes, procElem.order})
	s.Totals.Calls += w.retired.Calls
	s.Totals.CallRate, s.Totals.ErrorRate = model.RateWithin(lastTotal.Calls, s.Totals.Calls, secs), model.RateWithin(lastTotal.Errors, s.Totals.Errors, secs)
	s.IO = model.IOStat{IOCounts: w.io, ReadRate: model.Rate(lastIO.Read, secs), WriteRate: model.Rate(lastIO.Written, secs)}

	if changed := slices.ContainsFunc(slices.Collect(maps.Values(w.sys)), func(x *wsys) bool { return !x.last.IsZero() }); changed || w.sysStats == nil {
		w.sysStats = []model.SyscallStat{}
		for _, x := range w.sys {
			w.sysStats = append(w.sysStats, syscallStat(x, secs))
		}
		slices.SortFunc(w.sysStats, syscallElem.orderValues())
	}
	s.Syscalls = w.sysStats
	s.Lost.ByCause[model.LossBuffer] = uint64(w.n / 7)
	s.Lost.EventsAttempted, s.Lost.EventsReceived = uint64(w.n*40), uint64(w.n*40-w.n/7)
	s.Lost.Total = s.Lost.ByCause.Total()
	s.DetailEvents, s.DetailAttempted = uint64(w.n*40-w.n/7), uint64(w.n*40)
	s.PendingCalls = int64(w.rng.IntN(100)) - 50

	w.detail(s)
	return s
}

// detail changes the files, endpoints and connections now and then.
func (w *workload) detail(s *model.Snapshot) {
	if w.rng.IntN(3) == 0 {
		files := slices.Clone(w.files)
		path := fmt.Sprintf("/var/lib/app/data-%d.db", w.rng.IntN(150))
		i := slices.IndexFunc(files, func(f model.FileStat) bool { return f.Path == path })
		if i < 0 {
			files = append(files, model.FileStat{Path: path})
			i = len(files) - 1
		}
		files[i].Opens++
		files[i].LastProc, files[i].LastComm = model.ProcID{PID: 4242, Start: 17}, "app"
		if w.rng.IntN(4) == 0 {
			files[i].Errors++
			files[i].Errnos = []model.ErrnoCount{{Errno: 2, Name: "ENOENT", Count: files[i].Errors}}
		}
		slices.SortFunc(files, fileElem.orderValues())
		w.files = files
	}
	if w.rng.IntN(5) == 0 {
		eps := slices.Clone(w.eps)
		ep := fmt.Sprintf("10.0.0.%d:443", w.rng.IntN(40))
		i := slices.IndexFunc(eps, func(e model.EndpointStat) bool { return e.Endpoint == ep })
		if i < 0 {
			eps = append(eps, model.EndpointStat{Endpoint: ep})
			i = len(eps) - 1
		}
		eps[i].Connects++
		eps[i].LastProc, eps[i].LastComm = model.ProcID{PID: 4243, Start: 18}, "curl"
		slices.SortFunc(eps, endpointElem.orderValues())
		w.eps = eps
		c := model.TCPConn{
			Proc: eps[i].LastProc, Comm: "curl",
			Local:  netip.MustParseAddrPort(fmt.Sprintf("10.0.0.1:%d", 30000+w.rng.IntN(1000))),
			Remote: netip.MustParseAddrPort(ep), State: "established", Time: w.at,
		}
		w.conns = append([]model.TCPConn{c}, w.conns[:min(len(w.conns), 63)]...)
	}
	s.Files, s.Endpoints, s.Conns = w.files, w.eps, w.conns
}

func syscallStat(x *wsys, secs float64) model.SyscallStat {
	st := model.SyscallStat{
		Nr: x.nr, Name: names[x.nr], Classes: model.Class(1 << (x.nr % 10)), Counts: x.counts,
		CallRate: model.RateWithin(x.last.Calls, x.counts.Calls, secs), ErrorRate: model.RateWithin(x.last.Errors, x.counts.Errors, secs),
		Errnos: x.errnos, Hist: x.hist,
	}
	if x.counts.LatCount > 0 {
		st.AvgNs = x.counts.LatSumNs / x.counts.LatCount
	}
	if x.hist != nil {
		st.P50Ns, st.P95Ns, st.P99Ns = x.q[0], x.q[1], x.q[2]
	}
	return st
}

// orderValues is the element's order for slices.SortFunc.
func (c *elem[T, K]) orderValues() func(a, b T) int {
	return func(a, b T) int { return c.order(&a, &b) }
}

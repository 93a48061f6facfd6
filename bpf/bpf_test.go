package bpf

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"runtime"
	"testing"
	"unsafe"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"tlmon/internal/bpftest"
	"tlmon/model"
)

func TestEventLayoutMatchesGeneratedStruct(t *testing.T) {
	var e tlmonEvent
	for _, c := range []struct {
		name string
		got  uintptr
		want int
	}{
		{"tgid", unsafe.Offsetof(e.Tgid), offTgid},
		{"tid", unsafe.Offsetof(e.Tid), offTid},
		{"ppid", unsafe.Offsetof(e.Ppid), offPpid},
		{"time", unsafe.Offsetof(e.Time), offTime},
		{"start", unsafe.Offsetof(e.Start), offStart},
		{"parent_start", unsafe.Offsetof(e.ParentStart), offParentStart},
		{"cgroup_id", unsafe.Offsetof(e.CgroupId), offCgroupID},
		{"comm", unsafe.Offsetof(e.Comm), offComm},
		{"filename", unsafe.Offsetof(e.Filename), offFilename},
	} {
		if int(c.got) != c.want {
			t.Errorf("offset of %s: generated %d, decoder uses %d", c.name, c.got, c.want)
		}
	}
	if len(e.Filename) != model.FilenameLen || len(e.Comm) != model.CommLen {
		t.Errorf("string sizes differ from model: comm %d filename %d", len(e.Comm), len(e.Filename))
	}
	if len(tlmonSysCounts{}.Hist) != model.HistBuckets {
		t.Errorf("kernel histogram has %d buckets, model %d", len(tlmonSysCounts{}.Hist), model.HistBuckets)
	}
}

func TestDecodeEventAllocatesNothing(t *testing.T) {
	raw := make([]byte, EventSize+4) // perf samples may carry padding
	var e model.Event
	if n := testing.AllocsPerRun(100, func() { _ = DecodeEvent(raw, &e) }); n != 0 {
		t.Errorf("DecodeEvent allocates %v times per event", n)
	}
}

// loadForTest loads, scopes to this test process alone (tlmon's own exclusion
// is pointed at a PID that cannot exist) and only then attaches: other tests
// run in parallel and must not be counted.
func loadForTest(t *testing.T, opts Options) *Probe {
	t.Helper()
	p := loadScopedForTest(t, opts)
	if err := p.Attach(); err != nil {
		t.Fatal(err)
	}
	return p
}

// loadScopedForTest is loadForTest before the Attach.
func loadScopedForTest(t *testing.T, opts Options) *Probe {
	t.Helper()
	bpftest.Require(t)
	opts.SelfPID = math.MaxUint32
	p, err := Load(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	if err := p.ScopePIDs([]uint32{uint32(os.Getpid())}, false); err != nil {
		t.Fatal(err)
	}
	return p
}

// modernOf is the probe's object on rungs 1 and 2, nil on the others;
// legacyOf the one on rungs 3 and 4, nil on the others.
func modernOf(p *Probe) *modern { m, _ := p.fam.(*modern); return m }
func legacyOf(p *Probe) *legacy { l, _ := p.fam.(*legacy); return l }

// lifecycleKprobes says whether the probe sees processes come and go
// through kprobes (rung 4 without tracepoint programs, before 4.7).
func lifecycleKprobes(p *Probe) bool {
	l := legacyOf(p)
	return l != nil && l.settings.LifecycleKprobes != 0
}

// getppids makes n getppid calls and reads what p counted: everything,
// getppid's system-wide counts and the sum of its per-process ones.
func getppids(t *testing.T, p *Probe, n int) (c Counters, system, procs model.Counts) {
	t.Helper()
	for range n {
		unix.Getppid()
	}
	if err := p.ReadCounters(&c); err != nil {
		t.Fatal(err)
	}
	for k, v := range c.Procs {
		if k.Nr == unix.SYS_GETPPID {
			procs.Add(v)
		}
	}
	return c, c.System[unix.SYS_GETPPID], procs
}

func TestGetppidCountedExactlyOnEveryEnterStore(t *testing.T) {
	for _, store := range EnterStores() {
		t.Run(store, func(t *testing.T) {
			p := loadForTest(t, Options{EnterStore: store})
			const n = 100000
			c, got, proc := getppids(t, p, n)
			if got.Calls != n || got.Errors != 0 || got.LatCount != n {
				t.Errorf("getppid counted %+v, want %d calls, 0 errors, %d latency samples", got, n, n)
			}
			if proc.Calls != n {
				t.Errorf("per-process getppid calls %d, want %d", proc.Calls, n)
			}
			if c.SystemHist[unix.SYS_GETPPID].Count() != n {
				t.Errorf("histogram holds %d samples, want %d", c.SystemHist[unix.SYS_GETPPID].Count(), n)
			}
		})
	}
}

// TestNothingCountedBeforeAttach: the programs stay hooked from the rung's
// trial on (Probe.held), but a call made before Attach, with the scope set,
// is not counted; those after are, exactly.
func TestNothingCountedBeforeAttach(t *testing.T) {
	p := loadScopedForTest(t, Options{})
	for range 1000 {
		unix.Getppid()
	}
	if err := p.Attach(); err != nil {
		t.Fatal(err)
	}
	const n = 100
	if _, got, _ := getppids(t, p, n); got.Calls != n {
		t.Errorf("getppid counted %d times, want the %d made after Attach", got.Calls, n)
	}
}

// TestKernelBucketsLatencyAsTheModel: tlmon.bpf.c's hist_bucket (hist.h),
// which finds the octave without a branch, puts every latency where
// model.HistBucket does: each power of two and its neighbours, each half
// octave's edges, and a spread of others, run in the kernel through
// histtest.bpf.c's hist_bucket_of.
func TestKernelBucketsLatencyAsTheModel(t *testing.T) {
	bpftest.Require(t)
	var objs histtestObjects
	if err := loadHisttestObjects(&objs, nil); err != nil {
		t.Fatal(err)
	}
	defer objs.Close()
	var values []uint64
	for l := range 64 {
		p := uint64(1) << l
		values = append(values, p-1, p, p+1, p+p/2-1, p+p/2, p+p/2+1)
	}
	for v := uint64(1); v < 1<<60; v = v*7/5 + 3 { // 7v stays below 2^64
		values = append(values, v)
	}
	for _, ns := range values {
		got, err := objs.HistBucketOf.Run(&ebpf.RunOptions{Context: []uint64{ns}})
		if err != nil {
			t.Fatal(err)
		}
		if want := model.HistBucket(ns); int(got) != want {
			t.Errorf("%d ns: bucket %d in the kernel, %d in model.HistBucket", ns, got, want)
		}
	}
}

// TestSampledLatencyCountsEveryCall: with SampleLatency, a thread's hot
// syscall is timed one call in 16, each sample counted 16 times: the calls stay
// exact, the latency samples stand for all of them but the last few.
func TestSampledLatencyCountsEveryCall(t *testing.T) {
	runtime.LockOSThread() // one thread: one sampling phase
	defer runtime.UnlockOSThread()
	p := loadForTest(t, Options{SampleLatency: true})
	if modernOf(p) == nil {
		t.Skip("latency sampling is tlmon.bpf.c's (rungs 1 and 2)")
	}
	const n = 100007 // 64 timed, then 6246 samples of 16, 7 not yet stood for
	c, got, proc := getppids(t, p, n)
	if got.Calls != n || got.Errors != 0 {
		t.Errorf("getppid counted %+v, want %d calls, 0 errors", got, n)
	}
	if proc.Calls != n || proc.LatCount != got.LatCount {
		t.Errorf("per-process getppid %+v, want %d calls and the system-wide %d samples' weight", proc, n, got.LatCount)
	}
	if got.LatCount > n || got.LatCount <= n-16 {
		t.Errorf("getppid has %d latency samples' weight, want (%d, %d]", got.LatCount, n-16, n)
	}
	if h := c.SystemHist[unix.SYS_GETPPID].Count(); h != got.LatCount {
		t.Errorf("histogram holds %d, want the samples' weight %d", h, got.LatCount)
	}
	if got.LatCount > 0 && got.LatSumNs/got.LatCount > 100_000 {
		t.Errorf("mean getppid latency %d ns: the weights are off", got.LatSumNs/got.LatCount)
	}
}

// BenchmarkReadCounters2000Processes reads the counter maps holding 2,000
// processes × 16 syscalls, as every refresh does on a busy machine.
func BenchmarkReadCounters2000Processes(b *testing.B) {
	bpftest.Require(b)
	p, err := Load(Options{SelfPID: math.MaxUint32})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	vals := make([]tlmonCounts, p.ncpu)
	for i := range vals {
		vals[i] = tlmonCounts{Calls: 10, Errors: 1, LatSum: 100, LatCount: 10}
	}
	hist := tlmonProcHist{}
	hist.Hist[10] = 10
	for pid := uint32(1); pid <= 2000; pid++ {
		for nr := uint32(0); nr < 16; nr++ {
			k := tlmonProcKey{Tgid: pid, Nr: nr, Start: 1e9}
			if err := p.maps.ProcStats.Put(k, vals); err != nil {
				b.Fatal(err)
			}
			if err := p.maps.ProcHists.Put(k, hist); err != nil {
				b.Fatal(err)
			}
		}
	}
	var c Counters
	b.ReportAllocs()
	for b.Loop() {
		if err := p.ReadCounters(&c); err != nil {
			b.Fatal(err)
		}
	}
	if len(c.Procs) != 32000 {
		b.Fatalf("read %d entries", len(c.Procs))
	}
}

// BenchmarkReadCountersEmpty is the fixed cost of one read: walking every
// bucket of the hash maps, however few entries they hold.
func BenchmarkReadCountersEmpty(b *testing.B) {
	bpftest.Require(b)
	p, err := Load(Options{SelfPID: math.MaxUint32})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	var c Counters
	b.ReportAllocs()
	for b.Loop() {
		if err := p.ReadCounters(&c); err != nil {
			b.Fatal(err)
		}
	}
}

// TestCountsEventDecodesOnlyItsUsedSlots: a young thread's counts event is
// sent with its used syscall slots only; the decoder reads them and its
// errnos and bytes at the generated layout's offsets.
func TestCountsEventDecodesOnlyItsUsedSlots(t *testing.T) {
	var ev tlmonCountsEvent
	if len(ev.Slot) != model.YoungSyscalls || len(ev.Err) != model.YoungErrnos {
		t.Fatalf("struct counts_event holds %d syscalls and %d errnos, model says %d and %d", len(ev.Slot), len(ev.Err), model.YoungSyscalls, model.YoungErrnos)
	}
	ev.Kind, ev.Final, ev.Nerrs, ev.Nslots = uint8(model.EventCounts), 1, 1, 2
	ev.Tgid, ev.Tid, ev.Start = 42, 43, 5e9
	ev.Io.Read, ev.Io.Sent = 100, 7
	ev.Err[0].Nr, ev.Err[0].Err, ev.Err[0].Count = 2, 2, 9
	ev.Slot[0].Nr, ev.Slot[0].Calls, ev.Slot[0].Errors, ev.Slot[0].LatSum, ev.Slot[0].LatCount = 2, 10, 9, 1000, 10
	ev.Slot[1].Nr, ev.Slot[1].Calls = 231, 1
	var buf bytes.Buffer
	if err := binary.Write(&buf, binary.LittleEndian, &ev); err != nil {
		t.Fatal(err)
	}
	raw := buf.Bytes()[:countsHeaderSize+2*countsSlotSize]
	var e model.Event
	if err := DecodeEvent(raw, &e); err != nil {
		t.Fatal(err)
	}
	c := &e.Counts
	if e.Kind != model.EventCounts || e.Proc != procID(42, 5e9) || e.TID != 43 || !c.Final {
		t.Errorf("header: kind %v proc %v tid %d final %v", e.Kind, e.Proc, e.TID, c.Final)
	}
	want := []model.SyscallCounts{
		{Nr: 2, Counts: model.Counts{Calls: 10, Errors: 9, LatSumNs: 1000, LatCount: 10}},
		{Nr: 231, Counts: model.Counts{Calls: 1}},
	}
	if c.NSyscall != 2 || c.Syscalls[0] != want[0] || c.Syscalls[1] != want[1] {
		t.Errorf("syscalls: %d %+v, want %+v", c.NSyscall, c.Syscalls[:c.NSyscall], want)
	}
	if c.NErrno != 1 || c.Errnos[0] != (model.ErrnoCounts{Nr: 2, Errno: 2, Count: 9}) {
		t.Errorf("errnos: %d %+v", c.NErrno, c.Errnos[:c.NErrno])
	}
	if c.IO != (model.IOCounts{Read: 100, Sent: 7}) {
		t.Errorf("bytes: %+v", c.IO)
	}
	if err := DecodeEvent(raw[:countsHeaderSize-1], &e); err == nil {
		t.Error("a short counts event decoded")
	}
}

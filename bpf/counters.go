package bpf

import (
	"errors"
	"fmt"
	"iter"
	"slices"

	"github.com/cilium/ebpf"

	"tlmon/model"
)

// Counters is one read of the kernel's counter maps: absolute values since load,
// summed over CPUs. The caller keeps one and passes it to every ReadCounters so
// its maps and arrays are reused.
type Counters struct {
	System       [MaxSyscalls]model.Counts
	SystemHist   [MaxSyscalls]model.Hist
	Unattributed [MaxSyscalls]model.Counts
	Procs        map[model.ProcSyscall]model.Counts
	ProcHists    ProcHists
	Errnos       map[model.ProcErrno]uint64
	IO           map[model.ProcID]model.IOCounts

	Lost            model.Losses
	EventsAttempted uint64
	Restarts        uint64
	// UnpairedIgnored counts exits of syscalls that were already running when the
	// scope took their task in: neither calls nor errors.
	UnpairedIgnored uint64
	// DetailAttempted counts the detail events (calls, TCP connections) the
	// kernel tried to send; they are among EventsAttempted too.
	DetailAttempted uint64
}

// kernelLossCauses are the loss causes the programs count: the first slots
// of their counters.
const kernelLossCauses = int(model.LossLifecycle) + 1

// Counter slots after those, as enum counter in shared.h numbers them.
const (
	cntEventsAttempted = kernelLossCauses + iota
	cntRestarts
	cntUnpairedIgnored
	cntDetailAttempted
	cntMax
)

// batchSize is how many hash entries one batch syscall reads.
const batchSize = 1024

// reader holds the scratch buffers of ReadCounters, reused across reads.
type reader struct {
	arrayKeys  []uint32
	sysVals    []tlmonSysCounts
	countVals  []tlmonCounts
	procKeys   []tlmonProcKey
	errnoKeys  []tlmonErrnoKey
	errnoVals  []uint64
	histVals   []tlmonProcHist
	ioVals     []tlmonIoCounts
	lastProcs  []tlmonProcKey
	lastIO     []tlmonProcKey
	lastErrnos []tlmonErrnoKey
	lastHists  []tlmonProcKey
}

// ReadCounters reads every counter map into c.
func (p *Probe) ReadCounters(c *Counters) error {
	r := &p.reader
	if r.arrayKeys == nil {
		r.arrayKeys = make([]uint32, MaxSyscalls)
		r.sysVals = make([]tlmonSysCounts, MaxSyscalls*p.ncpu)
		r.countVals = make([]tlmonCounts, batchSize*p.ncpu)
		r.procKeys = make([]tlmonProcKey, batchSize)
		r.errnoKeys = make([]tlmonErrnoKey, batchSize)
		r.errnoVals = make([]uint64, batchSize*p.ncpu)
		r.histVals = make([]tlmonProcHist, batchSize)
		r.ioVals = make([]tlmonIoCounts, batchSize*p.ncpu)
	}
	if c.Procs == nil {
		c.Procs = make(map[model.ProcSyscall]model.Counts)
		c.Errnos = make(map[model.ProcErrno]uint64)
		c.IO = make(map[model.ProcID]model.IOCounts)
	}
	// What the kernel holds outside the counter maps goes into them first
	// (per-CPU caches, young threads' tables: modern.fold).
	if err := p.fam.fold(); err != nil {
		return err
	}
	clear(c.IO)
	clear(c.Procs)
	c.ProcHists.reset()
	clear(c.Errnos)

	r.lastProcs = r.lastProcs[:0]
	if err := readAll(p.maps.ProcStats, p.ncpu, r.procKeys, r.countVals, &r.lastProcs, func(k tlmonProcKey, v []tlmonCounts) {
		var sum model.Counts
		for i := range v {
			sum.Add(counts(v[i]))
		}
		key := model.ProcSyscall{Proc: procID(k.Tgid, k.Start), Nr: uint16(k.Nr)}
		old := c.Procs[key]
		old.Add(sum)
		c.Procs[key] = old
	}); err != nil {
		return fmt.Errorf("read process counters: %w", err)
	}

	r.lastErrnos = r.lastErrnos[:0]
	if err := readAll(p.maps.ErrnoStats, p.ncpu, r.errnoKeys, r.errnoVals, &r.lastErrnos, func(k tlmonErrnoKey, v []uint64) {
		var sum uint64
		for _, n := range v {
			sum += n
		}
		c.Errnos[model.ProcErrno{Proc: procID(k.Tgid, k.Start), Nr: k.Nr, Errno: k.Err}] += sum
	}); err != nil {
		return fmt.Errorf("read errno counters: %w", err)
	}

	r.lastHists = r.lastHists[:0]
	if err := readAll(p.maps.ProcHists, 1, r.procKeys, r.histVals, &r.lastHists, func(k tlmonProcKey, v []tlmonProcHist) {
		c.ProcHists.add(model.ProcSyscall{Proc: procID(k.Tgid, k.Start), Nr: uint16(k.Nr)}, &v[0].Hist)
	}); err != nil {
		return fmt.Errorf("read latency histograms: %w", err)
	}

	r.lastIO = r.lastIO[:0]
	if err := readAll(p.maps.ProcIo, p.ncpu, r.procKeys, r.ioVals, &r.lastIO, func(k tlmonProcKey, v []tlmonIoCounts) {
		id := procID(k.Tgid, k.Start)
		sum := c.IO[id]
		for i := range v {
			sum.Add(model.IOCounts{Read: v[i].Read, Written: v[i].Written, Received: v[i].Received, Sent: v[i].Sent})
		}
		c.IO[id] = sum
	}); err != nil {
		return fmt.Errorf("read byte counters: %w", err)
	}

	// The system-wide arrays last: a call is counted there first, so every
	// call the per-process maps hold is in them, and the calls in no process
	// yet (young threads' counts on their way, a call counted between two
	// reads) are never fewer than none.
	if err := readAll(p.maps.Unattributed, p.ncpu, r.arrayKeys, r.countVals[:MaxSyscalls*p.ncpu:MaxSyscalls*p.ncpu], nil, func(nr uint32, v []tlmonCounts) {
		u := &c.Unattributed[nr]
		*u = model.Counts{}
		for i := range v {
			u.Add(counts(v[i]))
		}
	}); err != nil {
		return fmt.Errorf("read unattributed counters: %w", err)
	}

	if err := readAll(p.maps.SysStats, p.ncpu, r.arrayKeys, r.sysVals, nil, func(nr uint32, v []tlmonSysCounts) {
		s := &c.System[nr]
		h := &c.SystemHist[nr]
		*s = model.Counts{}
		*h = model.Hist{}
		for i := range v {
			s.Add(counts(v[i].C))
			for b, n := range v[i].Hist {
				h[b] += n
			}
		}
	}); err != nil {
		return fmt.Errorf("read syscall counters: %w", err)
	}
	var slots [cntMax]uint64
	if err := readAll(p.maps.Counters, p.ncpu, r.arrayKeys[:cntMax], r.errnoVals[:cntMax*p.ncpu], nil, func(i uint32, v []uint64) {
		for _, n := range v {
			slots[i] += n
		}
	}); err != nil {
		return fmt.Errorf("read drop counters: %w", err)
	}
	copy(c.Lost[:], slots[:kernelLossCauses])
	c.Lost[model.LossReturnMissed] = p.fam.returnsMissed()
	c.EventsAttempted = slots[cntEventsAttempted]
	c.Restarts = slots[cntRestarts]
	c.UnpairedIgnored = slots[cntUnpairedIgnored]
	c.DetailAttempted = slots[cntDetailAttempted]
	return nil
}

// Kernel per-process counters are u32 or u64 that only grow; the histogram's u32
// buckets wrap, which the collector's deltas handle.
func counts(c tlmonCounts) model.Counts {
	return model.Counts{Calls: c.Calls, Errors: c.Errors, LatSumNs: c.LatSum, LatCount: c.LatCount}
}

func procID(tgid uint32, startNs uint64) model.ProcID {
	return model.ProcID{PID: tgid, Start: model.NsToTicks(startNs)}
}

// readAll reads every entry of m in batches (one syscall per batch where the
// kernel has batch ops, 5.6+; entry by entry otherwise) and calls fn with each key
// and its per-CPU values (one for a plain map: the legacy object's, before
// 4.6). keys and vals are scratch space: vals holds len(keys) × ncpu values.
// With seen, the keys read are appended to it. A nil m (a map the legacy
// object lacks) has nothing.
func readAll[K comparable, V any](m *ebpf.Map, ncpu int, keys []K, vals []V, seen *[]K, fn func(K, []V)) error {
	if m == nil {
		return nil
	}
	if !perCPU(m) {
		ncpu, vals = 1, vals[:len(keys)]
	}
	var cursor ebpf.MapBatchCursor
	for {
		n, err := m.BatchLookup(&cursor, keys, vals, nil)
		for i := 0; i < n; i++ {
			if seen != nil {
				*seen = append(*seen, keys[i])
			}
			fn(keys[i], vals[i*ncpu:(i+1)*ncpu])
		}
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return nil
		}
		if errors.Is(err, ebpf.ErrNotSupported) {
			return iterateAll(m, seen, fn)
		}
		if err != nil {
			return err
		}
	}
}

func iterateAll[K comparable, V any](m *ebpf.Map, seen *[]K, fn func(K, []V)) error {
	var k K
	var v []V
	if seen != nil {
		*seen = (*seen)[:0]
	}
	if !perCPU(m) {
		var one V
		it := m.Iterate()
		for it.Next(&k, &one) {
			if seen != nil {
				*seen = append(*seen, k)
			}
			fn(k, []V{one})
		}
		return it.Err()
	}
	it := m.Iterate()
	for it.Next(&k, &v) {
		if seen != nil {
			*seen = append(*seen, k)
		}
		fn(k, v)
	}
	return it.Err()
}

func perCPU(m *ebpf.Map) bool {
	t := m.Type()
	return t == ebpf.PerCPUHash || t == ebpf.PerCPUArray || t == ebpf.LRUCPUHash
}

// ForgetProcs deletes the kernel entries of processes that are gone and whose
// final counts were read: their keys carry the start time, so a new process that
// reuses the PID is never touched.
func (p *Probe) ForgetProcs(ids []model.ProcID) error {
	if len(ids) == 0 {
		return nil
	}
	gone := make(map[model.ProcID]bool, len(ids))
	for _, id := range ids {
		gone[id] = true
	}
	r := &p.reader
	var errs []error
	del := func(m *ebpf.Map, key any) {
		if err := m.Delete(key); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			errs = append(errs, err)
		}
	}
	for _, k := range r.lastProcs {
		if gone[procID(k.Tgid, k.Start)] {
			del(p.maps.ProcStats, k)
		}
	}
	for _, k := range r.lastErrnos {
		if gone[procID(k.Tgid, k.Start)] {
			del(p.maps.ErrnoStats, k)
		}
	}
	for _, k := range r.lastHists {
		if gone[procID(k.Tgid, k.Start)] {
			del(p.maps.ProcHists, k)
		}
	}
	for _, k := range r.lastIO {
		if gone[procID(k.Tgid, k.Start)] {
			del(p.maps.ProcIo, k)
		}
	}
	return errors.Join(errs...)
}

// ProcEntries counts the entries of the per-process counter map whose tgid is
// pid (for tests: tlmon must never count itself).
func (p *Probe) ProcEntries(pid uint32) (int, error) {
	n := 0
	err := iterateAll(p.maps.ProcStats, nil, func(k tlmonProcKey, _ []tlmonCounts) {
		if k.Tgid == pid {
			n++
		}
	})
	return n, err
}

// Hist32 is a histogram as the kernel keeps it per process and syscall: u32
// buckets, which wrap (deltas are taken modulo 2^32).
type Hist32 = [model.HistBuckets]uint32

// ProcHists holds one read of the per-process histograms. They live in one
// slice reused from read to read, found through a map of small values: a map
// of 320-byte values would allocate every one of them anew at every read, tens
// of thousands per second while processes come and go.
type ProcHists struct {
	index map[model.ProcSyscall]int
	hists []Hist32
	peak  int // the most entries a read held since the index was made
}

// Get returns the histogram of k, or nil.
func (h *ProcHists) Get(k model.ProcSyscall) *Hist32 {
	if i, ok := h.index[k]; ok {
		return &h.hists[i]
	}
	return nil
}

// All yields every histogram of the read.
func (h *ProcHists) All() iter.Seq2[model.ProcSyscall, *Hist32] {
	return func(yield func(model.ProcSyscall, *Hist32) bool) {
		for k, i := range h.index {
			if !yield(k, &h.hists[i]) {
				return
			}
		}
	}
}

// reset empties h for the next read. A Go map never gives back the room it
// grew to: after a fork storm the index is made anew once reads hold a quarter
// of its peak.
func (h *ProcHists) reset() {
	n := len(h.index)
	if h.index == nil || n < h.peak/4 {
		h.index = make(map[model.ProcSyscall]int, n)
		h.peak = n
		h.hists = slices.Clip(h.hists[:0])
	}
	clear(h.index)
	h.hists = h.hists[:0]
}

// add sums v into the histogram of k (a batch read may name a key twice).
func (h *ProcHists) add(k model.ProcSyscall, v *Hist32) {
	i, ok := h.index[k]
	if !ok {
		i = len(h.hists)
		h.index[k] = i
		h.hists = append(h.hists, Hist32{})
		h.peak = max(h.peak, len(h.hists))
	}
	for b, n := range v {
		h.hists[i][b] += n
	}
}

package aggregator

import "tlmon/model"

// procIndex finds processes by ID like Aggregator.procs, only faster, which
// matters for the entries of a delta: open addressing with linear probing, the
// IDs kept in the slots.
//
// It pays for itself. A delta of 2,000 busy processes has ~100k entries, each
// looked up (on up to 8 goroutines: reads only, like a map's). Measured with
// go1.26 on a shared 2-vCPU VM:
//   - BenchmarkProcIndex: 4.9 ns a lookup here, 29 ns in a
//     map[model.ProcID]*proc (only integer and string keys take the map's
//     fast paths: with a uint64 key it takes 6 ns, but a ProcID does not fit
//     in one).
//   - The HandleCounters benchmarks (bench_test.go) with the map in place of
//     this table (Aggregator.procs alone), 30 interleaved runs of each,
//     benchstat: CPU time per call +8.7% (2,000 processes), +10.1% (with
//     churn), +8.0% and +8.1% on two goroutines, p < 0.001 each, confidence
//     intervals ±2–7%; allocations and bytes allocated the same (6,878 and
//     9,050 allocations, 35 and 41 MiB a call). Wall time varied ±25–55%
//     with the other load, too much to tell them apart; 12 runs of each in a
//     quieter hour: wall time +7.4%, +7.3%, +6.4% (p < 0.04) and +6.4%
//     (p = 0.05), CPU time +7.3% to +10.3% (p < 0.001).
//
// Its memory is 24 bytes a slot, the slots a power of two at least twice the
// most processes tracked at once: 192 KiB for 2,456, at most 768 KiB at the
// default MaxProcs. Like a map's, it never shrinks.
type procIndex struct {
	slots []procSlot // nil or a power of two long, at most half full
	n     int
}

type procSlot struct {
	id model.ProcID
	p  *proc // nil: free
}

func (x *procIndex) home(id model.ProcID) int {
	h := (uint64(id.PID) ^ id.Start*0x9e3779b97f4a7c15) * 0xbf58476d1ce4e5b9
	return int(h>>32) & (len(x.slots) - 1)
}

func (x *procIndex) get(id model.ProcID) *proc {
	if x.n == 0 {
		return nil
	}
	for i := x.home(id); ; i = (i + 1) & (len(x.slots) - 1) {
		s := &x.slots[i]
		if s.p == nil || s.id == id {
			return s.p
		}
	}
}

func (x *procIndex) put(p *proc) {
	if 2*(x.n+1) > len(x.slots) {
		old := x.slots
		x.slots, x.n = make([]procSlot, max(64, 2*len(old))), 0
		for _, s := range old {
			if s.p != nil {
				x.put(s.p)
			}
		}
	}
	i := x.home(p.info.ID)
	for x.slots[i].p != nil && x.slots[i].id != p.info.ID {
		i = (i + 1) & (len(x.slots) - 1)
	}
	if x.slots[i].p == nil {
		x.n++
	}
	x.slots[i] = procSlot{p.info.ID, p}
}

func (x *procIndex) del(id model.ProcID) {
	if x.n == 0 {
		return
	}
	mask := len(x.slots) - 1
	i := x.home(id)
	for x.slots[i].id != id {
		if x.slots[i].p == nil {
			return
		}
		i = (i + 1) & mask
	}
	// Shift back the entries after i that would not be found past a free i.
	for j := (i + 1) & mask; x.slots[j].p != nil; j = (j + 1) & mask {
		if h := x.home(x.slots[j].id); (j-h)&mask >= (j-i)&mask {
			x.slots[i] = x.slots[j]
			i = j
		}
	}
	x.slots[i] = procSlot{}
	x.n--
}

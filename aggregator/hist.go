package aggregator

import (
	"cmp"
	"slices"

	"tlmon/model"
)

// Latency histograms, per syscall system-wide and per process. A published
// histogram is immutable and shared by snapshots until it changes; a
// process's histogram deltas are staged packed in the worker of its partition
// (stageHist) and added when its stats are built, its new histograms in one
// slab (publishHists).

// latency is a latency histogram and its percentiles. hist is immutable once
// published, so that snapshots share it: a change replaces it.
type latency struct {
	hist          *model.Hist // nil until the first non-empty histogram
	p50, p95, p99 uint64
	// A process's new histograms of one call are allocated together (see
	// publishHists): hist is &slab[at], slabGen the call.
	slab    []model.Hist
	at      int
	slabGen uint64
}

// percentiles are the quantiles of SyscallStat, in ascending order.
var percentiles = [...]float64{0.50, 0.95, 0.99}

// set makes h, which holds samples, the histogram.
func (l *latency) set(h *model.Hist) {
	var q [len(percentiles)]uint64
	h.Quantiles(percentiles[:], q[:])
	l.hist, l.p50, l.p95, l.p99 = h, q[0], q[1], q[2]
}

// add adds d into a new histogram if d holds any sample.
func (l *latency) add(d *model.Hist) {
	var any uint64
	for _, v := range d {
		any |= v
	}
	if any == 0 {
		return
	}
	h := new(model.Hist)
	if l.hist != nil {
		*h = *l.hist
	}
	h.Add(d)
	l.set(h)
}

// histHeader starts a staged histogram delta of syscall nr, with nb buckets,
// linked to the previous delta of the process at next.
func histHeader(next int32, nr uint16, nb int) uint64 {
	return uint64(uint32(next))<<32 | uint64(nr)<<16 | uint64(nb)
}

func splitHistHeader(h uint64) (next int32, nr uint16, nb int) {
	return int32(h >> 32), uint16(h >> 16), int(uint16(h))
}

// histBin is n samples in a bucket, n <= binMax. More samples take several.
func histBin(bucket int, n uint64) uint64 { return uint64(bucket)<<56 | n }

const binMax = 1<<56 - 1

func splitHistBin(b uint64) (bucket int, n uint64) { return int(b >> 56), b & binMax }

// stageHist stages the histogram delta h of syscall nr of p in call number cur.
func stageHist(wk *worker, p *proc, nr uint16, h *model.Hist, cur uint64) {
	at := len(wk.hists)
	wk.hists = append(wk.hists, 0)
	for i, v := range h {
		for v != 0 {
			n := min(v, binMax)
			wk.hists = append(wk.hists, histBin(i, n))
			v -= n
		}
	}
	if len(wk.hists) == at+1 {
		wk.hists = wk.hists[:at]
		return
	}
	p.stage(cur)
	wk.hists[at] = histHeader(p.histsHead, nr, len(wk.hists)-at-1)
	p.histsHead = int32(at + 1)
	p.changedGen = cur
}

// slabUse is a slab of histograms in use by a process (see publishHists).
type slabUse struct {
	gen uint64
	len int
}

// publishHists adds the histogram deltas staged for p in wk. The new histograms
// of a process go to one slab, a []model.Hist allocated at once (Hist has no
// pointers, so the GC does not scan it); unchanged ones stay where they are,
// shared with earlier snapshots. An older slab stays alive while any of its
// histograms is in use: when that would make the process hold more than twice
// the histograms it uses, all of them move to the new slab.
func publishHists(p *proc, wk *worker) {
	if p.histsHead == 0 {
		return
	}
	cur := p.stageGen
	// Mark the syscalls with new histograms (a delta names each once, but
	// several staged deltas would add up all the same).
	for r := p.histsHead; r != 0; {
		next, nr, _ := splitHistHeader(wk.hists[r-1])
		wk.sys(p, nr).lat.slabGen = cur
		r = next
	}
	changed, live := 0, 0
	slabs := wk.slabs[:0]
	for i := range p.sys {
		l := &p.sys[i].lat
		switch {
		case l.slabGen == cur:
			changed++
			live++
		case l.hist != nil:
			live++
			slabs = append(slabs, slabUse{l.slabGen, len(l.slab)})
		}
	}
	held := changed
	slices.SortFunc(slabs, func(x, y slabUse) int { return cmp.Compare(x.gen, y.gen) })
	for i, u := range slabs {
		if i == 0 || u.gen != slabs[i-1].gen {
			held += u.len
		}
	}
	wk.slabs = slabs[:0]
	all := held > 2*live
	n := changed
	if all {
		n = live
	}
	// Copy the histograms to their new places, then add the deltas: the slab
	// is not published yet. Often the same syscalls changed as last time: then
	// the last slab holds just their histograms, in order, and copying it whole
	// is cheaper (no zeroing first).
	var slab []model.Hist
	if !all {
		var last []model.Hist
		j := 0
		for i := range p.sys {
			l := &p.sys[i].lat
			if l.slabGen != cur {
				continue
			}
			if j == 0 {
				last = l.slab
			}
			if l.hist == nil || len(l.slab) != n || &l.slab[0] != &last[0] || l.at != j {
				last = nil
				break
			}
			j++
		}
		slab = append(slab, last...)
	}
	if slab == nil {
		slab = make([]model.Hist, n)
		j := 0
		for i := range p.sys {
			l := &p.sys[i].lat
			if l.slabGen != cur && (!all || l.hist == nil) {
				continue
			}
			if l.hist != nil {
				slab[j] = *l.hist
			}
			j++
		}
	}
	j := 0
	for i := range p.sys {
		l := &p.sys[i].lat
		if l.slabGen != cur && (!all || l.hist == nil) {
			continue
		}
		l.hist, l.slab, l.at, l.slabGen = &slab[j], slab, j, cur
		j++
	}
	for r := p.histsHead; r != 0; {
		next, nr, nb := splitHistHeader(wk.hists[r-1])
		h := wk.sys(p, nr).lat.hist
		for _, b := range wk.hists[r : int(r)+nb] {
			i, n := splitHistBin(b)
			h[i] += n
		}
		r = next
	}
	for r := p.histsHead; r != 0; {
		next, nr, _ := splitHistHeader(wk.hists[r-1])
		l := &wk.sys(p, nr).lat
		l.set(l.hist)
		r = next
	}
	p.histsHead = 0
}

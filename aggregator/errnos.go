package aggregator

import (
	"cmp"
	"slices"

	"tlmon/model"
	"tlmon/syscalls"
)

// Errno breakdowns: how often each syscall failed with each errno,
// system-wide (errnos) and per process (proc.errs). A published breakdown is
// a sorted list, immutable and shared by snapshots until its counts change.

// errnos counts the errnos of one syscall system-wide. list is the published
// breakdown, immutable once built; it is rebuilt when dirty.
type errnos struct {
	counts []model.ErrnoCount // accumulating; never published
	list   []model.ErrnoCount
	dirty  bool
}

func (e *errnos) add(errno uint16, n uint64) {
	e.dirty = true
	for i := range e.counts {
		if e.counts[i].Errno == int(errno) {
			e.counts[i].Count += n
			return
		}
	}
	e.counts = append(e.counts, model.ErrnoCount{Errno: int(errno), Name: syscalls.ErrnoName(int(errno)), Count: n})
}

func (e *errnos) publish() {
	e.dirty = false
	e.list = sortedErrnos(slices.Clone(e.counts))
}

// sortedErrnos sorts list by count (descending), then errno, and returns it.
func sortedErrnos(list []model.ErrnoCount) []model.ErrnoCount {
	for i := 1; i < len(list); i++ {
		for j := i; j > 0 && errnoBefore(&list[j], &list[j-1]); j-- {
			list[j], list[j-1] = list[j-1], list[j]
		}
	}
	return list
}

func errnoBefore(x, y *model.ErrnoCount) bool {
	return x.Count > y.Count || x.Count == y.Count && x.Errno < y.Errno
}

// procErrno counts one errno of one syscall of a process.
type procErrno struct {
	nr uint16
	model.ErrnoCount
}

// indexErrs sets eidx for p.errs[from:], where a syscall's errnos may begin.
func (wk *worker) indexErrs(p *proc, from int) {
	for j := from; j < len(p.errs); j++ {
		if j == 0 || p.errs[j].nr != p.errs[j-1].nr {
			wk.eidx[p.errs[j].nr] = int32(j + 1)
		}
	}
}

// applyErrnos adds the errnos staged for p in wk to p.errs; p is loaded in wk.
func applyErrnos(p *proc, wk *worker) {
	if p.errnosHead == 0 {
		return
	}
	wk.indexErrs(p, 0)
	for r := p.errnosHead; r != 0; {
		e := &wk.errnos[r-1]
		r = e.next
		wk.sys(p, e.nr) // as for counts: every syscall named has its entry
		p.errsDirty = true
		i := int(wk.eidx[e.nr]) - 1
		if i < 0 {
			i, _ = slices.BinarySearchFunc(p.errs, e.nr, func(x procErrno, nr uint16) int { return cmp.Compare(x.nr, nr) })
		} else {
			for i < len(p.errs) && p.errs[i].nr == e.nr && p.errs[i].Errno < int(e.errno) {
				i++
			}
			if i < len(p.errs) && p.errs[i].nr == e.nr && p.errs[i].Errno == int(e.errno) {
				p.errs[i].Count += e.n
				continue
			}
		}
		p.errs = slices.Insert(p.errs, i, procErrno{e.nr, model.ErrnoCount{Errno: int(e.errno), Name: syscalls.ErrnoName(int(e.errno)), Count: e.n}})
		wk.indexErrs(p, i)
	}
	for _, e := range p.errs {
		wk.eidx[e.nr] = 0
	}
	p.errnosHead = 0
}

// publishErrnos rebuilds every errno breakdown of p, in one allocation so that
// its stats never keep older ones alive.
func publishErrnos(p *proc, wk *worker) {
	slab := make([]model.ErrnoCount, len(p.errs))
	for i := 0; i < len(p.errs); {
		j := i + 1
		for j < len(p.errs) && p.errs[j].nr == p.errs[i].nr {
			j++
		}
		list := slab[i:j:j]
		for k := range list {
			list[k] = p.errs[i+k].ErrnoCount
		}
		wk.sys(p, p.errs[i].nr).errnos = sortedErrnos(list)
		i = j
	}
	p.errsDirty = false
}
